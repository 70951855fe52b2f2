//! Taking access away, in a real browser: the sign-in ends when the browser closes (a shared
//! office PC), and a password reset in a second browser signs the first one out of eCPA and
//! WebHR (back-channel logout), kills the earlier refresh token and notifies the holder.

use super::*;

/// Waits until Chromium has let go of the profile folder (it removes its lock on a clean
/// exit), so that the next browser finds the cookies it wrote.
async fn wait_profile_released(profile: &std::path::Path) {
    let lock = profile.join("SingletonLock");
    let deadline = Instant::now() + TIMEOUT;
    while std::fs::symlink_metadata(&lock).is_ok() {
        assert!(
            Instant::now() < deadline,
            "Chromium still holds the profile"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The names of the cookies the browser holds for the page open now (HttpOnly ones too).
async fn cookie_names(browser: &Browser) -> Vec<String> {
    browser
        .client
        .get_all_cookies()
        .await
        .unwrap()
        .iter()
        .map(|c| c.name().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn closing_the_browser_ends_the_sign_in() {
    let issuers = Issuers::new();
    let card = holder_card(&issuers);
    let (app, _authenticator) = spawn_card_idp(&issuers, &card).await;
    register(&app, &card, false);
    let browser = Browser::start().await;

    // The registration site's own login box: 讀取, 註冊密碼, 登入 → the member page. The
    // language is chosen with the switch, which is remembered for a year.
    browser.goto(&app.url("/register?lang=zh-TW")).await;
    read_card(&browser).await;
    browser.type_into("password", PASSWORD).await;
    browser.click("login-submit").await;
    browser.wait_url(&app.url("/register/member")).await;
    assert!(browser.page().await.contains("王小明"));
    let before = cookie_names(&browser).await;
    assert!(
        before.iter().any(|n| n == "cardinal_session")
            && before.iter().any(|n| n == "cardinal_lang"),
        "{before:?}"
    );

    // Closed and opened again on the same profile, as the next person at a shared PC does.
    let profile = browser.quit().await;
    wait_profile_released(profile.path()).await;
    let browser = Browser::start_on(profile).await;
    browser.goto(&app.url("/register/member")).await;
    browser.wait_url(&app.url("/register")).await;
    browser.wait_css("#read-card").await;
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(url.path(), "/register", "not signed in any more");
    let after = cookie_names(&browser).await;
    // The profile did keep what is meant to last (so the test would see a lasting session
    // cookie too): the language choice survived, the sign-in did not.
    assert!(after.iter().any(|n| n == "cardinal_lang"), "{after:?}");
    assert!(!after.iter().any(|n| n == "cardinal_session"), "{after:?}");
    browser.close().await;
}

#[cfg(feature = "demo")]
#[tokio::test(flavor = "multi_thread")]
async fn a_reset_in_another_browser_signs_out_ecpa_and_webhr_and_kills_the_refresh_token() {
    use super::demo::{open_webhr_through_sso, sign_in_to_ecpa, spawn_demo};
    use crate::card_login::submit;
    const NEW_PASSWORD: &str = "Nw8~pQz5";

    let (demo, app) = spawn_demo().await;
    let card = serde_json::to_value(
        &demo
            .cards
            .iter()
            .find(|c| c.key == "nhi")
            .expect("the demo's NHI card")
            .file,
    )
    .unwrap();
    let ecpa = format!("{}/", demo.ecpa_url);
    let webhr = format!("{}/", demo.webhr_url);

    // Earlier, 王小明 gave a desktop application lasting access (a refresh token).
    let desk = app.add_client(|d| {
        d.skip_consent = Some(true);
        d.scopes = Some(vec!["openid".into(), "offline_access".into()]);
    });
    let (verifier, challenge) = pkce();
    let params = auth_params(&desk, &challenge, &[("scope", "openid offline_access")]);
    let interaction = location(&app.authorize(&params).await);
    assert_eq!(
        submit(&app, &interaction, &card, PASSWORD).await.status(),
        303
    );
    let done = app.get(&interaction).await;
    let code = query_param(&url::Url::parse(&location(&done)).unwrap(), "code").expect("code");
    let tokens: Value = app
        .redeem(&desk, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let refresh_token = tokens["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_string();

    // Browser 1: eCPA with the card, then WebHR through SSO.
    let first = Browser::start().await;
    first.goto(&ecpa).await;
    first.wait_css("#login-card").await;
    sign_in_to_ecpa(&first, &demo, &app).await;
    open_webhr_through_sso(&first, &demo).await;
    assert!(first.text("whoami").await.contains("王小明"));

    // Browser 2: 忘記註冊密碼 with the card → the reset mail → a new 註冊密碼.
    let second = Browser::start().await;
    second.goto(&app.url("/register/forgot")).await;
    read_card(&second).await;
    second.click_css("input[name=mode][value=registered]").await;
    second.click("login-submit").await;
    second
        .wait_attr("notice", "data-outcome", "reset_sent")
        .await;
    let reset_mail = outbox_mail(&demo.outbox, "/register/reset?t=").await;
    let link = link_in(&reset_mail, &app.url("/register/reset?t="));
    second.goto(&link).await;
    read_card(&second).await;
    second.type_into("password", NEW_PASSWORD).await;
    second.type_into("password_confirm", NEW_PASSWORD).await;
    second.click("login-submit").await;
    second
        .wait_attr("notice", "data-outcome", "reset_done")
        .await;
    second.close().await;

    // Browser 1: eCPA and WebHR have ended their sessions (back-channel logout).
    for portal in [&ecpa, &webhr] {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            first.goto(portal).await;
            if first
                .eval(
                    "return document.readyState === 'complete' && document.getElementById('whoami') === null;",
                    vec![],
                )
                .await
                == Value::Bool(true)
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{portal} still signed in; {}",
                first.page().await
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // And eCPA's 健保卡 button now leads to Cardinal's sign-in, not straight back in.
    first.goto(&ecpa).await;
    first.click("login-card").await;
    first.wait_url(&app.url("/interaction/")).await;
    first.close().await;

    // The earlier refresh token is dead.
    let r = app.refresh(&desk, &refresh_token).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");

    // The notice is in the outbox.
    let notice = outbox_mail(&demo.outbox, "經由「忘記註冊密碼」變更成功").await;
    assert!(notice.contains("王小明"), "{notice}");
}

/// The first mail in the outbox folder that contains `text` (waiting for it).
#[cfg(feature = "demo")]
async fn outbox_mail(outbox: &std::path::Path, text: &str) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let mails = crate::register::wait_mail(outbox, 1).await;
        if let Some(m) = mails.into_iter().find(|m| m.contains(text)) {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "no mail with {text} in the outbox"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
