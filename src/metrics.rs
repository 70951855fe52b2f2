//! Prometheus metrics: requests and latencies per route, logins by method and outcome,
//! database pool use, registrations by state, card refusals and the state of the card CAs'
//! CRLs.
//!
//! They are served at `/metrics` on a listener of their own (`[metrics] listen`, default
//! `127.0.0.1:9464`, `"off"` for none, by `routes::health::serve_metrics`), never on the public port: sign-in outcomes and
//! registration counts are for the operator's monitoring, not for anyone on the Internet.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    logins: IntCounterVec,
    pool: IntGaugeVec,
    registrations: IntGaugeVec,
    card_refusals: IntCounterVec,
    rate_limited: IntCounterVec,
    card_revocation_unknown: IntGauge,
    card_crl_next_update: IntGaugeVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new() -> anyhow::Result<Metrics> {
        let registry = Registry::new_custom(Some("cardinal".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route"],
        )?;
        let logins = IntCounterVec::new(
            Opts::new("logins_total", "Sign-ins by method and outcome"),
            &["method", "outcome"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new("db_pool_connections", "Database pool connections by state"),
            &["state"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(logins.clone()))?;
        let registrations = IntGaugeVec::new(
            Opts::new("registrations", "Registrations by state"),
            &["state"],
        )?;
        registry.register(Box::new(pool.clone()))?;
        registry.register(Box::new(registrations.clone()))?;
        let card_refusals = IntCounterVec::new(
            Opts::new(
                "card_refusals_total",
                "Card tokens refused by the IdP, by reason (the error code)",
            ),
            &["reason"],
        )?;
        let card_revocation_unknown = IntGauge::new(
            "card_issuers_revocation_unknown",
            "Trusted card CAs whose cards are refused because no current CRL is loaded (missing, unreadable or past nextUpdate)",
        )?;
        let card_crl_next_update = IntGaugeVec::new(
            Opts::new(
                "card_crl_next_update_timestamp_seconds",
                "nextUpdate of the loaded CRL of each trusted card CA (Unix seconds)",
            ),
            &["ca"],
        )?;
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "rate_limited_total",
                "Requests refused because a budget was spent, by budget and named network (\"-\": an address)",
            ),
            &["reason", "network"],
        )?;
        registry.register(Box::new(card_refusals.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        registry.register(Box::new(card_revocation_unknown.clone()))?;
        registry.register(Box::new(card_crl_next_update.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            logins,
            pool,
            registrations,
            card_refusals,
            rate_limited,
            card_revocation_unknown,
            card_crl_next_update,
        })
    }

    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.latency.with_label_values(&[route]).observe(seconds);
    }

    pub fn login(&self, method: &str, outcome: &str) {
        self.logins.with_label_values(&[method, outcome]).inc();
    }

    pub fn set_pool(&self, in_use: u32, idle: u32) {
        self.pool
            .with_label_values(&["in_use"])
            .set(i64::from(in_use));
        self.pool.with_label_values(&["idle"]).set(i64::from(idle));
    }

    /// Sets the registration gauges; states with no registration read 0.
    pub fn set_registrations(&self, counts: &[(String, i64)]) {
        for state in ["pending", "active", "locked", "deactivated"] {
            let n = counts
                .iter()
                .find(|(s, _)| s == state)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            self.registrations.with_label_values(&[state]).set(n);
        }
    }

    /// A card token refused, by its error code.
    pub fn card_refused(&self, reason: &str) {
        self.card_refusals.with_label_values(&[reason]).inc();
    }

    /// A request refused because a budget was spent (`network`: the named network, or "-").
    pub fn rate_limited(&self, reason: &str, network: &str) {
        self.rate_limited
            .with_label_values(&[reason, network])
            .inc();
    }

    /// The state of the trusted card CAs: how many cannot be checked for revocation now,
    /// and each loaded CRL's nextUpdate.
    /// The card CAs' revocation state: how many cannot be checked now, and each loaded
    /// CRL's nextUpdate by CA name.
    pub fn set_card_crl_state<'a>(
        &self,
        revocation_unknown: usize,
        crl_next_updates: impl IntoIterator<Item = (&'a str, i64)>,
    ) {
        self.card_revocation_unknown
            .set(i64::try_from(revocation_unknown).unwrap_or(i64::MAX));
        for (name, next) in crl_next_updates {
            self.card_crl_next_update
                .with_label_values(&[name])
                .set(next);
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}
