//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cardinal",
    version,
    about = "OpenID Connect identity provider with NHI-card sign-in"
)]
pub struct Cli {
    /// Configuration file (default: ./cardinal.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Run the identity provider.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Relying-party clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// The admin role (who may use the admin console).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Registrations (健保卡網路服務註冊) at the counter.
    #[command(subcommand)]
    Registration(RegistrationCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Service notices (服務公告) and maintenance windows.
    #[command(subcommand)]
    Notice(NoticeCommand),
    /// Development card issuer and virtual-card files.
    #[command(subcommand)]
    Card(CardCommand),
    /// The resident registry (戶籍資料) used to check applications.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Run the whole system on this machine: Cardinal with demo residents and virtual
    /// cards, the card authenticator, the eCPA portal and WebHR
    /// (docs/requirements.md R-OPS-8).
    #[cfg(feature = "demo")]
    Demo(cardinal::demo::DemoArgs),
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Import residents from a CSV file (national_id,household_no,county,township,village,neighborhood).
    Import {
        #[arg(value_name = "FILE.csv")]
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// The card-issuer CA.
    #[command(subcommand)]
    Ca(CardCaCommand),
    /// Issue a card: writes a virtual-card file (key, certificate, basic data).
    Issue(CardIssueArgs),
    /// Revoke the certificates of a card and rewrite the CA's crl.pem.
    Revoke {
        #[arg(long, value_name = "DIR")]
        ca: PathBuf,
        #[arg(long = "card-number")]
        card_number: Option<String>,
        /// Certificate serial (hex with colons, as `card issue` prints it).
        #[arg(long)]
        serial: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CardCaCommand {
    /// Create a development CA for one card kind in DIR (ca.pem, ca.key.pem, crl.pem).
    Init {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// nhi or moica
        #[arg(long)]
        kind: String,
    },
    /// Sign a fresh crl.pem for the CA in DIR (the CRL is current for 30 days).
    Crl {
        #[arg(long, value_name = "DIR")]
        ca: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct CardIssueArgs {
    #[arg(long, value_name = "DIR")]
    pub ca: PathBuf,
    /// nhi or moica
    #[arg(long)]
    pub kind: String,
    /// 12 digits.
    #[arg(long = "card-number")]
    pub card_number: String,
    #[arg(long)]
    pub name: String,
    #[arg(long = "national-id")]
    pub national_id: String,
    /// YYYY-MM-DD
    #[arg(long = "birth-date")]
    pub birth_date: String,
    /// M or F
    #[arg(long)]
    pub sex: String,
    /// PIN (MOICA kind: required, 4–12 digits).
    #[arg(long)]
    pub pin: Option<String>,
    /// Certificate validity in days.
    #[arg(long = "valid-days", default_value_t = 3650)]
    pub valid_days: i64,
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print the effective one (secrets redacted).
    Check,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys with their state (next, active, retired, expired).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add a key that is published now and signs after keys.prepublish_secs.
    Rotate {
        /// RS256, ES256 or EdDSA; default: every configured algorithm.
        #[arg(long)]
        alg: Vec<String>,
        /// Sign with the new key at once (after a key compromise). Relying parties that
        /// cached the JWKS will reject tokens until they fetch it again.
        #[arg(long)]
        now: bool,
    },
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum ClientCommand {
    /// Register a client; prints its id and (once) its secret.
    Create(ClientCreateArgs),
    /// List clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one client.
    Show {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a client; options given replace the current values.
    Update(ClientUpdateArgs),
    /// Delete a client and every token issued to it.
    Delete { client_id: String },
    /// Make a new secret (shown once); the old one stops working.
    RotateSecret {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args, Clone, Default)]
pub struct ClientOptions {
    /// Redirect URI (repeat for several).
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// authorization_code, refresh_token, client_credentials (repeat).
    #[arg(long = "grant-type", value_name = "TYPE")]
    pub grant_types: Vec<String>,
    /// client_secret_basic, client_secret_post, private_key_jwt or none (public client).
    #[arg(long = "auth-method", value_name = "METHOD")]
    pub auth_method: Option<String>,
    /// Scopes the client may request (repeat, or space-separated).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Where the client may send the browser after logout (repeat).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    #[arg(long = "backchannel-logout-uri", value_name = "URI")]
    pub backchannel_logout_uri: Option<String>,
    /// Lowest authentication level: card or citizen-certificate (or the acr URN).
    #[arg(long = "min-acr", value_name = "ACR")]
    pub min_acr: Option<String>,
    /// The client's public keys (JWKS JSON file) for private_key_jwt.
    #[arg(long, value_name = "FILE")]
    pub jwks: Option<PathBuf>,
    /// public or pairwise.
    #[arg(long = "subject-type", value_name = "TYPE")]
    pub subject_type: Option<String>,
    /// ID token signing algorithm: RS256, ES256 or EdDSA.
    #[arg(long = "id-token-alg", value_name = "ALG")]
    pub id_token_alg: Option<String>,
}

#[derive(Debug, Args)]
pub struct ClientCreateArgs {
    #[arg(long)]
    pub name: String,
    /// Use this client_id instead of a random one.
    #[arg(long = "client-id")]
    pub client_id: Option<String>,
    #[command(flatten)]
    pub options: ClientOptions,
    /// First-party client: never ask the user for consent.
    #[arg(long = "skip-consent")]
    pub skip_consent: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ClientUpdateArgs {
    pub client_id: String,
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub options: ClientOptions,
    #[arg(long = "skip-consent")]
    pub skip_consent: Option<bool>,
    /// Remove the back-channel logout URI.
    #[arg(long = "no-backchannel-logout")]
    pub no_backchannel_logout: bool,
    /// Remove the minimum acr.
    #[arg(long = "no-min-acr")]
    pub no_min_acr: bool,
    #[arg(long)]
    pub json: bool,
}

/// A person, named by card number (12 digits), national ID or person id.
#[derive(Debug, Args)]
pub struct PersonArg {
    /// Card number, national ID or person id.
    #[arg(value_name = "PERSON")]
    pub person: String,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Grant the admin role to a person who has applied (card number or national ID).
    Grant(PersonArg),
    /// Revoke the admin role; the person's console sessions end at once.
    Revoke(PersonArg),
    /// List the holders of the admin role.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RegistrationCommand {
    /// Search by card number, national ID or part of the name (national IDs shown masked).
    Search {
        /// Card number (12 digits), national ID, or part of a name; none lists all.
        query: Option<String>,
        #[arg(long)]
        limit: Option<i64>,
        /// `next_cursor` of the previous page.
        #[arg(long)]
        cursor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show a registration with its status and audit trail.
    Show {
        #[command(flatten)]
        who: PersonArg,
        #[arg(long)]
        json: bool,
    },
    /// Deactivate at the counter (停用): the person can no longer sign in; sessions end.
    Deactivate {
        #[command(flatten)]
        who: PersonArg,
        /// Why (required).
        #[arg(long)]
        reason: String,
    },
    /// Reactivate a deactivated registration.
    Reactivate(PersonArg),
    /// Unlock a registration locked by wrong passwords.
    Unlock(PersonArg),
    /// Delete a pending application (刪除註冊申請).
    Delete(PersonArg),
    /// End every session of the person and revoke every grant.
    EndSessions(PersonArg),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit events, newest first.
    List(AuditListArgs),
}

#[derive(Debug, Args)]
pub struct AuditListArgs {
    /// Events at or after this time (RFC 3339, YYYY-MM-DD or Unix seconds).
    #[arg(long)]
    pub from: Option<String>,
    /// Events before this time.
    #[arg(long)]
    pub to: Option<String>,
    /// Person id, card number or national ID.
    #[arg(long)]
    pub person: Option<String>,
    #[arg(long = "client")]
    pub client_id: Option<String>,
    /// Event type, e.g. login, client_create, registration_deactivate.
    #[arg(long)]
    pub event: Option<String>,
    /// e.g. success, failure.
    #[arg(long)]
    pub outcome: Option<String>,
    /// e.g. person:ID, client:ID, cli:USER.
    #[arg(long)]
    pub actor: Option<String>,
    /// Events per page (1–200, default 50); ignored with --csv.
    #[arg(long)]
    pub limit: Option<i64>,
    #[arg(long)]
    pub cursor: Option<String>,
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Every matching event as CSV.
    #[arg(long)]
    pub csv: bool,
}

/// Times: RFC 3339 (2026-03-06T04:00:00+08:00), a local time (2026-03-06 04:00, Taiwan
/// time), a date (midnight, Taiwan time) or Unix seconds.
#[derive(Debug, Subcommand)]
pub enum NoticeCommand {
    /// List the notices, the latest first (ended ones too).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Publish a notice; prints its id.
    Add(NoticeArgs),
    /// Change a notice: the options given replace the current values.
    Update {
        id: String,
        #[command(flatten)]
        notice: NoticeArgs,
        /// Show it until it is removed.
        #[arg(long, conflicts_with = "until")]
        no_until: bool,
        /// Remove its maintenance window.
        #[arg(long, conflicts_with_all = ["maintenance_from", "maintenance_until"])]
        no_maintenance: bool,
    },
    /// Remove a notice (and its maintenance window).
    Remove { id: String },
}

#[derive(Debug, Args)]
pub struct NoticeArgs {
    /// The text in Traditional Chinese.
    #[arg(long = "zh-tw")]
    pub text_zh_tw: Option<String>,
    /// The text in English.
    #[arg(long = "en")]
    pub text_en: Option<String>,
    /// Shown from (default on add: now).
    #[arg(long)]
    pub from: Option<String>,
    /// Shown until (default: until removed).
    #[arg(long)]
    pub until: Option<String>,
    /// Where: register, signin, feed (repeat or separate with commas).
    #[arg(long = "place")]
    pub places: Vec<String>,
    /// Start of a maintenance window: applying and resetting answer 503 during it.
    #[arg(long)]
    pub maintenance_from: Option<String>,
    /// End of the maintenance window (at most 7 days after its start).
    #[arg(long)]
    pub maintenance_until: Option<String>,
}

impl From<CardIssueArgs> for cardinal::card::issue::CardIssue {
    fn from(a: CardIssueArgs) -> Self {
        cardinal::card::issue::CardIssue {
            ca: a.ca,
            kind: a.kind,
            card_number: a.card_number,
            name: a.name,
            national_id: a.national_id,
            birth_date: a.birth_date,
            sex: a.sex,
            pin: a.pin,
            valid_days: a.valid_days,
            out: a.out,
        }
    }
}
