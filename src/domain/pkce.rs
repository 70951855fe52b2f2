//! PKCE (RFC 7636), S256 only.

use crate::crypto::{b64url, ct_eq, sha256};

fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// A `code_challenge` sent with `code_challenge_method=S256`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Parses the challenge and its method. `plain` and unknown methods are refused.
    pub fn parse(challenge: &str, method: Option<&str>) -> Result<CodeChallenge, String> {
        match method {
            Some("S256") => {}
            None => return Err("code_challenge_method is required and must be S256".into()),
            Some("plain") => {
                return Err("code_challenge_method plain is not allowed; use S256".into())
            }
            Some(other) => {
                return Err(format!(
                    "code_challenge_method {other:?} is not supported; use S256"
                ))
            }
        }
        // base64url of a SHA-256 digest is exactly 43 characters.
        if challenge.len() != 43
            || !challenge
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(
                "code_challenge must be the base64url SHA-256 of the verifier (43 characters)"
                    .into(),
            );
        }
        Ok(CodeChallenge(challenge.to_string()))
    }

    /// Trusted value read back from storage.
    pub fn from_stored(value: String) -> Self {
        CodeChallenge(value)
    }

    pub fn verify(&self, verifier: &CodeVerifier) -> bool {
        ct_eq(&b64url(&sha256(verifier.0.as_bytes())), &self.0)
    }
}

impl std::fmt::Display for CodeChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

serde_as_text!(CodeChallenge, |v: &str| CodeChallenge::parse(
    v,
    Some("S256")
));

impl AsRef<str> for CodeChallenge {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A `code_verifier`: 43–128 unreserved characters.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeVerifier(String);

impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeVerifier([redacted])")
    }
}

impl CodeVerifier {
    pub fn parse(value: &str) -> Result<CodeVerifier, String> {
        if !(43..=128).contains(&value.len()) || !value.chars().all(is_unreserved) {
            return Err(
                "code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)".into(),
            );
        }
        Ok(CodeVerifier(value.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example_verifies() {
        let verifier = CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        let challenge =
            CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Some("S256"))
                .unwrap();
        assert!(challenge.verify(&verifier));
        let other = CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX").unwrap();
        assert!(!challenge.verify(&other));
    }

    #[test]
    fn plain_and_missing_methods_are_refused() {
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(CodeChallenge::parse(c, Some("plain")).is_err());
        assert!(CodeChallenge::parse(c, None).is_err());
        assert!(CodeChallenge::parse("short", Some("S256")).is_err());
    }

    #[test]
    fn verifier_length_is_bounded() {
        assert!(CodeVerifier::parse(&"a".repeat(42)).is_err());
        assert!(CodeVerifier::parse(&"a".repeat(129)).is_err());
        assert!(CodeVerifier::parse(&"a".repeat(43)).is_ok());
        assert!(CodeVerifier::parse(&format!("{}+", "a".repeat(43))).is_err());
    }
}
