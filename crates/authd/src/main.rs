use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = authd::cli::Cli::parse();
    let settings = authd::Settings::load(cli.config.as_deref())?;
    authd::init_tracing(&settings.log);
    let outcome = authd::commands::run(cli.command, &settings);
    authd::flush_logs();
    outcome
}
