//! Running the service: logging, the metrics listener and the purge of expired state.

use std::net::SocketAddr;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `cardinal=debug,actix_web=info`; `RUST_LOG` wins.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// The Prometheus endpoint `/metrics`, on a listener of its own (never the public port).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// `ADDRESS:PORT` of the metrics listener; `""` or `"off"` serves no metrics.
    pub listen: String,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9464".into(),
        }
    }
}

impl MetricsSettings {
    /// The address to serve metrics on; `None` when they are switched off.
    pub fn address(&self) -> anyhow::Result<Option<std::net::SocketAddr>> {
        let listen = self.listen.trim();
        if listen.is_empty() || listen.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        listen
            .parse()
            .map(Some)
            .with_context(|| format!("metrics.listen {listen:?} is not ADDRESS:PORT (or \"off\")"))
    }

    /// The metrics listener is valid and is not the public one (`listen`).
    pub(super) fn validate(&self, listen: SocketAddr) -> anyhow::Result<()> {
        if let Some(metrics) = self.address()? {
            if metrics == listen && listen.port() != 0 {
                bail!("metrics.listen must differ from listen: metrics are never served on the public port");
            }
        }
        Ok(())
    }
}

/// Garbage collection of expired state.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MaintenanceSettings {
    /// How often expired rows are deleted (seconds); with several instances on one
    /// database, one of them does it in each interval.
    pub purge_interval_secs: u64,
    /// How long expired or ended rows are kept before they are deleted (seconds): a
    /// replayed code is still recognised (and revokes what it issued) during this time.
    pub purge_grace_secs: i64,
}

impl Default for MaintenanceSettings {
    fn default() -> Self {
        Self {
            purge_interval_secs: 300,
            purge_grace_secs: 3600,
        }
    }
}

impl MaintenanceSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.purge_interval_secs == 0 || self.purge_grace_secs < 0 {
            bail!("maintenance: purge_interval_secs must be positive and purge_grace_secs not negative");
        }
        Ok(())
    }
}
