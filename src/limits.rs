//! Budgets: who pays for a request that anyone may send, how much they may spend, and the
//! honest refusal when they have spent it (docs/limits.md).
//!
//! Every count lives in the database (`rate_limits`, one row per bucket and window, one
//! atomic conditional write per change), so every instance on one database shares it; old
//! windows are purged with the rest of the expired state.
//!
//! The payer of a request is its client address (an IPv6 address by its /64, which one host
//! usually holds whole), or the named network that contains it (`[[limits.networks]]`),
//! counted as one with budgets of its own.

use std::net::IpAddr;

use crate::audit::AuditKind;
use crate::configuration::{LimitSettings, NetworkBudget};
use crate::context::Context;
use crate::crypto::KeyPurpose;
use crate::store::StoreResult;

/// The window of the flood budgets (seconds).
pub const FLOOD_WINDOW: i64 = 60;

/// One budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Card challenges not used by a finished action, failed card checks.
    Card,
    /// Authorization requests whose sign-in did not finish.
    Authorize,
    /// Failed forms.
    Forms,
    /// Failed client authentications.
    ClientAuth,
    /// Wrong 註冊密碼 behind a genuine card.
    SignInFailures,
    /// Registration actions refused for data that does not match.
    RegistrationFailures,
}

impl Budget {
    /// The name in bucket keys, the audit log and the metric's `reason` label.
    pub fn name(self) -> &'static str {
        match self {
            Budget::Card => "card",
            Budget::Authorize => "authorize",
            Budget::Forms => "forms",
            Budget::ClientAuth => "client-auth",
            Budget::SignInFailures => "sign-in-failures",
            Budget::RegistrationFailures => "registration-failures",
        }
    }

    /// The window the budget is counted over (seconds).
    pub fn window(self, limits: &LimitSettings) -> i64 {
        match self {
            Budget::Card | Budget::Authorize | Budget::Forms | Budget::ClientAuth => FLOOD_WINDOW,
            Budget::SignInFailures | Budget::RegistrationFailures => limits.failure_window_secs,
        }
    }

    fn default_limit(self, limits: &LimitSettings) -> i32 {
        match self {
            Budget::Card => limits.card_per_ip_per_minute,
            Budget::Authorize => limits.authorize_per_ip_per_minute,
            Budget::Forms => limits.forms_per_ip_per_minute,
            Budget::ClientAuth => limits.client_auth_failures_per_ip_per_minute,
            Budget::SignInFailures => limits.sign_in_failures_per_ip,
            Budget::RegistrationFailures => limits.registration_failures_per_ip,
        }
    }

    fn network_limit(self, net: &NetworkBudget) -> Option<i32> {
        match self {
            Budget::Card => net.card_per_minute,
            Budget::Authorize => net.authorize_per_minute,
            Budget::Forms => net.forms_per_minute,
            Budget::ClientAuth => net.client_auth_failures_per_minute,
            Budget::SignInFailures => net.sign_in_failures,
            Budget::RegistrationFailures => net.registration_failures,
        }
    }
}

/// Who pays: an address, or a named network as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payer {
    key: String,
    network: Option<usize>,
}

impl Payer {
    /// The payer of a request from `ip` (`None`: the address is unknown, and all such
    /// requests share one budget).
    pub fn of(limits: &LimitSettings, ip: Option<IpAddr>) -> Payer {
        let Some(ip) = ip.map(canonical) else {
            return Payer {
                key: "unknown".into(),
                network: None,
            };
        };
        match limits
            .networks
            .iter()
            .position(|n| n.cidrs.iter().any(|c| c.contains(&ip)))
        {
            Some(i) => Payer {
                key: format!(
                    "net:{}",
                    limits
                        .networks
                        .get(i)
                        .map(|n| n.name.as_str())
                        .unwrap_or("")
                ),
                network: Some(i),
            },
            None => Payer {
                key: address_key(ip),
                network: None,
            },
        }
    }

    /// The payer of an address as the routes pass it on (its text form).
    pub fn of_text(limits: &LimitSettings, ip: Option<&str>) -> Payer {
        Payer::of(limits, ip.and_then(|ip| ip.parse().ok()))
    }

    /// The named network, if the payer is one.
    pub fn network<'a>(&self, limits: &'a LimitSettings) -> Option<&'a str> {
        self.network
            .and_then(|i| limits.networks.get(i))
            .map(|n| n.name.as_str())
    }

    /// How much the payer may spend of `budget` in a window.
    pub fn limit(&self, limits: &LimitSettings, budget: Budget) -> i32 {
        self.network
            .and_then(|i| limits.networks.get(i))
            .and_then(|n| budget.network_limit(n))
            .unwrap_or_else(|| budget.default_limit(limits))
    }

    /// The bucket (rate-limit row) of `budget` for this payer.
    pub fn bucket(&self, budget: Budget) -> String {
        format!("limit:{}:{}", budget.name(), self.key)
    }
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The address a budget counts: IPv4 as is (an IPv4-mapped IPv6 address too), IPv6 by
/// its /64.
pub fn address_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
    }
}

/// Seconds until the window of `window` seconds that contains `now` is over (at least 1).
pub fn retry_after(now: i64, window: i64) -> i64 {
    let window = window.max(1);
    (window - now.rem_euclid(window)).max(1)
}

/// What was spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    /// A budget of the address or its named network.
    Payer(Budget),
    /// The registration failures of one card.
    CardFailures,
    /// The mails of one card in an hour.
    CardMails,
}

impl Spent {
    /// The suffix of the page's message (`err_<area>_rate_limited<suffix>`).
    pub fn message_suffix(self) -> &'static str {
        match self {
            Spent::Payer(_) => "",
            Spent::CardFailures => "_card",
            Spent::CardMails => "_mails",
        }
    }
}

/// A budget spent: what the refusal says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub spent: Spent,
    /// Seconds until the budget's window is over.
    pub retry_after: i64,
}

impl Refusal {
    /// Whole minutes to wait, for the pages (at least 1).
    pub fn minutes(&self) -> i64 {
        ((self.retry_after + 59) / 60).max(1)
    }
}

/// Records a refusal: the metric every time, the audit log once per payer and window
/// (`first`: this request is the first one past the budget), so that a flood cannot turn
/// each refused request into a database write.
pub fn record_refusal(ctx: &Context, payer: &Payer, budget: Budget, ip: Option<&str>, first: bool) {
    let network = payer.network(&ctx.settings().limits);
    ctx.metrics()
        .rate_limited(budget.name(), network.unwrap_or("-"));
    if first {
        tracing::warn!(
            budget = budget.name(),
            payer = %payer.key,
            "budget spent: refusing until its window is over"
        );
        ctx.audit_from(
            ip,
            AuditKind::RateLimited,
            budget.name(),
            None,
            None,
            Some(match network {
                Some(n) => format!("network={n}"),
                None => "network=-".into(),
            }),
        );
    }
}

/// The failure budgets, checked by the domain before the expensive or guessable step and
/// charged after a failure.
pub struct Failures<'a> {
    ctx: &'a Context,
    payer: Payer,
    ip: Option<&'a str>,
}

impl<'a> Failures<'a> {
    pub fn new(ctx: &'a Context, ip: Option<&'a str>) -> Failures<'a> {
        Failures {
            ctx,
            payer: Payer::of_text(&ctx.settings().limits, ip),
            ip,
        }
    }

    /// Refuses when the payer's failures of `budget` in this window reached its limit (the
    /// count is read, not changed: a success never uses up the budget).
    pub fn check(&self, budget: Budget) -> StoreResult<Result<(), Refusal>> {
        let limits = &self.ctx.settings().limits;
        let window = budget.window(limits);
        let now = self.ctx.now();
        let spent = self
            .ctx
            .store()
            .hits(&self.payer.bucket(budget), window, now)?;
        if spent < self.payer.limit(limits, budget) {
            return Ok(Ok(()));
        }
        record_refusal(self.ctx, &self.payer, budget, self.ip, true);
        Ok(Err(Refusal {
            spent: Spent::Payer(budget),
            retry_after: retry_after(now, window),
        }))
    }

    /// Counts one failure against `budget`.
    pub fn charge(&self, budget: Budget) -> StoreResult<()> {
        let window = budget.window(&self.ctx.settings().limits);
        self.ctx
            .store()
            .hit(&self.payer.bucket(budget), window, self.ctx.now())
            .map(|_| ())
    }

    /// The per-card bucket of `what` (the card number only as a keyed hash: the table never
    /// holds it in clear).
    fn card_bucket(&self, what: &str, card_number: &str) -> String {
        let hash = self
            .ctx
            .ring()
            .keyed_hash(KeyPurpose::RateLimitKey, card_number.as_bytes());
        format!("limit:{what}:card:{hash}")
    }

    /// Refuses when the card's registration failures reached their limit.
    pub fn check_card(&self, card_number: &str) -> StoreResult<Result<(), Refusal>> {
        let limits = &self.ctx.settings().limits;
        let window = limits.failure_window_secs;
        let now = self.ctx.now();
        let bucket = self.card_bucket("registration-failures", card_number);
        if self.ctx.store().hits(&bucket, window, now)? < limits.registration_failures_per_card {
            return Ok(Ok(()));
        }
        self.ctx.metrics().rate_limited("card-failures", "-");
        Ok(Err(Refusal {
            spent: Spent::CardFailures,
            retry_after: retry_after(now, window),
        }))
    }

    /// Counts one registration failure against the card.
    pub fn charge_card(&self, card_number: &str) -> StoreResult<()> {
        let window = self.ctx.settings().limits.failure_window_secs;
        let bucket = self.card_bucket("registration-failures", card_number);
        self.ctx
            .store()
            .hit(&bucket, window, self.ctx.now())
            .map(|_| ())
    }

    /// Counts a mail sent for the card, refusing past `mails_per_card_per_hour` (this one
    /// counts what succeeds: each mail lands in someone's mailbox).
    pub fn mail_for_card(&self, card_number: &str) -> StoreResult<Result<(), Refusal>> {
        let max = self.ctx.settings().limits.mails_per_card_per_hour;
        let now = self.ctx.now();
        let bucket = self.card_bucket("mails", card_number);
        if self.ctx.store().hit(&bucket, 3600, now)? <= max {
            return Ok(Ok(()));
        }
        self.ctx.metrics().rate_limited("card-mails", "-");
        Ok(Err(Refusal {
            spent: Spent::CardMails,
            retry_after: retry_after(now, 3600),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits_with_network() -> LimitSettings {
        LimitSettings {
            networks: vec![NetworkBudget {
                name: "agency".into(),
                cidrs: vec!["203.0.113.0/24".parse().unwrap()],
                card_per_minute: None,
                authorize_per_minute: None,
                forms_per_minute: None,
                client_auth_failures_per_minute: None,
                sign_in_failures: Some(500),
                registration_failures: None,
            }],
            ..LimitSettings::default()
        }
    }

    #[test]
    fn a_named_network_pays_as_one_with_its_own_budget() {
        let limits = limits_with_network();
        let a = Payer::of(&limits, Some("203.0.113.7".parse().unwrap()));
        let b = Payer::of(&limits, Some("203.0.113.200".parse().unwrap()));
        let outside = Payer::of(&limits, Some("198.51.100.7".parse().unwrap()));
        assert_eq!(a, b, "two addresses of the network share one budget");
        assert_eq!(a.network(&limits), Some("agency"));
        assert_eq!(a.limit(&limits, Budget::SignInFailures), 500);
        assert_eq!(
            a.limit(&limits, Budget::Card),
            300,
            "a budget the network leaves out is the default's"
        );
        assert_eq!(outside.limit(&limits, Budget::SignInFailures), 30);
        assert_ne!(a.bucket(Budget::Card), outside.bucket(Budget::Card));
        let mapped = Payer::of(&limits, Some("::ffff:203.0.113.9".parse().unwrap()));
        assert_eq!(mapped, a, "an IPv4-mapped address is its IPv4 address");
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        assert_eq!(address_key(a), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7");
    }

    #[test]
    fn retry_after_is_the_rest_of_the_window() {
        assert_eq!(retry_after(120, 60), 60);
        assert_eq!(retry_after(121, 60), 59);
        assert_eq!(retry_after(179, 60), 1);
        assert_eq!(retry_after(1000, 900), 800);
        let r = Refusal {
            spent: Spent::Payer(Budget::SignInFailures),
            retry_after: 61,
        };
        assert_eq!(r.minutes(), 2);
    }

    #[test]
    fn an_unknown_address_has_a_payer_of_its_own() {
        let limits = LimitSettings::default();
        assert_eq!(Payer::of_text(&limits, Some("not an ip")).key, "unknown");
        assert_eq!(Payer::of_text(&limits, None).key, "unknown");
    }
}
