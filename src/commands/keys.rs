//! `cardinal keys list|rotate`.

use crate::cli::KeysCommand;
use cardinal::clock::format_rfc3339;
use cardinal::configuration::Settings;

pub fn run(settings: &Settings, command: KeysCommand) -> anyhow::Result<()> {
    let services = super::services(settings)?;
    let engine = &services.engine;
    let now = engine.now();
    match command {
        KeysCommand::List { json } => {
            let keys = engine.keys().list(now)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                println!(
                    "{:<18} {:<6} {:<8} {:<26} RETIRED AT",
                    "KID", "ALG", "STATE", "SIGNS FROM"
                );
                for k in keys {
                    println!(
                        "{:<18} {:<6} {:<8} {:<26} {}",
                        k.kid,
                        k.alg.as_str(),
                        k.state.as_str(),
                        format_rfc3339(k.active_from),
                        k.retired_at.map(format_rfc3339).unwrap_or_default()
                    );
                }
            }
        }
        KeysCommand::Rotate {
            alg,
            now: immediately,
        } => {
            let request = cardinal::admin::keys::RotateRequest {
                alg,
                now: immediately,
            };
            for k in
                cardinal::admin::keys::rotate(engine, &cardinal::admin::Actor::cli(), &request)?
            {
                println!(
                    "{} key {} published; signs from {}",
                    k.alg,
                    k.kid,
                    format_rfc3339(k.active_from)
                );
            }
        }
    }
    Ok(())
}
