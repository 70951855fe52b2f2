//! The screenshots of the manual (健保卡網路服務註冊使用說明, `/help/manual`): the guide's
//! path walked in a real browser with the virtual card — apply, confirm by mail, sign in to
//! an application and to the site, the member services, 忘記註冊密碼, 重寄認證信 and
//! 刪除註冊申請 — with a picture of each page's content (`main`).
//!
//! They are written to `templates/static/manual/` (which the binary embeds and serves at
//! `/help/manual/<name>`) only when `UPDATE_SCREENSHOTS=1`; otherwise to a temporary folder.
//! The test also checks that it takes every picture the manual shows, in both languages.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::*;

/// The folder the pictures go to, and the temporary folder that holds it when not updating.
fn manual_folder() -> (PathBuf, Option<tempfile::TempDir>) {
    if std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("templates/static/manual");
        std::fs::create_dir_all(&dir).unwrap();
        (dir, None)
    } else {
        let tmp = tempfile::tempdir().unwrap();
        (tmp.path().to_path_buf(), Some(tmp))
    }
}

/// The pictures a manual template shows (`/help/manual/<name>`).
fn pictures_in(template: &str) -> BTreeSet<String> {
    template
        .split("src=\"/help/manual/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

struct Pictures<'a> {
    browser: &'a Browser,
    dir: &'a Path,
    taken: BTreeSet<String>,
}

impl Pictures<'_> {
    /// A PNG of the page's content (`main`, without the window around it) as `name`.
    async fn take(&mut self, name: &str) {
        // Nothing focused or hovered: the picture shows the page as it reads.
        self.browser
            .eval(
                "if (document.activeElement) { document.activeElement.blur(); } \
                 window.scrollTo(0, 0); return true;",
                vec![],
            )
            .await;
        let main = self
            .browser
            .client
            .find(Locator::Css("main"))
            .await
            .unwrap_or_else(|e| panic!("no main for {name}: {e}"));
        let png = main.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
        std::fs::write(self.dir.join(name), png).unwrap();
        assert!(self.taken.insert(name.to_string()), "{name} taken twice");
    }
}

/// 申請 as the manual shows it: home → terms → step 1 → step 2 → applied.
async fn apply(p: &mut Pictures<'_>, app: &TestApp) {
    let browser = p.browser;
    browser.goto(&app.url("/register?lang=zh-TW")).await;
    browser.wait_css("html[lang=\"zh-TW\"] #read-card").await;
    p.take("home.png").await;

    browser.click_css("a[href=\"/register/terms\"]").await;
    browser.wait_css("#accept-terms").await;
    p.take("terms.png").await;
    browser.click("accept-terms").await;

    browser.wait_url(&app.url("/register/apply")).await;
    read_card(browser).await;
    browser.type_into("household_no", "F1234567").await;
    browser.select("county", "臺北市").await;
    browser.wait_css("#township option[value=\"中正區\"]").await;
    browser.select("township", "中正區").await;
    // 村里 is typed (the form lists none: it would tell who is registered).
    browser.type_into("village", "黎明里").await;
    browser.type_into("neighborhood", "5").await;
    p.take("apply-step1.png").await;
    browser.click("login-submit").await;

    browser.wait_css("#apply-form #password").await;
    fill_apply_step2(browser, NEW_PASSWORD).await;
    p.take("apply-step2.png").await;
    browser.mark_old_page().await;
    browser.click("apply-submit").await;
    browser
        .wait_new_attr("notice", "data-outcome", "applied")
        .await;
    p.take("applied.png").await;
}

/// The 認證通知信's link, opened with the card: 讀取 → 確定 → confirmed.
async fn confirm(p: &mut Pictures<'_>, app: &TestApp, smtp: &crate::mail::SmtpServer) {
    let browser = p.browser;
    let link = new_link(smtp, 1, &app.url("/register/confirm?t="), &[]).await;
    browser.goto(&link).await;
    read_card(browser).await;
    p.take("confirm.png").await;
    browser.mark_old_page().await;
    browser.click("login-submit").await;
    browser
        .wait_new_attr("notice", "data-outcome", "confirmed")
        .await;
    p.take("confirmed.png").await;
}

/// An application's card sign-in page (read, password typed), then the site's own sign-in
/// and its member services.
async fn sign_in(p: &mut Pictures<'_>, app: &TestApp) {
    let browser = p.browser;
    let client = app.add_client(|_| {});
    let (_, challenge) = pkce();
    let params = auth_params(&client, &challenge, &[("ui_locales", "zh-TW")]);
    let authorize = url::Url::parse_with_params(&app.url("/authorize"), &params).unwrap();
    browser.goto(authorize.as_str()).await;
    let login = browser.wait_url(&app.url("/interaction/")).await;
    browser
        .click_css(&format!("a[href=\"{}/card\"]", login.path()))
        .await;
    read_card(browser).await;
    browser.type_into("password", NEW_PASSWORD).await;
    p.take("card-login.png").await;

    browser.goto(&app.url("/register")).await;
    read_card(browser).await;
    browser.type_into("password", NEW_PASSWORD).await;
    p.take("sign-in.png").await;
    browser.click("login-submit").await;
    browser.wait_url(&app.url("/register/member")).await;
    browser
        .wait_css("a[href=\"/register/member/password\"]")
        .await;
    p.take("member.png").await;

    browser.goto(&app.url("/register/member/password")).await;
    browser.wait_css("#old_password").await;
    browser.type_into("old_password", NEW_PASSWORD).await;
    browser.type_into("password", RESET_PASSWORD).await;
    browser.type_into("password_confirm", RESET_PASSWORD).await;
    p.take("member-password.png").await;

    browser.goto(&app.url("/register/member/profile")).await;
    browser.wait_css("#email").await;
    p.take("member-profile.png").await;
}

/// 忘記註冊密碼 → the reset mail → the reset page → done.
async fn forgot(p: &mut Pictures<'_>, app: &TestApp, smtp: &crate::mail::SmtpServer) {
    let browser = p.browser;
    browser.goto(&app.url("/register/forgot")).await;
    read_card(browser).await;
    browser
        .click_css("input[name=mode][value=registered]")
        .await;
    p.take("forgot.png").await;
    browser.mark_old_page().await;
    browser.click("login-submit").await;
    browser
        .wait_new_attr("notice", "data-outcome", "reset_sent")
        .await;
    let link = new_link(smtp, 2, &app.url("/register/reset?t="), &[]).await;
    open_reset_link(browser, &link, RESET_PASSWORD).await;
    browser.type_into("password_confirm", RESET_PASSWORD).await;
    p.take("reset.png").await;
    browser.mark_old_page().await;
    browser.click("login-submit").await;
    browser
        .wait_new_attr("notice", "data-outcome", "reset_done")
        .await;
    p.take("reset-done.png").await;
}

/// 重寄認證信 and 刪除註冊申請: each page with the card read.
async fn resend_and_delete(p: &mut Pictures<'_>, app: &TestApp) {
    for (path, name) in [
        ("/register/resend", "resend.png"),
        ("/register/delete", "delete.png"),
    ] {
        p.browser.goto(&app.url(path)).await;
        read_card(p.browser).await;
        p.take(name).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_manual_pictures_every_step_in_a_real_browser() {
    let smtp = crate::mail::SmtpServer::start(crate::mail::free_port());
    let issuers = Issuers::new();
    let card = holder_card(&issuers);
    let (app, _authenticator) = spawn_mailing_card_idp(&issuers, &card, smtp.port).await;
    let browser = Browser::start().await;
    let (dir, _tmp) = manual_folder();
    let mut pictures = Pictures {
        browser: &browser,
        dir: &dir,
        taken: BTreeSet::new(),
    };

    apply(&mut pictures, &app).await;
    confirm(&mut pictures, &app, &smtp).await;
    sign_in(&mut pictures, &app).await;
    forgot(&mut pictures, &app, &smtp).await;
    resend_and_delete(&mut pictures, &app).await;
    let taken = pictures.taken;
    browser.close().await;

    // Every picture the manual shows is taken here, and no other.
    for template in [
        include_str!("../../../templates/help/manual.hbs"),
        include_str!("../../../templates/help/manual.en.hbs"),
    ] {
        assert_eq!(pictures_in(template), taken);
    }
    // Small enough to embed: the content only, not the window.
    for name in &taken {
        let size = std::fs::metadata(dir.join(name)).unwrap().len();
        assert!(size < 200_000, "{name} is {size} bytes");
    }
}

/// card.js's error messages (here: the authenticator is not running) carry the 說明 link to
/// their section of 讀取健保卡發生錯誤說明, in the page's language.
#[tokio::test(flavor = "multi_thread")]
async fn a_card_error_on_a_card_page_links_to_its_help_section() {
    let issuers = Issuers::new();
    let card = holder_card(&issuers);
    let (app, authenticator) = spawn_card_idp(&issuers, &card).await;
    authenticator.handle.stop(false).await;
    let browser = Browser::start().await;
    for (lang, label) in [("en", "Help"), ("zh-TW", "說明")] {
        browser
            .goto(&app.url(&format!("/register?lang={lang}")))
            .await;
        browser
            .wait_css(&format!("html[lang=\"{lang}\"] #read-card"))
            .await;
        browser.click("read-card").await;
        browser
            .wait_attr("card-status", "data-error", "not_running")
            .await;
        let link = browser
            .eval(
                "var a = document.querySelector('#card-status a.error-help'); \
                 return a ? [a.getAttribute('href'), a.textContent] : null;",
                vec![],
            )
            .await;
        assert_eq!(
            link,
            json!(["/help/card-errors#not_running", label]),
            "{}",
            browser.page().await
        );
    }
    browser.click_css("#card-status a.error-help").await;
    let help = browser.wait_url(&app.url("/help/card-errors")).await;
    assert_eq!(help.fragment(), Some("not_running"));
    browser.wait_css("section#not_running").await;
    browser.close().await;
}
