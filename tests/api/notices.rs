//! Service notices (服務公告): the admin API (create, change, list, remove, validation
//! errors, audit rows), the public feed `/notices.json` as the clock moves, the notices on
//! the registration and sign-in pages, the maintenance window (503 + Retry-After for
//! applying and resetting while signing in keeps working) and `cardinal notice`.

use std::process::Command;

use reqwest::Method;
use serde_json::{json, Value};

use crate::admin_api::{admin_token, call};
use crate::card::{sign_token, Issuers};
use crate::card_login::{card_app, register, start, submit, PASSWORD};
use crate::helpers::*;
use crate::register::challenge;

const HOUR: i64 = 3600;

/// The guide's example, in both languages.
fn pause_notice() -> Value {
    json!({
        "text_zh_tw": "3月6日4時將暫停註冊服務，敬請見諒",
        "text_en": "The registration service pauses on 6 March at 04:00. We apologise for the inconvenience.",
        "places": ["register", "signin", "feed"],
    })
}

/// `t` as RFC 3339 (UTC).
fn rfc3339(t: i64) -> String {
    cardinal::clock::format_rfc3339(t)
}

fn assert_invalid(got: &(u16, Value), field: &str, hint: &str) {
    assert_eq!(got.0, 422, "{}", got.1);
    assert_eq!(got.1["error"], "invalid_request");
    assert_eq!(got.1["field"], field, "{}", got.1);
    let description = got.1["error_description"].as_str().unwrap();
    assert!(description.contains(hint), "{hint}: {description}");
}

/// A day a month from `now`, in Taiwan: (`YYYY-MM-DD`, 04:00 and 06:00 that day in UTC as
/// RFC 3339).
fn day_ahead(now: i64) -> (String, String, String) {
    let taipei = time::macros::offset!(+8);
    let d = time::OffsetDateTime::from_unix_timestamp(now + 30 * 24 * HOUR)
        .unwrap()
        .to_offset(taipei)
        .date();
    let four = d.midnight().assume_offset(taipei).unix_timestamp() + 4 * HOUR;
    (d.to_string(), rfc3339(four), rfc3339(four + 2 * HOUR))
}

/// Adds `body` to the pause notice.
fn notice_with(body: Value) -> Value {
    let mut n = pause_notice();
    for (k, v) in body.as_object().unwrap() {
        n[k] = v.clone();
    }
    n
}

#[tokio::test]
async fn notices_are_created_changed_listed_and_removed_over_the_api_and_audited() {
    let app = spawn_app().await;
    let (admin, token) = admin_token(&app).await;
    let t = Some(token.as_str());
    let now = app.engine.now();

    // Refused with the field and what to fix; nothing written.
    let mut no_en = pause_notice();
    no_en.as_object_mut().unwrap().remove("text_en");
    let cases = [
        (no_en, "text_en", "text_en is required"),
        (
            notice_with(json!({ "text_zh_tw": "   " })),
            "text_zh_tw",
            "required",
        ),
        (
            notice_with(json!({ "places": [] })),
            "places",
            "at least one place",
        ),
        (
            notice_with(json!({ "places": ["portal"] })),
            "places",
            "register, signin or feed",
        ),
        (
            notice_with(json!({ "shown_from": "next Tuesday" })),
            "shown_from",
            "Taiwan time",
        ),
        (
            notice_with(
                json!({ "shown_from": rfc3339(now + 2 * HOUR), "shown_until": rfc3339(now + HOUR) }),
            ),
            "shown_until",
            "after shown_from",
        ),
        (
            notice_with(json!({ "maintenance_from": rfc3339(now + HOUR) })),
            "maintenance_until",
            "its end",
        ),
        (
            notice_with(
                json!({ "maintenance_from": rfc3339(now + HOUR), "maintenance_until": rfc3339(now + 9 * 24 * HOUR) }),
            ),
            "maintenance_until",
            "7 days",
        ),
        (
            notice_with(
                json!({ "shown_until": rfc3339(now + 2 * HOUR), "maintenance_from": rfc3339(now + HOUR), "maintenance_until": rfc3339(now + 3 * HOUR) }),
            ),
            "shown_until",
            "maintenance window ends",
        ),
        (
            notice_with(json!({ "text_en": "x".repeat(501) })),
            "text_en",
            "500",
        ),
    ];
    for (body, field, hint) in cases {
        let got = call(&app, Method::POST, "/notices", t, Some(body)).await;
        assert_invalid(&got, field, hint);
    }
    let (status, body) = call(
        &app,
        Method::POST,
        "/notices",
        t,
        Some(notice_with(json!({ "colour": "red" }))),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("colour"));
    let (_, listed) = call(&app, Method::GET, "/notices", t, None).await;
    assert_eq!(listed["items"], json!([]), "nothing was written");

    // Created: a local time without an offset is Taiwan time.
    let (day, four, six) = day_ahead(now);
    let body = notice_with(json!({
        "maintenance_from": format!("{day} 04:00"),
        "maintenance_until": format!("{day}T06:00:00+08:00"),
    }));
    let (status, created) = call(&app, Method::POST, "/notices", t, Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["maintenance_from"], four.as_str());
    assert_eq!(created["maintenance_until"], six.as_str());
    assert_eq!(created["places"], json!(["register", "signin", "feed"]));
    assert_eq!(created["state"], "shown");
    assert_eq!(created["in_maintenance"], false);
    assert_eq!(created["shown_until"], Value::Null);
    let actor = format!("client:{}", admin.client_id);
    assert_eq!(created["created_by"], actor.as_str());

    // Listed and shown; changed (the window removed); another one listed first.
    let (status, shown) = call(&app, Method::GET, &format!("/notices/{id}"), t, None).await;
    assert_eq!((status, &shown["id"]), (200, &json!(id)));
    let change = json!({ "text_en": "Registration pauses on 6 March.", "maintenance_from": null, "maintenance_until": null, "places": "register,feed" });
    let (status, changed) = call(
        &app,
        Method::PATCH,
        &format!("/notices/{id}"),
        t,
        Some(json!({ "text_en": "Registration pauses on 6 March.", "maintenance_from": null, "maintenance_until": null, "places": ["register", "feed"] })),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["text_en"], "Registration pauses on 6 March.");
    assert_eq!(changed["text_zh_tw"], "3月6日4時將暫停註冊服務，敬請見諒");
    assert_eq!(changed["maintenance_from"], Value::Null);
    assert_eq!(changed["places"], json!(["register", "feed"]));
    let (status, _) = call(
        &app,
        Method::PATCH,
        &format!("/notices/{id}"),
        t,
        Some(change),
    )
    .await;
    assert_eq!(status, 400, "places is a list");
    let (status, _) = call(
        &app,
        Method::PATCH,
        "/notices/no-such-notice",
        t,
        Some(json!({ "text_en": "x" })),
    )
    .await;
    assert_eq!(status, 404);
    let later = notice_with(json!({ "shown_from": rfc3339(now + HOUR) }));
    let (_, second) = call(&app, Method::POST, "/notices", t, Some(later)).await;
    assert_eq!(second["state"], "scheduled");
    let (_, page) = call(&app, Method::GET, "/notices?limit=1", t, None).await;
    assert_eq!(page["items"][0]["id"], second["id"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = call(
        &app,
        Method::GET,
        &format!("/notices?limit=1&cursor={cursor}"),
        t,
        None,
    )
    .await;
    assert_eq!(rest["items"][0]["id"], json!(id));
    assert!(rest.get("next_cursor").is_none());

    // Removed; removing again is a 404.
    let (status, _) = call(&app, Method::DELETE, &format!("/notices/{id}"), t, None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&app, Method::DELETE, &format!("/notices/{id}"), t, None).await;
    assert_eq!(status, 404);

    // Each change is in the audit log, with who made it and which notice.
    for (event, n) in [
        ("notice_create", 2),
        ("notice_update", 1),
        ("notice_delete", 1),
    ] {
        let (_, audit) = call(&app, Method::GET, &format!("/audit?event={event}"), t, None).await;
        let items = audit["items"].as_array().unwrap();
        assert_eq!(items.len(), n, "{event}: {audit}");
        assert!(items.iter().all(|e| e["actor"] == actor.as_str()));
        assert!(items.iter().any(|e| e["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("notice={id}"))));
    }
    let (_, audit) = call(&app, Method::GET, "/audit?event=notice_create", t, None).await;
    let detail = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["detail"].as_str().unwrap().contains(&id))
        .unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        detail.contains(&format!("maintenance={four}..{six}")),
        "{detail}"
    );
}

/// Creates a notice through the service, as the command line would.
fn add(app: &TestApp, body: Value) -> String {
    let input: cardinal::admin::notices::NoticeInput = serde_json::from_value(body).unwrap();
    cardinal::admin::notices::create(&app.engine, &cardinal::admin::Actor::cli(), &input)
        .unwrap()
        .id
}

/// `GET /notices.json`: (headers, body).
async fn feed(app: &TestApp) -> (reqwest::header::HeaderMap, Value) {
    let r = app.api.get(app.url("/notices.json")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let headers = r.headers().clone();
    (headers, r.json().await.unwrap())
}

fn feed_ids(body: &Value) -> Vec<(String, bool)> {
    body["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["id"].as_str().unwrap().to_string(),
                n["current"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_feed_lists_the_current_and_upcoming_notices_for_relying_parties_as_time_passes() {
    let app = spawn_app().await;
    let now = app.engine.now();
    let current = add(
        &app,
        notice_with(json!({ "shown_until": rfc3339(now + HOUR / 2) })),
    );
    let upcoming = add(
        &app,
        notice_with(json!({
            "shown_from": rfc3339(now + HOUR),
            "shown_until": rfc3339(now + 3 * HOUR),
            "maintenance_from": rfc3339(now + HOUR),
            "maintenance_until": rfc3339(now + 2 * HOUR),
        })),
    );
    let _site_only = add(
        &app,
        notice_with(json!({ "places": ["register"], "text_en": "Only on the registration site." })),
    );

    let (r, body) = feed(&app).await;
    assert_eq!(
        feed_ids(&body),
        [(current.clone(), true), (upcoming.clone(), false)]
    );
    assert_eq!(r["cache-control"], "public, max-age=60");
    assert_eq!(r["access-control-allow-origin"], "*");
    assert!(r["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let first = &body["notices"][0];
    assert_eq!(first["text"]["zh-TW"], "3月6日4時將暫停註冊服務，敬請見諒");
    assert!(first["text"]["en"]
        .as_str()
        .unwrap()
        .starts_with("The registration service"));
    assert_eq!(first["shown_until"], rfc3339(now + HOUR / 2));
    assert_eq!(first["maintenance"], Value::Null);
    let second = &body["notices"][1];
    assert_eq!(
        second["maintenance"],
        json!({ "from": rfc3339(now + HOUR), "until": rfc3339(now + 2 * HOUR), "active": false })
    );
    assert!(!body.to_string().contains("Only on the registration site"));

    // Revalidation: the same notices answer 304.
    let etag = r["etag"].to_str().unwrap().to_string();
    let again = app
        .api
        .get(app.url("/notices.json"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);

    // An hour later the first has ended and the second is shown, its window in force.
    app.clock.advance(HOUR + 1);
    let (r, body) = feed(&app).await;
    assert_eq!(feed_ids(&body), [(upcoming.clone(), true)]);
    assert_eq!(body["notices"][0]["maintenance"]["active"], true);
    assert_ne!(r["etag"].to_str().unwrap(), etag);
    let stale = app
        .api
        .get(app.url("/notices.json"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200, "a changed feed is sent again");

    // And once everything has ended, the feed is empty.
    app.clock.advance(3 * HOUR);
    let (_, body) = feed(&app).await;
    assert_eq!(body["notices"], json!([]));
}

/// GET `path` in `lang` without cookies: (status, Retry-After, body).
async fn page_in(app: &TestApp, path: &str, lang: &str) -> (u16, Option<i64>, String) {
    let r = app
        .api
        .get(app.url(path))
        .header("accept-language", lang)
        .send()
        .await
        .unwrap();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (r.status().as_u16(), retry, r.text().await.unwrap())
}

/// Signs in at the registration home (健保卡 + 註冊密碼); the member page's address.
async fn sign_in_at_home(app: &TestApp, card: &Value) -> String {
    let home = app.get("/register").await.text().await.unwrap();
    let csrf = hidden_value(&home, "csrf_token").unwrap();
    let c = challenge(app, "home").await;
    let token = serde_json::to_string(&sign_token(card, &app.address, &c)).unwrap();
    let r = app
        .browser
        .post(app.url("/register/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("challenge", c.as_str()),
            ("token", token.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    location(&r)
}

#[tokio::test]
async fn during_a_maintenance_window_applying_and_resetting_answer_503_and_signing_in_works() {
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    register(&app, &card, false);
    let (_, token) = admin_token(&app).await;
    let now = app.engine.now();
    // Scheduled over the API: shown now, maintenance from in an hour for two hours.
    let (status, notice) = call(
        &app,
        Method::POST,
        "/notices",
        Some(&token),
        Some(notice_with(json!({
            "places": ["register", "signin"],
            "maintenance_from": rfc3339(now + HOUR),
            "maintenance_until": rfc3339(now + 3 * HOUR),
        }))),
    )
    .await;
    assert_eq!(status, 201, "{notice}");
    let id = notice["id"].as_str().unwrap();

    // Before the window: the pages work and show the notice, with its window.
    let (status, _, terms) = page_in(&app, "/register/terms", "zh-TW").await;
    assert_eq!(status, 200);
    assert!(terms.contains("id=\"service-notices\""), "{terms}");
    assert!(terms.contains("服務公告") && terms.contains("3月6日4時將暫停註冊服務"));
    assert!(terms.contains(&format!("data-notice=\"{id}\"")));
    assert!(terms.contains("維護時間："), "{terms}");
    assert!(!terms.contains("data-maintenance=\"now\""));
    let (_, _, english) = page_in(&app, "/register", "en").await;
    assert!(
        english.contains("Service notices") && english.contains("The registration service pauses")
    );
    assert!(!english.contains("3月6日4時"), "the page's language only");
    // Not on the admin console's pages, nor on other sites' pages.
    let (_, _, environment) = page_in(&app, "/help/environment", "zh-TW").await;
    assert!(!environment.contains("service-notices"));

    // In the window: applying and resetting answer the maintenance page.
    app.clock.advance(HOUR + 60);
    for path in [
        "/register/terms",
        "/register/apply",
        "/register/forgot",
        "/register/reset?t=abc",
        "/register/confirm?t=abc",
    ] {
        let (status, retry, body) = page_in(&app, path, "zh-TW").await;
        assert_eq!(status, 503, "{path}");
        let retry = retry.expect("Retry-After");
        assert!(
            (2 * HOUR - 65..=2 * HOUR - 55).contains(&retry),
            "{path}: {retry}"
        );
        assert!(body.contains("系統維護中"), "{path}: {body}");
        assert!(body.contains("（臺灣時間）恢復服務"), "{body}");
        assert!(
            body.contains("data-maintenance=\"now\""),
            "the notice is shown: {body}"
        );
    }
    let until = cardinal::notices::taipei_time(now + 3 * HOUR, "zh-TW");
    let (_, _, zh) = page_in(&app, "/register/apply", "zh-TW").await;
    assert!(
        zh.contains(&format!("預計於 {until}（臺灣時間）恢復服務")),
        "{zh}"
    );
    assert!(zh.contains("<html lang=\"zh-TW\">"));
    let (status, _, en) = page_in(&app, "/register/apply", "en").await;
    assert_eq!(status, 503);
    let until_en = cardinal::notices::taipei_time(now + 3 * HOUR, "en");
    assert!(
        en.contains("Under maintenance") && en.contains(&format!("until {until_en} (Taiwan time)")),
        "{en}"
    );
    assert!(
        en.contains("href=\"/register/apply?lang&#x3D;zh-TW\""),
        "the switch: {en}"
    );
    for (path, form) in [
        ("/register/apply", vec![("household_no", "F1234567")]),
        ("/register/apply/submit", vec![("proof", "x")]),
        ("/register/forgot", vec![("household_no", "F1234567")]),
        ("/register/reset", vec![("t", "abc")]),
        // The router decodes the path: an encoded letter is the same page, paused too.
        ("/register/%61pply/submit", vec![("proof", "x")]),
        ("/register/forg%6Ft", vec![("household_no", "F1234567")]),
    ] {
        let r = app
            .api
            .post(app.url(path))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503, "POST {path}");
        assert!(r.headers().contains_key("retry-after"));
    }

    // Signing in keeps working: at a relying party, whose sign-in page shows the notice
    // (the code is redeemed at the token endpoint) …
    let client = app.add_client(|_| {});
    let (verifier, challenge) = pkce();
    let interaction = start(&app, &client, &challenge).await;
    let login = app.get(&interaction).await.text().await.unwrap();
    assert!(
        login.contains("id=\"service-notices\"") && login.contains("3月6日4時"),
        "{login}"
    );
    let card_page = app
        .get(&format!("{interaction}/card"))
        .await
        .text()
        .await
        .unwrap();
    assert!(card_page.contains("id=\"service-notices\""));
    let r = submit(&app, &interaction, &card, PASSWORD).await;
    assert_eq!(r.status(), 303);
    let r = app.approve_consent(&interaction).await;
    let url = url::Url::parse(&location(&r)).unwrap();
    let code = query_param(&url, "code").expect("a code during the window");
    let tokens = app.redeem(&client, &code, &verifier).await;
    assert_eq!(tokens.status(), 200, "the token endpoint keeps working");

    // … and at the registration home.
    let (status, _, home) = page_in(&app, "/register", "zh-TW").await;
    assert_eq!(status, 200);
    assert!(home.contains("data-maintenance=\"now\""));
    assert_eq!(sign_in_at_home(&app, &card).await, "/register/member");
    let member = app.get("/register/member").await;
    assert_eq!(member.status(), 200);

    // Once the window is over, applying is back.
    app.clock.advance(2 * HOUR);
    let (status, retry, _) = page_in(&app, "/register/terms", "zh-TW").await;
    assert_eq!((status, retry), (200, None));
}

/// `cardinal notice …` against the app's database.
fn cardinal_notice(app: &TestApp, data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cardinal"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("USER", "clerk")
        .env("CARDINAL_DATABASE_URL", app.db.url())
        .env("CARDINAL_DATA_DIR", data)
        .env("CARDINAL_KEYS__SECRET_KEY", SECRET_KEY)
        .current_dir(data)
        .arg("notice")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn cardinal_notice_adds_lists_updates_and_removes_notices() {
    let app = spawn_app().await;
    let data = tempfile::tempdir().unwrap();
    let p = data.path();
    let run = |args: &[&str]| cardinal_notice(&app, p, args);
    let (day, four, six) = day_ahead(app.engine.now());
    let until_day = day_ahead(app.engine.now() + 60 * 24 * HOUR).0;
    let (from_local, until_local) = (format!("{day} 04:00"), format!("{day} 06:00"));

    // Refused with what to fix.
    let (ok, _, err) = run(&["add", "--zh-tw", "暫停服務", "--place", "register"]);
    assert!(!ok && err.contains("text_en is required"), "{err}");
    let (ok, _, err) = run(&[
        "add",
        "--zh-tw",
        "暫停服務",
        "--en",
        "Paused",
        "--place",
        "register",
        "--maintenance-from",
        "2026-03-06 04:00",
    ]);
    assert!(!ok && err.contains("maintenance_until"), "{err}");

    // Added: the guide's second example, shown on the registration site and in the feed.
    let (ok, out, err) = run(&[
        "add",
        "--zh-tw",
        "申請健保卡網路服務註冊停用，請持身分證明文件臨櫃辦理（本署各地聯合服務中心及連絡辦公室）",
        "--en",
        "Applying online is suspended; please apply in person with proof of identity.",
        "--place",
        "register,feed",
        "--until",
        &until_day,
    ]);
    assert!(ok, "{err}");
    let id = out.trim().to_string();
    let notice = app.engine.store().find_notice(&id).unwrap().unwrap();
    assert!(notice.places.register && notice.places.feed && !notice.places.signin);
    assert_eq!(
        notice.shown_until,
        Some(cardinal::admin::notices::parse_time("until", &until_day).unwrap())
    );
    assert_eq!(notice.created_by, "cli:clerk");

    let (ok, out, _) = run(&["list"]);
    assert!(
        ok && out.contains(&id) && out.contains("臨櫃辦理") && out.contains("register,feed"),
        "{out}"
    );
    let (ok, out, _) = run(&["list", "--json"]);
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert!(ok);
    assert_eq!(listed[0]["id"], id.as_str());

    // Updated: a maintenance window added, then the end removed.
    let (ok, out, err) = run(&[
        "update",
        &id,
        "--maintenance-from",
        &from_local,
        "--maintenance-until",
        &until_local,
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("maintenance {four} – {six}")),
        "{out}"
    );
    let (ok, _, err) = run(&["update", &id, "--no-until"]);
    assert!(ok, "{err}");
    let notice = app.engine.store().find_notice(&id).unwrap().unwrap();
    assert_eq!(notice.shown_until, None);
    assert!(notice.maintenance.is_some());
    let (ok, _, _) = run(&["update", &id, "--no-maintenance"]);
    assert!(ok);
    assert_eq!(
        app.engine
            .store()
            .find_notice(&id)
            .unwrap()
            .unwrap()
            .maintenance,
        None
    );

    // Removed; a second time names the missing notice.
    let (ok, out, _) = run(&["remove", &id]);
    assert!(ok && out.contains("removed"));
    let (ok, _, err) = run(&["remove", &id]);
    assert!(!ok && err.contains(&format!("no notice {id}")), "{err}");

    // Audited as the command line's user.
    let events = app.engine.store().list_audit(50).unwrap();
    for kind in ["notice_create", "notice_update", "notice_delete"] {
        assert!(
            events
                .iter()
                .any(|e| e.event == kind && e.actor.as_deref() == Some("cli:clerk")),
            "{kind}"
        );
    }
}

/// The eCPA example portal (feature `demo`) shows the notices Cardinal publishes for
/// relying parties in its 重要訊息, fetched from the feed; the others it does not.
#[cfg(feature = "demo")]
#[tokio::test]
async fn the_ecpa_portal_shows_the_feeds_notices_among_its_important_messages() {
    let app = spawn_app().await;
    let now = app.engine.now();
    add(
        &app,
        notice_with(json!({
            "places": ["feed"],
            "maintenance_from": rfc3339(now + HOUR),
            "maintenance_until": rfc3339(now + 2 * HOUR),
        })),
    );
    add(
        &app,
        notice_with(json!({ "places": ["register"], "text_zh_tw": "只在註冊網站顯示" })),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let portal_url = format!("http://{}/", listener.local_addr().unwrap());
    let client = app.add_client(|d| {
        d.redirect_uris = Some(vec![format!("{portal_url}callback")]);
    });
    let config = ecpa_portal::PortalConfig {
        issuer: url::Url::parse(&app.address).unwrap(),
        client_id: client.client_id.clone(),
        client_secret: client.secret.clone(),
        public_url: url::Url::parse(&portal_url).unwrap(),
        title: String::new(),
        kind: ecpa_portal::PortalKind::Ecpa,
        webhr_url: None,
        ecpa_url: None,
        help_url: None,
        register_url: None,
        manual_url: None,
    };
    let server = ecpa_portal::build(config, listener).await.unwrap();
    tokio::spawn(server);
    let home = reqwest::get(&portal_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let from = cardinal::notices::taipei_input(now + HOUR).replace('T', " ");
    assert!(
        home.contains(&format!(
            "<strong>重要訊息：</strong>3月6日4時將暫停註冊服務，敬請見諒（維護時間：{from} 至 "
        )),
        "{home}"
    );
    assert!(!home.contains("只在註冊網站顯示"));
    // The portal's own 重要訊息 is still there.
    assert!(home.contains("本系統之個人資料僅供作必要人事資料管理之用"));
}
