//! Outgoing mail: the sender, the domains the apply page warns about, and the SMTP server.

use anyhow::{bail, Context};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

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
    /// The service phone every mail names for questions (e.g. `0800-030598`); none when
    /// empty.
    pub service_phone: String,
    /// The feedback address (意見信箱) every mail names, a web page or `mailto:`; none when
    /// empty.
    pub feedback_url: String,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            from: "健保卡網路服務 <noreply@cardinal.localhost>".into(),
            warn_domains: ["hotmail.com", "outlook.com", "live.com", "msn.com"]
                .map(String::from)
                .to_vec(),
            send_interval_secs: 2,
            service_phone: String::new(),
            feedback_url: String::new(),
        }
    }
}

impl MailSettings {
    /// The sender is a mailbox and `smtp_url` (the top-level option) an SMTP URL.
    pub(super) fn validate(&self, smtp_url: Option<&SecretString>) -> anyhow::Result<()> {
        self.from
            .parse::<lettre::message::Mailbox>()
            .with_context(|| format!("mail.from {:?} is not a mailbox", self.from))?;
        if !self.feedback_url.is_empty() {
            let u = Url::parse(&self.feedback_url).with_context(|| {
                format!(
                    "mail.feedback_url {:?} is not an address (https://… or mailto:…)",
                    self.feedback_url
                )
            })?;
            if !matches!(u.scheme(), "https" | "http" | "mailto") {
                bail!("mail.feedback_url must start with https://, http:// or mailto:");
            }
        }
        if self.service_phone.chars().count() > 80 {
            bail!("mail.service_phone is longer than 80 characters");
        }
        if let Some(url) = smtp_url {
            let u = Url::parse(url.expose_secret()).context("smtp_url is not a URL")?;
            if !matches!(u.scheme(), "smtp" | "smtps") {
                bail!("smtp_url must start with smtp:// or smtps://");
            }
        }
        Ok(())
    }
}
