//! The JSON file of a virtual card (`cardinal-virtual-card/1`), written by the IdP's
//! `cardinal card issue` and read by `cardinal-virtual-card`.

use std::fmt;
use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The `format` value of a card file.
pub const CARD_FILE_FORMAT: &str = "cardinal-virtual-card/1";

/// Certificate policy OID of card profile `cardinal-nhi/1`.
pub const POLICY_OID_NHI: &str = "2.25.60985732484753227428584470586595408837.1";
/// Certificate policy OID of card profile `cardinal-moica/1`.
pub const POLICY_OID_MOICA: &str = "2.25.60985732484753227428584470586595408837.2";

/// The card kind, told by the certificate's policy OID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CardKind {
    /// `cardinal-nhi/1`: no PIN.
    Nhi,
    /// `cardinal-moica/1`: PIN before SIGN, blocks after 3 wrong PINs.
    Moica,
}

impl CardKind {
    /// `"nhi"` or `"moica"`: the token's `card_kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nhi => "nhi",
            Self::Moica => "moica",
        }
    }

    /// The certificate policy OID (dotted) of this kind.
    pub fn policy_oid(self) -> &'static str {
        match self {
            Self::Nhi => POLICY_OID_NHI,
            Self::Moica => POLICY_OID_MOICA,
        }
    }

    /// The profile name, `cardinal-nhi/1` or `cardinal-moica/1`.
    pub fn profile(self) -> &'static str {
        match self {
            Self::Nhi => "cardinal-nhi/1",
            Self::Moica => "cardinal-moica/1",
        }
    }

    /// The kind whose policy OID is `oid` (dotted form).
    pub fn from_policy_oid(oid: &str) -> Option<Self> {
        match oid {
            POLICY_OID_NHI => Some(Self::Nhi),
            POLICY_OID_MOICA => Some(Self::Moica),
            _ => None,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "nhi" => Some(Self::Nhi),
            "moica" => Some(Self::Moica),
            _ => None,
        }
    }

    /// Whether SIGN needs a verified PIN.
    pub fn needs_pin(self) -> bool {
        matches!(self, Self::Moica)
    }
}

impl fmt::Display for CardKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A virtual card: the holder's basic data, the certificate and the private key.
#[derive(Serialize, Deserialize, Clone)]
pub struct CardFile {
    /// `"cardinal-virtual-card/1"`.
    pub format: String,
    pub kind: CardKind,
    /// 12 digits.
    pub card_number: String,
    /// e.g. `"王小明"`.
    pub name: String,
    /// e.g. `"A123456789"`.
    pub national_id: String,
    /// ISO `"1980-01-02"`.
    pub birth_date: String,
    /// `"M"` or `"F"`.
    pub sex: String,
    /// ISO `"2024-05-06"`.
    pub issue_date: String,
    /// The PIN (moica only; 4–12 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    /// The card's X.509 certificate (PEM).
    pub certificate_pem: String,
    /// PKCS#8 PEM, ECDSA P-256.
    pub private_key_pem: String,
}

impl fmt::Debug for CardFile {
    // Never print the key or the PIN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardFile")
            .field("format", &self.format)
            .field("kind", &self.kind)
            .field("card_number", &self.card_number)
            .field("name", &self.name)
            .field("pin", &self.pin.as_ref().map(|_| "[redacted]"))
            .field("private_key_pem", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl CardFile {
    /// Reads and checks a card file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| Error::io(format!("Failed to read card file {}", path.display()), e))?;
        let file: Self = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Config(format!(
                "card file {} is not a valid {CARD_FILE_FORMAT} file: {e}",
                path.display()
            ))
        })?;
        file.check()
            .map_err(|e| Error::Config(format!("card file {}: {e}", path.display())))?;
        Ok(file)
    }

    /// Writes the card file with mode 0600 (it holds the private key and PIN).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let context = || format!("Failed to write card file {}", path.display());
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Config(format!("{}: {e}", context())))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| Error::io(context(), e))?;
        #[cfg(unix)]
        {
            // `mode` only applies to a new file: tighten an existing one too.
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::io(context(), e))?;
        }
        file.write_all(&json)
            .and_then(|()| file.write_all(b"\n"))
            .map_err(|e| Error::io(context(), e))
    }

    /// Checks the fields a card needs; returns a message naming the first bad one.
    pub fn check(&self) -> Result<(), String> {
        if self.format != CARD_FILE_FORMAT {
            return Err(format!(
                "format is {:?}, expected {CARD_FILE_FORMAT:?}",
                self.format
            ));
        }
        if self.card_number.len() != 12 || !self.card_number.bytes().all(|b| b.is_ascii_digit()) {
            return Err("card_number must be 12 digits".into());
        }
        match (self.kind, &self.pin) {
            (CardKind::Moica, None) => return Err("a moica card needs a pin".into()),
            (CardKind::Moica, Some(pin)) if !is_valid_pin(pin) => {
                return Err("pin must be 4 to 12 digits".into())
            }
            _ => {}
        }
        Ok(())
    }
}

/// A PIN is 4–12 ASCII digits.
pub fn is_valid_pin(pin: &str) -> bool {
    (4..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_serializes_lowercase_and_maps_policy_oids() {
        assert_eq!(
            serde_json::to_string(&CardKind::Moica).unwrap(),
            "\"moica\""
        );
        assert_eq!(
            CardKind::from_policy_oid(POLICY_OID_NHI),
            Some(CardKind::Nhi)
        );
        assert_eq!(
            CardKind::from_policy_oid(POLICY_OID_MOICA),
            Some(CardKind::Moica)
        );
        assert_eq!(CardKind::from_policy_oid("1.2.3"), None);
        assert_eq!(CardKind::Nhi.policy_oid(), POLICY_OID_NHI);
        assert_eq!(CardKind::Moica.profile(), "cardinal-moica/1");
    }

    #[test]
    fn pins_are_4_to_12_digits() {
        assert!(is_valid_pin("1234"));
        assert!(is_valid_pin("123456789012"));
        assert!(!is_valid_pin("123"));
        assert!(!is_valid_pin("1234567890123"));
        assert!(!is_valid_pin("12a4"));
    }
}
