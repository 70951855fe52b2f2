//! Layered settings: built-in defaults < `cardinal.toml` (or `--config FILE`) < `CARDINAL_*`
//! environment variables (`__` separates nested keys, e.g. `CARDINAL_TOKENS__CODE_TTL`).
//!
//! Every option is documented here, where its default lives, and in `cardinal.example.toml`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::ExposeSecret;
pub use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

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
        }
    }
}

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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    pub certificate: PathBuf,
    pub private_key: PathBuf,
}

/// Card sign-in (docs/requirements.md R-CARD): which card issuers are trusted and where the
/// local authenticator listens.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CardSettings {
    /// PEM files of the CA certificates trusted for NHI-kind cards (`cardinal-nhi/1`).
    pub nhi_ca_files: Vec<PathBuf>,
    /// PEM files of the CA certificates trusted for MOICA-kind cards (`cardinal-moica/1`).
    pub moica_ca_files: Vec<PathBuf>,
    /// CRL files (PEM or DER) of those CAs; re-read when they change on disk.
    pub crl_files: Vec<PathBuf>,
    /// How card certificates are checked for revocation: `crl` (every configured CA needs
    /// a current CRL in `crl_files`; cards of a CA whose CRL is past its nextUpdate are
    /// refused) or `off` (no revocation check at all; warned about at every start and
    /// shown by `/readyz`).
    pub revocation_check: RevocationCheck,
    /// How often (seconds) the CRL files are looked at for changes, so that a newly revoked
    /// certificate ends the sessions it opened (they are also looked at on every card check).
    pub crl_check_interval: u64,
    /// Lifetime of a card challenge (seconds; R-CARD-3: 5 minutes).
    pub challenge_ttl: i64,
    /// Where pages tell the browser to find the card authenticator.
    pub authenticator_url: String,
    /// The authenticator program offered on the environment page (電腦環境說明);
    /// default: `cardinal-authenticator` next to the `cardinal` executable.
    pub authenticator_download: Option<PathBuf>,
}

impl Default for CardSettings {
    fn default() -> Self {
        Self {
            nhi_ca_files: Vec::new(),
            moica_ca_files: Vec::new(),
            crl_files: Vec::new(),
            revocation_check: RevocationCheck::Crl,
            crl_check_interval: 60,
            challenge_ttl: 300,
            authenticator_url: "http://127.0.0.1:7777".into(),
            authenticator_download: None,
        }
    }
}

/// `card.revocation_check`: whether card certificates are checked against CRLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RevocationCheck {
    /// Every configured card CA needs a CRL that is not past its nextUpdate (fail closed).
    #[default]
    Crl,
    /// No revocation check: a revoked card can sign in. For development only.
    Off,
}

impl RevocationCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationCheck::Crl => "crl",
            RevocationCheck::Off => "off",
        }
    }
}

/// Registrations, sign-in and abuse limits (docs/requirements.md R-REG, R-X-3).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrationSettings {
    /// Consecutive wrong passwords that lock a registration (rule 10; default 5).
    pub lockout_threshold: i32,
    /// Lifetime of the confirmation link (認證通知信; the guide: 5 days; NIST caps e-mail
    /// codes at 24 h).
    pub confirm_link_ttl: i64,
    /// Lifetime of the password-reset link (重設註冊密碼信; 30 minutes).
    pub reset_link_ttl: i64,
    /// Sign-in attempts allowed per client address per minute.
    pub login_per_ip_per_minute: i32,
    /// Sign-in attempts allowed per card per 5 minutes.
    pub login_per_card_per_5_minutes: i32,
    /// Applications, 忘記註冊密碼, 重寄認證信 and 刪除註冊申請 allowed per client address per
    /// 5 minutes (each counted on its own).
    pub apply_per_ip_per_5_minutes: i32,
}

impl Default for RegistrationSettings {
    fn default() -> Self {
        Self {
            lockout_threshold: 5,
            confirm_link_ttl: 5 * 24 * 3600,
            reset_link_ttl: 1800,
            login_per_ip_per_minute: 30,
            login_per_card_per_5_minutes: 10,
            apply_per_ip_per_5_minutes: 20,
        }
    }
}

/// The admin console at `/admin` (docs/requirements.md R-ADM-1). It signs in through
/// Cardinal itself as the first-party client `cardinal-admin`, registered at startup.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    /// The lowest sign-in level for the console: `card` (NHI card + 註冊密碼) or
    /// `citizen-certificate` (MOICA card + PIN), or the acr URN.
    pub min_acr: crate::domain::Acr,
    /// Lifetime of a console session (seconds); it also ends with the SSO session.
    pub session_ttl: i64,
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            min_acr: crate::domain::Acr::Card,
            session_ttl: 3600,
        }
    }
}

/// Mail (docs/requirements.md R-OPS-7, R-REG-5, R-REG-7).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    /// The sender, `Name <address>`.
    pub from: String,
    /// Domains the apply page warns about (the guide: Microsoft mailboxes may not receive
    /// the mail).
    pub warn_domains: Vec<String>,
    /// How often the outbox worker looks for mail to send (seconds).
    pub send_interval_secs: u64,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            from: "健保卡網路服務 <noreply@cardinal.localhost>".into(),
            warn_domains: ["hotmail.com", "outlook.com", "live.com", "msn.com"]
                .map(String::from)
                .to_vec(),
            send_interval_secs: 2,
        }
    }
}

/// Registration passwords (docs/requirements.md R-REG-8; docs/security.md §2.7).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordSettings {
    /// `tw-nhi` (6–12 characters, no space < > ' ", the NHI rule; deviates from NIST's
    /// minimum of 8) or `nist` (8–64 characters, any character).
    pub profile: crate::domain::password::PolicyProfile,
    /// Override the profile's minimum length.
    pub min_length: Option<usize>,
    /// Override the profile's maximum length (at most 256, never truncated).
    pub max_length: Option<usize>,
    /// argon2id memory cost in KiB (OWASP: 19456).
    pub argon2_memory_kib: u32,
    /// argon2id iterations.
    pub argon2_iterations: u32,
    /// argon2id lanes.
    pub argon2_parallelism: u32,
}

impl Default for PasswordSettings {
    fn default() -> Self {
        Self {
            profile: Default::default(),
            min_length: None,
            max_length: None,
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
        }
    }
}

impl PasswordSettings {
    pub fn policy(&self) -> crate::domain::password::PasswordPolicy {
        let mut p = crate::domain::password::PasswordPolicy::for_profile(self.profile);
        if let Some(min) = self.min_length {
            p.min_length = min;
        }
        if let Some(max) = self.max_length {
            p.max_length = max;
        }
        p
    }
}

/// Which database the URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Sqlite(PathBuf),
    Postgres(String),
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
        let listen = self
            .listen
            .parse::<std::net::SocketAddr>()
            .with_context(|| format!("listen {:?} is not ADDRESS:PORT", self.listen))?;
        if let Some(metrics) = self.metrics.address()? {
            if metrics == listen && listen.port() != 0 {
                bail!("metrics.listen must differ from listen: metrics are never served on the public port");
            }
        }
        if !(4096..=65536).contains(&self.http.max_header_bytes) {
            bail!("http.max_header_bytes must be between 4096 and 65536");
        }
        let l = &self.limits;
        if [
            l.card_per_ip_per_minute,
            l.authorize_per_ip_per_minute,
            l.forms_per_ip_per_minute,
            l.client_auth_failures_per_ip_per_minute,
        ]
        .iter()
        .any(|n| *n <= 0)
        {
            bail!("limits: every limit must be positive");
        }
        if self.maintenance.purge_interval_secs == 0 || self.maintenance.purge_grace_secs < 0 {
            bail!("maintenance: purge_interval_secs must be positive and purge_grace_secs not negative");
        }
        for alg in &self.keys.algorithms {
            if !matches!(alg.as_str(), "RS256" | "ES256" | "EdDSA") {
                bail!("keys.algorithms: unsupported algorithm {alg:?} (use RS256, ES256, EdDSA)");
            }
        }
        if !self
            .keys
            .algorithms
            .iter()
            .any(|a| a == &self.keys.default_algorithm)
        {
            bail!("keys.default_algorithm must be one of keys.algorithms");
        }
        if !self.keys.algorithms.iter().any(|a| a == "RS256") {
            bail!("keys.algorithms must include RS256 (required by OpenID Connect)");
        }
        let t = &self.tokens;
        for (name, v) in [
            ("code_ttl", t.code_ttl),
            ("access_token_ttl", t.access_token_ttl),
            ("id_token_ttl", t.id_token_ttl),
            ("refresh_token_ttl", t.refresh_token_ttl),
            ("session_ttl", t.session_ttl),
            ("session_idle_ttl", t.session_idle_ttl),
            ("interaction_ttl", t.interaction_ttl),
            ("logout_token_ttl", t.logout_token_ttl),
        ] {
            if v <= 0 {
                bail!("tokens.{name} must be positive");
            }
        }
        if t.session_idle_ttl > t.session_ttl {
            bail!("tokens.session_idle_ttl must be at most tokens.session_ttl");
        }
        if t.code_ttl > 600 {
            bail!("tokens.code_ttl must be at most 600 seconds (RFC 6749 §4.1.2)");
        }
        if self.keys.prepublish_secs < 0 {
            bail!("keys.prepublish_secs must not be negative");
        }
        self.mail
            .from
            .parse::<lettre::message::Mailbox>()
            .with_context(|| format!("mail.from {:?} is not a mailbox", self.mail.from))?;
        if let Some(url) = &self.smtp_url {
            let u = Url::parse(url.expose_secret()).context("smtp_url is not a URL")?;
            if !matches!(u.scheme(), "smtp" | "smtps") {
                bail!("smtp_url must start with smtp:// or smtps://");
            }
        }
        let r = &self.registration;
        if !(1..=100).contains(&r.lockout_threshold) {
            bail!("registration.lockout_threshold must be 1–100 (NIST SP 800-63B-4 allows at most 100)");
        }
        if r.confirm_link_ttl <= 0
            || r.reset_link_ttl <= 0
            || r.login_per_ip_per_minute <= 0
            || r.login_per_card_per_5_minutes <= 0
        {
            bail!("registration: link lifetimes and rate limits must be positive");
        }
        let policy = self.password.policy();
        if policy.min_length < 6 || policy.max_length > 256 || policy.min_length > policy.max_length
        {
            bail!("password: lengths must satisfy 6 <= min_length <= max_length <= 256");
        }
        if !(1..=600).contains(&self.card.challenge_ttl) {
            bail!("card.challenge_ttl must be between 1 and 600 seconds");
        }
        if !(1..=3600).contains(&self.card.crl_check_interval) {
            bail!("card.crl_check_interval must be between 1 and 3600 seconds");
        }
        let auth = Url::parse(&self.card.authenticator_url).with_context(|| {
            format!(
                "card.authenticator_url {:?} is not a URL",
                self.card.authenticator_url
            )
        })?;
        if !matches!(
            auth.host_str(),
            Some("127.0.0.1") | Some("localhost") | Some("[::1]")
        ) {
            bail!("card.authenticator_url must be a loopback address (the authenticator runs on the user's computer)");
        }
        if self.admin.session_ttl <= 0 || self.admin.session_ttl > self.tokens.session_ttl {
            bail!("admin.session_ttl must be positive and at most tokens.session_ttl");
        }
        if self.oidc.ui_locales.is_empty() {
            bail!("oidc.ui_locales must name at least one language");
        }
        self.database_target()?;
        Ok(())
    }

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
