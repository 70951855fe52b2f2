//! The citizen-certificate sign-in in a real browser (issue 12): its own page (title, PIN
//! first, no 註冊密碼 field), reached without a chooser when only it can meet the request; an
//! NHI card refused right at 讀取 with a message that says which card to insert, and by the
//! server whatever the page did; the person's language choice kept over the client's
//! `ui_locales`. And the other way round: the apply page refuses a MOICA card at 讀取.

use super::*;

const ACR_CITIZEN: &str = "urn:cardinal:acr:citizen-certificate";

/// The same person's MOICA card (the certificate names the holder card's national ID; PIN
/// 1234).
fn citizen_card(issuers: &Issuers) -> Value {
    issuers.issue("moica", "moica", "000087654321", "王小明", 365)
}

/// The first control of the card form (hidden fields included) and whether the page has a
/// 註冊密碼 field anywhere.
async fn form_shape(browser: &Browser) -> (Value, Value) {
    let first = browser
        .eval(
            "return document.getElementById('card-form').elements[0].id;",
            vec![],
        )
        .await;
    let password = browser
        .eval(
            "return document.querySelector('input[name=password], #password') !== null;",
            vec![],
        )
        .await;
    (first, password)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_citizen_certificate_page_asks_for_the_pin_and_refuses_an_nhi_card_at_read() {
    let issuers = Issuers::new();
    let nhi = holder_card(&issuers);
    let moica = citizen_card(&issuers);
    let (app, authenticator) = spawn_card_idp(&issuers, &nhi).await;
    let person_id = register(&app, &nhi, false);
    let client = app.add_client(|_| {});
    let (verifier, challenge) = pkce();
    let browser = Browser::start().await;

    // What eCPA's 自然人憑證 button sends: acr_values and ui_locales=zh-TW. Only the
    // citizen certificate can meet it: no chooser, straight to its page.
    let extra = [("acr_values", ACR_CITIZEN), ("ui_locales", "zh-TW")];
    let params = auth_params(&client, &challenge, &extra);
    let authorize = url::Url::parse_with_params(&app.url("/authorize"), &params).unwrap();
    browser.goto(authorize.as_str()).await;
    let page_url = browser.wait_url(&app.url("/interaction/")).await;
    assert!(
        page_url.path().ends_with("/citizen-certificate"),
        "no chooser with a single choice: {page_url}"
    );
    browser.wait_css("#read-card").await;
    let title = browser.eval("return document.title;", vec![]).await;
    assert!(
        title.as_str().unwrap().starts_with("自然人憑證登入"),
        "{title}"
    );
    assert_eq!(
        browser
            .eval("return document.querySelector('h1').textContent;", vec![])
            .await,
        json!("自然人憑證登入")
    );
    let page = browser.page().await;
    assert!(page.contains("請您以自然人憑證登入"), "{page}");
    assert!(
        !page.contains("健保卡登入") && !page.contains("請您以健保卡及註冊密碼登入"),
        "{page}"
    );
    assert_eq!(
        form_shape(&browser).await,
        (json!("pin"), json!(false)),
        "the PIN comes before anything else in the form, and there is no 註冊密碼 field"
    );
    browser.screenshot("citizen-login.png").await;

    // 讀取 with the NHI card in the reader: refused right there, before the card is asked
    // to sign, with a message that says to insert the citizen certificate.
    browser.type_into("pin", "1234").await;
    let sessions = authenticator.sessions.load(Ordering::SeqCst);
    browser.click("read-card").await;
    browser
        .wait_attr("card-status", "data-error", "needs_citizen_certificate")
        .await;
    let status = browser.text("card-status").await;
    assert!(
        status.contains("您插入的是健保卡") && status.contains("請改插自然人憑證"),
        "{status}"
    );
    assert_eq!(
        authenticator.sessions.load(Ordering::SeqCst),
        sessions + 1,
        "the card was read, never asked to sign"
    );
    assert_eq!(
        browser.attr("login-submit", "disabled").await.as_deref(),
        Some(""),
        "登入 still waits for the right card"
    );
    assert_eq!(browser.text("card-name").await, "");
    browser
        .screenshot("citizen-login-nhi-card-refused.png")
        .await;

    // The server does not trust the page: with the page's check taken away, the NHI card
    // signs the challenge and the form is posted; the server refuses it with the same words.
    browser
        .eval(
            "document.getElementById('card-form').removeAttribute('data-card-kind'); return true;",
            vec![],
        )
        .await;
    browser.click("read-card").await;
    browser.wait_attr("card-status", "data-ok", "read").await;
    browser.mark_old_page().await;
    browser.click("login-submit").await;
    browser
        .wait_new_attr("form-error", "data-error", "needs_citizen_certificate")
        .await;
    assert!(browser
        .text("form-error")
        .await
        .contains("請改插自然人憑證並輸入 PIN 碼"));
    assert_eq!(
        browser
            .eval("return document.title;", vec![])
            .await
            .as_str()
            .map(|t| t.starts_with("自然人憑證登入")),
        Some(true)
    );

    // The person chooses English: it stays English although the client keeps asking for
    // zh-TW (the switch's choice beats ui_locales).
    browser.mark_old_page().await;
    browser.click("lang-switch").await;
    browser
        .wait_css("html[lang=\"en\"]:not([data-old-page]) #read-card")
        .await;
    assert_eq!(
        browser
            .eval("return document.querySelector('h1').textContent;", vec![])
            .await,
        json!("Sign in with your citizen digital certificate")
    );

    // The citizen certificate and its PIN: signed in at the highest level.
    authenticator.insert(&moica);
    browser.type_into("pin", "1234").await;
    browser.click("read-card").await;
    browser.wait_attr("card-status", "data-ok", "read").await;
    assert!(browser
        .text("card-status")
        .await
        .contains("Citizen digital certificate read: 王小明"));
    browser.click("login-submit").await;
    browser
        .wait_css("html[lang=\"en\"] button[name=decision][value=approve]")
        .await;
    browser
        .click_css("button[name=decision][value=approve]")
        .await;
    let back = browser.wait_url(REDIRECT_URI).await;
    let code = query_param(&back, "code").expect("a code");
    let tokens: Value = app
        .redeem(&client, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], person_id.as_str());
    assert_eq!(id["acr"], ACR_CITIZEN);

    // A new sign-in (prompt=login), the client still sending ui_locales=zh-TW: English.
    let (_, challenge) = pkce();
    let extra = [
        ("acr_values", ACR_CITIZEN),
        ("ui_locales", "zh-TW"),
        ("prompt", "login"),
    ];
    let params = auth_params(&client, &challenge, &extra);
    let again = url::Url::parse_with_params(&app.url("/authorize"), &params).unwrap();
    browser.goto(again.as_str()).await;
    browser.wait_url(&app.url("/interaction/")).await;
    browser.wait_css("#read-card").await;
    assert_eq!(
        browser
            .eval("return document.documentElement.lang;", vec![])
            .await,
        json!("en")
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_nhi_card_page_and_the_apply_page_refuse_a_citizen_certificate_at_read() {
    let issuers = Issuers::new();
    let moica = citizen_card(&issuers);
    let (app, authenticator) = spawn_card_idp(&issuers, &moica).await;
    let client = app.add_client(|_| {});
    let (_, challenge) = pkce();
    let browser = Browser::start().await;

    // A request any card can meet: the chooser offers both card pages.
    let params = auth_params(&client, &challenge, &[("ui_locales", "zh-TW")]);
    let authorize = url::Url::parse_with_params(&app.url("/authorize"), &params).unwrap();
    browser.goto(authorize.as_str()).await;
    let login = browser.wait_url(&app.url("/interaction/")).await;
    let interaction = login.path().to_string();
    browser
        .wait_css(&format!("a[href=\"{interaction}/citizen-certificate\"]"))
        .await;
    browser
        .click_css(&format!("a[href=\"{interaction}/card\"]"))
        .await;
    browser
        .wait_url(&app.url(&format!("{interaction}/card")))
        .await;
    assert_eq!(
        form_shape(&browser).await.1,
        json!(true),
        "the NHI card page asks for the 註冊密碼"
    );
    assert_eq!(
        browser
            .eval("return document.getElementById('pin');", vec![])
            .await,
        Value::Null,
        "and has no PIN field"
    );
    let sessions = authenticator.sessions.load(Ordering::SeqCst);
    browser.click("read-card").await;
    browser
        .wait_attr("card-status", "data-error", "needs_nhi_card")
        .await;
    assert!(browser
        .text("card-status")
        .await
        .contains("您插入的是自然人憑證"));
    assert_eq!(authenticator.sessions.load(Ordering::SeqCst), sessions + 1);
    // Its link leads to the page that takes this card.
    browser.click("use-citizen-certificate").await;
    browser
        .wait_url(&app.url(&format!("{interaction}/citizen-certificate")))
        .await;

    // The apply page: 讀取 with the citizen certificate says an NHI card is needed (not
    // 「檢測失敗」), and 下一步 stays disabled.
    browser.goto(&app.url("/register/apply")).await;
    browser.wait_css("#read-card").await;
    browser.click("read-card").await;
    browser
        .wait_attr("card-status", "data-error", "needs_nhi_card")
        .await;
    let status = browser.text("card-status").await;
    assert!(
        status.contains("須使用健保卡") && status.contains("您插入的是自然人憑證"),
        "{status}"
    );
    assert!(!status.contains("檢測失敗"), "{status}");
    assert_eq!(
        browser.attr("login-submit", "disabled").await.as_deref(),
        Some("")
    );
    browser.screenshot("apply-moica-refused.png").await;

    // The 戶籍 fields: every township of a county, none of them from the registry (no
    // resident lives in 連江縣); 村里 and 鄰 are typed, 鄰 named once.
    browser.select("county", "連江縣").await;
    browser.wait_css("#township option[value=\"東引鄉\"]").await;
    let townships = browser
        .eval(
            "return Array.from(document.querySelectorAll('#township option')).slice(1).map(o => o.value);",
            vec![],
        )
        .await;
    assert_eq!(townships, json!(["南竿鄉", "北竿鄉", "莒光鄉", "東引鄉"]));
    assert_eq!(
        browser
            .eval(
                "return [document.getElementById('village').tagName, document.getElementById('village').type];",
                vec![]
            )
            .await,
        json!(["INPUT", "text"])
    );
    let neighborhood_labels = browser
        .eval(
            "return Array.from(document.querySelectorAll('label[for=neighborhood]')).map(l => l.textContent);",
            vec![],
        )
        .await;
    assert_eq!(neighborhood_labels, json!(["鄰"]));

    // The environment check names the card's kind in words, not `moica`.
    browser.goto(&app.url("/help/environment")).await;
    browser.wait_css("#check-card").await;
    browser.type_into("pin", "1234").await;
    browser.click("check-card").await;
    browser.wait_attr("result", "data-ok", "card").await;
    let result = browser.text("result").await;
    assert!(result.contains("自然人憑證認證成功：王小明"), "{result}");
    assert!(!result.contains("moica"), "{result}");
    browser.close().await;
}
