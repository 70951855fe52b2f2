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

    /// The kind whose policy OID has these DER content bytes (no tag, no length),
    /// as X.509 parsers hand them out.
    pub fn from_policy_oid_der(content: &[u8]) -> Option<Self> {
        [Self::Nhi, Self::Moica]
            .into_iter()
            .find(|kind| oid_der_content(kind.policy_oid()).as_deref() == Some(content))
    }

    /// The value of a certificatePolicies extension (OID 2.5.29.32) naming this
    /// kind's policy: `SEQUENCE { SEQUENCE { OID } }`, DER. For certificate issuers
    /// (e.g. rcgen's `CustomExtension::from_oid_content(&[2, 5, 29, 32], ..)`).
    pub fn certificate_policies_der(self) -> Vec<u8> {
        let oid = oid_der_content(self.policy_oid()).unwrap_or_default();
        let policy_information = der_tlv(0x30, &der_tlv(0x06, &oid));
        der_tlv(0x30, &policy_information)
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

/// DER content bytes of a dotted OID whose arcs fit in 128 bits.
pub fn oid_der_content(dotted: &str) -> Option<Vec<u8>> {
    let arcs = dotted
        .split('.')
        .map(|a| a.parse::<u128>().ok())
        .collect::<Option<Vec<_>>>()?;
    let (first, second, rest) = match arcs.as_slice() {
        [first @ 0..=2, second, rest @ ..] => (*first, *second, rest),
        _ => return None,
    };
    if first < 2 && second >= 40 {
        return None;
    }
    let mut out = Vec::new();
    for arc in std::iter::once(first * 40 + second).chain(rest.iter().copied()) {
        let mut groups = vec![(arc & 0x7F) as u8];
        let mut value = arc >> 7;
        while value > 0 {
            groups.push((value & 0x7F) as u8 | 0x80);
            value >>= 7;
        }
        out.extend(groups.iter().rev());
    }
    Some(out)
}

/// A DER tag-length-value with a short or long length.
fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match u8::try_from(content.len()) {
        Ok(len) if len < 0x80 => out.push(len),
        _ => {
            let len = content.len().to_be_bytes();
            let significant: Vec<u8> = len.iter().copied().skip_while(|b| *b == 0).collect();
            out.push(0x80 | significant.len() as u8);
            out.extend(significant);
        }
    }
    out.extend_from_slice(content);
    out
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
    fn policy_oids_encode_to_der() {
        // 2.5.29.32 is 55 1D 20.
        assert_eq!(oid_der_content("2.5.29.32").unwrap(), [0x55, 0x1D, 0x20]);
        let nhi = oid_der_content(POLICY_OID_NHI).unwrap();
        assert_eq!(nhi[0], 0x69); // 2.25
        assert_eq!(*nhi.last().unwrap(), 0x01);
        assert_eq!(CardKind::from_policy_oid_der(&nhi), Some(CardKind::Nhi));
        let moica = oid_der_content(POLICY_OID_MOICA).unwrap();
        assert_eq!(CardKind::from_policy_oid_der(&moica), Some(CardKind::Moica));
        let ext = CardKind::Moica.certificate_policies_der();
        assert_eq!(ext[0], 0x30);
        assert_eq!(usize::from(ext[1]), ext.len() - 2);
        assert!(ext.ends_with(&moica));
        assert_eq!(oid_der_content("3.1"), None);
        assert_eq!(oid_der_content("1.40"), None);
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
