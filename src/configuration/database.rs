//! The database: which one `database_url` names, its pool, and hiding its password.

use std::path::PathBuf;

use anyhow::bail;
use serde::{Deserialize, Serialize};
use url::Url;

use super::Settings;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// Connections in the pool.
    pub pool_size: u32,
    /// Longest wait for a free connection before a request fails (seconds).
    pub acquire_timeout_secs: u64,
    /// SQLite: how long a writer waits for the lock (milliseconds).
    pub sqlite_busy_timeout_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            pool_size: 8,
            acquire_timeout_secs: 5,
            sqlite_busy_timeout_ms: 5000,
        }
    }
}

/// Which database the URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Settings {
    pub fn database_target(&self) -> anyhow::Result<DatabaseTarget> {
        let url = self.database_url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseTarget::Postgres(url.to_string()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            bail!("database_url is empty");
        }
        if path.contains("://") {
            bail!("database_url {url:?}: use a file path, sqlite://PATH or postgres://…");
        }
        Ok(DatabaseTarget::Sqlite(PathBuf::from(path)))
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:[redacted]@host/db`.
pub fn redact_url_password(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("[redacted]"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
