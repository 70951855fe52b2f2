//! Monday 08:00 at an agency (issue 19, docs/limits.md): the budgets count what attackers
//! need — wrong passwords behind genuine cards, forged proofs, unfinished work — and never a
//! colleague's success. Every test runs two instances on one database, with the real pages
//! and the card protocol as the page's script speaks it.

use std::net::IpAddr;

use futures_util::StreamExt;
use serde_json::json;

use crate::card::{sign_token, Issuers};
use crate::card_login::{card_app, register, PASSWORD};
use crate::helpers::*;

/// A person at a PC: their own browser (cookies), behind `ip` (sent by the trusted proxy),
/// reading pages in `lang`.
struct Desk {
    browser: reqwest::Client,
}

impl Desk {
    fn at(ip: Option<&str>, lang: &str) -> Desk {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(ip) = ip {
            headers.insert("x-forwarded-for", ip.parse().unwrap());
        }
        headers.insert("accept-language", lang.parse().unwrap());
        Desk {
            browser: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(headers)
                .build()
                .unwrap(),
        }
    }

    async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        self.browser.get(app.url(path)).send().await.unwrap()
    }

    /// Signs in to `client` with `card` and `password` through the pages (`prompt=login`: a
    /// browser already signed in signs in again). Ok: the code at the client; Err: the card
    /// page's answer (status, body, `Retry-After`).
    async fn sign_in(
        &self,
        app: &TestApp,
        client: &TestClient,
        card: &serde_json::Value,
        password: &str,
    ) -> Result<String, (u16, String, Option<i64>)> {
        self.attempt(app, client, card, password, false).await
    }

    /// A sign-in whose card token signs something other than the challenge.
    async fn sign_in_with_bad_signature(
        &self,
        app: &TestApp,
        client: &TestClient,
        card: &serde_json::Value,
    ) -> Result<String, (u16, String, Option<i64>)> {
        self.attempt(app, client, card, PASSWORD, true).await
    }

    async fn attempt(
        &self,
        app: &TestApp,
        client: &TestClient,
        card: &serde_json::Value,
        password: &str,
        bad_signature: bool,
    ) -> Result<String, (u16, String, Option<i64>)> {
        let (_, pkce_challenge) = pkce();
        let r = self
            .browser
            .get(app.url("/authorize"))
            .query(&auth_params(
                client,
                &pkce_challenge,
                &[("prompt", "login")],
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
        let interaction = location(&r);
        let page = self.get(app, &format!("{interaction}/card")).await;
        assert_eq!(page.status(), 200);
        let csrf = hidden_value(&page.text().await.unwrap(), "csrf_token").unwrap();
        let flow = interaction.rsplit('/').next().unwrap();
        let c = self
            .browser
            .post(app.url("/card/challenge"))
            .header("origin", &app.address)
            .json(&json!({ "purpose": "login", "flow": flow }))
            .send()
            .await
            .unwrap();
        assert_eq!(c.status(), 200, "the card challenge");
        let c: serde_json::Value = c.json().await.unwrap();
        let challenge = c["challenge"].as_str().unwrap();
        let signed = if bad_signature {
            "another-challenge"
        } else {
            challenge
        };
        let token = sign_token(card, &app.address, signed);
        let r = self
            .browser
            .post(app.url(&format!("{interaction}/card")))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("challenge", challenge),
                ("token", &serde_json::to_string(&token).unwrap()),
                ("password", password),
            ])
            .send()
            .await
            .unwrap();
        if r.status() != 303 {
            let status = r.status().as_u16();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().parse().unwrap());
            return Err((status, r.text().await.unwrap(), retry));
        }
        let r = self.get(app, &location(&r)).await;
        assert_eq!(r.status(), 303);
        let url = url::Url::parse(&location(&r)).unwrap();
        Ok(query_param(&url, "code").expect("a code at the client"))
    }
}

/// Two instances on one database, the proxy at 127.0.0.1 trusted, cheap argon2; the limits
/// as `configure` leaves them (the defaults unless it changes them).
async fn two_instances(
    issuers: &Issuers,
    configure: impl Fn(&mut cardinal::configuration::Settings) + Clone,
) -> (TestApp, TestApp, TestClient) {
    let with_proxy = move |s: &mut cardinal::configuration::Settings| {
        s.http.trusted_proxies = vec!["127.0.0.1".parse::<IpAddr>().unwrap()];
        configure(s);
    };
    let a = card_app(issuers, with_proxy.clone()).await;
    let b = crate::helpers::spawn_on(a.db.clone(), |s| {
        issuers.configure(s);
        s.password.argon2_memory_kib = 1024;
        s.password.argon2_iterations = 1;
        with_proxy(s);
    })
    .await;
    let client = a.add_client(|c| c.skip_consent = Some(true));
    (a, b, client)
}

/// The `i`-th valid national ID (`B2` and seven digits, with its check digit).
fn national_id(i: u32) -> String {
    (0..10)
        .map(|check| format!("B2{i:07}{check}"))
        .find(|id| cardinal::domain::NationalId::parse(id).is_ok())
        .unwrap()
}

/// Cards `first..first+n` of the NHI CA, each a person of their own, registered (password
/// [`PASSWORD`]).
fn colleagues(issuers: &Issuers, app: &TestApp, first: u32, n: u32) -> Vec<serde_json::Value> {
    (first..first + n)
        .map(|i| {
            let card = issuers.issue_to(
                "nhi",
                "nhi",
                &format!("0000{i:08}"),
                "同仁",
                &national_id(i),
                365,
            );
            register(app, &card, false);
            card
        })
        .collect()
}

fn failed_attempts(app: &TestApp, card: &serde_json::Value) -> (String, i32) {
    let (_, reg) = app
        .engine
        .store()
        .find_by_card(card["card_number"].as_str().unwrap())
        .unwrap()
        .unwrap();
    let reg = reg.unwrap();
    (reg.status.as_str().to_string(), reg.failed_attempts)
}

#[tokio::test]
async fn two_hundred_sign_ins_from_one_address_within_a_minute_all_succeed() {
    let issuers = Issuers::new();
    // The default limits: nothing raised.
    let (a, b, client) = two_instances(&issuers, |_| {}).await;
    let cards = colleagues(&issuers, &a, 1, 40);
    // 40 colleagues, each signing in five times (several browsers, several systems), all
    // from the agency's one address, eight at a time, half on each instance; the clock
    // does not move, so all of it is within one minute.
    let runs = (0..200).map(|i| {
        let (app, card) = (if i % 2 == 0 { &a } else { &b }, &cards[i % cards.len()]);
        let client = &client;
        async move {
            Desk::at(Some("203.0.113.50"), "zh-TW")
                .sign_in(app, client, card, PASSWORD)
                .await
        }
    });
    let results: Vec<_> = futures_util::stream::iter(runs)
        .buffer_unordered(8)
        .collect()
        .await;
    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        refused.is_empty(),
        "{} of 200 refused, e.g. {:?}",
        refused.len(),
        refused
            .first()
            .map(|(s, b, _)| (s, b.chars().take(300).collect::<String>()))
    );
    // What they did was given back: the address's flood budgets hold no finished work.
    let spent = |budget: &str| {
        a.engine
            .store()
            .hits(&format!("limit:{budget}:203.0.113.50"), 60, a.engine.now())
            .unwrap()
    };
    assert_eq!(
        spent("card"),
        0,
        "challenges used by sign-ins are given back"
    );
    assert_eq!(
        spent("authorize"),
        0,
        "answered authorizations are given back"
    );
    assert_eq!(spent("forms"), 0, "successful forms are given back");
}

#[tokio::test]
async fn wrong_passwords_spend_the_address_budget_and_only_that_address() {
    let issuers = Issuers::new();
    let (a, b, client) = two_instances(&issuers, |s| {
        s.limits.networks = vec![toml::from_str(
            "name = \"agency\"\ncidrs = [\"192.0.2.0/24\"]\nsign_in_failures = 40",
        )
        .unwrap()];
    })
    .await;
    let cards = colleagues(&issuers, &a, 100, 9);
    let attacker = Desk::at(Some("198.51.100.66"), "zh-TW");
    // Four wrong passwords on each of eight genuine cards (none locks): the default budget
    // of 30 failures per address lets 30 through, then refuses before the password.
    let mut outcomes = Vec::new();
    for (i, card) in cards.iter().take(8).enumerate() {
        for _ in 0..4 {
            let app = if i % 2 == 0 { &a } else { &b };
            let (status, _, _) = attacker
                .sign_in(app, &client, card, "Wrong~pass1")
                .await
                .unwrap_err();
            outcomes.push(status);
        }
    }
    assert_eq!(outcomes.iter().filter(|s| **s == 400).count(), 30);
    assert_eq!(outcomes.iter().filter(|s| **s == 429).count(), 2);
    assert_eq!(
        failed_attempts(&a, &cards[7]),
        ("active".into(), 2),
        "the refused attempts never reached the password"
    );
    // A colleague behind that address waits too; one elsewhere does not.
    let (status, _, retry) = Desk::at(Some("198.51.100.66"), "zh-TW")
        .sign_in(&b, &client, &cards[8], PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(status, 429);
    assert!(retry.is_some_and(|s| (1..=900).contains(&s)), "{retry:?}");
    assert!(Desk::at(Some("203.0.113.7"), "zh-TW")
        .sign_in(&a, &client, &cards[8], PASSWORD)
        .await
        .is_ok());

    // The agency's network is one payer with its own budget of 40: 35 failures from two of
    // its addresses pass (more than an address's 30), and a third address shares the count.
    let more = colleagues(&issuers, &a, 200, 11);
    let mut statuses = Vec::new();
    for (i, card) in more.iter().take(10).enumerate() {
        for _ in 0..4 {
            let ip = ["192.0.2.10", "192.0.2.11"][statuses.len() % 2];
            let (status, _, _) = Desk::at(Some(ip), "zh-TW")
                .sign_in(
                    if i % 2 == 0 { &a } else { &b },
                    &client,
                    card,
                    "Wrong~pass1",
                )
                .await
                .unwrap_err();
            statuses.push(status);
        }
    }
    assert!(statuses.iter().all(|s| *s == 400), "{statuses:?}");
    let (status, _, _) = Desk::at(Some("192.0.2.12"), "zh-TW")
        .sign_in(&a, &client, &more[10], PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(
        status, 429,
        "the network's 40 are spent, from any of its addresses"
    );
    // The window ends: the budget is whole again.
    a.clock.advance(900);
    b.clock.advance(900);
    assert!(Desk::at(Some("192.0.2.12"), "zh-TW")
        .sign_in(&b, &client, &more[10], PASSWORD)
        .await
        .is_ok());
}

#[tokio::test]
async fn successes_spend_nothing_between_failures() {
    let issuers = Issuers::new();
    let (a, b, client) = two_instances(&issuers, |s| s.limits.sign_in_failures_per_ip = 2).await;
    let cards = colleagues(&issuers, &a, 600, 2);
    let desk = Desk::at(Some("198.51.100.60"), "zh-TW");
    for i in 0..5 {
        let app = if i % 2 == 0 { &a } else { &b };
        assert!(desk
            .sign_in(app, &client, &cards[i % 2], PASSWORD)
            .await
            .is_ok());
    }
    assert!(desk
        .sign_in(&a, &client, &cards[0], "Wrong~pass1")
        .await
        .is_err());
    assert!(
        desk.sign_in(&b, &client, &cards[1], PASSWORD).await.is_ok(),
        "one failure of two: a success still passes, and spends nothing"
    );
    let (status, _, _) = desk
        .sign_in(&b, &client, &cards[1], "Wrong~pass1")
        .await
        .unwrap_err();
    assert_eq!(status, 400);
    let (status, _, _) = desk
        .sign_in(&a, &client, &cards[0], PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(status, 429, "two failures spend the address's budget of 2");
    a.clock.advance(900);
    b.clock.advance(900);
    assert!(desk.sign_in(&a, &client, &cards[0], PASSWORD).await.is_ok());
}

#[tokio::test]
async fn five_wrong_in_a_row_lock_a_success_resets_and_forged_proofs_count_for_nobody() {
    let issuers = Issuers::new();
    let (a, b, client) = two_instances(&issuers, |_| {}).await;
    let cards = colleagues(&issuers, &a, 300, 2);
    let desk = Desk::at(Some("198.51.100.70"), "zh-TW");
    let (holder, colleague) = (&cards[0], &cards[1]);
    for _ in 0..4 {
        assert!(desk
            .sign_in(&a, &client, holder, "Wrong~pass1")
            .await
            .is_err());
    }
    assert_eq!(failed_attempts(&a, holder), ("active".into(), 4));
    assert!(desk.sign_in(&b, &client, holder, PASSWORD).await.is_ok());
    assert_eq!(
        failed_attempts(&a, holder),
        ("active".into(), 0),
        "a success resets"
    );
    for _ in 0..4 {
        assert!(desk
            .sign_in(&b, &client, holder, "Wrong~pass1")
            .await
            .is_err());
    }
    let (_, html, _) = desk
        .sign_in(&a, &client, holder, "Wrong~pass1")
        .await
        .unwrap_err();
    assert!(
        html.contains("data-error=\"locked\""),
        "the fifth in a row locks"
    );
    assert_eq!(failed_attempts(&a, holder).0, "locked");

    // Forged proofs for the colleague's card number: a card from a CA nobody trusts, and
    // the genuine certificate over a signature of something else. Fifty of each.
    let number = colleague["card_number"].as_str().unwrap();
    let rogue = issuers.issue_to("rogue", "nhi", number, "同仁", &national_id(301), 365);
    let forger = Desk::at(Some("198.51.100.70"), "zh-TW");
    let mut codes = Vec::new();
    for i in 0..100 {
        let app = if i % 2 == 0 { &a } else { &b };
        let card = if i < 50 { &rogue } else { colleague };
        let forged = if i < 50 {
            forger.sign_in(app, &client, card, PASSWORD).await
        } else {
            forger.sign_in_with_bad_signature(app, &client, card).await
        };
        let (status, html, _) = forged.unwrap_err();
        assert_eq!(status, 400);
        codes.push(
            html.split("data-error=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap_or_default()
                .to_string(),
        );
    }
    assert!(
        codes
            .iter()
            .all(|c| c != "wrong_password" && c != "locked" && c != "rate_limited"),
        "{codes:?}"
    );
    assert_eq!(
        failed_attempts(&a, colleague),
        ("active".into(), 0),
        "forged proofs never reach the password"
    );
    assert!(
        Desk::at(Some("198.51.100.70"), "zh-TW")
            .sign_in(&a, &client, colleague, PASSWORD)
            .await
            .is_ok(),
        "and never block a colleague behind the same address"
    );
}

#[tokio::test]
async fn a_refusal_says_how_long_in_both_languages_and_is_audited_and_counted() {
    let issuers = Issuers::new();
    let (a, b, client) = two_instances(&issuers, |s| s.limits.sign_in_failures_per_ip = 2).await;
    let cards = colleagues(&issuers, &a, 400, 2);
    for app in [&a, &b] {
        Desk::at(Some("198.51.100.80"), "zh-TW")
            .sign_in(app, &client, &cards[0], "Wrong~pass1")
            .await
            .unwrap_err();
    }
    let (status, zh, retry) = Desk::at(Some("198.51.100.80"), "zh-TW")
        .sign_in(&a, &client, &cards[1], PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(status, 429);
    let retry = retry.expect("Retry-After");
    assert!((1..=900).contains(&retry), "{retry}");
    let minutes = (retry + 59) / 60;
    assert!(
        zh.contains(&format!("請於 {minutes} 分鐘後再試")) && zh.contains("忘記註冊密碼"),
        "how long, and what to do: {zh}"
    );
    assert!(zh.contains("data-error=\"rate_limited\""));
    let (status, en, _) = Desk::at(Some("198.51.100.80"), "en")
        .sign_in(&b, &client, &cards[1], PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(status, 429);
    assert!(
        en.contains(&format!("try again in {minutes} minutes")),
        "the English page says it too: {en}"
    );
    // The audit log names the budget and the address, never the card or the person.
    let events: Vec<_> = a
        .engine
        .store()
        .list_audit(1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "rate_limited")
        .collect();
    assert_eq!(events.len(), 2, "one per refusal: {events:?}");
    for e in &events {
        assert_eq!(e.outcome, "sign-in-failures");
        assert_eq!(e.ip.as_deref(), Some("198.51.100.80"));
        let shown = format!("{e:?}");
        assert!(
            !shown.contains(cards[1]["card_number"].as_str().unwrap()),
            "{shown}"
        );
        assert!(!shown.contains("A123456789"), "{shown}");
    }
    let metrics = format!("{}{}", a.metrics_text().await, b.metrics_text().await);
    assert!(
        metrics
            .contains("cardinal_rate_limited_total{network=\"-\",reason=\"sign-in-failures\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn flood_budgets_count_unfinished_work_not_finished_sign_ins() {
    let issuers = Issuers::new();
    let (a, b, client) = two_instances(&issuers, |s| {
        s.limits.card_per_ip_per_minute = 3;
        s.limits.authorize_per_ip_per_minute = 3;
        s.limits.forms_per_ip_per_minute = 3;
    })
    .await;
    let cards = colleagues(&issuers, &a, 500, 3);
    // Twelve finished sign-ins from one address, four times every budget.
    for i in 0..12 {
        let app = if i % 2 == 0 { &a } else { &b };
        Desk::at(Some("198.51.100.90"), "zh-TW")
            .sign_in(app, &client, &cards[i % 3], PASSWORD)
            .await
            .unwrap();
    }
    // Challenges nobody answers are what the card budget counts.
    let desk = Desk::at(Some("198.51.100.90"), "zh-TW");
    let challenge = || {
        desk.browser
            .post(a.url("/card/challenge"))
            .header("origin", &a.address)
            .json(&json!({ "purpose": "check" }))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(challenge().await.unwrap().status(), 200);
    }
    let r = challenge().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    // As are authorization requests that are never finished.
    for _ in 0..3 {
        assert_eq!(
            desk.get(
                &b,
                &format!(
                    "/authorize?{}",
                    serde_urlencoded::to_string(auth_params(&client, &pkce().1, &[])).unwrap()
                )
            )
            .await
            .status(),
            303
        );
    }
    let r = desk
        .get(
            &a,
            &format!(
                "/authorize?{}",
                serde_urlencoded::to_string(auth_params(&client, &pkce().1, &[])).unwrap()
            ),
        )
        .await;
    assert_eq!(r.status(), 429);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("秒後再試") && text.contains("try again in"),
        "{text}"
    );
}
