//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// authd: sign-up, login and tokens for REST APIs.
#[derive(Debug, Parser)]
#[command(name = "authd", version, about)]
pub struct Cli {
    /// A TOML settings file (environment variables AUTHD__SECTION__KEY override it).
    #[arg(long, global = true, env = "AUTHD_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve the API.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Manage users.
    User {
        /// The user action.
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Manage the keys that sign and verify access tokens.
    Keys {
        /// The key action.
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// Show the settings.
    Config {
        /// The settings action.
        #[command(subcommand)]
        action: ConfigCommand,
    },
}

/// Settings actions (see docs/configuration.md).
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the settings in effect as TOML: the defaults, then the
    /// --config file, then the environment. Secrets that are set are
    /// printed as "***"; a setting that is unset is left out.
    Print,
}

/// Signing-key actions (see docs/key-rotation.md).
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write a new private key (PEM, mode 0600, never over a file) and
    /// print its kid. It signs nothing until the settings name it.
    Generate {
        /// Its algorithm (default: `tokens.algorithm`): EdDSA, ES256 or RS256.
        #[arg(long)]
        alg: Option<adapter_jwt::SigningAlgorithm>,
        /// Where to write it (default: a new file under `data.dir/keys/`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Show the key set the settings describe: the signer, then the keys
    /// that only verify.
    List,
}

/// User actions.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (with its own organization). Mails nothing.
    Create(CreateUser),
    /// Switch an account on or off. Off ends every session of the user at once.
    SetStatus {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
        /// The new status.
        #[arg(value_enum)]
        status: StatusArg,
    },
    /// Turn a user's two-factor login off (a lost phone): every session of
    /// the user ends too.
    MfaReset {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Grant or withdraw the administrator's rights.
    SetAdmin {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
        /// Whether the user is an administrator.
        #[arg(action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
        is_admin: bool,
    },
}

/// The new account of `user create`.
#[derive(Debug, Args)]
pub struct CreateUser {
    /// E-mail address.
    #[arg(long)]
    pub email: String,
    /// Password; read from standard input when omitted.
    #[arg(long, env = "AUTHD_USER_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Given name (default: the e-mail's local part).
    #[arg(long)]
    pub first_name: Option<String>,
    /// Family name (default: "-").
    #[arg(long)]
    pub last_name: Option<String>,
    /// Username.
    #[arg(long)]
    pub username: Option<String>,
    /// Make the user an administrator.
    #[arg(long)]
    pub admin: bool,
    /// Create the account active and validated (otherwise pending validation).
    #[arg(long)]
    pub active: bool,
}

/// The statuses the command line may set.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum StatusArg {
    /// May log in (a pending account too).
    Active,
    /// May not log in; every session ends.
    Inactive,
}
