//! The guide's walk over HTTP: terms → apply (card + 戶號 + 戶籍) → 註冊密碼 and contact data →
//! 認證通知信 → the link page with the same card → sign in to a client with card + password.
//! What the pages' scripts do (challenge, card signature) is done here directly.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::card::{sign_token, Issuers};
use crate::card_login::{card_app, start, submit, PASSWORD};
use crate::helpers::*;

/// Every `.eml` in `dir`, decoded ([`crate::mail::decode_mail`]).
fn mails(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| {
            crate::mail::decode_mail(&std::fs::read_to_string(entry.path()).unwrap_or_default())
        })
        .collect()
}

pub async fn wait_mail(dir: &std::path::Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let m = mails(dir);
        if m.len() >= n || Instant::now() > deadline {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (15 s at most) until a mail containing `needle` is in the outbox directory; returns
/// every mail there. Mails are sent by a worker, so their order is not the order of the
/// events that queued them.
pub async fn wait_mail_with(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let m = mails(dir);
        if m.iter().any(|mail| mail.contains(needle)) || Instant::now() > deadline {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn link_in(mail: &str, prefix: &str) -> String {
    let start = mail
        .find(prefix)
        .unwrap_or_else(|| panic!("no link {prefix} in {mail}"));
    mail[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '<' && *c != '"')
        .collect()
}

/// Imports the demo residents (examples/demo/residents.csv).
pub async fn import_demo_registry(app: &TestApp) {
    let engine = app.engine.clone();
    let n = tokio::task::spawn_blocking(move || {
        cardinal::registry::import(
            engine.store(),
            engine.ring(),
            include_str!("../../examples/demo/residents.csv").as_bytes(),
            engine.now(),
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(n, 6);
}

pub async fn challenge(app: &TestApp, purpose: &str) -> String {
    let c: serde_json::Value = app
        .browser
        .post(app.url("/card/challenge"))
        .header("origin", &app.address)
        .json(&json!({ "purpose": purpose, "flow": "" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c["challenge"].as_str().unwrap().to_string()
}

pub async fn step1(
    app: &TestApp,
    card: &serde_json::Value,
    household: &str,
    neighborhood: &str,
) -> reqwest::Response {
    step1_at(app, card, household, "黎明里", neighborhood).await
}

/// Step 1 with the 村里 typed as `village` (臺北市 中正區).
pub async fn step1_at(
    app: &TestApp,
    card: &serde_json::Value,
    household: &str,
    village: &str,
    neighborhood: &str,
) -> reqwest::Response {
    let page = app.get("/register/apply").await.text().await.unwrap();
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let c = challenge(app, "apply").await;
    let token = serde_json::to_string(&sign_token(card, &app.address, &c)).unwrap();
    app.browser
        .post(app.url("/register/apply"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("challenge", c.as_str()),
            ("token", token.as_str()),
            ("household_no", household),
            ("county", "臺北市"),
            ("township", "中正區"),
            ("village", village),
            ("neighborhood", neighborhood),
        ])
        .send()
        .await
        .unwrap()
}

pub async fn step2(
    app: &TestApp,
    page: &str,
    password: &str,
    confirm: &str,
    email: &str,
) -> reqwest::Response {
    let csrf = hidden_value(page, "csrf_token").unwrap();
    let proof = hidden_value(page, "proof").unwrap();
    app.browser
        .post(app.url("/register/apply/submit"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("proof", proof.as_str()),
            ("password", password),
            ("password_confirm", confirm),
            ("phone_area", "02"),
            ("phone_number", "23456789"),
            ("mobile", "0912345678"),
            ("email", email),
        ])
        .send()
        .await
        .unwrap()
}

pub async fn confirm(app: &TestApp, link: &str, card: &serde_json::Value) -> reqwest::Response {
    let page = app.get(link).await.text().await.unwrap();
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let t = hidden_value(&page, "t").unwrap();
    let c = challenge(app, "confirm").await;
    let token = serde_json::to_string(&sign_token(card, &app.address, &c)).unwrap();
    app.browser
        .post(app.url("/register/confirm"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("t", t.as_str()),
            ("challenge", c.as_str()),
            ("token", token.as_str()),
        ])
        .send()
        .await
        .unwrap()
}

/// A wrong 戶號 and a wrong 鄰 at step 1 get the same message, which names no field.
async fn a_registry_mismatch_names_no_field(app: &TestApp, card: &serde_json::Value) {
    let wrong = step1(app, card, "F0000000", "5")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        wrong.contains("data-error=\"registry_mismatch\""),
        "{wrong}"
    );
    let wrong_nb = step1(app, card, "F1234567", "6")
        .await
        .text()
        .await
        .unwrap();
    let msg = |html: &str| {
        html.split("id=\"form-error\"")
            .nth(1)
            .and_then(|s| s.split("</p>").next())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        msg(&wrong),
        msg(&wrong_nb),
        "the mismatch message does not say which field was wrong"
    );
    // A 村里 that does not exist there: the same answer as a wrong 戶號.
    let wrong_village = step1_at(app, card, "F1234567", "不存在里", "5")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(msg(&wrong), msg(&wrong_village));
    assert!(wrong_village.contains("data-error=\"registry_mismatch\""));
}

/// Step 2 refuses a common, a mismatched, a personal and a short 註冊密碼, each by its code.
async fn weak_or_mismatched_passwords_are_refused(app: &TestApp, page2: &str) {
    for (pw, again, code) in [
        ("123456", "123456", "password_common"),
        ("Tq7~vLm9", "Tq7~vLm8", "password_mismatch"),
        ("A123456789Q~", "A123456789Q~", "password_personal_data"),
        ("Tq7", "Tq7", "password_length"),
    ] {
        let html = step2(app, page2, pw, again, "applicant@example.gov.tw")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains(&format!("data-error=\"{code}\"")),
            "{pw}: {html}"
        );
    }
}

/// The link of the one 認證通知信 in `outbox`, a mail that never carries the password.
async fn the_confirmation_link(app: &TestApp, outbox: &std::path::Path) -> String {
    let got = wait_mail(outbox, 1).await;
    assert_eq!(got.len(), 1, "one 認證通知信");
    assert!(
        got[0].contains("認證通知信") || got[0].contains("=?utf-8?"),
        "subject"
    );
    assert!(
        !got[0].contains(PASSWORD),
        "the mail never carries the password"
    );
    link_in(&got[0], &format!("{}/register/confirm?t=", app.address))
}

/// 縣市 and 鄉鎮市區 offer every real division, whoever is registered (the demo registry
/// holds one resident in 臺北市, in 中正區); 村里 are not listed at all.
async fn the_place_choices_tell_nothing_about_the_registry(app: &TestApp) {
    let places: Vec<String> = app
        .get("/register/places?county=臺北市")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(places.len(), 12, "{places:?}");
    assert!(places.contains(&"中正區".to_string()) && places.contains(&"文山區".to_string()));
    let counties: Vec<String> = app.get("/register/places").await.json().await.unwrap();
    assert_eq!(counties.len(), 22, "{counties:?}");
    assert!(
        counties.contains(&"連江縣".to_string()),
        "no resident lives there"
    );
    let villages: Vec<String> = app
        .get("/register/places?county=臺北市&township=中正區")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(villages, places, "村里 are never listed");
    let unknown = app.get("/register/places?county=火星市").await;
    assert_eq!(unknown.status(), 404);
    let body: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(body["error"], "unknown_county");
    let page = app.get("/register/apply").await.text().await.unwrap();
    assert!(
        page.contains("<option value=\"連江縣\">")
            && page.contains("id=\"village\" name=\"village\" type=\"text\""),
        "{page}"
    );
    assert_eq!(page.matches("for=\"neighborhood\"").count(), 1, "{page}");
    assert!(
        page.contains("<label for=\"neighborhood\">鄰</label>"),
        "「鄰 [ ] 鄰」 no more: {page}"
    );
}

#[tokio::test]
async fn the_guide_walk_apply_confirm_and_sign_in() {
    let issuers = Issuers::new();
    let (app, outbox) = applying_app(&issuers, |_| {}).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);

    let terms = app.get("/register/terms").await.text().await.unwrap();
    assert!(
        terms.contains("全民健康保險服務註冊管理作業要點")
            && terms.contains("我已閱讀完畢，並瞭解相關規定")
    );
    the_place_choices_tell_nothing_about_the_registry(&app).await;

    // Wrong 戶號, then wrong 鄰: the same message, which names no field.
    a_registry_mismatch_names_no_field(&app, &card).await;

    let r = step1(&app, &card, "f1234567", "5").await;
    assert_eq!(r.status(), 200);
    let page2 = r.text().await.unwrap();
    assert!(
        page2.contains("王小明") && page2.contains("E-Mail(主要)"),
        "{page2}"
    );

    weak_or_mismatched_passwords_are_refused(&app, &page2).await;
    let done = step2(&app, &page2, PASSWORD, PASSWORD, "applicant@example.gov.tw")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        done.contains("data-outcome=\"applied\"") && done.contains("a****@example.gov.tw"),
        "{done}"
    );
    assert!(!done.contains(PASSWORD));

    let link = the_confirmation_link(&app, outbox.path()).await;
    let token_part = link.rsplit('=').next().unwrap();
    assert!(
        cardinal::crypto::b64url_decode(token_part).unwrap().len() >= 16,
        "≥ 128-bit link token"
    );

    // Before confirmation the card cannot sign in yet.
    let client = app.add_client(|_| {});
    let (verifier, challenge_s256) = pkce();
    let interaction = start(&app, &client, &challenge_s256).await;
    let html = submit(&app, &interaction, &card, PASSWORD)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-error=\"pending\""), "{html}");

    // Another card on the link page is refused and does not use up the link.
    let other = issuers.issue("nhi", "nhi", "000011112222", "李小華", 365);
    let r = confirm(&app, &link, &other).await;
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("data-error=\"wrong_card\""));
    let r = confirm(&app, &link, &card).await;
    let html = r.text().await.unwrap();
    assert!(
        html.contains("data-outcome=\"confirmed\"") && html.contains("已完成電子信箱認證"),
        "{html}"
    );
    let again = app.get(&link).await;
    assert_eq!(again.status(), 400, "a used link is dead");

    // Applying again with the same card: 已註冊, with the way to 忘記註冊密碼.
    let html = step1(&app, &card, "F1234567", "5")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-error=\"already_registered\"") && html.contains("忘記註冊密碼"),
        "{html}"
    );

    // And now: sign in to the client with the card and the new password.
    let r = submit(&app, &interaction, &card, PASSWORD).await;
    assert_eq!(r.status(), 303);
    let r = app.approve_consent(&interaction).await;
    let url = url::Url::parse(&location(&r)).unwrap();
    let tokens: serde_json::Value = app
        .redeem(&client, &query_param(&url, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["acr"], "urn:cardinal:acr:card");
    let info: serde_json::Value = app
        .api
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["name"], "王小明");
    assert_eq!(info["email"], "applicant@example.gov.tw");
    assert_eq!(info["email_verified"], true);

    // Nothing secret of this walk reached the logs.
    let code = query_param(&url, "code").unwrap();
    assert_not_logged(&[
        PASSWORD,
        "A123456789",
        token_part,
        client.secret.as_deref().unwrap(),
        &code,
        tokens["access_token"].as_str().unwrap(),
        tokens["id_token"].as_str().unwrap(),
    ]);
}

#[tokio::test]
async fn an_expired_confirmation_link_is_refused() {
    let issuers = Issuers::new();
    let (app, outbox) = applying_app(&issuers, |_| {}).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let page2 = step1(&app, &card, "F1234567", "5")
        .await
        .text()
        .await
        .unwrap();
    step2(&app, &page2, PASSWORD, PASSWORD, "applicant@example.gov.tw").await;
    let got = wait_mail(outbox.path(), 1).await;
    let link = link_in(&got[0], &format!("{}/register/confirm?t=", app.address));
    app.clock.advance(5 * 24 * 3600 + 1);
    let r = app.get(&link).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("重寄認證信"));
}

/// An app with the demo registry and a file outbox (mail sent every second).
pub async fn applying_app(
    issuers: &Issuers,
    configure: impl FnOnce(&mut cardinal::configuration::Settings),
) -> (TestApp, tempfile::TempDir) {
    let outbox = tempfile::tempdir().unwrap();
    let dir = outbox.path().to_path_buf();
    let app = card_app(issuers, |s| {
        s.mail_outbox = Some(dir.clone());
        s.mail.send_interval_secs = 1;
        configure(s);
    })
    .await;
    import_demo_registry(&app).await;
    (app, outbox)
}

/// An app with the demo registry and a file outbox; `card` applied and confirmed.
pub async fn registered_app(
    issuers: &Issuers,
    card: &serde_json::Value,
    configure: impl FnOnce(&mut cardinal::configuration::Settings),
) -> (TestApp, tempfile::TempDir) {
    let (app, outbox) = applying_app(issuers, configure).await;
    let page2 = step1(&app, card, "F1234567", "5")
        .await
        .text()
        .await
        .unwrap();
    step2(&app, &page2, PASSWORD, PASSWORD, "applicant@example.gov.tw").await;
    let got = wait_mail(outbox.path(), 1).await;
    let link = link_in(&got[0], &format!("{}/register/confirm?t=", app.address));
    assert!(confirm(&app, &link, card)
        .await
        .text()
        .await
        .unwrap()
        .contains("confirmed"));
    (app, outbox)
}

/// 忘記註冊密碼 with `card`, the reset mail to the registered address: the page that answers.
pub async fn forgot_by_mail(app: &TestApp, card: &serde_json::Value) -> String {
    card_form_post(
        app,
        "/register/forgot",
        "forgot",
        card,
        &[("mode", "registered")],
    )
    .await
    .text()
    .await
    .unwrap()
}

pub async fn card_form_post(
    app: &TestApp,
    path: &str,
    purpose: &str,
    card: &serde_json::Value,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let page = app.get(path).await.text().await.unwrap();
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let c = challenge(app, purpose).await;
    let token = serde_json::to_string(&sign_token(card, &app.address, &c)).unwrap();
    let mut form: Vec<(&str, &str)> = vec![
        ("csrf_token", csrf.as_str()),
        ("challenge", c.as_str()),
        ("token", token.as_str()),
    ];
    form.extend_from_slice(extra);
    let action = path.split('?').next().unwrap();
    let target = if action.starts_with("http") {
        action.to_string()
    } else {
        app.url(action)
    };
    app.browser.post(target).form(&form).send().await.unwrap()
}

/// Posts the reset page at `link` with `card` and `password` twice; returns the page.
pub async fn post_reset(
    app: &TestApp,
    link: &str,
    card: &serde_json::Value,
    password: &str,
) -> String {
    let t = link.rsplit('=').next().unwrap().to_string();
    card_form_post(
        app,
        link,
        "reset",
        card,
        &[
            ("t", &t),
            ("password", password),
            ("password_confirm", password),
        ],
    )
    .await
    .text()
    .await
    .unwrap()
}

#[tokio::test]
async fn forgotten_password_is_reset_with_the_card_and_unlocks() {
    let issuers = Issuers::new();
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let (app, outbox) = registered_app(&issuers, &card, |_| {}).await;
    let client = app.add_client(|_| {});
    let (_, challenge_s256) = pkce();
    let interaction = start(&app, &client, &challenge_s256).await;
    // Five wrong passwords lock the registration.
    for _ in 0..5 {
        submit(&app, &interaction, &card, "Wrong~pass1").await;
    }
    let html = submit(&app, &interaction, &card, PASSWORD)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-error=\"locked\"") && html.contains("/register/forgot"),
        "{html}"
    );

    // 忘記註冊密碼 → 寄送重設註冊密碼信.
    let html = forgot_by_mail(&app, &card).await;
    assert!(
        html.contains("data-outcome=\"reset_sent\"") && html.contains("a****@example.gov.tw"),
        "{html}"
    );
    let got = wait_mail(outbox.path(), 2).await;
    let reset_mail = got
        .iter()
        .find(|m| m.contains("/register/reset?t="))
        .expect("重設註冊密碼信");
    let link = link_in(reset_mail, &format!("{}/register/reset?t=", app.address));

    // Another card on the reset page: refused.
    let other = issuers.issue("nhi", "nhi", "000011112222", "李小華", 365);
    let t = link.rsplit('=').next().unwrap().to_string();
    let html = post_reset(&app, &link, &other, "Nw8~pQz5").await;
    assert!(
        html.contains("data-error=\"not_registered\"")
            || html.contains("data-error=\"wrong_card\""),
        "{html}"
    );
    // Weak password: refused, link still good.
    let html = post_reset(&app, &link, &card, "123456").await;
    assert!(html.contains("data-error=\"password_common\""), "{html}");
    let html = post_reset(&app, &link, &card, "Nw8~pQz5").await;
    assert!(
        html.contains("註冊密碼變更成功，下次使用【健保卡】登入系統請用新的註冊密碼！"),
        "{html}"
    );
    assert_eq!(app.get(&link).await.status(), 400, "the link works once");

    // Unlocked: the new password signs in, the old one does not.
    let html = submit(&app, &interaction, &card, PASSWORD)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-error=\"wrong_password\""), "{html}");
    let r = submit(&app, &interaction, &card, "Nw8~pQz5").await;
    assert_eq!(r.status(), 303);
    assert_not_logged(&["Nw8~pQz5", "Wrong~pass1", PASSWORD, &t, "A123456789"]);
}

#[tokio::test]
async fn the_old_password_works_until_the_reset_is_done_and_links_expire() {
    let issuers = Issuers::new();
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let (app, outbox) = registered_app(&issuers, &card, |_| {}).await;
    card_form_post(
        &app,
        "/register/forgot",
        "forgot",
        &card,
        &[("mode", "registered")],
    )
    .await;
    let got = wait_mail(outbox.path(), 2).await;
    let link = link_in(
        got.iter()
            .find(|m| m.contains("/register/reset?t="))
            .unwrap(),
        &format!("{}/register/reset?t=", app.address),
    );
    let client = app.add_client(|_| {});
    let (_, challenge_s256) = pkce();
    let interaction = start(&app, &client, &challenge_s256).await;
    assert_eq!(
        submit(&app, &interaction, &card, PASSWORD).await.status(),
        303,
        "old password still works"
    );
    app.clock.advance(1801);
    assert_eq!(
        app.get(&link).await.status(),
        400,
        "reset links live 30 minutes"
    );
}

#[tokio::test]
async fn reset_to_a_new_address_needs_the_place_and_mobile_and_changes_the_email() {
    let issuers = Issuers::new();
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let (app, outbox) = registered_app(&issuers, &card, |_| {}).await;
    let wrong = [
        ("mode", "new"),
        ("email", "new@example.gov.tw"),
        ("county", "臺北市"),
        ("township", "中正區"),
        ("village", "黎明里"),
        ("neighborhood", "5"),
        ("mobile", "0900000000"),
    ];
    let html = card_form_post(&app, "/register/forgot", "forgot", &card, &wrong)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-error=\"mismatch\""), "{html}");
    let right = [
        ("mode", "new"),
        ("email", "new@example.gov.tw"),
        ("county", "臺北市"),
        ("township", "中正區"),
        ("village", "黎明里"),
        ("neighborhood", "5"),
        ("mobile", "0912345678"),
    ];
    let html = card_form_post(&app, "/register/forgot", "forgot", &card, &right)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("n****@example.gov.tw"), "{html}");
    let got = wait_mail(outbox.path(), 2).await;
    let mail = got
        .iter()
        .find(|m| m.contains("/register/reset?t="))
        .unwrap();
    assert!(mail.contains("new@example.gov.tw"));
    let link = link_in(mail, &format!("{}/register/reset?t=", app.address));
    let t = link.rsplit('=').next().unwrap().to_string();
    card_form_post(
        &app,
        &link,
        "reset",
        &card,
        &[
            ("t", &t),
            ("password", "Nw8~pQz5"),
            ("password_confirm", "Nw8~pQz5"),
        ],
    )
    .await;
    let (person, _) = app
        .engine
        .store()
        .find_by_card("000012345678")
        .unwrap()
        .unwrap();
    assert_eq!(person.email.as_deref(), Some("new@example.gov.tw"));
}

#[tokio::test]
async fn resend_invalidates_the_old_link_and_delete_purges_the_application() {
    let issuers = Issuers::new();
    let (app, outbox) = applying_app(&issuers, |_| {}).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let page2 = step1(&app, &card, "F1234567", "5")
        .await
        .text()
        .await
        .unwrap();
    step2(&app, &page2, PASSWORD, PASSWORD, "applicant@example.gov.tw").await;
    let first = link_in(
        &wait_mail(outbox.path(), 1).await[0],
        &format!("{}/register/confirm?t=", app.address),
    );
    let html = card_form_post(&app, "/register/resend", "resend", &card, &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-outcome=\"resent\""), "{html}");
    let got = wait_mail(outbox.path(), 2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(
        app.get(&first).await.status(),
        400,
        "the older link is dead"
    );
    let html = card_form_post(&app, "/register/delete", "delete", &card, &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-outcome=\"deleted\""), "{html}");
    assert!(app
        .engine
        .store()
        .find_by_card("000012345678")
        .unwrap()
        .is_none());
    // And the card may apply again.
    let again = step1(&app, &card, "F1234567", "5").await;
    assert_eq!(again.status(), 200);
}

#[tokio::test]
async fn member_services_change_password_contact_data_and_primary_email() {
    let issuers = Issuers::new();
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let (app, outbox) = registered_app(&issuers, &card, |_| {}).await;
    // Not signed in: member pages send you home.
    assert_eq!(location(&app.get("/register/member").await), "/register");
    let home = app.get("/register").await.text().await.unwrap();
    for link in [
        "首次登入請先申請",
        "重寄認證信",
        "忘記註冊密碼",
        "刪除註冊申請",
        "基本資料異動",
        "註冊密碼變更",
        "電腦環境說明",
    ] {
        assert!(home.contains(link), "home lacks {link}");
    }
    let csrf = hidden_value(&home, "csrf_token").unwrap();
    let c = challenge(&app, "home").await;
    let token = serde_json::to_string(&sign_token(&card, &app.address, &c)).unwrap();
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
    assert_eq!(location(&r), "/register/member");
    let member = app.get("/register/member").await.text().await.unwrap();
    assert!(
        member.contains("王小明")
            && member.contains("A12****789")
            && !member.contains("A123456789"),
        "{member}"
    );

    // 註冊密碼變更: the old password is required.
    let page = app
        .get("/register/member/password")
        .await
        .text()
        .await
        .unwrap();
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let r = app
        .browser
        .post(app.url("/register/member/password"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("old_password", "Wrong~pass1"),
            ("password", "Nw8~pQz5"),
            ("password_confirm", "Nw8~pQz5"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = app
        .browser
        .post(app.url("/register/member/password"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("old_password", PASSWORD),
            ("password", "Nw8~pQz5"),
            ("password_confirm", "Nw8~pQz5"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("註冊密碼變更成功"));

    // 基本資料異動: contact data at once, the primary e-mail only after its link.
    let page = app
        .get("/register/member/profile")
        .await
        .text()
        .await
        .unwrap();
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let r = app
        .browser
        .post(app.url("/register/member/profile"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("mobile", "0987654321"),
            ("email", "moved@example.gov.tw"),
            ("email_backup", "backup@example.gov.tw"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("m****@example.gov.tw"));
    let (person, reg) = app
        .engine
        .store()
        .find_by_card("000012345678")
        .unwrap()
        .unwrap();
    assert_eq!(
        person.email.as_deref(),
        Some("applicant@example.gov.tw"),
        "not yet changed"
    );
    assert_eq!(reg.unwrap().mobile.as_deref(), Some("0987654321"));
    let got = wait_mail_with(outbox.path(), "/register/email?t=").await;
    let link = link_in(
        got.iter()
            .find(|m| m.contains("/register/email?t="))
            .unwrap(),
        &format!("{}/register/email?t=", app.address),
    );
    let t = link.rsplit('=').next().unwrap().to_string();
    let html = card_form_post(&app, &link, "email", &card, &[("t", &t)])
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-outcome=\"email_changed\""), "{html}");
    let (person, _) = app
        .engine
        .store()
        .find_by_card("000012345678")
        .unwrap()
        .unwrap();
    assert_eq!(person.email.as_deref(), Some("moved@example.gov.tw"));
    assert_not_logged(&["Nw8~pQz5", PASSWORD, &t]);
}

#[tokio::test]
async fn mails_are_limited_per_card_and_guesses_per_address_not_successes() {
    let issuers = Issuers::new();
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let (app, _outbox) = registered_app(&issuers, &card, |s| {
        s.limits.mails_per_card_per_hour = 3;
        s.limits.registration_failures_per_ip = 2;
    })
    .await;
    // The application's 認證通知信 was the card's first mail this hour.
    for _ in 0..2 {
        assert!(forgot_by_mail(&app, &card)
            .await
            .contains("****@example.gov.tw"));
    }
    let r = card_form_post(
        &app,
        "/register/forgot",
        "forgot",
        &card,
        &[("mode", "registered")],
    )
    .await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let html = r.text().await.unwrap();
    assert!(html.contains("一小時內寄出的通知信已達上限"), "{html}");
    app.clock.advance(3600);
    assert!(forgot_by_mail(&app, &card)
        .await
        .contains("****@example.gov.tw"));
    // Guessed 戶籍 or mobile numbers are what the address's budget counts.
    let wrong = [
        ("mode", "new"),
        ("email", "new@example.gov.tw"),
        ("county", "臺北市"),
        ("township", "中正區"),
        ("village", "黎明里"),
        ("neighborhood", "5"),
        ("mobile", "0900000000"),
    ];
    for _ in 0..2 {
        let r = card_form_post(&app, "/register/forgot", "forgot", &card, &wrong).await;
        assert!(r.text().await.unwrap().contains("data-error=\"mismatch\""));
    }
    let r = card_form_post(&app, "/register/forgot", "forgot", &card, &wrong).await;
    assert_eq!(r.status(), 429);
    let html = r.text().await.unwrap();
    assert!(html.contains("data-error=\"rate_limited\""), "{html}");
}

/// What the 註冊密碼 meter asks: `/register/password-check` with step 2's form.
async fn password_check(
    app: &TestApp,
    page2: &str,
    password: &str,
    with_proof: bool,
) -> reqwest::Response {
    let csrf = hidden_value(page2, "csrf_token").unwrap();
    let proof = hidden_value(page2, "proof").unwrap();
    let mut form = vec![("csrf_token", csrf.as_str()), ("password", password)];
    if with_proof {
        form.push(("proof", proof.as_str()));
    }
    app.browser
        .post(app.url("/register/password-check"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_meter_asks_the_server_and_hears_what_the_form_would_say() {
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    import_demo_registry(&app).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let page2 = step1(&app, &card, "F1234567", "5")
        .await
        .text()
        .await
        .unwrap();
    assert!(page2.contains("data-min=\"6\" data-max=\"12\""), "{page2}");
    let verdict = |r: serde_json::Value| (r["ok"].clone(), r["code"].clone());
    for (password, with_proof, expected) in [
        ("Tq7~vLm9", true, (json!(true), serde_json::Value::Null)),
        // The guide's meter would call each of these 強 (or 中強); the form refuses them.
        ("P@ssw0rd", true, (json!(false), json!("password_common"))),
        (
            "Tq7~vLm9#kR2x",
            true,
            (json!(false), json!("password_length")),
        ),
        // The applicant's national ID, from step 1's sealed proof.
        (
            "x~A123456789",
            true,
            (json!(false), json!("password_personal_data")),
        ),
        // Without the proof the server does not know whose password it is.
        (
            "x~A123456789",
            false,
            (json!(true), serde_json::Value::Null),
        ),
    ] {
        let r = password_check(&app, &page2, password, with_proof).await;
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(verdict(body.clone()), expected, "{password}: {body}");
        if body["ok"] == json!(false) {
            assert!(
                body["message"].as_str().unwrap().contains("註冊密碼"),
                "{body}"
            );
        }
    }
    // The same answer as the form.
    let refused = step2(
        &app,
        &page2,
        "x~A123456789",
        "x~A123456789",
        "a@example.gov.tw",
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(refused.contains("data-error=\"password_personal_data\""));

    // Without the page's token: refused.
    let r = app
        .browser
        .post(app.url("/register/password-check"))
        .form(&[("csrf_token", "forged"), ("password", "Tq7~vLm9")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "csrf");

    // A limit per address: the meter asks at typing pauses, not at every key.
    let mut last = 200;
    for _ in 0..60 {
        last = password_check(&app, &page2, "Tq7~vLm9", false)
            .await
            .status()
            .as_u16();
    }
    assert_eq!(last, 429, "past 60 checks in a minute, refused");
    app.clock.advance(61);
    assert_eq!(
        password_check(&app, &page2, "Tq7~vLm9", false)
            .await
            .status(),
        200
    );
}

/// The meter's check on a reset link: its holder has the link, not necessarily the card, so
/// the answers on personal data (the birth date, the ID) must not become a way to guess them:
/// a link gets 20 checks.
#[tokio::test]
async fn a_reset_link_gets_few_password_checks() {
    let issuers = Issuers::new();
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let (app, outbox) = registered_app(&issuers, &card, |_| {}).await;
    card_form_post(
        &app,
        "/register/forgot",
        "forgot",
        &card,
        &[("mode", "registered")],
    )
    .await;
    let mails = wait_mail_with(outbox.path(), "/register/reset?t=").await;
    let mail = mails
        .iter()
        .find(|m| m.contains("/register/reset?t="))
        .unwrap();
    let link = link_in(mail, &format!("{}/register/reset?t=", app.address));
    let page = app.get(&link).await.text().await.unwrap();
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let t = link.rsplit('=').next().unwrap().to_string();
    let check = |password: &'static str| {
        let (csrf, t) = (csrf.clone(), t.clone());
        let app = &app;
        async move {
            app.browser
                .post(app.url("/register/password-check"))
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("t", t.as_str()),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let first: serde_json::Value = check("x~A123456789").await.json().await.unwrap();
    assert_eq!(first["code"], "password_personal_data", "{first}");
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(check("Tq7~vLm9").await.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 19);
    assert_eq!(
        statuses.last(),
        Some(&429),
        "the 21st check of one link is refused"
    );
}
