//! Service notices in a real browser (issue 12's "done means"): an admin signs into the
//! console with the NHI card and schedules a maintenance notice on the form; the
//! registration home shows it; during the window applying answers the maintenance page
//! (503) and signing in with the card and the registration password still works.

use serde_json::json;

use super::admin_browser::sign_in_with_card;
use super::*;

const HOUR: i64 = 3600;

/// `t` as an `<input type="datetime-local">` value in Taiwan time.
fn taipei_local(t: i64) -> String {
    cardinal::notices::taipei_input(t)
}

/// Sets a date-and-time field as its picker would (the value, then an input event).
async fn set_datetime(browser: &Browser, id: &str, value: &str) {
    let set = browser
        .eval(
            "var e = document.getElementById(arguments[0]); e.value = arguments[1]; \
             e.dispatchEvent(new Event('input', { bubbles: true })); \
             e.dispatchEvent(new Event('change', { bubbles: true })); return e.value;",
            vec![json!(id), json!(value)],
        )
        .await;
    assert_eq!(set, json!(value), "#{id} takes {value}");
}

/// From the console's home: the notices, a new one with a maintenance window from `from`
/// to `until` (shown from now, everywhere, until removed).
async fn schedule_in_the_console(browser: &Browser, from: i64, until: i64) {
    browser
        .click_css("nav.admin a[href=\"/admin/notices\"]")
        .await;
    browser.wait_css("#new-notice").await;
    assert!(browser.page().await.contains("目前沒有公告"));
    browser.click("new-notice").await;
    browser.wait_css("#notice-form").await;
    browser
        .type_into("text_zh_tw", "3月6日4時將暫停註冊服務，敬請見諒")
        .await;
    browser
        .type_into(
            "text_en",
            "The registration service pauses on 6 March at 04:00. We apologise for the inconvenience.",
        )
        .await;
    // All three places are ticked for a new notice; it is shown from now.
    for place in ["register", "signin", "feed"] {
        let checked = browser
            .eval(
                "return document.getElementById(arguments[0]).checked;",
                vec![json!(format!("place-{place}"))],
            )
            .await;
        assert_eq!(checked, json!(true), "{place}");
    }
    set_datetime(browser, "maintenance_from", &taipei_local(from)).await;
    set_datetime(browser, "maintenance_until", &taipei_local(until)).await;
    browser.screenshot("admin-notice-new.png").await;
    browser.mark_old_page().await;
    browser.click("save-notice").await;
    browser
        .wait_new_attr("notice", "data-outcome", "notice_created")
        .await;
    assert!(browser.text("notice").await.contains("公告已新增"));
    let listed = browser.text("notices").await;
    assert!(listed.contains("3月6日4時將暫停註冊服務"), "{listed}");
    assert!(listed.contains("顯示中"), "{listed}");
    browser.screenshot("admin-notices.png").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_schedules_maintenance_applying_pauses_and_signing_in_still_works_in_a_real_browser(
) {
    let issuers = Issuers::new();
    let card = holder_card(&issuers);
    let (app, _authenticator) = spawn_card_idp(&issuers, &card).await;
    register(&app, &card, false);
    cardinal::admin::roles::grant(&app.engine, &cardinal::admin::Actor::cli(), "000012345678")
        .unwrap();
    let browser = Browser::start().await;

    // The admin signs in with the card and schedules the window: in an hour, for two.
    browser.goto(&app.url("/admin?lang=zh-TW")).await;
    sign_in_with_card(&browser, &app).await;
    browser.wait_css("#admin-name").await;
    let now = app.engine.now();
    // Whole minutes, as the form's fields hold them.
    let from = (now + HOUR) / 60 * 60;
    let until = from + 2 * HOUR;
    schedule_in_the_console(&browser, from, until).await;
    let stored = app.engine.store().list_notices().unwrap();
    assert_eq!(stored.len(), 1);
    let window = stored[0].maintenance.expect("a maintenance window");
    assert_eq!((window.from, window.until), (from, until));

    // The registration home shows it, with the window in Taiwan time.
    browser.goto(&app.url("/register")).await;
    browser.wait_css("#service-notices").await;
    let region = browser.text("service-notices").await;
    assert!(region.contains("服務公告"), "{region}");
    assert!(
        region.contains("3月6日4時將暫停註冊服務，敬請見諒"),
        "{region}"
    );
    let from_text = cardinal::notices::taipei_time(from, "zh-TW");
    assert!(
        region.contains(&format!("維護時間：{from_text}")),
        "{region}"
    );
    browser.screenshot("register-home-notice.png").await;

    // During the window, 首次登入請先申請 answers the maintenance page.
    app.clock.advance(HOUR + 120);
    browser.goto(&app.url("/register")).await;
    browser
        .wait_css("#service-notices li[data-maintenance=\"now\"]")
        .await;
    browser.mark_old_page().await;
    browser.click_css("a[href=\"/register/terms\"]").await;
    browser
        .wait_until(
            "the maintenance page",
            "return !document.documentElement.hasAttribute('data-old-page') && \
             !!document.getElementById('maintenance');",
            vec![],
        )
        .await;
    assert_eq!(browser.status().await, Some(503));
    assert_eq!(browser.text("maintenance").await, "系統維護中");
    let until_text = cardinal::notices::taipei_time(until, "zh-TW");
    let message = browser.text("maintenance-message").await;
    assert!(
        message.contains(&format!("預計於 {until_text}（臺灣時間）恢復服務")),
        "{message}"
    );
    browser.screenshot("register-maintenance.png").await;
    // So does 忘記註冊密碼.
    browser.goto(&app.url("/register/forgot")).await;
    browser.wait_css("#maintenance").await;
    assert_eq!(browser.status().await, Some(503));

    // Signing in still works: from the maintenance page back home, 讀取, the password.
    browser.goto(&app.url("/register/terms")).await;
    browser.click("maintenance-home").await;
    browser.wait_url(&app.url("/register")).await;
    browser.wait_css("#read-card").await;
    browser.click("read-card").await;
    browser.wait_attr("card-status", "data-ok", "read").await;
    browser.type_into("password", PASSWORD).await;
    browser.click("login-submit").await;
    browser.wait_url(&app.url("/register/member")).await;
    let member = browser.page().await;
    assert!(member.contains("王小明"), "{member}");
    browser.close().await;
}
