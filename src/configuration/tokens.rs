//! Signing keys, token and session lifetimes, and OpenID Connect options.

use anyhow::bail;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::redacted;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeySettings {
    /// Base64 (standard or url-safe) of at least 32 random bytes. Encrypts the signing keys
    /// at rest and keys the hashes of client secrets and pairwise subjects. Every instance
    /// on one database needs the same value. When unset, `DATA_DIR/secret.key` is used
    /// (generated on first start, with a warning).
    #[serde(serialize_with = "redacted")]
    pub secret_key: Option<SecretString>,
    /// Signing algorithms to keep keys for: any of `RS256`, `ES256`, `EdDSA`.
    pub algorithms: Vec<String>,
    /// Algorithm for ID tokens of clients that do not choose one, and for access tokens.
    pub default_algorithm: String,
    /// How long a rotated-in key is published in the JWKS before it signs (seconds).
    pub prepublish_secs: i64,
}

impl Default for KeySettings {
    fn default() -> Self {
        Self {
            secret_key: None,
            algorithms: vec!["RS256".into(), "ES256".into(), "EdDSA".into()],
            default_algorithm: "RS256".into(),
            prepublish_secs: 3600,
        }
    }
}

impl KeySettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        for alg in &self.algorithms {
            if !matches!(alg.as_str(), "RS256" | "ES256" | "EdDSA") {
                bail!("keys.algorithms: unsupported algorithm {alg:?} (use RS256, ES256, EdDSA)");
            }
        }
        if !self.algorithms.iter().any(|a| a == &self.default_algorithm) {
            bail!("keys.default_algorithm must be one of keys.algorithms");
        }
        if !self.algorithms.iter().any(|a| a == "RS256") {
            bail!("keys.algorithms must include RS256 (required by OpenID Connect)");
        }
        if self.prepublish_secs < 0 {
            bail!("keys.prepublish_secs must not be negative");
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// Authorization code lifetime (seconds; FAPI 2.0 caps it at 60).
    pub code_ttl: i64,
    /// Access token lifetime (seconds).
    pub access_token_ttl: i64,
    /// ID token lifetime (seconds).
    pub id_token_ttl: i64,
    /// Absolute lifetime of a refresh-token family (seconds); rotation never extends it.
    pub refresh_token_ttl: i64,
    /// Absolute lifetime of a sign-in session (seconds; NIST AAL3: at most 12 h).
    pub session_ttl: i64,
    /// A sign-in session unused this long ends (seconds; shared office PCs). Counted in the
    /// database, so it holds across instances.
    pub session_idle_ttl: i64,
    /// Time a user has to finish signing in and consenting (seconds).
    pub interaction_ttl: i64,
    /// Lifetime of back-channel logout tokens (seconds).
    pub logout_token_ttl: i64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            code_ttl: 60,
            access_token_ttl: 600,
            id_token_ttl: 600,
            refresh_token_ttl: 30 * 24 * 3600,
            session_ttl: 12 * 3600,
            session_idle_ttl: 30 * 60,
            interaction_ttl: 900,
            logout_token_ttl: 120,
        }
    }
}

impl TokenSettings {
    /// How long a retired signing key stays in the JWKS: until every token it signed has
    /// expired, and as long as a session lasts, so that ID tokens of live sessions still
    /// work as `id_token_hint`.
    pub fn key_retention(&self) -> i64 {
        self.access_token_ttl
            .max(self.id_token_ttl)
            .max(self.logout_token_ttl)
            .max(self.session_ttl)
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        for (name, v) in [
            ("code_ttl", self.code_ttl),
            ("access_token_ttl", self.access_token_ttl),
            ("id_token_ttl", self.id_token_ttl),
            ("refresh_token_ttl", self.refresh_token_ttl),
            ("session_ttl", self.session_ttl),
            ("session_idle_ttl", self.session_idle_ttl),
            ("interaction_ttl", self.interaction_ttl),
            ("logout_token_ttl", self.logout_token_ttl),
        ] {
            if v <= 0 {
                bail!("tokens.{name} must be positive");
            }
        }
        if self.session_idle_ttl > self.session_ttl {
            bail!("tokens.session_idle_ttl must be at most tokens.session_ttl");
        }
        if self.code_ttl > 600 {
            bail!("tokens.code_ttl must be at most 600 seconds (RFC 6749 §4.1.2)");
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcSettings {
    /// Require PKCE (S256) from confidential clients too (always required from public ones).
    pub require_pkce: bool,
    /// Languages the pages speak; the first is the default.
    pub ui_locales: Vec<String>,
}

impl Default for OidcSettings {
    fn default() -> Self {
        Self {
            require_pkce: true,
            ui_locales: vec!["zh-TW".into(), "en".into()],
        }
    }
}

impl OidcSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.ui_locales.is_empty() {
            bail!("oidc.ui_locales must name at least one language");
        }
        Ok(())
    }
}
