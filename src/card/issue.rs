//! Issuing a development card: checks the holder data, signs the certificate with a CA
//! made by [`super::ca`] and writes the virtual-card file. The CLI (`cardinal card issue`),
//! the demo and the tests call [`issue_card_file`].

use std::path::PathBuf;

use anyhow::{bail, Context};

use super::ca::{self, CardHolder};
use super::token::{CardFile, CardKind, CARD_FILE_FORMAT};
use crate::domain::NationalId;

/// A card to issue. Text fields as printed on the card; `kind` is `nhi` or `moica`.
#[derive(Clone)]
pub struct CardIssue {
    /// The CA's directory.
    pub ca: PathBuf,
    pub kind: String,
    /// 12 digits.
    pub card_number: String,
    pub name: String,
    pub national_id: String,
    /// YYYY-MM-DD
    pub birth_date: String,
    /// M or F
    pub sex: String,
    /// MOICA only: 4–12 digits.
    pub pin: Option<String>,
    /// Certificate validity in days.
    pub valid_days: i64,
    /// Where the card file is written (must not exist).
    pub out: PathBuf,
}

impl std::fmt::Debug for CardIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardIssue")
            .field("kind", &self.kind)
            .field("card_number", &self.card_number)
            .field("out", &self.out)
            .finish_non_exhaustive()
    }
}

/// A field of a [`CardIssue`] that cannot go on a card, and what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidField {
    /// The field's name in [`CardIssue`] (`card_number`, `pin`, …).
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidField {
    InvalidField {
        field,
        message: message.into(),
    }
}

/// The card kind named `value`.
pub fn kind(value: &str) -> Result<CardKind, InvalidField> {
    CardKind::parse(value)
        .ok_or_else(|| invalid("kind", format!("must be nhi or moica, not {value:?}")))
}

/// Checks the holder data as the card's 57-byte basic-data layout needs it.
pub fn holder_from(args: &CardIssue, kind: CardKind) -> Result<CardHolder, InvalidField> {
    if args.card_number.len() != 12 || !args.card_number.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid("card_number", "must be 12 digits"));
    }
    let name = args.name.trim();
    let (big5, _, unmappable) = encoding_rs::BIG5.encode(name);
    if name.is_empty() || unmappable || big5.len() > 20 {
        return Err(invalid(
            "name",
            "must be 1–20 bytes in Big5 (up to 10 Chinese characters)",
        ));
    }
    let national_id =
        NationalId::parse(&args.national_id).map_err(|e| invalid("national_id", e))?;
    time::Date::parse(
        &args.birth_date,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| invalid("birth_date", "must be YYYY-MM-DD"))?;
    if !matches!(args.sex.as_str(), "M" | "F") {
        return Err(invalid("sex", "must be M or F"));
    }
    match (kind, &args.pin) {
        (CardKind::Moica, None) => Err(invalid("pin", "a MOICA card needs a PIN (4–12 digits)")),
        (_, Some(p)) if !(4..=12).contains(&p.len()) || !p.chars().all(|c| c.is_ascii_digit()) => {
            Err(invalid("pin", "must be 4–12 digits"))
        }
        (CardKind::Nhi, Some(_)) => Err(invalid("pin", "an NHI card has no PIN; leave it out")),
        _ => Ok(()),
    }?;
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
pub fn issue_card_file(args: &CardIssue, now: time::OffsetDateTime) -> anyhow::Result<String> {
    let kind = kind(&args.kind)?;
    let holder = holder_from(args, kind)?;
    if args.out.exists() {
        bail!("{} exists; choose another output file", args.out.display());
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
