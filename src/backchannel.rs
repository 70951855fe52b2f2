//! Delivery of back-channel logout tokens to clients (OpenID Connect Back-Channel
//! Logout 1.0 §2.5): an HTTP POST per client, in the background, a few retries.

use std::time::Duration;

use crate::oidc::logout::LogoutDelivery;

#[derive(Clone, Debug)]
pub struct BackchannelSender {
    http: reqwest::Client,
}

impl BackchannelSender {
    pub fn new() -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            // A logout URI that redirects is misconfigured; never follow it elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { http })
    }

    /// Sends every token in the background; failures are logged.
    pub fn spawn(&self, deliveries: Vec<LogoutDelivery>) {
        for d in deliveries {
            let http = self.http.clone();
            tokio::spawn(deliver(http, d));
        }
    }

    /// Sends every token and waits until each is delivered or given up (the CLI).
    pub async fn deliver_all(&self, deliveries: Vec<LogoutDelivery>) {
        for d in deliveries {
            deliver(self.http.clone(), d).await;
        }
    }
}

async fn deliver(http: reqwest::Client, d: LogoutDelivery) {
    for attempt in 0..3u32 {
        let result = http
            .post(&d.uri)
            .form(&[("logout_token", d.logout_token.as_str())])
            .send()
            .await;
        match result {
            Ok(r) if r.status().is_success() => {
                tracing::info!(client_id = %d.client_id, "back-channel logout delivered");
                return;
            }
            Ok(r) => {
                tracing::warn!(client_id = %d.client_id, status = %r.status(), attempt, "back-channel logout refused")
            }
            Err(e) => {
                tracing::warn!(client_id = %d.client_id, error = %e, attempt, "back-channel logout failed")
            }
        }
        tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt + 1))).await;
    }
}
