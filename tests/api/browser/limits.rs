//! The honest refusal in a real browser (issue 19): behind an address whose wrong passwords
//! have spent its budget, the card sign-in page says — in the page's language — how many
//! minutes to wait and what to do meanwhile, links 忘記註冊密碼, passes axe-core, and the
//! answer carries `Retry-After`.

use super::*;

/// Reads the card on the sign-in page of a new authorization in `lang`, types `password`
/// and presses 登入.
async fn sign_in(
    browser: &Browser,
    app: &TestApp,
    client: &TestClient,
    lang: &str,
    password: &str,
) {
    let (_, challenge) = pkce();
    let extra = [
        ("acr_values", "urn:cardinal:acr:card"),
        ("ui_locales", lang),
    ];
    let params = auth_params(client, &challenge, &extra);
    let authorize = url::Url::parse_with_params(&app.url("/authorize"), &params).unwrap();
    browser.goto(authorize.as_str()).await;
    browser.wait_url(&app.url("/interaction/")).await;
    read_card(browser).await;
    browser.type_into("password", password).await;
    browser.mark_old_page().await;
    browser.click("login-submit").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spent_budget_says_how_long_to_wait_and_what_to_do_in_both_languages() {
    let issuers = Issuers::new();
    let card = holder_card(&issuers);
    let (app, _authenticator) =
        spawn_card_idp_with(&issuers, &card, |s| s.limits.sign_in_failures_per_ip = 1).await;
    register(&app, &card, false);
    let client = app.add_client(|_| {});
    let browser = Browser::start().await;

    sign_in(&browser, &app, &client, "zh-TW", "Wrong~pass1").await;
    browser
        .wait_new_attr("form-error", "data-error", "wrong_password")
        .await;
    sign_in(&browser, &app, &client, "zh-TW", PASSWORD).await;
    browser
        .wait_new_attr("form-error", "data-error", "rate_limited")
        .await;
    assert_eq!(browser.status().await, Some(429));
    let message = browser.text("form-error").await;
    assert!(
        message.contains("此網路位址的註冊密碼錯誤次數過多")
            && message.contains("分鐘後再試")
            && message.contains("機關網段"),
        "{message}"
    );
    let forgot = browser
        .eval(
            "return Array.from(document.querySelectorAll('#form-error a')).map(a => a.getAttribute('href'));",
            vec![],
        )
        .await;
    assert!(
        forgot
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h.as_str().unwrap().starts_with("/register/forgot")),
        "{forgot}"
    );
    browser
        .assert_accessible("sign-in refused: budget spent (zh-TW)")
        .await;
    browser.screenshot("sign-in-rate-limited.png").await;

    sign_in(&browser, &app, &client, "en", PASSWORD).await;
    browser
        .wait_new_attr("form-error", "data-error", "rate_limited")
        .await;
    let message = browser.text("form-error").await;
    assert!(
        message.contains("Too many wrong registration passwords from this network address")
            && message.contains("minutes"),
        "{message}"
    );
    browser
        .assert_accessible("sign-in refused: budget spent (en)")
        .await;
    browser.close().await;
}
