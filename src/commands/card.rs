//! `cardinal card ca init|crl|issue|revoke`: a development card issuer
//! (docs/requirements.md R-CARD-2).

use anyhow::bail;
use cardinal::card::ca;
use cardinal::card::issue::{issue_card_file, InvalidField};
use cardinal::card::token::CardKind;

use crate::cli::{CardCaCommand, CardCommand};

fn kind(value: &str) -> anyhow::Result<CardKind> {
    CardKind::parse(value)
        .ok_or_else(|| anyhow::anyhow!("--kind must be nhi or moica, not {value:?}"))
}

#[allow(clippy::disallowed_methods)]
fn now() -> time::OffsetDateTime {
    // The CLI works on files, not on the service's clock.
    time::OffsetDateTime::now_utc()
}

pub fn run(command: CardCommand) -> anyhow::Result<()> {
    match command {
        CardCommand::Ca(CardCaCommand::Init { out, kind: k }) => {
            ca::init(&out, kind(&k)?, now())?;
            println!("card CA ({k}) created in {}", out.display());
            println!(
                "trust it with: card.{k}_ca_files = [\"{}\"]",
                out.join("ca.pem").display()
            );
            println!(
                "revocations:   card.crl_files = [\"{}\"]",
                out.join("crl.pem").display()
            );
        }
        CardCommand::Ca(CardCaCommand::Crl { ca: dir }) => {
            ca::reissue_crl(&dir, now())?;
            println!(
                "{} signed; current for {} days",
                dir.join("crl.pem").display(),
                ca::CRL_VALIDITY_DAYS
            );
        }
        CardCommand::Issue(args) => {
            let card = cardinal::card::issue::CardIssue::from(args);
            let serial = issue_card_file(&card, now()).map_err(|e| {
                // Name the flag to fix, not the library's field.
                match e.downcast_ref::<InvalidField>() {
                    Some(f) => anyhow::anyhow!("--{}: {}", f.field.replace('_', "-"), f.message),
                    None => e,
                }
            })?;
            println!(
                "card {} issued (certificate serial {serial}); card file: {}",
                card.card_number,
                card.out.display()
            );
        }
        CardCommand::Revoke {
            ca: dir,
            card_number,
            serial,
        } => {
            if card_number.is_none() && serial.is_none() {
                bail!("name the card: --card-number N or --serial S");
            }
            let revoked = ca::revoke(&dir, card_number.as_deref(), serial.as_deref(), now())?;
            println!(
                "revoked {}; {} rewritten",
                revoked.join(", "),
                dir.join("crl.pem").display()
            );
        }
    }
    Ok(())
}
