//! The HTTP side: trusted proxies, header size and direct TLS.

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
