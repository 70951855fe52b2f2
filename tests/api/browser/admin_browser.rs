//! The admin console in a real browser (a child module of `browser`, whose Chromium,
//! authenticator and virtual-card helpers it uses): an admin signs in with the NHI card,
//! creates a client, rotates its secret, finds a registration and deactivates it with a
//! reason (with the keyboard), the person can no longer sign in, and the audit log and its
//! CSV export show each step.

use fantoccini::Locator;
use serde_json::{json, Value};

use super::*;
use crate::admin_cli::national_id;

/// The card number of the member whose registration the admin deactivates.
const MEMBER_CARD: &str = "000087650001";
/// The seed of the member's national ID ([`national_id`]).
const MEMBER_SEED: u32 = 81;

/// A second card holder, with another national ID than the cards of `Issuers::issue`.
fn other_card(issuers: &Issuers, card_number: &str, name: &str, seed: u32) -> Value {
    let out = issuers.dir.path().join(format!("other-{card_number}.json"));
    let args = cardinal::card::issue::CardIssue {
        ca: issuers.ca("nhi"),
        kind: "nhi".into(),
        card_number: card_number.into(),
        name: name.into(),
        national_id: national_id(seed),
        birth_date: "1975-05-06".into(),
        sex: "F".into(),
        pin: None,
        valid_days: 365,
        out: out.clone(),
    };
    #[allow(clippy::disallowed_methods)]
    let now = time::OffsetDateTime::now_utc();
    cardinal::card::issue::issue_card_file(&args, now).unwrap();
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

/// At an interaction's sign-in page: 健保卡登入 → 讀取 → 註冊密碼 → 登入.
pub(super) async fn sign_in_with_card(browser: &Browser, app: &TestApp) {
    let login = browser.wait_url(&app.url("/interaction/")).await;
    // The console asks for the card level: the NHI card page straight away (no chooser
    // with a single choice), unless the citizen certificate could meet it too.
    if !login.path().ends_with("/card") {
        let interaction = login.path().to_string();
        let card_link = format!("a[href=\"{interaction}/card\"]");
        browser.click_css(&card_link).await;
        browser
            .wait_url(&app.url(&format!("{interaction}/card")))
            .await;
    }
    browser.wait_css("#read-card").await;
    browser.click("read-card").await;
    browser.wait_attr("card-status", "data-ok", "read").await;
    browser.type_into("password", PASSWORD).await;
    browser.click("login-submit").await;
}

/// The `value` property of input `id`.
async fn value(browser: &Browser, id: &str) -> String {
    browser
        .eval(
            "var e = document.getElementById(arguments[0]); return e ? e.value : '';",
            vec![json!(id)],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// From the console's home: creates client `ecpa` on the form; returns the secret shown once.
async fn create_ecpa_in_the_console(browser: &Browser, app: &TestApp) -> String {
    browser
        .click_css("nav.admin a[href=\"/admin/clients\"]")
        .await;
    browser.click("new-client").await;
    browser.wait_css("#client-form").await;
    browser.type_into("client_id", "ecpa").await;
    browser.type_into("name", "人事服務網").await;
    browser
        .type_into("redirect_uris", "https://ecpa.example.gov.tw/callback")
        .await;
    browser
        .type_into("post_logout_redirect_uris", "https://ecpa.example.gov.tw/")
        .await;
    browser.screenshot("admin-client-new.png").await;
    browser.mark_old_page().await;
    browser.click("save-client").await;
    browser.wait_css("#client-secret").await;
    let first = value(browser, "client-secret").await;
    assert!(first.len() >= 43, "a 256-bit secret: {first}");
    assert_eq!(browser.text("secret-client-id").await, "ecpa");
    let hint = browser.text("secret-hint").await;
    assert!(
        hint.contains("新用戶端已建立") && !hint.contains("舊密鑰已失效"),
        "{hint}"
    );
    browser.screenshot("admin-client-secret.png").await;
    // Reloading the page (post/redirect/get) shows no secret and makes no second client.
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(url.path(), "/admin/clients/ecpa/secret");
    browser.mark_old_page().await;
    browser.client.refresh().await.unwrap();
    browser.wait_css("#secret-gone").await;
    assert!(!browser.page().await.contains(&first));
    assert_eq!(app.engine.store().list_clients().unwrap().len(), 2);
    let client = cardinal::admin::clients::records::find(&app.engine, "ecpa").unwrap();
    assert_eq!(client.name, "人事服務網");
    assert_eq!(
        client.redirect_uris[0].as_ref(),
        "https://ecpa.example.gov.tw/callback"
    );
    first
}

/// On `ecpa`'s secret page: back to the client, rotate; the new secret works, `first` not.
async fn rotate_ecpa_in_the_console(browser: &Browser, app: &TestApp, first: &str) {
    browser.click("back-to-client").await;
    browser.wait_css("#rotate-secret").await;
    browser.mark_old_page().await;
    browser.click("rotate-secret").await;
    browser
        .wait_until(
            "a new secret page",
            "return !document.documentElement.hasAttribute('data-old-page') && \
             !!document.getElementById('client-secret');",
            vec![],
        )
        .await;
    let second = value(browser, "client-secret").await;
    assert!(second.len() >= 43 && second != first);
    assert!(browser.text("secret-hint").await.contains("舊密鑰已失效"));
    let introspect = |secret: String| async move {
        app.api
            .post(app.url("/introspect"))
            .basic_auth("ecpa", Some(secret))
            .form(&[("token", "x")])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(introspect(first.to_string()).await, 401);
    assert_eq!(introspect(second).await, 200);
}

/// Finds `member_id` by card number (national ID masked) and deactivates it with the keyboard.
async fn find_and_deactivate_in_the_console(browser: &Browser, app: &TestApp, member_id: &str) {
    browser.goto(&app.url("/admin/registrations")).await;
    browser.type_into("q", MEMBER_CARD).await;
    browser.click("search").await;
    let link = format!("a[href=\"/admin/registrations/{member_id}\"]");
    browser.wait_css(&link).await;
    let full_id = national_id(MEMBER_SEED);
    let listed = browser.text("registrations").await;
    assert!(listed.contains("陳美華"), "{listed}");
    assert!(listed.contains(&format!("{}****{}", &full_id[..3], &full_id[7..])));
    assert!(!listed.contains(&full_id));
    browser.click_css(&link).await;
    browser.wait_css("#deactivate-form").await;
    assert_eq!(
        browser.attr("status", "data-status").await.as_deref(),
        Some("active")
    );

    // Deactivate with the keyboard: the reason, then Enter on the button.
    browser.type_into("reason", "本人臨櫃申請停用").await;
    browser.mark_old_page().await;
    browser
        .client
        .find(Locator::Id("deactivate"))
        .await
        .unwrap()
        .send_keys("\u{E007}")
        .await
        .unwrap();
    browser
        .wait_new_attr("status", "data-status", "deactivated")
        .await;
    assert!(browser.text("notice").await.contains("已停用"));
    assert_eq!(browser.text("reason-shown").await, "本人臨櫃申請停用");
    browser.screenshot("admin-registration.png").await;
}

/// The audit log page, and its CSV export with the console's session, show each step.
async fn audit_log_shows_each_step(
    browser: &Browser,
    app: &TestApp,
    admin_id: &str,
    member_id: &str,
) {
    let actor = format!("person:{admin_id}");
    browser
        .goto(&app.url(&format!("/admin/audit?actor={actor}")))
        .await;
    browser.wait_css("#audit").await;
    // The table stays within its box at 1280px (it scrolls inside it on a phone).
    let fits = browser
        .eval(
            "var box = document.querySelector('.table-scroll'); var main = document.getElementById('content'); \
             return box.getBoundingClientRect().right <= main.getBoundingClientRect().right + 1 \
                 && document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await;
    assert_eq!(fits, json!(true), "the audit table overflows its box");
    // On a phone's width the page does not scroll sideways: the table scrolls in its box.
    browser.client.set_window_size(390, 844).await.unwrap();
    let page_fits = browser
        .eval(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await;
    browser.screenshot("admin-audit-phone.png").await;
    browser.client.set_window_size(1280, 1000).await.unwrap();
    assert_eq!(
        page_fits,
        json!(true),
        "the page scrolls sideways on a phone"
    );
    let labels = browser.text("audit").await;
    assert!(
        labels.contains("建立應用系統") && labels.contains("(UTC+8)"),
        "{labels}"
    );
    let events = browser
        .eval(
            "return Array.from(document.querySelectorAll('#audit tbody tr')).map(r => r.dataset.event);",
            vec![],
        )
        .await;
    for event in [
        "admin_login",
        "client_create",
        "client_rotate_secret",
        "registration_deactivate",
    ] {
        assert!(
            events.as_array().unwrap().iter().any(|e| e == event),
            "{event} not in {events}"
        );
    }
    browser.screenshot("admin-audit.png").await;

    // The CSV export (the console's link, with the browser's console session) has them.
    let href = browser.attr("csv", "href").await.unwrap();
    assert!(href.starts_with("/admin/audit.csv?"), "{href}");
    let cookies = browser.client.get_all_cookies().await.unwrap();
    let session = cookies
        .iter()
        .find(|c| c.name() == "cardinal_admin")
        .expect("the console session cookie");
    let csv = app
        .api
        .get(app.url(&href))
        .header("cookie", format!("cardinal_admin={}", session.value()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("id,time,event,outcome,actor,person_id,client_id,ip,detail"));
    for event in [
        "admin_login",
        "client_create",
        "client_rotate_secret",
        "registration_deactivate",
    ] {
        assert!(csv.contains(event), "{event} not in the CSV:\n{csv}");
    }
    assert!(csv.contains("reason=本人臨櫃申請停用"));
    assert!(csv.contains(member_id));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_signs_in_with_the_card_manages_a_client_and_deactivates_a_registration_in_a_real_browser(
) {
    let issuers = Issuers::new();
    let admin_card = holder_card(&issuers);
    let member_card = other_card(&issuers, MEMBER_CARD, "陳美華", MEMBER_SEED);
    let (app, authenticator) = spawn_card_idp(&issuers, &admin_card).await;
    let admin_id = register(&app, &admin_card, false);
    let member_id = register(&app, &member_card, false);
    cardinal::admin::roles::grant(&app.engine, &cardinal::admin::Actor::cli(), "000012345678")
        .unwrap();
    let browser = Browser::start().await;

    // /admin → Cardinal's own sign-in page → the card → back in the console.
    browser.goto(&app.url("/admin?lang=zh-TW")).await;
    sign_in_with_card(&browser, &app).await;
    browser.wait_css("#admin-name").await;
    assert_eq!(browser.text("admin-name").await, "王小明");
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(url.path(), "/admin");
    assert!(browser.page().await.contains("管理後台"), "zh-TW as chosen");
    browser.screenshot("admin-home.png").await;

    // A new client: the secret is shown once.
    let first = create_ecpa_in_the_console(&browser, &app).await;

    // Rotate it: a new secret, the old one no longer works.
    rotate_ecpa_in_the_console(&browser, &app, &first).await;

    // Find the registration by card number and deactivate it with the keyboard.
    find_and_deactivate_in_the_console(&browser, &app, &member_id).await;

    // The person can no longer sign in: their card at a client's sign-in is refused.
    authenticator.insert(&member_card);
    let rp = app.add_client(|_| {});
    let (_, challenge) = pkce();
    let params = auth_params(
        &rp,
        &challenge,
        &[("prompt", "login"), ("ui_locales", "zh-TW")],
    );
    let authorize = url::Url::parse_with_params(&app.url("/authorize"), &params).unwrap();
    browser.goto(authorize.as_str()).await;
    sign_in_with_card(&browser, &app).await;
    browser
        .wait_attr("form-error", "data-error", "deactivated")
        .await;
    assert!(browser.text("form-error").await.contains("已被停用"));
    browser.screenshot("admin-deactivated-login.png").await;

    // The audit log and its CSV export show each step by this admin.
    audit_log_shows_each_step(&browser, &app, &admin_id, &member_id).await;
    browser.close().await;
}
