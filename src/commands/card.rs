//! `cardinal card ca init|crl|issue|revoke`: a development card issuer
//! (docs/requirements.md R-CARD-2).

use anyhow::{bail, Context};

use crate::card::ca::{self, CardHolder};
use crate::card::token::{CardFile, CardKind, CARD_FILE_FORMAT};
use crate::cli::{CardCaCommand, CardCommand, CardIssueArgs};
use crate::domain::NationalId;

fn kind(value: &str) -> anyhow::Result<CardKind> {
    CardKind::parse(value)
        .ok_or_else(|| anyhow::anyhow!("--kind must be nhi or moica, not {value:?}"))
}

#[allow(clippy::disallowed_methods)]
fn now() -> time::OffsetDateTime {
    // The CLI works on files, not on the service's clock.
    time::OffsetDateTime::now_utc()
}

/// Checks the holder data as the card's 57-byte basic-data layout needs it.
pub fn holder_from(args: &CardIssueArgs, kind: CardKind) -> anyhow::Result<CardHolder> {
    if args.card_number.len() != 12 || !args.card_number.chars().all(|c| c.is_ascii_digit()) {
        bail!("--card-number must be 12 digits");
    }
    let name = args.name.trim();
    let (big5, _, unmappable) = encoding_rs::BIG5.encode(name);
    if name.is_empty() || unmappable || big5.len() > 20 {
        bail!("--name must be 1–20 bytes in Big5 (up to 10 Chinese characters)");
    }
    let national_id = NationalId::parse(&args.national_id).map_err(anyhow::Error::msg)?;
    time::Date::parse(
        &args.birth_date,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .context("--birth-date must be YYYY-MM-DD")?;
    if !matches!(args.sex.as_str(), "M" | "F") {
        bail!("--sex must be M or F");
    }
    match (kind, &args.pin) {
        (CardKind::Moica, None) => bail!("a MOICA card needs --pin (4–12 digits)"),
        (_, Some(p)) if !(4..=12).contains(&p.len()) || !p.chars().all(|c| c.is_ascii_digit()) => {
            bail!("--pin must be 4–12 digits")
        }
        (CardKind::Nhi, Some(_)) => bail!("an NHI card has no PIN; leave out --pin"),
        _ => {}
    }
    Ok(CardHolder {
        card_number: args.card_number.clone(),
        name: name.to_string(),
        national_id: national_id.expose().to_string(),
        birth_date: args.birth_date.clone(),
        sex: args.sex.clone(),
        pin: args.pin.clone(),
    })
}

/// Issues a card and writes its file (the virtual card's input; mode 0600).
pub fn issue_card_file(args: &CardIssueArgs, now: time::OffsetDateTime) -> anyhow::Result<String> {
    let kind = kind(&args.kind)?;
    let holder = holder_from(args, kind)?;
    if args.out.exists() {
        bail!("{} exists; choose another --out", args.out.display());
    }
    let issued = ca::issue(&args.ca, kind, &holder, args.valid_days, now)?;
    let file = CardFile {
        format: CARD_FILE_FORMAT.into(),
        kind,
        card_number: holder.card_number,
        name: holder.name,
        national_id: holder.national_id,
        birth_date: holder.birth_date,
        sex: holder.sex,
        issue_date: format!(
            "{:04}-{:02}-{:02}",
            now.year(),
            u8::from(now.month()),
            now.day()
        ),
        pin: holder.pin,
        certificate_pem: issued.certificate_pem,
        private_key_pem: issued.private_key_pem,
    };
    file.check().map_err(anyhow::Error::msg)?;
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("Failed to create {}", dir.display()))?;
    }
    file.save(&args.out)
        .map_err(|e| anyhow::anyhow!("Failed to write {}: {e}", args.out.display()))?;
    Ok(issued.serial)
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
            let serial = issue_card_file(&args, now())?;
            println!(
                "card {} issued (certificate serial {serial}); card file: {}",
                args.card_number,
                args.out.display()
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
