//! The token format shared with the card authenticator (CARD-PROFILE.md §2, §4).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const TOKEN_FORMAT: &str = "cardinal-card/1";

/// Card kinds and the certificate policy that marks each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CardKind {
    Nhi,
    Moica,
}

pub const POLICY_OID_NHI: &str = "2.25.60985732484753227428584470586595408837.1";
pub const POLICY_OID_MOICA: &str = "2.25.60985732484753227428584470586595408837.2";

impl CardKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CardKind::Nhi => "nhi",
            CardKind::Moica => "moica",
        }
    }

    pub fn parse(value: &str) -> Option<CardKind> {
        match value {
            "nhi" => Some(CardKind::Nhi),
            "moica" => Some(CardKind::Moica),
            _ => None,
        }
    }

    pub fn policy_oid(self) -> &'static str {
        match self {
            CardKind::Nhi => POLICY_OID_NHI,
            CardKind::Moica => POLICY_OID_MOICA,
        }
    }
}

/// What the authenticator returns from `/v1/card/authenticate`.
#[derive(Clone, Serialize, Deserialize)]
pub struct CardToken {
    pub format: String,
    pub card_kind: String,
    /// Standard base64 of the certificate DER.
    pub certificate: String,
    pub algorithm: String,
    /// base64url of r ‖ s.
    pub signature: String,
    pub app_version: String,
}

impl std::fmt::Debug for CardToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardToken")
            .field("card_kind", &self.card_kind)
            .field("app_version", &self.app_version)
            .finish_non_exhaustive()
    }
}

/// SHA-256( SHA-256(origin) ‖ SHA-256(challenge) ).
pub fn signing_hash(origin: &str, challenge: &str) -> [u8; 32] {
    let mut outer = Sha256::new();
    outer.update(Sha256::digest(origin.as_bytes()));
    outer.update(Sha256::digest(challenge.as_bytes()));
    outer.finalize().into()
}

/// The DER content octets of a dotted OID (arcs up to 128 bits: the UUID arc of 2.25
/// does not fit 64, which is why certificates are compared on these bytes, not strings).
pub fn oid_content(oid: &str) -> Option<Vec<u8>> {
    let arcs: Vec<u128> = oid
        .split('.')
        .map(str::parse::<u128>)
        .collect::<Result<_, _>>()
        .ok()?;
    let (first, second) = (*arcs.first()?, *arcs.get(1)?);
    let mut out = Vec::new();
    for arc in std::iter::once(first * 40 + second).chain(arcs.iter().skip(2).copied()) {
        let mut v = arc;
        let mut bytes = vec![(v & 0x7f) as u8];
        v >>= 7;
        while v > 0 {
            bytes.push(((v & 0x7f) as u8) | 0x80);
            v >>= 7;
        }
        bytes.reverse();
        out.extend(bytes);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_content_matches_known_encodings() {
        // 1.2.840.10045.2.1 (id-ecPublicKey) = 2A 86 48 CE 3D 02 01
        assert_eq!(
            oid_content("1.2.840.10045.2.1").unwrap(),
            vec![0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]
        );
        assert!(oid_content("2").is_none());
    }

    #[test]
    fn signing_hash_is_the_hash_of_both_hashes() {
        let h = signing_hash("https://idp.example.gov.tw", "abc");
        let mut expect = Sha256::new();
        expect.update(Sha256::digest(b"https://idp.example.gov.tw"));
        expect.update(Sha256::digest(b"abc"));
        assert_eq!(h, <[u8; 32]>::from(expect.finalize()));
        assert_ne!(h, signing_hash("https://evil.example", "abc"));
    }
}
