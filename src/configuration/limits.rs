//! What anyone on the network may make the server do: the per-address budgets
//! (docs/limits.md, docs/requirements.md R-X-3).
//!
//! Two kinds of budget, both counted in the database so that every instance on one database
//! shares them:
//! - **flood budgets**, per minute, on requests that anyone may send and that write to the
//!   database; a request is counted when it arrives and given back when it turns out to be
//!   part of something that succeeded (a finished sign-in gives back its authorization
//!   request, its card challenge and its form), so they count unfinished work, not people;
//! - **failure budgets**, per `failure_window_secs`, on what an attacker needs and a person
//!   rarely does: a wrong 註冊密碼 behind a genuine card, registry data that does not match.
//!
//! A named network (`[[limits.networks]]`: an agency's egress addresses, the Government
//! Service Network) is counted as one, with budgets of its own.

use anyhow::bail;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// The longest window a budget may have: rate-limit rows older than this are purged.
pub const MAX_WINDOW_SECS: i64 = 3600;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// Unfinished `POST /card/challenge` and failed `POST /card/check` per address per minute.
    pub card_per_ip_per_minute: i32,
    /// Unfinished `GET`/`POST /authorize` (each may start a sign-in) per address per minute.
    pub authorize_per_ip_per_minute: i32,
    /// Failed forms per address per minute: `POST /interaction/…`, `GET`/`POST /logout`,
    /// `POST /logout/confirm`, every `POST /register/…` but the password check.
    pub forms_per_ip_per_minute: i32,
    /// Failed client authentications at `/token`, `/introspect` and `/revoke` per address
    /// per minute; past it those endpoints answer 429 to the address until the minute is over.
    pub client_auth_failures_per_ip_per_minute: i32,
    /// The window of the failure budgets below (seconds, 60–3600).
    pub failure_window_secs: i64,
    /// Wrong 註冊密碼 (each behind a genuine card) per address per window; past it the
    /// address's sign-ins are refused before the password is checked. Each registration is
    /// also locked after `registration.lockout_threshold` consecutive wrong passwords.
    pub sign_in_failures_per_ip: i32,
    /// Refused registration actions behind a genuine card that guess data per address per
    /// window: 申請 whose 戶號/戶籍 do not match the registry, 忘記註冊密碼 to a new address whose
    /// 戶籍 or mobile number do not match.
    pub registration_failures_per_ip: i32,
    /// The same failures per card per window (someone guessing one person's data).
    pub registration_failures_per_card: i32,
    /// Mails (認證通知信, 重設註冊密碼信) one card may have sent per hour, whatever the address:
    /// each lands in someone's mailbox.
    pub mails_per_card_per_hour: i32,
    /// Networks counted as one, with their own budgets (the first that contains an address
    /// counts it: list the narrower network first).
    pub networks: Vec<NetworkBudget>,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            card_per_ip_per_minute: 300,
            authorize_per_ip_per_minute: 300,
            forms_per_ip_per_minute: 600,
            client_auth_failures_per_ip_per_minute: 60,
            failure_window_secs: 900,
            sign_in_failures_per_ip: 30,
            registration_failures_per_ip: 20,
            registration_failures_per_card: 5,
            mails_per_card_per_hour: 5,
            networks: Vec::new(),
        }
    }
}

/// A network counted as one (e.g. an agency whose staff leave through a handful of shared
/// addresses), with budgets for the whole network; a budget left out is the default's value,
/// for the whole network.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkBudget {
    /// A short name (letters, digits, `-`, `_`, `.`): shown in the audit log and the metrics.
    pub name: String,
    /// Its address ranges, e.g. `["203.0.113.0/24", "2001:db8:12::/48"]`.
    pub cidrs: Vec<IpNet>,
    #[serde(default)]
    pub card_per_minute: Option<i32>,
    #[serde(default)]
    pub authorize_per_minute: Option<i32>,
    #[serde(default)]
    pub forms_per_minute: Option<i32>,
    #[serde(default)]
    pub client_auth_failures_per_minute: Option<i32>,
    #[serde(default)]
    pub sign_in_failures: Option<i32>,
    #[serde(default)]
    pub registration_failures: Option<i32>,
}

impl NetworkBudget {
    fn budgets(&self) -> [Option<i32>; 6] {
        [
            self.card_per_minute,
            self.authorize_per_minute,
            self.forms_per_minute,
            self.client_auth_failures_per_minute,
            self.sign_in_failures,
            self.registration_failures,
        ]
    }
}

impl LimitSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if [
            self.card_per_ip_per_minute,
            self.authorize_per_ip_per_minute,
            self.forms_per_ip_per_minute,
            self.client_auth_failures_per_ip_per_minute,
            self.sign_in_failures_per_ip,
            self.registration_failures_per_ip,
            self.registration_failures_per_card,
            self.mails_per_card_per_hour,
        ]
        .iter()
        .any(|n| *n <= 0)
        {
            bail!("limits: every limit must be positive");
        }
        if !(60..=MAX_WINDOW_SECS).contains(&self.failure_window_secs) {
            bail!("limits.failure_window_secs must be between 60 and {MAX_WINDOW_SECS}");
        }
        for (i, net) in self.networks.iter().enumerate() {
            let valid_name = !net.name.is_empty()
                && net.name.len() <= 64
                && net
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !valid_name {
                bail!(
                    "limits.networks[{i}].name {:?}: use 1–64 letters, digits, '-', '_' or '.'",
                    net.name
                );
            }
            if self.networks.iter().take(i).any(|n| n.name == net.name) {
                bail!("limits.networks: the name {:?} is used twice", net.name);
            }
            if net.cidrs.is_empty() {
                bail!(
                    "limits.networks[{i}] ({}): list its address ranges in cidrs, e.g. [\"203.0.113.0/24\"]",
                    net.name
                );
            }
            if net.budgets().iter().flatten().any(|n| *n <= 0) {
                bail!(
                    "limits.networks[{i}] ({}): every budget must be positive",
                    net.name
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_network(toml_text: &str) -> anyhow::Result<LimitSettings> {
        let limits: LimitSettings = toml::from_str(toml_text)?;
        limits.validate()?;
        Ok(limits)
    }

    #[test]
    fn a_network_reads_its_ranges_and_budgets() {
        let limits = with_network(
            r#"
            [[networks]]
            name = "agency-egress"
            cidrs = ["203.0.113.0/24", "2001:db8:12::/48"]
            sign_in_failures = 500
            "#,
        )
        .unwrap();
        let net = &limits.networks[0];
        assert_eq!(net.cidrs.len(), 2);
        assert_eq!(net.sign_in_failures, Some(500));
        assert_eq!(net.card_per_minute, None);
    }

    #[test]
    fn bad_networks_are_refused_with_what_to_fix() {
        for (text, says) in [
            ("[[networks]]\nname = \"a b\"\ncidrs = [\"10.0.0.0/8\"]", "letters"),
            ("[[networks]]\nname = \"a\"\ncidrs = []", "cidrs"),
            (
                "[[networks]]\nname = \"a\"\ncidrs = [\"10.0.0.0/8\"]\nsign_in_failures = 0",
                "positive",
            ),
            (
                "[[networks]]\nname = \"a\"\ncidrs = [\"10.0.0.0/8\"]\n[[networks]]\nname = \"a\"\ncidrs = [\"10.1.0.0/16\"]",
                "twice",
            ),
            ("failure_window_secs = 7200", "failure_window_secs"),
        ] {
            let err = with_network(text).unwrap_err().to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
        assert!(with_network("[[networks]]\nname = \"a\"\ncidrs = [\"10.0.0.300/8\"]").is_err());
    }
}
