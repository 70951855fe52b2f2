//! Card sign-in: trusted card CAs, their CRLs and the local card authenticator.

use std::path::PathBuf;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use url::Url;

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

impl CardSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if !(1..=600).contains(&self.challenge_ttl) {
            bail!("card.challenge_ttl must be between 1 and 600 seconds");
        }
        if !(1..=3600).contains(&self.crl_check_interval) {
            bail!("card.crl_check_interval must be between 1 and 3600 seconds");
        }
        let auth = Url::parse(&self.authenticator_url).with_context(|| {
            format!(
                "card.authenticator_url {:?} is not a URL",
                self.authenticator_url
            )
        })?;
        if !matches!(
            auth.host_str(),
            Some("127.0.0.1") | Some("localhost") | Some("[::1]")
        ) {
            bail!("card.authenticator_url must be a loopback address (the authenticator runs on the user's computer)");
        }
        Ok(())
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
