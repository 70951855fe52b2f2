//! Layered settings: built-in defaults < `cardinal.toml` (or `--config FILE`) < `CARDINAL_*`
//! environment variables (`__` separates nested keys, e.g. `CARDINAL_TOKENS__CODE_TTL`).
//!
//! Every option is documented here, where its default lives, and in `cardinal.example.toml`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
pub use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

mod card;
mod database;
mod http;
mod limits;
mod mail;
mod operations;
mod registration;
mod site;
mod tokens;

pub use card::{CardSettings, RevocationCheck};
pub use database::{redact_url_password, DatabaseSettings, DatabaseTarget};
pub use http::{HttpSettings, TlsSettings};
pub use limits::{LimitSettings, NetworkBudget};
pub use mail::MailSettings;
pub use operations::{LogFormat, LogSettings, MaintenanceSettings, MetricsSettings};
pub use registration::{AdminSettings, PasswordSettings, RegistrationSettings};
pub use site::{RelatedLink, SiteSettings};
pub use tokens::{KeySettings, OidcSettings, TokenSettings};

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Public base URL of this OP; the `iss` of every token (`CARDINAL_ISSUER`).
    pub issuer: String,
    /// Address and port to listen on (`CARDINAL_LISTEN`).
    pub listen: String,
    /// A file path or `sqlite://PATH` for SQLite, `postgres://…` for PostgreSQL
    /// (`CARDINAL_DATABASE_URL`).
    pub database_url: String,
    /// Where generated files live (the generated secret key). The database location
    /// is `database_url` alone.
    pub data_dir: PathBuf,
    /// Folder whose `*.hbs` files override the built-in templates (optional).
    pub templates_dir: Option<PathBuf>,
    /// Outgoing mail server (`CARDINAL_SMTP_URL`), e.g. `smtp://127.0.0.1:2525`,
    /// `smtp://user:pass@mail.example.gov.tw:587?tls=required` or `smtps://…:465`.
    #[serde(serialize_with = "redacted")]
    pub smtp_url: Option<SecretString>,
    /// Without `smtp_url`: write mail as `.eml` files into this folder
    /// (`CARDINAL_MAIL_OUTBOX`; default `DATA_DIR/outbox`), for development.
    pub mail_outbox: Option<PathBuf>,
    pub log: LogSettings,
    pub database: DatabaseSettings,
    pub keys: KeySettings,
    pub tokens: TokenSettings,
    pub oidc: OidcSettings,
    pub http: HttpSettings,
    pub card: CardSettings,
    pub password: PasswordSettings,
    pub mail: MailSettings,
    pub registration: RegistrationSettings,
    pub admin: AdminSettings,
    pub metrics: MetricsSettings,
    pub limits: LimitSettings,
    pub maintenance: MaintenanceSettings,
    pub site: SiteSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:8080".into(),
            listen: "127.0.0.1:8080".into(),
            database_url: "data/cardinal.db".into(),
            data_dir: PathBuf::from("data"),
            templates_dir: None,
            smtp_url: None,
            mail_outbox: None,
            log: LogSettings::default(),
            database: DatabaseSettings::default(),
            keys: KeySettings::default(),
            tokens: TokenSettings::default(),
            oidc: OidcSettings::default(),
            http: HttpSettings::default(),
            card: CardSettings::default(),
            password: PasswordSettings::default(),
            mail: MailSettings::default(),
            registration: RegistrationSettings::default(),
            admin: AdminSettings::default(),
            metrics: MetricsSettings::default(),
            limits: LimitSettings::default(),
            maintenance: MaintenanceSettings::default(),
            site: SiteSettings::default(),
        }
    }
}

impl Settings {
    /// Loads defaults < `config_file` (or `./cardinal.toml` when present) < environment.
    pub fn load(config_file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match config_file {
            Some(path) => {
                if !path.exists() {
                    bail!("config file {} does not exist", path.display());
                }
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("cardinal.toml")),
        }
        figment = figment.merge(Env::prefixed("CARDINAL_").split("__"));
        let settings: Settings = figment.extract().context("Invalid configuration")?;
        settings.validate()?;
        Ok(settings)
    }

    /// Fails fast on values that cannot work.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.validate_issuer()?;
        let listen = self
            .listen
            .parse::<SocketAddr>()
            .with_context(|| format!("listen {:?} is not ADDRESS:PORT", self.listen))?;
        self.metrics.validate(listen)?;
        self.http.validate()?;
        self.limits.validate()?;
        self.maintenance.validate()?;
        self.keys.validate()?;
        self.tokens.validate()?;
        self.mail.validate(self.smtp_url.as_ref())?;
        self.registration.validate()?;
        self.password.validate()?;
        self.card.validate()?;
        self.admin.validate(&self.tokens)?;
        self.oidc.validate()?;
        self.site.validate()?;
        self.database_target()?;
        Ok(())
    }

    /// The issuer is an http(s) URL of a host's root, compared byte for byte.
    fn validate_issuer(&self) -> anyhow::Result<()> {
        let issuer = Url::parse(&self.issuer)
            .with_context(|| format!("issuer {:?} is not a URL", self.issuer))?;
        if !matches!(issuer.scheme(), "https" | "http") {
            bail!("issuer must be an https URL (http only for local development)");
        }
        if issuer.query().is_some() || issuer.fragment().is_some() {
            bail!("issuer must not have a query or fragment");
        }
        if issuer.path() != "/" {
            bail!("issuer must not have a path: serve Cardinal at the root of its host (e.g. https://idp.example.gov.tw)");
        }
        if self.issuer.ends_with('/') {
            bail!("issuer must not end with '/' (it is compared byte for byte)");
        }
        Ok(())
    }

    /// Whether pages are served over TLS (directly or behind a proxy), for `Secure` cookies.
    pub fn is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// The effective configuration as TOML, secrets redacted.
    pub fn redacted_toml(&self) -> anyhow::Result<String> {
        let mut redacted = self.clone();
        redacted.database_url = redact_url_password(&self.database_url);
        toml::to_string_pretty(&redacted).context("Failed to serialize settings")
    }
}

/// Serializes a configured secret as `"[redacted]"`, never its value (`SecretString`
/// itself does not serialize, and its `Debug` prints no value either).
fn redacted<S: serde::Serializer>(
    secret: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(_) => serializer.serialize_some("[redacted]"),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;

    #[test]
    fn database_url_scheme_selects_backend() {
        let mut s = Settings::default();
        s.database_url = "sqlite:///tmp/x.db".into();
        assert_eq!(
            s.database_target().unwrap(),
            DatabaseTarget::Sqlite("/tmp/x.db".into())
        );
        s.database_url = "data/c.db".into();
        assert_eq!(
            s.database_target().unwrap(),
            DatabaseTarget::Sqlite("data/c.db".into())
        );
        s.database_url = "postgres://u@h/db".into();
        assert!(matches!(
            s.database_target().unwrap(),
            DatabaseTarget::Postgres(_)
        ));
        s.database_url = "mysql://u@h/db".into();
        assert!(s.database_target().is_err());
    }

    #[test]
    fn redacted_config_hides_secret_key_and_database_password() {
        let mut s = Settings::default();
        s.keys.secret_key = Some(SecretString::from(
            "c3VwZXJzZWNyZXRzdXBlcnNlY3JldHN1cGVyc2VjcmV0MTI=",
        ));
        s.database_url = "postgres://cardinal:hunter2@db/cardinal".into();
        let text = s.redacted_toml().unwrap();
        assert!(!text.contains("c3VwZXJzZWNyZXQ"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("[keys]"), "{text}");
        assert!(text.contains("secret_key = \"[redacted]\""), "{text}");
    }

    #[test]
    fn printed_config_parses_back_to_the_same_settings() {
        let mut s = Settings::default();
        s.smtp_url = Some(SecretString::from("smtp://mail.example.gov.tw:587"));
        s.http.trusted_proxies = vec!["192.0.2.1".parse().unwrap()];
        s.http.tls = Some(TlsSettings {
            certificate: "cert.pem".into(),
            private_key: "key.pem".into(),
        });
        s.card.nhi_ca_files = vec!["nhi.pem".into(), "nhi2.pem".into()];
        s.password.min_length = Some(8);
        let text = s.redacted_toml().unwrap();
        let parsed: Settings = toml::from_str(&text).unwrap();
        // Secrets come back as "[redacted]", which serializes as "[redacted]" again.
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            serde_json::to_value(&s).unwrap(),
            "{text}"
        );
        assert!(text.contains("[http.tls]"), "{text}");
    }

    #[test]
    fn issuer_with_trailing_slash_is_rejected() {
        let mut s = Settings::default();
        s.issuer = "https://idp.example.gov.tw/".into();
        assert!(s.validate().is_err());
        s.issuer = "https://idp.example.gov.tw".into();
        assert!(s.validate().is_ok());
        s.issuer = "https://idp.example.gov.tw/cardinal".into();
        assert!(s.validate().unwrap_err().to_string().contains("path"));
    }
}
