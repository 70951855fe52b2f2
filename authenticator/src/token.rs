//! The `cardinal-card/1` token (docs/card-protocol.md §4) and the bytes the card signs
//! (§2).

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The token's `format`.
pub const TOKEN_FORMAT: &str = "cardinal-card/1";
/// The token's `algorithm`.
pub const ALGORITHM_ES256: &str = "ES256";

/// `cardinal-authenticator/<crate version>`.
pub fn app_version() -> String {
    format!("cardinal-authenticator/{}", env!("CARGO_PKG_VERSION"))
}

/// The answer of `POST /v1/card/authenticate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardToken {
    /// `"cardinal-card/1"`.
    pub format: String,
    /// `"nhi"` or `"moica"`.
    pub card_kind: String,
    /// Standard base64 (with padding) of the certificate's DER.
    pub certificate: String,
    /// `"ES256"`.
    pub algorithm: String,
    /// base64url without padding of the 64-byte `r ‖ s`.
    pub signature: String,
    /// `"cardinal-authenticator/0.1.0"`.
    pub app_version: String,
}

/// `SHA-256( SHA-256(origin) ‖ SHA-256(challenge) )`, with `challenge` the ASCII
/// bytes of the base64url string the IdP issued.
pub fn signing_hash(origin: &str, challenge: &str) -> [u8; 32] {
    let mut outer = Sha256::new();
    outer.update(Sha256::digest(origin.as_bytes()));
    outer.update(Sha256::digest(challenge.as_bytes()));
    outer.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn signing_hash_matches_the_fixture() {
        // Computed independently: sha256(sha256(origin) || sha256(challenge)).
        assert_eq!(
            hex(&signing_hash(
                "https://idp.example.gov.tw",
                "dGVzdC1jaGFsbGVuZ2U"
            )),
            "9b392cdd4f9b19a490edfd5b2832956fc6e25cc5c883e7b6725dd2ab641dee0b"
        );
    }

    #[test]
    fn signing_hash_binds_the_origin() {
        assert_ne!(
            signing_hash("https://idp.example.gov.tw", "abc"),
            signing_hash("https://evil.example", "abc")
        );
    }

    #[test]
    fn token_serializes_with_the_profile_field_names() {
        let token = CardToken {
            format: TOKEN_FORMAT.into(),
            card_kind: "nhi".into(),
            certificate: "MIIB".into(),
            algorithm: ALGORITHM_ES256.into(),
            signature: "sig".into(),
            app_version: app_version(),
        };
        let json = serde_json::to_value(&token).unwrap();
        let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "algorithm",
                "app_version",
                "card_kind",
                "certificate",
                "format",
                "signature"
            ]
        );
        assert_eq!(json["app_version"], "cardinal-authenticator/0.1.0");
    }
}
