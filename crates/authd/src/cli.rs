//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
}

/// User actions.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (with its own organization). Mails nothing.
    Create {
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// Password; read from standard input when omitted.
        #[arg(long, env = "AUTHD_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Given name (default: the e-mail's local part).
        #[arg(long)]
        first_name: Option<String>,
        /// Family name (default: "-").
        #[arg(long)]
        last_name: Option<String>,
        /// Username.
        #[arg(long)]
        username: Option<String>,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        /// Create the account active and validated (otherwise pending validation).
        #[arg(long)]
        active: bool,
    },
}
