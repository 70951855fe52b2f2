//! 重要訊息 from Cardinal: the service notices it publishes for relying parties at
//! `{issuer}/notices.json` (Cardinal's docs/notices.md), fetched server-side and kept for a
//! minute. The home page never waits long for them and never fails because of them: when
//! Cardinal cannot be reached, the last copy is shown (or none), and the next attempt waits
//! a little.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::i18n::Lang;

/// How long a fetched copy is used (Cardinal's feed says `max-age=60`).
const FRESH: Duration = Duration::from_secs(60);
/// After a failed fetch, how long before the next attempt.
const RETRY: Duration = Duration::from_secs(15);
/// A slow Cardinal must not make the home page slow.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The feed as Cardinal publishes it (the fields the portal uses).
#[derive(Debug, Clone, Deserialize)]
struct Feed {
    notices: Vec<FeedNotice>,
}

#[derive(Debug, Clone, Deserialize)]
struct FeedNotice {
    id: String,
    text: FeedText,
    shown_from: String,
    shown_until: Option<String>,
    maintenance: Option<FeedWindow>,
}

#[derive(Debug, Clone, Deserialize)]
struct FeedText {
    #[serde(rename = "zh-TW")]
    zh_tw: String,
    #[serde(default)]
    en: String,
}

#[derive(Debug, Clone, Deserialize)]
struct FeedWindow {
    from: String,
    until: String,
}

/// A notice as the home page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortalNotice {
    pub id: String,
    pub text: String,
    /// `（維護時間：2026-03-06 04:00 至 06:00）`, Taiwan time, in the page's language.
    pub window: Option<String>,
}

fn unix(rfc3339: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.timestamp())
}

fn taipei(unix: i64) -> Option<DateTime<FixedOffset>> {
    let offset = FixedOffset::east_opt(8 * 3600)?;
    Some(DateTime::from_timestamp(unix, 0)?.with_timezone(&offset))
}

fn window(w: &FeedWindow, lang: Lang) -> Option<String> {
    let (from, until) = (taipei(unix(&w.from)?)?, taipei(unix(&w.until)?)?);
    let end = if from.date_naive() == until.date_naive() {
        until.format("%H:%M").to_string()
    } else {
        until.format("%Y-%m-%d %H:%M").to_string()
    };
    let from = from.format("%Y-%m-%d %H:%M");
    Some(match lang {
        Lang::ZhTw => format!("（維護時間：{from} 至 {end}）"),
        Lang::En => format!(" (maintenance: {from} to {end}, UTC+8)"),
    })
}

/// The notices of `feed` shown at `now` (the copy may be up to a minute old), in `lang` (the
/// Chinese text when a notice has no English one).
fn shown(feed: &Feed, now: i64, lang: Lang) -> Vec<PortalNotice> {
    feed.notices
        .iter()
        .filter(|n| {
            let from = unix(&n.shown_from).unwrap_or(i64::MAX);
            let until = n.shown_until.as_deref().and_then(unix).unwrap_or(i64::MAX);
            from <= now && now < until
        })
        .map(|n| PortalNotice {
            id: n.id.clone(),
            text: match lang {
                Lang::En if !n.text.en.is_empty() => n.text.en.clone(),
                _ => n.text.zh_tw.clone(),
            },
            window: n.maintenance.as_ref().and_then(|w| window(w, lang)),
        })
        .collect()
}

#[derive(Debug)]
struct Cached {
    feed: Option<Feed>,
    fetched: Instant,
    ok: bool,
}

/// Cardinal's notices, fetched at most once a minute.
#[derive(Debug)]
pub struct NoticeFeed {
    url: String,
    http: reqwest::Client,
    cached: Mutex<Option<Cached>>,
}

impl NoticeFeed {
    /// The feed of the provider `issuer`.
    pub fn new(issuer: &url::Url) -> anyhow::Result<NoticeFeed> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .build()?;
        Ok(NoticeFeed {
            url: format!("{}/notices.json", issuer.as_str().trim_end_matches('/')),
            http,
            cached: Mutex::new(None),
        })
    }

    /// The notices to show at `now` (Unix seconds); empty when Cardinal has never answered.
    pub async fn current(&self, now: i64, lang: Lang) -> Vec<PortalNotice> {
        let (due, last) = match self.cached.lock() {
            Ok(c) => match c.as_ref() {
                Some(c) => {
                    let wait = if c.ok { FRESH } else { RETRY };
                    (c.fetched.elapsed() >= wait, c.feed.clone())
                }
                None => (true, None),
            },
            Err(_) => (true, None),
        };
        if !due {
            return last.map(|f| shown(&f, now, lang)).unwrap_or_default();
        }
        let fetched = self.fetch().await;
        let ok = fetched.is_ok();
        let feed = match fetched {
            Ok(feed) => Some(feed),
            Err(e) => {
                tracing::warn!(error = %format_args!("{e:#}"), url = %self.url, "Cardinal's notices could not be fetched; showing the last copy");
                last
            }
        };
        if let Ok(mut c) = self.cached.lock() {
            *c = Some(Cached {
                feed: feed.clone(),
                fetched: Instant::now(),
                ok,
            });
        }
        feed.map(|f| shown(&f, now, lang)).unwrap_or_default()
    }

    async fn fetch(&self) -> anyhow::Result<Feed> {
        let resp = self.http.get(&self.url).send().await?.error_for_status()?;
        let bytes = resp.bytes().await?;
        Ok(serde_json::from_slice(&bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed() -> Feed {
        serde_json::from_value(serde_json::json!({
            "generated_at": "2026-03-05T00:00:00Z",
            "notices": [
                { "id": "a", "text": { "zh-TW": "3月6日4時將暫停註冊服務，敬請見諒", "en": "x" },
                  "shown_from": "2026-03-05T00:00:00Z", "shown_until": null, "current": true,
                  "maintenance": { "from": "2026-03-05T20:00:00Z", "until": "2026-03-05T22:00:00Z", "active": false } },
                { "id": "b", "text": { "zh-TW": "之後的公告", "en": "y" },
                  "shown_from": "2026-03-07T00:00:00Z", "shown_until": "2026-03-08T00:00:00Z", "current": false,
                  "maintenance": null }
            ]
        }))
        .unwrap()
    }

    #[test]
    fn notices_are_shown_in_their_time_with_the_window_in_taiwan_time() {
        let at = |t: &str| unix(t).unwrap();
        let now = shown(&feed(), at("2026-03-05T12:00:00Z"), Lang::ZhTw);
        assert_eq!(
            now,
            [PortalNotice {
                id: "a".into(),
                text: "3月6日4時將暫停註冊服務，敬請見諒".into(),
                window: Some("（維護時間：2026-03-06 04:00 至 06:00）".into()),
            }]
        );
        let english = shown(&feed(), at("2026-03-05T12:00:00Z"), Lang::En);
        assert_eq!(english[0].text, "x");
        assert_eq!(
            english[0].window.as_deref(),
            Some(" (maintenance: 2026-03-06 04:00 to 06:00, UTC+8)")
        );
        let later = shown(&feed(), at("2026-03-07T01:00:00Z"), Lang::ZhTw);
        assert_eq!(
            later.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(
            shown(&feed(), at("2026-03-08T00:00:00Z"), Lang::ZhTw).len(),
            1,
            "b has ended"
        );
    }

    #[tokio::test]
    async fn an_unreachable_cardinal_shows_no_notices_quickly() {
        // A port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let issuer = url::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let feed = NoticeFeed::new(&issuer).unwrap();
        let started = Instant::now();
        assert!(feed.current(0, Lang::ZhTw).await.is_empty());
        assert!(
            feed.current(0, Lang::ZhTw).await.is_empty(),
            "no second attempt at once"
        );
        assert!(started.elapsed() < TIMEOUT * 2);
    }
}
