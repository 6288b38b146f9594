//! What each subcommand does.

use std::io::Read;

use anyhow::Context;
use application::{Admin, ResetMfaError, UpdateUserError};
use domain::{AdminPatch, AdminStatus, Email, NewUser, Password, PersonName, UserStatus, Username};
use secrecy::SecretString;

use crate::{
    Application, build_service,
    cli::{Command, ConfigCommand, CreateUser, KeysCommand, StatusArg, UserCommand},
    open_store_patiently,
    settings::Settings,
};

/// Runs a subcommand (`serve` when none is given).
///
/// # Errors
/// Whatever the subcommand fails with.
pub fn run(command: Option<Command>, settings: &Settings) -> anyhow::Result<()> {
    match command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Migrate => open_store_patiently(
            settings.database.url.expose_secret(),
            adapter_postgres::PoolSettings {
                min_connections: 0,
                ..adapter_postgres::PoolSettings::sized(1)
            },
            settings.database.connect_timeout(),
        )
        .map(drop),
        Command::Openapi => {
            println!("{}", http_actix::ApiDoc::json(settings.api.compat_routes)?);
            Ok(())
        }
        Command::Config {
            action: ConfigCommand::Print,
        } => {
            print!("{}", settings.to_toml()?);
            Ok(())
        }
        Command::Keys { action } => match action {
            KeysCommand::Generate { alg, out } => generate_key(alg, out, settings),
            KeysCommand::List => list_keys(settings),
        },
        Command::User { action } => match action {
            UserCommand::Create(new) => create_user(new, settings),
            UserCommand::SetStatus { email, status } => {
                let status = match status {
                    StatusArg::Active => AdminStatus::Active,
                    StatusArg::Inactive => AdminStatus::Inactive,
                };
                let patch = AdminPatch {
                    status: Some(status),
                    is_admin: None,
                };
                administer(&email, &patch, settings)
            }
            UserCommand::MfaReset { email } => reset_mfa(&email, settings),
            UserCommand::SetAdmin { email, is_admin } => {
                let patch = AdminPatch {
                    status: None,
                    is_admin: Some(is_admin),
                };
                administer(&email, &patch, settings)
            }
        },
    }
}

/// Writes a new signing key and prints `kid=… file=…`.
fn generate_key(
    alg: Option<adapter_jwt::SigningAlgorithm>,
    out: Option<std::path::PathBuf>,
    settings: &Settings,
) -> anyhow::Result<()> {
    let algorithm = alg.unwrap_or(settings.tokens.algorithm);
    let path = out.unwrap_or_else(|| {
        let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let name = format!("jwt-{}-{stamp}.pem", algorithm.as_str().to_lowercase());
        settings.data.dir.join("keys").join(name)
    });
    let kid = adapter_jwt::generate_key_file(algorithm, &path)
        .with_context(|| format!("cannot write a new {algorithm} key"))?;
    println!("kid={kid} alg={algorithm} file={}", path.display());
    Ok(())
}

/// Prints the key set: one line a key, the signer first.
fn list_keys(settings: &Settings) -> anyhow::Result<()> {
    let tokens = &settings.tokens;
    let generated = settings
        .data
        .dir
        .join("keys")
        .join(tokens.algorithm.generated_key_file_name());
    if tokens.private_key_file.is_none() && tokens.hmac_secret.is_none() && !generated.exists() {
        // Listing must not make the key that the first start would.
        println!(
            "no signing key yet: one is generated into {} at the first start",
            generated.display()
        );
        return Ok(());
    }
    let issuer = adapter_jwt::JwtIssuer::from_settings(&tokens.jwt(&settings.data.dir))
        .context("cannot load the token keys")?;
    for key in issuer.key_set() {
        let role = if key.signs { "signs" } else { "verifies" };
        let source = key.source.map_or_else(
            || "tokens.hmac_secret".to_owned(),
            |p| p.display().to_string(),
        );
        println!(
            "{role:<8} kid={} alg={} file={source}",
            key.kid, tokens.algorithm
        );
    }
    Ok(())
}

fn serve(settings: &Settings) -> anyhow::Result<()> {
    let app = Application::build(settings)?;
    actix_web::rt::System::new().block_on(app.serve())?;
    Ok(())
}

/// Turns the two-factor login of the account with this address off.
fn reset_mfa(email: &str, settings: &Settings) -> anyhow::Result<()> {
    let email = Email::parse(email).context("--email")?;
    let service = build_service(settings)?;
    match service.reset_mfa_by_email(&Admin::console(), &email) {
        Ok(id) => {
            println!("{id} mfa_enabled=false");
            Ok(())
        }
        Err(ResetMfaError::NotFound) => anyhow::bail!("no user has the e-mail address {email}"),
        Err(other) => Err(other.into()),
    }
}

/// Changes the account with this e-mail address as an administrator
/// would, and prints its id, status and admin flag.
fn administer(email: &str, patch: &AdminPatch, settings: &Settings) -> anyhow::Result<()> {
    let email = Email::parse(email).context("--email")?;
    let service = build_service(settings)?;
    let user = match service.update_user_by_email(&Admin::console(), &email, patch) {
        Ok(user) => user,
        Err(UpdateUserError::NotFound) => anyhow::bail!("no user has the e-mail address {email}"),
        Err(other) => return Err(other.into()),
    };
    println!(
        "{} status={} is_admin={}",
        user.id,
        user.status.as_str(),
        user.is_admin
    );
    Ok(())
}

fn create_user(new: CreateUser, settings: &Settings) -> anyhow::Result<()> {
    let CreateUser {
        email,
        password,
        first_name,
        last_name,
        username,
        admin,
        active,
    } = new;
    let email = Email::parse(&email).context("--email")?;
    let username = username
        .as_deref()
        .map(Username::parse)
        .transpose()
        .context("--username")?;
    let password = match password {
        Some(p) => p,
        None => {
            let mut p = String::new();
            std::io::stdin().read_to_string(&mut p)?;
            p.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let password = Password::for_account(SecretString::from(password), &email, username.as_ref())
        .context("--password")?;
    let first_name = PersonName::parse(first_name.as_deref().unwrap_or(email.local_part()))
        .context("--first-name")?;
    let last_name =
        PersonName::parse(last_name.as_deref().unwrap_or("-")).context("--last-name")?;
    let service = build_service(settings)?;
    let status = if active {
        UserStatus::Active
    } else {
        UserStatus::PendingValidation
    };
    let user = service.create_user(
        NewUser {
            email,
            username,
            phone: None,
            first_name,
            last_name,
            status,
            email_verified: active,
            is_admin: admin,
        },
        &password,
        None,
    )?;
    println!("{}", user.id);
    Ok(())
}
