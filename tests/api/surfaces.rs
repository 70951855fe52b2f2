//! What anyone on the network reaches (issue 10, item 8): metrics on their own listener,
//! per-address limits on unauthenticated writes (counted in the database, shared by
//! instances), 431 for oversized request heads, and the garbage collection of expired
//! state.

use std::time::Duration;

use cardinal::store::{
    AccessTokenRecord, AuditEvent, ChallengeRecord, CodeRecord, GrantRecord, InteractionRecord,
    IssueBundle, MailTokenPurpose, MailTokenRecord, OutboxMessage, RefreshTokenRecord,
    SessionRecord,
};
use diesel::Connection;
use serde_json::Value;

use crate::helpers::*;

/// Rows that `sql` (a `SELECT COUNT(*) AS n …`) counts.
fn count(db: &TestDb, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let rows: Vec<N> = match db {
        TestDb::Sqlite(_) => {
            let mut c = diesel::SqliteConnection::establish(&db.url()).unwrap();
            diesel::RunQueryDsl::load(diesel::sql_query(sql), &mut c).unwrap()
        }
        TestDb::Postgres(url) => {
            let mut c = diesel::PgConnection::establish(url).unwrap();
            diesel::RunQueryDsl::load(diesel::sql_query(sql), &mut c).unwrap()
        }
    };
    rows.first().map(|r| r.n).unwrap_or(-1)
}

/// Moves the apps' clocks to the start of a one-minute window, so that a test's requests
/// all fall into one window.
fn to_window_start(apps: &[&TestApp]) {
    let now = apps[0].engine.now();
    let shift = 60 - now.rem_euclid(60);
    for app in apps {
        app.clock.advance(shift);
    }
}

// ---------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_and_never_on_the_public_port() {
    let app = spawn_app().await;
    app.api.get(app.url("/healthz")).send().await.unwrap();
    let public = app.api.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404, "no /metrics on the public port");
    let base = app.metrics.clone().expect("metrics listener");
    assert_ne!(base, app.address);
    let r = app.api.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4");
    let text = r.text().await.unwrap();
    assert!(
        text.contains("# TYPE cardinal_http_requests_total counter"),
        "{text}"
    );
    assert!(
        text.contains(
            "cardinal_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"
        ),
        "{text}"
    );
    // The metrics listener serves nothing else.
    for path in [
        "/healthz",
        "/authorize",
        "/.well-known/openid-configuration",
    ] {
        let r = app.api.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path} on the metrics listener");
    }
}

#[tokio::test]
async fn metrics_off_opens_no_listener() {
    let app = spawn_app_with(|s| s.metrics.listen = "off".into()).await;
    assert!(app.metrics.is_none());
    let r = app.api.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

// ---------------------------------------------------------------------------
// Rate limits
// ---------------------------------------------------------------------------

async fn challenge(app: &TestApp, ip: &str, path: &str) -> reqwest::Response {
    app.api
        .post(app.url(path))
        .header("origin", &app.address)
        .header("x-forwarded-for", ip)
        .json(&serde_json::json!({ "purpose": "check" }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn card_challenges_are_limited_per_address_across_two_instances() {
    let limits = |s: &mut cardinal::configuration::Settings| {
        s.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        s.limits.card_per_ip_per_minute = 5;
    };
    let a = spawn_app_with(limits).await;
    let b = spawn_on(a.db.clone(), limits).await;
    to_window_start(&[&a, &b]);
    let rows = || count(&a.db, "SELECT COUNT(*) AS n FROM card_challenges");
    let before = rows();
    for app in [&a, &a, &a, &b, &b] {
        let r = challenge(app, "198.51.100.7", "/card/challenge").await;
        assert_eq!(r.status(), 200);
    }
    assert_eq!(rows(), before + 5);
    // The sixth from that address, on either instance, is refused without a row.
    for app in [&b, &a] {
        let r = challenge(app, "198.51.100.7", "/card/challenge").await;
        assert_eq!(r.status(), 429);
        let retry: i64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "rate_limited");
        assert!(
            body["message"].as_str().unwrap().contains("try again in"),
            "{body}"
        );
    }
    // The same path spelt with an escape is the same bucket.
    let r = challenge(&a, "198.51.100.7", "/card/chall%65nge").await;
    assert_eq!(r.status(), 429);
    assert_eq!(rows(), before + 5, "refused requests wrote nothing");
    // Another address is not affected; an IPv6 neighbour in the same /64 is one address.
    let r = challenge(&a, "203.0.113.9", "/card/challenge").await;
    assert_eq!(r.status(), 200);
    for i in 0..5 {
        let r = challenge(&b, &format!("2001:db8:7:7::{i}"), "/card/challenge").await;
        assert_eq!(r.status(), 200);
    }
    let r = challenge(&a, "2001:db8:7:7::99", "/card/challenge").await;
    assert_eq!(r.status(), 429);
    // The next minute starts afresh.
    a.clock.advance(60);
    b.clock.advance(60);
    let r = challenge(&b, "198.51.100.7", "/card/challenge").await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn authorize_and_form_posts_are_limited_per_address() {
    let app = spawn_app_with(|s| {
        s.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        s.limits.authorize_per_ip_per_minute = 3;
        s.limits.forms_per_ip_per_minute = 2;
    })
    .await;
    to_window_start(&[&app]);
    let client = app.add_client(|_| {});
    let (_, pkce_challenge) = pkce();
    let params = auth_params(&client, &pkce_challenge, &[]);
    let authorize = |ip: &'static str| {
        app.api
            .get(app.url("/authorize"))
            .query(&params)
            .header("x-forwarded-for", ip)
            .send()
    };
    let interactions = || count(&app.db, "SELECT COUNT(*) AS n FROM interactions");
    for _ in 0..3 {
        assert_eq!(authorize("198.51.100.8").await.unwrap().status(), 303);
    }
    assert_eq!(interactions(), 3);
    let r = authorize("198.51.100.8").await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; charset=utf-8",
        "a page for the browser"
    );
    let text = r.text().await.unwrap();
    assert!(
        text.contains("Too many unfinished requests") && text.contains("秒後再試"),
        "{text}"
    );
    assert_eq!(interactions(), 3, "the refused request made no interaction");
    assert_eq!(authorize("198.51.100.9").await.unwrap().status(), 303);

    // Forms: e.g. a forged consent post to an unknown interaction.
    let consent = |ip: &'static str| {
        app.api
            .post(app.url("/interaction/nope/consent"))
            .header("x-forwarded-for", ip)
            .form(&[("csrf_token", "x"), ("decision", "approve")])
            .send()
    };
    for _ in 0..2 {
        assert_ne!(consent("198.51.100.8").await.unwrap().status(), 429);
    }
    assert_eq!(consent("198.51.100.8").await.unwrap().status(), 429);
    assert_ne!(consent("198.51.100.9").await.unwrap().status(), 429);
}

#[tokio::test]
async fn failed_client_authentications_are_limited_per_address() {
    let app = spawn_app_with(|s| {
        s.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        s.limits.client_auth_failures_per_ip_per_minute = 3;
    })
    .await;
    to_window_start(&[&app]);
    let client = app.add_client(|_| {});
    let token = |ip: &'static str, secret: &str| {
        app.api
            .post(app.url("/token"))
            .basic_auth(&client.client_id, Some(secret))
            .header("x-forwarded-for", ip)
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    let good = client.secret.clone().unwrap();
    // Successful authentications are never counted.
    for _ in 0..5 {
        assert_eq!(token("198.51.100.10", &good).await.unwrap().status(), 200);
    }
    for _ in 0..3 {
        assert_eq!(token("198.51.100.10", "wrong").await.unwrap().status(), 401);
    }
    let r = token("198.51.100.10", &good).await.unwrap();
    assert_eq!(
        r.status(),
        429,
        "past the limit even the right secret waits"
    );
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    assert!(body["error_description"].as_str().is_some(), "{body}");
    assert_eq!(token("198.51.100.11", &good).await.unwrap().status(), 200);
}

// ---------------------------------------------------------------------------
// Request heads
// ---------------------------------------------------------------------------

#[tokio::test]
async fn request_headers_over_16_kib_get_431() {
    let app = spawn_app().await;
    let big = "a".repeat(20 * 1024);
    let r = app
        .api
        .get(app.url("/healthz"))
        .header("x-padding", &big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    assert!(r.text().await.unwrap().contains("too large"));
    let r = app
        .api
        .get(app.url("/authorize"))
        .header("cookie", format!("cardinal_browser={big}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431, "cookies count too");
    // 64 KiB, the size of the finding.
    let r = app
        .api
        .post(app.url("/card/challenge"))
        .header("x-padding", "b".repeat(64 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    // Under the limit is fine.
    let r = app
        .api
        .get(app.url("/healthz"))
        .header("x-padding", "a".repeat(8 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

// ---------------------------------------------------------------------------
// Garbage collection
// ---------------------------------------------------------------------------

fn audit(now: i64) -> AuditEvent {
    AuditEvent {
        at: now,
        event: "test".into(),
        outcome: "success".into(),
        actor: None,
        person_id: None,
        client_id: None,
        ip: None,
        detail: None,
    }
}

/// One row of every purged kind that expired (or ended) `age` seconds ago when `age` is
/// positive, or expires in `-age` seconds; each keyed by `tag`.
fn seed(app: &TestApp, tag: &str, age: i64, person: &str, client: &str) {
    let store = app.engine.store();
    let now = app.engine.now();
    let expires = now - age;
    store
        .create_challenge(&ChallengeRecord {
            challenge_hash: format!("ch-{tag}"),
            binding: "b".into(),
            expected_card: None,
            created_at: now - 600,
            expires_at: expires,
            consumed_at: None,
        })
        .unwrap();
    store
        .create_interaction(&InteractionRecord {
            id: format!("in-{tag}"),
            browser_hash: "b".into(),
            client_id: client.into(),
            request: "{}".into(),
            csrf_token: "c".into(),
            login: None,
            consent_given: false,
            created_at: now - 600,
            expires_at: expires,
            consumed_at: None,
        })
        .unwrap();
    store
        .create_session(&SessionRecord {
            id_hash: format!("se-{tag}"),
            sid: format!("sid-{tag}"),
            person_id: person.into(),
            auth_time: now - 600,
            acr: "urn:cardinal:acr:card".into(),
            amr: vec!["sc".into()],
            created_at: now - 600,
            expires_at: expires,
            ended_at: None,
            last_seen_at: now - 600,
        })
        .unwrap();
    store
        .add_session_client(&format!("sid-{tag}"), client, now - 600)
        .unwrap();
    store
        .create_code(&CodeRecord {
            code_hash: format!("co-{tag}"),
            grant_id: format!("gr-{tag}"),
            client_id: client.into(),
            person_id: person.into(),
            sid: format!("sid-{tag}"),
            redirect_uri: REDIRECT_URI.into(),
            scope: "openid".into(),
            nonce: None,
            code_challenge: None,
            claims: None,
            auth_time: now - 600,
            acr: "urn:cardinal:acr:card".into(),
            amr: vec![],
            created_at: now - 600,
            expires_at: expires,
            consumed_at: None,
        })
        .unwrap();
    store
        .issue_tokens(&IssueBundle {
            new_grant: Some(GrantRecord {
                id: format!("gr-{tag}"),
                client_id: client.into(),
                person_id: Some(person.into()),
                sid: Some(format!("sid-{tag}")),
                scope: "openid offline_access".into(),
                claims: None,
                auth_time: Some(now - 600),
                acr: None,
                amr: vec![],
                created_at: now - 600,
                expires_at: expires,
                revoked_at: None,
            }),
            access_token: AccessTokenRecord {
                jti_hash: format!("at-{tag}"),
                grant_id: Some(format!("gr-{tag}")),
                client_id: client.into(),
                person_id: Some(person.into()),
                scope: "openid".into(),
                created_at: now - 600,
                expires_at: expires,
                revoked_at: None,
            },
            refresh_token: Some(RefreshTokenRecord {
                token_hash: format!("rt-{tag}"),
                grant_id: format!("gr-{tag}"),
                client_id: client.into(),
                created_at: now - 600,
                expires_at: expires,
                consumed_at: None,
                revoked_at: None,
            }),
        })
        .unwrap();
    assert!(store
        .record_jti(&format!("jt-{tag}"), client, expires)
        .unwrap());
}

const TABLES: [(&str, &str, &str); 10] = [
    ("card_challenges", "challenge_hash", "ch-"),
    ("interactions", "id", "in-"),
    ("sessions", "id_hash", "se-"),
    ("session_clients", "sid", "sid-"),
    ("authorization_codes", "code_hash", "co-"),
    ("grants", "id", "gr-"),
    ("access_tokens", "jti_hash", "at-"),
    ("refresh_tokens", "token_hash", "rt-"),
    ("used_jtis", "jti_hash", "jt-"),
    ("mail_tokens", "token_hash", "mt-"),
];

fn rows_of(app: &TestApp, tag: &str) -> Vec<(&'static str, i64)> {
    TABLES
        .iter()
        .map(|(table, key, prefix)| {
            let n = count(
                &app.db,
                &format!("SELECT COUNT(*) AS n FROM {table} WHERE {key} = '{prefix}{tag}'"),
            );
            (*table, n)
        })
        .collect()
}

#[tokio::test]
async fn purge_removes_expired_and_ended_rows_and_keeps_live_ones() {
    let app = spawn_app_with(|s| s.metrics.listen = "off".into()).await;
    let b = spawn_on(app.db.clone(), |s| s.metrics.listen = "off".into()).await;
    // Both instances did their purge at start; go to the next interval, whose purge has
    // not run yet.
    for _ in 0..100 {
        let both = count(
            &app.db,
            "SELECT COUNT(*) AS n FROM rate_limits WHERE bucket = 'maintenance:purge' AND hits >= 2",
        );
        if both == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let interval = app.engine.settings().maintenance.purge_interval_secs as i64;
    app.clock.advance(interval);
    b.clock.advance(interval);
    let client = app.add_client(|_| {});
    let person = app.add_person("垃圾");
    let (p, c) = (person.id.as_str(), client.client_id.as_str());
    let grace = app.engine.settings().maintenance.purge_grace_secs;
    assert_eq!(grace, 3600, "the default grace");
    seed(&app, "old", grace + 60, p, c); // expired more than the grace ago
    seed(&app, "recent", 60, p, c); // expired within the grace
    seed(&app, "live", -600, p, c); // still valid
                                    // Sessions that ended long ago, or just now, but have not expired.
    seed(&app, "ended", -600, p, c);
    seed(&app, "justended", -600, p, c);
    let store = app.engine.store();
    let now = app.engine.now();
    store.end_session("sid-ended", now - grace - 60).unwrap();
    store.end_session("sid-justended", now - 10).unwrap();
    // Mail tokens (an expired confirmation, a live reset link) with their mails, one sent
    // long ago.
    for (tag, purpose, expires) in [
        ("old", MailTokenPurpose::Confirm, now - grace - 60),
        ("live", MailTokenPurpose::Reset, now + 600),
    ] {
        store
            .replace_mail_token(
                &MailTokenRecord {
                    token_hash: format!("mt-{tag}"),
                    person_id: p.into(),
                    purpose,
                    new_email: None,
                    created_at: now - grace - 600,
                    expires_at: expires,
                    consumed_at: None,
                },
                &OutboxMessage {
                    id: format!("mail-{tag}"),
                    payload: "sealed".into(),
                    purpose: "confirm".into(),
                    created_at: now - grace - 600,
                    next_attempt_at: now - grace - 600,
                    attempts: 0,
                    sent_at: None,
                    last_error: None,
                },
                &audit(now),
            )
            .unwrap();
    }
    store.mark_mail_sent("mail-old", now - grace - 60).unwrap();
    // Rate-limit windows: one of two hours ago, one of now.
    store.hit("limit:test:old", 60, now - 7200).unwrap();
    store.hit("limit:test:now", 60, now).unwrap();
    let audit_rows = count(&app.db, "SELECT COUNT(*) AS n FROM audit_events");

    // Two instances: the first purge of the interval runs, the other one skips its turn.
    let (e1, e2) = (app.engine.clone(), b.engine.clone());
    let removed = tokio::task::spawn_blocking(move || cardinal::maintenance::purge_once(&e1))
        .await
        .unwrap()
        .unwrap()
        .expect("first in the interval purges");
    assert!(removed >= 10, "{removed}");
    let skipped = tokio::task::spawn_blocking(move || cardinal::maintenance::purge_once(&e2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        skipped, None,
        "the other instance waits for the next interval"
    );

    let gone = |tag: &str| {
        for (table, n) in rows_of(&app, tag) {
            assert_eq!(n, 0, "{table}: row {tag} should be gone");
        }
    };
    // Every row of `tag` but those in `except` is still there.
    let kept = |tag: &str, except: &[&str]| {
        for (table, n) in rows_of(&app, tag) {
            if table == "mail_tokens" && tag != "live" {
                continue; // only "old" and "live" have a mail token
            }
            let want = i64::from(!except.contains(&table));
            assert_eq!(n, want, "{table}: row {tag}");
        }
    };
    gone("old");
    kept("recent", &["used_jtis"]); // a jti is forgotten once it has expired
    kept("live", &[]);
    // A session ended more than the grace ago goes (with its client list); its grant,
    // still valid, stays.
    kept("ended", &["sessions", "session_clients"]);
    kept("justended", &[]);
    let n = |sql: &str| count(&app.db, sql);
    assert_eq!(
        n("SELECT COUNT(*) AS n FROM mail_outbox WHERE id = 'mail-old'"),
        0
    );
    assert_eq!(
        n("SELECT COUNT(*) AS n FROM mail_outbox WHERE id = 'mail-live'"),
        1
    );
    assert_eq!(
        n("SELECT COUNT(*) AS n FROM rate_limits WHERE bucket = 'limit:test:old'"),
        0
    );
    assert_eq!(
        n("SELECT COUNT(*) AS n FROM rate_limits WHERE bucket = 'limit:test:now'"),
        1
    );
    // Never touched: the audit log, the person, the client.
    assert!(n("SELECT COUNT(*) AS n FROM audit_events") >= audit_rows);
    assert_eq!(
        n(&format!(
            "SELECT COUNT(*) AS n FROM persons WHERE id = '{p}'"
        )),
        1
    );
    assert_eq!(
        n(&format!(
            "SELECT COUNT(*) AS n FROM clients WHERE client_id = '{c}'"
        )),
        1
    );

    // Both instances purging at once (as after the next interval) do not fail.
    seed(&app, "again", grace + 60, p, c);
    let (e1, e2) = (app.engine.clone(), b.engine.clone());
    let t1 = tokio::task::spawn_blocking(move || e1.store().purge_expired(e1.now(), 3600));
    let t2 = tokio::task::spawn_blocking(move || e2.store().purge_expired(e2.now(), 3600));
    let (r1, r2) = (t1.await.unwrap(), t2.await.unwrap());
    assert!(r1.is_ok() && r2.is_ok(), "{r1:?} {r2:?}");
    gone("again");
}

#[tokio::test]
async fn the_purge_runs_in_the_background() {
    let app = spawn_app_with(|s| {
        s.maintenance.purge_interval_secs = 1;
        s.maintenance.purge_grace_secs = 0;
    })
    .await;
    let now = app.engine.now();
    app.engine
        .store()
        .create_challenge(&ChallengeRecord {
            challenge_hash: "ch-background".into(),
            binding: "b".into(),
            expected_card: None,
            created_at: now - 400,
            expires_at: now - 100,
            consumed_at: None,
        })
        .unwrap();
    let rows = || {
        count(
            &app.db,
            "SELECT COUNT(*) AS n FROM card_challenges WHERE challenge_hash = 'ch-background'",
        )
    };
    assert_eq!(rows(), 1);
    let mut left = 1;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        left = rows();
        if left == 0 {
            break;
        }
    }
    assert_eq!(
        left, 0,
        "the background purge deleted the expired challenge"
    );
}
