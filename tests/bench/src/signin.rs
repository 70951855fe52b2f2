//! The whole card sign-in, as the browser and the relying party do it, by virtual users:
//! GET /authorize → the sign-in page → the card page → POST /card/challenge (same-origin
//! JSON) → the card signs → POST the card form with the registration password → consent
//! when asked → the code at the redirect URI → POST /token. Each attempt is a fresh browser
//! (its own cookies); each virtual user keeps its connections.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use reqwest::header::HeaderValue;
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::json;

use crate::seed::{Card, Rp, PASSWORD, REDIRECT_URI};

/// What the virtual users share.
pub struct Setup {
    /// The OP's origin (its issuer), e.g. `http://127.0.0.1:8080`.
    pub base: String,
    pub rp: Rp,
    pub cards: Arc<Vec<Card>>,
    /// The next card to use, across runs (each card signs in many times, in turn).
    pub cursor: Arc<AtomicUsize>,
}

/// The outcome of a run.
#[derive(Debug, Clone, Default)]
pub struct SignIns {
    pub completed: u64,
    pub attempts: u64,
    /// Attempts answered 429, by the step that was refused.
    pub refused: BTreeMap<String, u64>,
    pub failed: u64,
    pub first_failure: Option<String>,
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub secs: f64,
}

impl SignIns {
    pub fn refused_total(&self) -> u64 {
        self.refused.values().sum()
    }
}

/// A cookie jar that can be swapped for an empty one: a new browser for each attempt on
/// the same connections.
#[derive(Default)]
struct FreshJar(RwLock<Arc<reqwest::cookie::Jar>>);

impl FreshJar {
    fn current(&self) -> Arc<reqwest::cookie::Jar> {
        self.0.read().map(|j| j.clone()).unwrap_or_default()
    }

    fn reset(&self) {
        if let Ok(mut j) = self.0.write() {
            *j = Arc::default();
        }
    }
}

impl reqwest::cookie::CookieStore for FreshJar {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &HeaderValue>, url: &url::Url) {
        self.current().set_cookies(headers, url);
    }

    fn cookies(&self, url: &url::Url) -> Option<HeaderValue> {
        self.current().cookies(url)
    }
}

/// Why an attempt did not end with tokens.
enum Stop {
    /// 429 at this step.
    Refused(&'static str),
    Failed(String),
}

impl From<anyhow::Error> for Stop {
    fn from(e: anyhow::Error) -> Self {
        Stop::Failed(format!("{e:#}"))
    }
}

impl From<reqwest::Error> for Stop {
    fn from(e: reqwest::Error) -> Self {
        Stop::Failed(e.to_string())
    }
}

/// Fails unless `status` is `want`; 429 is a refusal at `step`.
fn expect(step: &'static str, status: StatusCode, want: StatusCode) -> Result<(), Stop> {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(Stop::Refused(step));
    }
    if status != want {
        return Err(Stop::Failed(format!("{step}: {status}, expected {want}")));
    }
    Ok(())
}

fn location(r: &reqwest::Response) -> Result<String, Stop> {
    Ok(r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .context("a redirect without Location")?
        .to_string())
}

/// `<input type="hidden" name="NAME" value="…">` of a page.
fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let rest = html.get(start..)?;
    let end = rest.find('"')?;
    Some(
        rest.get(..end)?
            .replace("&#x3D;", "=")
            .replace("&amp;", "&"),
    )
}

/// The error code a refused sign-in page shows (`data-error="…"`).
fn page_error(html: &str) -> String {
    let marker = "data-error=\"";
    html.find(marker)
        .and_then(|i| html.get(i + marker.len()..))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("no error code on the page")
        .to_string()
}

async fn attempt(http: &reqwest::Client, s: &Setup, card: &Card) -> Result<(), Stop> {
    use sha2::Digest as _;
    let base = &s.base;
    let verifier = cardinal::crypto::random_token(32);
    let challenge = cardinal::crypto::b64url(&sha2::Sha256::digest(verifier.as_bytes()));
    let r = http
        .get(format!("{base}/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", s.rp.client_id.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid profile email"),
            ("state", "bench-state"),
            ("nonce", "bench-nonce"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await?;
    if r.status() == StatusCode::TOO_MANY_REQUESTS {
        return Err(Stop::Refused("authorize"));
    }
    if !r.status().is_redirection() {
        return Err(Stop::Failed(format!("authorize: {}", r.status())));
    }
    let interaction = location(&r)?;
    let id = interaction
        .rsplit('/')
        .next()
        .context("no interaction id")?
        .to_string();
    // The sign-in page: a chooser (200) whose NHI-card link the person follows, or a
    // redirect straight to the card page.
    let r = http.get(format!("{base}{interaction}")).send().await?;
    if r.status() != StatusCode::SEE_OTHER {
        expect("sign-in page", r.status(), StatusCode::OK)?;
        r.bytes().await?;
    }
    let r = http.get(format!("{base}{interaction}/card")).send().await?;
    expect("card page", r.status(), StatusCode::OK)?;
    let html = r.text().await?;
    let csrf = hidden_value(&html, "csrf_token").context("no csrf_token on the card page")?;
    let r = http
        .post(format!("{base}/card/challenge"))
        .header("origin", base.as_str())
        .json(&json!({ "purpose": "login", "flow": id }))
        .send()
        .await?;
    expect("card challenge", r.status(), StatusCode::OK)?;
    let c: serde_json::Value = r.json().await?;
    let card_challenge = c
        .get("challenge")
        .and_then(|v| v.as_str())
        .context("no challenge")?;
    let token = serde_json::to_string(&card.sign(base, card_challenge)?)
        .map_err(|e| anyhow!("card token: {e}"))?;
    let r = http
        .post(format!("{base}{interaction}/card"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("challenge", card_challenge),
            ("token", token.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await?;
    if r.status() == StatusCode::TOO_MANY_REQUESTS {
        return Err(Stop::Refused("card + password"));
    }
    if r.status() != StatusCode::SEE_OTHER {
        let status = r.status();
        let code = page_error(&r.text().await.unwrap_or_default());
        return Err(Stop::Failed(format!("card + password: {status} {code}")));
    }
    let r = http.get(format!("{base}{interaction}")).send().await?;
    let done = if r.status() == StatusCode::OK {
        let page = r.text().await?;
        let csrf = hidden_value(&page, "csrf_token").context("no csrf_token on consent")?;
        let r = http
            .post(format!("{base}{interaction}/consent"))
            .form(&[("csrf_token", csrf.as_str()), ("decision", "approve")])
            .send()
            .await?;
        expect("consent", r.status(), StatusCode::SEE_OTHER)?;
        location(&r)?
    } else {
        expect("after sign-in", r.status(), StatusCode::SEE_OTHER)?;
        location(&r)?
    };
    let url = url::Url::parse(&done).map_err(|e| anyhow!("redirect {done}: {e}"))?;
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .with_context(|| format!("no code in the redirect: {done}"))?;
    let r = http
        .post(format!("{base}/token"))
        .header("authorization", s.rp.basic())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await?;
    expect("token", r.status(), StatusCode::OK)?;
    let tokens: serde_json::Value = r.json().await?;
    if tokens.get("id_token").and_then(|v| v.as_str()).is_none() {
        return Err(Stop::Failed("the token response has no id_token".into()));
    }
    Ok(())
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    attempts: u64,
    refused: BTreeMap<String, u64>,
    failed: u64,
    first_failure: Option<String>,
}

async fn user(s: Arc<Setup>, deadline: Instant) -> anyhow::Result<Tally> {
    let jar = Arc::new(FreshJar::default());
    let http = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?;
    let mut t = Tally::default();
    while Instant::now() < deadline {
        jar.reset();
        let i = s.cursor.fetch_add(1, Ordering::Relaxed);
        let card = s
            .cards
            .get(i % s.cards.len().max(1))
            .context("no cards to sign in with")?;
        let started = Instant::now();
        t.attempts += 1;
        match attempt(&http, &s, card).await {
            Ok(()) => t.latencies.push(started.elapsed()),
            Err(Stop::Refused(step)) => {
                *t.refused.entry(step.to_string()).or_default() += 1;
                // A person told to wait tries again a moment later.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(Stop::Failed(why)) => {
                t.failed += 1;
                t.first_failure.get_or_insert(why);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    Ok(t)
}

/// Runs `users` virtual users for `duration`; attempts under way at the end finish.
pub async fn run(setup: Arc<Setup>, users: usize, duration: Duration) -> anyhow::Result<SignIns> {
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..users)
        .map(|_| tokio::spawn(user(setup.clone(), deadline)))
        .collect();
    let mut all = Tally::default();
    for task in tasks {
        let t = task.await??;
        all.latencies.extend(t.latencies);
        all.attempts += t.attempts;
        all.failed += t.failed;
        for (k, v) in t.refused {
            *all.refused.entry(k).or_default() += v;
        }
        if all.first_failure.is_none() {
            all.first_failure = t.first_failure;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    if secs <= 0.0 {
        bail!("the sign-in run took no time");
    }
    all.latencies.sort();
    let pct = |p: f64| -> f64 {
        let n = all.latencies.len();
        if n == 0 {
            return 0.0;
        }
        let i = ((n as f64 * p).ceil() as usize).clamp(1, n) - 1;
        all.latencies
            .get(i)
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or_default()
    };
    let completed = all.latencies.len() as u64;
    Ok(SignIns {
        completed,
        attempts: all.attempts,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        refused: all.refused,
        failed: all.failed,
        first_failure: all.first_failure,
        rate: completed as f64 / secs,
        secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hidden_fields_and_error_codes() {
        let html = r#"<input type="hidden" name="csrf_token" value="a&#x3D;b&amp;c"><p data-error="locked">"#;
        assert_eq!(hidden_value(html, "csrf_token").as_deref(), Some("a=b&c"));
        assert_eq!(hidden_value(html, "other"), None);
        assert_eq!(page_error(html), "locked");
    }
}
