//! The eCPA story of issue 5 in a real browser, on the demo's own wiring
//! ([`cardinal::demo::start`]): sign in to eCPA with the NHI card, reach WebHR with no
//! second sign-in, step up to the citizen certificate for a greyed link, sign out of
//! eCPA and find WebHR signed out too (back-channel logout), and `prompt=none` answered
//! with `login_required`.

use cardinal::demo::{Demo, DemoSetup};

use super::*;

const ACR_CARD: &str = "urn:cardinal:acr:card";
const ACR_CITIZEN: &str = "urn:cardinal:acr:citizen-certificate";

/// The demo on port 0 everywhere, on the test database, as `cardinal demo` wires it.
pub(super) async fn spawn_demo_unregistered() -> (Demo, TestApp) {
    let db = TestDb::new();
    let data_dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = test_settings(&db, data_dir.path());
    settings.password.argon2_memory_kib = 1024;
    settings.password.argon2_iterations = 1;
    settings.mail.send_interval_secs = 1;
    let bind = || TcpListener::bind("127.0.0.1:0").unwrap();
    let clock = OffsetClock::new();
    let demo = cardinal::demo::start(DemoSetup {
        settings,
        cardinal: bind(),
        ecpa: bind(),
        webhr: bind(),
        authenticator: "127.0.0.1:0".parse().unwrap(),
        clock: Arc::new(clock.clone()),
    })
    .await
    .unwrap();
    let client = |cookies: bool| {
        reqwest::Client::builder()
            .cookie_store(cookies)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    };
    let app = TestApp {
        address: demo.cardinal_url.clone(),
        engine: demo.engine.clone(),
        clock,
        db,
        _data_dir: data_dir,
        browser: client(true),
        api: client(false),
        metrics: demo
            .metrics_url
            .as_deref()
            .map(|m| m.trim_end_matches("/metrics").to_string()),
    };
    (demo, app)
}

/// [`spawn_demo_unregistered`] with the NHI card's holder registered (the registration
/// pages have their own browser tests).
pub(super) async fn spawn_demo() -> (Demo, TestApp) {
    let (demo, app) = spawn_demo_unregistered().await;
    let nhi = demo.cards.iter().find(|c| c.key == "nhi").unwrap();
    register(&app, &serde_json::to_value(&nhi.file).unwrap(), false);
    (demo, app)
}

/// On a Cardinal card page: reads the card in the reader and submits with `password`
/// (NHI) or `pin` (MOICA, typed before the read as the page asks).
async fn card_page_sign_in(browser: &Browser, password: Option<&str>, pin: Option<&str>) {
    browser.wait_css("#read-card").await;
    if let Some(pin) = pin {
        browser.type_into("pin", pin).await;
    }
    browser.click("read-card").await;
    browser.wait_attr("card-status", "data-ok", "read").await;
    if let Some(password) = password {
        browser.type_into("password", password).await;
    }
    browser.click("login-submit").await;
}

/// Reaches Cardinal's card page `method` (`card` or `citizen-certificate`): straight there
/// when the request can be met by that method only, else from the method list.
async fn choose_card_method(browser: &Browser, app: &TestApp, method: &str) {
    let login = browser.wait_url(&app.url("/interaction/")).await;
    let path = login.path().to_string();
    if path.ends_with(&format!("/{method}")) {
        return;
    }
    browser
        .click_css(&format!("a[href=\"{path}/{method}\"]"))
        .await;
    browser
        .wait_url(&app.url(&format!("{path}/{method}")))
        .await;
}

/// On eCPA's home page: 健保卡 → Cardinal's card page → 讀取, 註冊密碼, 登入 → back on eCPA
/// (first-party: no consent) in 我的專區 > 應用系統.
pub(super) async fn sign_in_to_ecpa(browser: &Browser, demo: &Demo, app: &TestApp) {
    browser.click("login-card").await;
    choose_card_method(browser, app, "card").await;
    card_page_sign_in(browser, Some(PASSWORD), None).await;
    browser.wait_url(&format!("{}/", demo.ecpa_url)).await;
    browser.wait_css("#apps").await;
}

/// From eCPA's 應用系統, opens WebHR: Cardinal's session signs the person in with no card
/// and no password (WebHR's consent is given when asked).
pub(super) async fn open_webhr_through_sso(browser: &Browser, demo: &Demo) {
    let webhr = format!("{}/", demo.webhr_url);
    let before = browser.client.current_url().await.unwrap();
    browser
        .click_css(&format!("#apps a[href^=\"{}\"]", demo.webhr_url))
        .await;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let url = browser.client.current_url().await.unwrap();
        assert!(
            !url.path().ends_with("/card"),
            "WebHR must not ask for the card again; {}",
            browser.page().await
        );
        if url.as_str().starts_with(&webhr)
            && url != before
            && browser
                .eval("return document.getElementById('whoami') !== null;", vec![])
                .await
                == Value::Bool(true)
        {
            break;
        }
        if browser
            .eval(
                "return document.querySelector('button[name=decision][value=approve]') !== null;",
                vec![],
            )
            .await
            == Value::Bool(true)
        {
            browser
                .click_css("button[name=decision][value=approve]")
                .await;
        }
        assert!(Instant::now() < deadline, "{}", browser.page().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// From eCPA's apps, the step-up link `target` of a grey system: Cardinal asks for the
/// MOICA card and its PIN, then the system that was chosen opens.
async fn step_up_to_the_citizen_certificate(
    browser: &Browser,
    demo: &Demo,
    app: &TestApp,
    target: &str,
) {
    let ecpa = format!("{}/", demo.ecpa_url);
    browser.goto(&format!("{ecpa}apps")).await;
    browser.wait_css("#apps .greyed").await;
    browser
        .click_css(&format!("#apps a.stepup[href=\"{target}\"]"))
        .await;
    choose_card_method(browser, app, "citizen-certificate").await;
    assert!(
        browser.page().await.contains("自然人憑證"),
        "the page names the level it needs; {}",
        browser.page().await
    );
    let card_page = browser.client.current_url().await.unwrap();
    browser.goto(&app.url("/dev")).await;
    browser.click("insert-moica").await;
    browser.wait_css("#card-moica.inserted").await;
    browser.screenshot("demo-dev-page.png").await;
    browser.goto(card_page.as_str()).await;
    let pin = demo
        .cards
        .iter()
        .find(|c| c.key == "moica")
        .and_then(|c| c.file.pin.clone())
        .unwrap();
    card_page_sign_in(browser, None, Some(&pin)).await;
    // The system that was chosen opens, not the list.
    let code = target.rsplit('=').next().unwrap_or_default();
    browser.wait_url(&format!("{ecpa}apps/{code}")).await;
    browser.wait_css("#app-entered").await;
    assert!(
        browser.text("app-entered").await.contains(code),
        "{}",
        browser.page().await
    );
    assert!(
        browser.text("acr").await.contains(ACR_CITIZEN),
        "{}",
        browser.page().await
    );
    browser.goto(&format!("{ecpa}apps")).await;
    browser.wait_css("#apps").await;
    let still_greyed = browser
        .eval(
            "return document.querySelectorAll('#apps .greyed').length;",
            vec![],
        )
        .await;
    assert_eq!(still_greyed, json!(0), "{}", browser.page().await);
    browser.screenshot("ecpa-apps-citizen.png").await;
}

/// 登出 on eCPA, confirmed on Cardinal's logout page (which lists WebHR); WebHR signs out too.
async fn log_out_of_ecpa_and_webhr(browser: &Browser, demo: &Demo, app: &TestApp) {
    let ecpa = format!("{}/", demo.ecpa_url);
    let webhr = format!("{}/", demo.webhr_url);
    browser.click("logout").await;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let url = browser.client.current_url().await.unwrap();
        if url.as_str().starts_with(&ecpa)
            && browser
                .eval(
                    "return document.getElementById('login-card') !== null;",
                    vec![],
                )
                .await
                == Value::Bool(true)
        {
            break;
        }
        if url.as_str().starts_with(&app.url("/logout")) {
            let page = browser.page().await;
            if browser
                .eval(
                    "return document.getElementById('logout-yes') !== null;",
                    vec![],
                )
                .await
                == Value::Bool(true)
            {
                assert!(
                    page.contains("WebHR"),
                    "the logout page lists WebHR; {page}"
                );
                browser.screenshot("logout-confirm.png").await;
                browser.click("logout-yes").await;
            }
        }
        assert!(Instant::now() < deadline, "{}", browser.page().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.goto(&webhr).await;
    let deadline = Instant::now() + TIMEOUT;
    while browser
        .eval("return document.getElementById('whoami') !== null;", vec![])
        .await
        == Value::Bool(true)
    {
        assert!(
            Instant::now() < deadline,
            "WebHR still signed in; {}",
            browser.page().await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        browser.goto(&webhr).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ecpa_sso_step_up_and_single_logout_in_a_real_browser() {
    let (demo, app) = spawn_demo().await;
    let ecpa = format!("{}/", demo.ecpa_url);
    let browser = Browser::start().await;

    // eCPA's login box: 健保卡 → Cardinal → card + 註冊密碼 → back on eCPA (first-party: no
    // consent) in 我的專區 > 應用系統.
    browser.goto(&ecpa).await;
    browser.wait_css("#login-card").await;
    browser.screenshot("ecpa-home.png").await;
    sign_in_to_ecpa(&browser, &demo, &app).await;
    assert!(
        browser.text("acr").await.contains(ACR_CARD),
        "{}",
        browser.page().await
    );
    assert!(browser.text("whoami").await.contains("王小明"));
    // A grey system is text, not a link (nothing focusable pretends to be disabled); its
    // step-up link is the way in.
    let grey_links = browser
        .eval(
            "return document.querySelectorAll('#apps a.greyed, #apps [aria-disabled]').length;",
            vec![],
        )
        .await;
    assert_eq!(grey_links, json!(0), "{}", browser.page().await);
    let greyed = browser
        .eval(
            "return Array.from(document.querySelectorAll('#apps a.stepup')).map(a => a.getAttribute('href'));",
            vec![],
        )
        .await;
    let greyed: Vec<String> = serde_json::from_value(greyed).unwrap();
    assert!(!greyed.is_empty(), "card sign-in greys some systems");
    assert!(browser
        .text("stepup-note")
        .await
        .contains("上述反灰的連結請使用自然人憑證登入才可使用"));
    browser.screenshot("ecpa-apps-card.png").await;

    // 應用系統 → WebHR: Cardinal's session signs the person in with no card and no
    // password; WebHR is not first-party, so its consent is asked once.
    open_webhr_through_sso(&browser, &demo).await;
    assert!(browser.text("whoami").await.contains("王小明"));
    browser.screenshot("webhr-signed-in.png").await;

    // A greyed link on eCPA starts step-up: Cardinal asks for the citizen certificate.
    // The person swaps the card on the demo's dev page and signs with the PIN.
    step_up_to_the_citizen_certificate(&browser, &demo, &app, greyed.first().unwrap()).await;

    // 登出 on eCPA: Cardinal's logout page lists what is signed out; WebHR's session
    // ends through back-channel logout.
    log_out_of_ecpa_and_webhr(&browser, &demo, &app).await;

    // Cardinal's session is gone too: prompt=none gets login_required.
    let (_, challenge) = pkce();
    let authorize = url::Url::parse_with_params(
        &app.url("/authorize"),
        &[
            ("client_id", "webhr"),
            ("response_type", "code"),
            ("scope", "openid"),
            ("redirect_uri", &format!("{}/callback", demo.webhr_url)),
            ("state", "st-none"),
            ("nonce", "n-none"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("prompt", "none"),
        ],
    )
    .unwrap();
    browser.goto(authorize.as_str()).await;
    let back = browser
        .wait_url(&format!("{}/callback", demo.webhr_url))
        .await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("login_required")
    );
    browser.close().await;
}

/// On the apply page: 讀取 → 戶號 and 戶籍 as the demo prints them for its NHI card → 下一步
/// → 註冊密碼 (`password`), 行動電話, E-Mail (`email`) → 確認申請 → the applied notice.
pub(super) async fn apply_with_the_demo_card(
    browser: &Browser,
    demo: &Demo,
    password: &str,
    email: &str,
) {
    let card = demo.cards.iter().find(|c| c.key == "nhi").unwrap().clone();
    let household_no = card.household_no.unwrap();
    let neighborhood = card
        .address
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_end_matches('鄰')
        .to_string();
    super::fill_apply_step1(browser, household_no, &neighborhood).await;
    browser.wait_css("#apply-form #password").await;
    for (id, value) in [
        ("password", password),
        ("password_confirm", password),
        ("mobile", "0912345678"),
        ("email", email),
    ] {
        browser.type_into(id, value).await;
    }
    browser.click("apply-submit").await;
    browser.wait_attr("notice", "data-outcome", "applied").await;
}

/// Issue 5's newcomer, in the demo as the README tells it: eCPA → 健保卡 → 首次登入請先申請 →
/// terms → 申請 with the demo card's data → the 認證通知信 on the dev page → the link with
/// the card → back to eCPA, signed in with the new 註冊密碼.
#[tokio::test(flavor = "multi_thread")]
async fn a_newcomer_registers_and_signs_in_through_the_demo() {
    const PASSWORD: &str = "Tq7~vLm9";
    const EMAIL: &str = "newcomer@example.gov.tw";
    let (demo, _app) = spawn_demo_unregistered().await;
    let cardinal = demo.cardinal_url.clone();
    let ecpa = format!("{}/", demo.ecpa_url);
    let browser = Browser::start().await;

    // eCPA → 健保卡 → Cardinal's card page, which sends a newcomer to 首次登入請先申請.
    browser.goto(&ecpa).await;
    browser.click("login-card").await;
    browser.wait_url(&format!("{cardinal}/interaction/")).await;
    let login = browser.client.current_url().await.unwrap();
    if !login.path().ends_with("/card") {
        browser
            .click_css(&format!("a[href=\"{}/card\"]", login.path()))
            .await;
    }
    browser.click("first-time").await;
    browser
        .wait_url(&format!("{cardinal}/register/terms"))
        .await;
    browser.click("accept-terms").await;

    // 申請 with what the demo prints for the card: 戶號 and 戶籍 from the demo registry.
    browser
        .wait_url(&format!("{cardinal}/register/apply"))
        .await;
    apply_with_the_demo_card(&browser, &demo, PASSWORD, EMAIL).await;

    // The dev page's mailbox has the 認證通知信 (the outbox worker writes it within a
    // second or two); its link confirms with the same card.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        browser.goto(&format!("{cardinal}/dev")).await;
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
        assert!(
            Instant::now() < deadline,
            "no mail on the dev page; {}",
            browser.page().await
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(browser.text("mailbox").await.contains(EMAIL));
    browser.screenshot("demo-dev-mailbox.png").await;
    browser
        .click_css(&format!(
            "#mailbox a.mail-link[href^=\"{cardinal}/register/confirm\"]"
        ))
        .await;
    super::read_card(&browser).await;
    browser.click("login-submit").await;
    browser
        .wait_attr("notice", "data-outcome", "confirmed")
        .await;

    // Back to eCPA: signed in with the card and the new 註冊密碼.
    browser.goto(&ecpa).await;
    browser.click("login-card").await;
    let login = browser.wait_url(&format!("{cardinal}/interaction/")).await;
    if !login.path().ends_with("/card") {
        browser
            .click_css(&format!("a[href=\"{}/card\"]", login.path()))
            .await;
    }
    card_page_sign_in(&browser, Some(PASSWORD), None).await;
    browser.wait_url(&format!("{ecpa}apps")).await;
    assert!(browser.text("whoami").await.contains("王小明"));
    assert!(browser.text("acr").await.contains(ACR_CARD));
    assert_not_logged(&[PASSWORD, "A123456789"]);
    browser.close().await;
}

/// The dev page swaps the card only for its own pages, and serves only the outbox's mail.
#[tokio::test(flavor = "multi_thread")]
async fn the_dev_page_refuses_other_sites_and_unknown_cards() {
    let (demo, app) = spawn_demo().await;
    let post = |card: &str, site: Option<&str>| {
        let mut r = app
            .api
            .post(app.url("/dev/reader"))
            .form(&[("card", card.to_string())]);
        if let Some(site) = site {
            r = r.header("sec-fetch-site", site);
        }
        r.send()
    };
    let r = post("moica", Some("cross-site")).await.unwrap();
    assert_eq!(r.status(), 403);
    let page = app.api.get(app.url("/dev")).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(
        html.contains("id=\"card-nhi\" class=\"inserted\""),
        "the NHI card is still in the reader"
    );
    let r = post("bogus", Some("same-origin")).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("choose one of the demo cards"));
    let r = post("moica", Some("same-origin")).await.unwrap();
    assert_eq!(r.status(), 303);
    let html = app
        .api
        .get(app.url("/dev"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"card-moica\" class=\"inserted\""));
    let r = post("none", None).await.unwrap();
    assert_eq!(
        r.status(),
        403,
        "a request that does not say where it comes from"
    );
    let rebound = app
        .api
        .post(app.url("/dev/reader"))
        .header("sec-fetch-site", "same-origin")
        .header("host", "attacker.example:8080")
        .form(&[("card", "none")])
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403, "another host name (DNS rebinding)");
    let r = post("none", Some("same-origin")).await.unwrap();
    assert_eq!(r.status(), 303);
    demo.insert(Some("nhi")).unwrap();

    // The admin role: only for a registered card, never from another site.
    let grant = |card: &str, site: &str| {
        app.api
            .post(app.url("/dev/admin"))
            .header("sec-fetch-site", site.to_string())
            .form(&[("card", card.to_string())])
            .send()
    };
    assert_eq!(grant("nhi", "cross-site").await.unwrap().status(), 403);
    let r = grant("nhi2", "same-origin").await.unwrap();
    assert_eq!(r.status(), 400, "陳美華 has not registered");
    assert!(r.text().await.unwrap().contains("Register the card first"));
    let r = grant("nhi", "same-origin").await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/admin");
    let admins = cardinal::admin::roles::list(&demo.engine).unwrap();
    assert_eq!(admins.len(), 1, "王小明 is the admin");
    let granted = cardinal::admin::audit::list(
        &demo.engine,
        &cardinal::admin::audit::AuditQuery {
            event: Some("admin_grant".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        granted
            .items
            .first()
            .and_then(|e| e.actor.clone())
            .as_deref(),
        Some("dev-page"),
        "the audit log names the dev page"
    );
    let r = grant("nhi", "same-origin").await.unwrap();
    assert_eq!(r.status(), 303, "granting twice is harmless");
    for name in ["..%2Fsecret.key", "secret.key", "nothing.eml"] {
        let r = app
            .api
            .get(app.url(&format!("/dev/mail/{name}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{name}");
    }
}

/// Issue 12's path by links alone: eCPA's home → 使用健保卡注意事項 → the instructions →
/// 健保卡網路服務註冊 on Cardinal; 人事服務網環境檢測程式 → 電腦環境說明; the login box's
/// 清除 clears the choice; the switch turns eCPA English (remembered), and Cardinal's
/// sign-in page follows (`ui_locales`).
#[tokio::test(flavor = "multi_thread")]
async fn ecpa_leads_by_links_to_the_instructions_and_the_registration_site_in_both_languages() {
    let (demo, _app) = spawn_demo().await;
    let cardinal = demo.cardinal_url.clone();
    let ecpa = format!("{}/", demo.ecpa_url);
    let browser = Browser::start().await;
    let checked = "return Array.from(document.querySelectorAll('#login-certificate input[name=method]')).filter(i => i.checked).length;";

    // 清除 resets the sign-in box.
    browser.goto(&ecpa).await;
    browser.click("method-card").await;
    assert_eq!(browser.eval(checked, vec![]).await, json!(1));
    browser.click("login-clear").await;
    assert_eq!(browser.eval(checked, vec![]).await, json!(0));

    // 使用健保卡注意事項 → the instructions → 健保卡網路服務註冊.
    browser.click("nhi-help").await;
    browser.wait_url(&format!("{ecpa}guide")).await;
    assert!(browser
        .text("guide-title")
        .await
        .contains("使用健保卡登入人事服務網(eCPA)操作說明"));
    browser.screenshot("ecpa-guide.png").await;
    browser.click("guide-register").await;
    browser.wait_url(&format!("{cardinal}/register")).await;
    assert!(browser.page().await.contains("健保卡網路服務註冊"));

    // 新手上路 leads there too; 人事服務網環境檢測程式 → 電腦環境說明 on Cardinal.
    browser.goto(&ecpa).await;
    browser.click("menu-guide").await;
    browser.wait_url(&format!("{ecpa}guide")).await;
    browser.click("guide-environment").await;
    browser
        .wait_url(&format!("{cardinal}/help/environment"))
        .await;
    browser.goto(&ecpa).await;
    browser.click("env-check").await;
    browser
        .wait_url(&format!("{cardinal}/help/environment"))
        .await;

    // English, remembered; the grey systems, the instructions and Cardinal follow.
    browser.goto(&ecpa).await;
    browser.click("lang-switch").await;
    browser.wait_css("html[lang=en]").await;
    assert_eq!(
        browser.text("nhi-help").await,
        "Using the NHI card: read first"
    );
    browser.goto(&ecpa).await;
    browser.wait_css("html[lang=en]").await;
    browser.click("nhi-help").await;
    browser.wait_url(&format!("{ecpa}guide")).await;
    assert!(browser
        .text("guide-title")
        .await
        .contains("Signing in to the eCPA personnel portal"));
    browser.goto(&ecpa).await;
    browser.click("login-card").await;
    browser.wait_url(&format!("{cardinal}/interaction/")).await;
    browser.wait_css("html[lang=en]").await;
    browser.close().await;
}
