use std::process::ExitCode;

use clap::Parser;

mod cli;
mod commands;

use cardinal::configuration::Settings;
use cardinal::startup::Application;
use cardinal::telemetry;
use cli::{Cli, Command, ConfigCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    telemetry::init(&settings.log);
    match cli.command {
        Command::Serve => serve(settings),
        Command::Migrate => {
            let services = commands::services(&settings)?;
            println!("database is up to date ({:?})", services.database.backend());
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            print!("{}", settings.redacted_toml()?);
            eprintln!("configuration is valid");
            Ok(())
        }
        Command::Keys(k) => commands::keys::run(&settings, k),
        Command::Client(c) => commands::client::run(&settings, c),
        Command::Admin(c) => commands::admin::run_admin(&settings, c),
        Command::Registration(c) => commands::admin::run_registration(&settings, c),
        Command::Audit(c) => commands::admin::run_audit(&settings, c),
        Command::Notice(c) => commands::notice::run(&settings, c),
        Command::Card(c) => commands::card::run(c),
        #[cfg(feature = "demo")]
        Command::Demo(args) => cardinal::demo::run(settings, args),
        Command::Registry(cli::RegistryCommand::Import { file }) => {
            let services = commands::services(&settings)?;
            let engine = &services.engine;
            let input = std::fs::File::open(&file)
                .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", file.display()))?;
            let n = cardinal::registry::import(engine.store(), engine.ring(), input, engine.now())?;
            engine.audit(
                cardinal::audit::AuditKind::RegistryImport,
                "success",
                None,
                None,
                Some(format!("rows={n}")),
            );
            println!("imported {n} residents");
            Ok(())
        }
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings.clone()).await?;
        tracing::info!(issuer = %settings.issuer, port = app.port(), "Cardinal is serving");
        app.run_until_stopped().await?;
        Ok(())
    })
}
