//! The HTTP side: trusted proxies, header size, direct TLS and per-address request limits.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::bail;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Peers whose `X-Forwarded-For` is believed (IP addresses). Whether cookies are
    /// `Secure` follows the scheme of `issuer`.
    pub trusted_proxies: Vec<IpAddr>,
    /// Largest total size of a request's head (request line and every header line, in
    /// bytes); a larger one is answered 431.
    pub max_header_bytes: usize,
    /// Serve HTTPS directly with these PEM files.
    pub tls: Option<TlsSettings>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            max_header_bytes: 16 * 1024,
            tls: None,
        }
    }
}

impl HttpSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if !(4096..=65536).contains(&self.max_header_bytes) {
            bail!("http.max_header_bytes must be between 4096 and 65536");
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    pub certificate: PathBuf,
    pub private_key: PathBuf,
}

/// Per-address limits on requests that anyone may send and that write to the database
/// (docs/requirements.md R-X-3). Counted per client address (an IPv6 address by its /64) in
/// fixed one-minute windows in the database, so every instance on one database shares them;
/// a request over the limit is answered 429 with `Retry-After`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// `POST /card/challenge` and `POST /card/check`.
    pub card_per_ip_per_minute: i32,
    /// `GET`/`POST /authorize` (each may start a sign-in interaction).
    pub authorize_per_ip_per_minute: i32,
    /// Every other form or page that writes: `POST /interaction/…`, `GET`/`POST /logout`,
    /// `POST /logout/confirm`, every `POST /register/…`.
    pub forms_per_ip_per_minute: i32,
    /// Failed client authentications at `/token`, `/introspect` and `/revoke`; past it
    /// those endpoints answer 429 to the address until the minute is over.
    pub client_auth_failures_per_ip_per_minute: i32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            card_per_ip_per_minute: 300,
            authorize_per_ip_per_minute: 300,
            forms_per_ip_per_minute: 600,
            client_auth_failures_per_ip_per_minute: 60,
        }
    }
}

impl LimitSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if [
            self.card_per_ip_per_minute,
            self.authorize_per_ip_per_minute,
            self.forms_per_ip_per_minute,
            self.client_auth_failures_per_ip_per_minute,
        ]
        .iter()
        .any(|n| *n <= 0)
        {
            bail!("limits: every limit must be positive");
        }
        Ok(())
    }
}
