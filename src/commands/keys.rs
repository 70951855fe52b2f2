//! `cardinal keys list|rotate`.

use crate::cli::KeysCommand;
use crate::clock::format_rfc3339;
use crate::configuration::Settings;
use crate::oidc::SigningAlg;

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
            let algs: Vec<SigningAlg> = if alg.is_empty() {
                settings
                    .keys
                    .algorithms
                    .iter()
                    .map(|a| SigningAlg::parse(a))
                    .collect::<Result<_, _>>()
            } else {
                alg.iter()
                    .map(|a| SigningAlg::parse(a))
                    .collect::<Result<_, _>>()
            }
            .map_err(anyhow::Error::msg)?;
            let delay = if immediately {
                0
            } else {
                settings.keys.prepublish_secs
            };
            for a in algs {
                let kid = engine.keys().rotate(a, now, delay)?;
                engine.audit(
                    "key_rotate",
                    "success",
                    None,
                    None,
                    Some(format!("alg={} kid={kid}", a.as_str())),
                );
                println!(
                    "{} key {kid} published; signs from {}",
                    a.as_str(),
                    format_rfc3339(now + delay)
                );
            }
        }
    }
    Ok(())
}
