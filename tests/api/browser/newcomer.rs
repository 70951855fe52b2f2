//! The government guide's whole path, as a first-time civil servant follows it, by clicking
//! alone: one address typed (eCPA's home), then only clicks on links and buttons and typing
//! into fields, on the demo's own wiring (eCPA, Cardinal, the authenticator with the demo's
//! NHI card, the dev page's mailbox standing in for the person's mail):
//!
//! eCPA home → 使用健保卡注意事項 (the instructions) → 健保卡網路服務註冊 → 電腦環境說明 (check)
//! → 申請密碼 → the terms → 申請 (card, 戶號, 戶籍) → 註冊密碼 and e-mail → the notice → the
//! mailbox → the 認證通知信's link → the card → 已完成電子信箱認證 → back to eCPA → 健保卡登入
//! → 應用系統 → 登出.

use cardinal::demo::Demo;

use super::demo::spawn_demo_unregistered;
use super::*;

const PASSWORD: &str = "Tq7~vLm9";
const EMAIL: &str = "newcomer@example.gov.tw";

/// Clicks the link or button `css` and waits for the page it opens (its URL starts with
/// `prefix`).
async fn follow(browser: &Browser, css: &str, prefix: &str) -> url::Url {
    browser.click_css(css).await;
    browser.wait_url(prefix).await
}

/// eCPA's home → 使用健保卡注意事項 → 健保卡網路服務註冊 (Cardinal) → 電腦環境說明: both checks
/// pass → 申請密碼 → the terms, accepted.
async fn from_ecpa_to_the_application(browser: &Browser, demo: &Demo) {
    let cardinal = &demo.cardinal_url;
    browser.wait_css("#first-login a").await;
    browser.screenshot("newcomer-ecpa-home.png").await;
    follow(
        browser,
        "#first-login a",
        &format!("{}/guide", demo.ecpa_url),
    )
    .await;
    browser.wait_css("#guide-register").await;
    browser.screenshot("newcomer-ecpa-guide.png").await;
    follow(browser, "#guide-register", &format!("{cardinal}/register")).await;
    browser.wait_css("#read-card").await;
    follow(
        browser,
        "a[href=\"/help/environment\"]",
        &format!("{cardinal}/help/environment"),
    )
    .await;
    browser.click("check-env").await;
    browser.wait_attr("result", "data-ok", "env").await;
    browser.click("check-card").await;
    browser.wait_attr("result", "data-ok", "card").await;
    follow(browser, "#env-apply", &format!("{cardinal}/register/terms")).await;
    follow(
        browser,
        "#accept-terms",
        &format!("{cardinal}/register/apply"),
    )
    .await;
}

/// 申請: 讀取 → 戶號 and 戶籍 as the demo prints them for the card → 下一步 → 註冊密碼, 行動電話,
/// E-Mail → 確認申請 → the notice says what happens next.
async fn apply(browser: &Browser, demo: &Demo) {
    super::demo::apply_with_the_demo_card(browser, demo, PASSWORD, EMAIL).await;
    assert!(browser.text("next-step").await.contains("認證通知信"));
    browser.screenshot("newcomer-applied.png").await;
}

/// The demo's mailbox (linked from every page of the demo) → the 認證通知信's link → 讀取 →
/// 確定 → 已完成電子信箱認證, with the way back to eCPA.
async fn confirm_from_the_mailbox(browser: &Browser, demo: &Demo) {
    let cardinal = &demo.cardinal_url;
    // The outbox worker writes the mail within a second or two: reload the mailbox (as a
    // person presses F5) until it is there.
    follow(browser, "#demo-mailbox", &format!("{cardinal}/dev")).await;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if browser
            .eval(
                "return document.querySelector('#mailbox a.mail-link') !== null;",
                vec![],
            )
            .await
            == Value::Bool(true)
        {
            break;
        }
        assert!(Instant::now() < deadline, "{}", browser.page().await);
        tokio::time::sleep(Duration::from_millis(300)).await;
        browser.client.refresh().await.unwrap();
    }
    follow(
        browser,
        &format!("#mailbox a.mail-link[href^=\"{cardinal}/register/confirm\"]"),
        &format!("{cardinal}/register/confirm"),
    )
    .await;
    super::read_card(browser).await;
    browser.click("login-submit").await;
    browser
        .wait_attr("notice", "data-outcome", "confirmed")
        .await;
    let back = browser.text("back-to-client").await;
    assert!(back.contains("人事服務網"), "{back}");
    browser.screenshot("newcomer-confirmed.png").await;
}

/// Back on eCPA: 健保卡登入 → Cardinal's card page (no chooser: one method can do it) → 讀取,
/// 註冊密碼, 登入 → 應用系統; then 登出 → eCPA's home, signed out.
async fn sign_in_and_out(browser: &Browser, demo: &Demo) {
    let cardinal = &demo.cardinal_url;
    let ecpa = format!("{}/", demo.ecpa_url);
    follow(browser, "#back-to-client", &ecpa).await;
    let card_page = follow(browser, "#login-card", &format!("{cardinal}/interaction/")).await;
    browser.wait_css("#read-card").await;
    let card_page = browser.client.current_url().await.unwrap_or(card_page);
    assert!(
        card_page.path().ends_with("/card"),
        "one method can meet eCPA's request: straight to the card page, not a chooser: {card_page}"
    );
    super::read_card(browser).await;
    browser.type_into("password", PASSWORD).await;
    browser.click("login-submit").await;
    browser.wait_url(&format!("{ecpa}apps")).await;
    browser.wait_css("#apps").await;
    assert!(browser.text("whoami").await.contains("王小明"));
    browser.screenshot("newcomer-apps.png").await;
    browser.click("logout").await;
    browser.wait_css("#login-card").await;
    let page = browser.page().await;
    assert!(page.contains("您已登出"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newcomer_follows_the_guide_from_ecpa_by_clicking_alone() {
    let (demo, _app) = spawn_demo_unregistered().await;
    let browser = Browser::start().await;
    browser.goto(&format!("{}/", demo.ecpa_url)).await; // the only address typed
    from_ecpa_to_the_application(&browser, &demo).await;
    apply(&browser, &demo).await;
    confirm_from_the_mailbox(&browser, &demo).await;
    sign_in_and_out(&browser, &demo).await;
    assert_not_logged(&[PASSWORD, "A123456789"]);
    browser.close().await;
}
