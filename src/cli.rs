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
    /// Development card issuer and virtual-card files.
    #[command(subcommand)]
    Card(CardCommand),
    /// The resident registry (戶籍資料) used to check applications.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Run the whole system on this machine: Cardinal with demo residents and virtual
    /// cards, the card authenticator, the eCPA portal and WebHR (SPEC R-OPS-8).
    #[cfg(feature = "demo")]
    Demo(crate::demo::DemoArgs),
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
    /// Lowest authentication level: card, passkey, citizen-certificate (or the acr URN).
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
