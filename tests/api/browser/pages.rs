//! axe-core on every page, in both languages. The walks check the pages they take pictures
//! of; this test lists every page a person or an admin can see and opens each one: the
//! pages anyone can fetch, the pages behind a signed-in member, the sign-in pages of an
//! authorization, and the admin console. A serious or critical WCAG 2.1 AA violation on
//! any of them fails it. The pages only a form post shows (apply step 2, the notices after
//! applying or confirming, consent, the logout confirmation, the maintenance page, a new
//! client's secret) are checked where the walks take their pictures.

use super::*;

/// The pages anyone can open with a plain address (some answer an error or a notice: those
/// are pages too).
const PUBLIC_PAGES: &[&str] = &[
    "/register",
    "/register/terms",
    "/register/apply",
    "/register/forgot",
    "/register/resend",
    "/register/delete",
    "/register/confirm?t=no-such-link",
    "/register/reset?t=no-such-link",
    "/help",
    "/help/faq",
    "/help/card-errors",
    "/help/manual",
    "/help/setup",
    "/help/environment",
    "/logout/done",
    "/no/such/page",
    "/authorize?client_id=nobody&response_type=code&scope=openid",
];

/// The member pages (signed in to the registration site with the card and password).
const MEMBER_PAGES: &[&str] = &[
    "/register/member",
    "/register/member/password",
    "/register/member/profile",
];

/// The admin console's pages (signed in as an admin).
const ADMIN_PAGES: &[&str] = &[
    "/admin",
    "/admin/clients",
    "/admin/clients/new",
    "/admin/registrations",
    "/admin/audit",
    "/admin/keys",
    "/admin/notices",
    "/admin/notices/new",
];

/// Opens `path` in both languages and checks each with axe-core; returns the names checked.
async fn check_both_languages(browser: &Browser, app: &TestApp, path: &str) -> Vec<String> {
    let mut checked = Vec::new();
    for lang in ["zh-TW", "en"] {
        let sep = if path.contains('?') { '&' } else { '?' };
        browser
            .goto(&app.url(&format!("{path}{sep}lang={lang}")))
            .await;
        browser.wait_css(&format!("html[lang=\"{lang}\"] h1")).await;
        let name = format!("{path} ({lang})");
        browser.assert_accessible(&name).await;
        checked.push(name);
    }
    checked
}

/// Signs in on the registration home with the card and the password.
async fn member_sign_in(browser: &Browser, app: &TestApp) {
    browser.goto(&app.url("/register?lang=zh-TW")).await;
    super::read_card(browser).await;
    browser.type_into("password", PASSWORD).await;
    browser.click("login-submit").await;
    browser.wait_url(&app.url("/register/member")).await;
}

/// An authorization of `client` in the browser: the page it lands on (the card page).
async fn start_authorization(
    browser: &Browser,
    app: &TestApp,
    client: &TestClient,
    extra: &[(&str, &str)],
) {
    let (_, challenge) = pkce();
    let params = auth_params(client, &challenge, extra);
    let authorize = url::Url::parse_with_params(&app.url("/authorize"), &params).unwrap();
    browser.goto(authorize.as_str()).await;
    browser.wait_url(&app.url("/interaction/")).await;
    browser.wait_css("h1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_passes_axe() {
    let issuers = Issuers::new();
    let card = holder_card(&issuers);
    let (app, _authenticator) = spawn_card_idp(&issuers, &card).await;
    register(&app, &card, false);
    let browser = Browser::start().await;
    let mut checked: Vec<String> = Vec::new();

    for path in PUBLIC_PAGES {
        checked.extend(check_both_languages(&browser, &app, path).await);
    }

    // The sign-in pages of an authorization: the chooser (no level asked: both cards can
    // do), the NHI card page and the citizen-certificate page.
    let client = app.add_client(|_| {});
    for lang in ["zh-TW", "en"] {
        for (page, extra, ends_with) in [
            ("sign-in chooser", None, None),
            (
                "NHI card sign-in",
                Some("urn:cardinal:acr:card"),
                Some("/card"),
            ),
            (
                "citizen-certificate sign-in",
                Some("urn:cardinal:acr:citizen-certificate"),
                Some("/citizen-certificate"),
            ),
        ] {
            let mut params = vec![("ui_locales", lang)];
            if let Some(acr) = extra {
                params.push(("acr_values", acr));
            }
            start_authorization(&browser, &app, &client, &params).await;
            let at = browser.client.current_url().await.unwrap();
            match ends_with {
                Some(end) => assert!(at.path().ends_with(end), "{page}: {at}"),
                None => assert!(
                    !at.path().ends_with("/card") && !at.path().ends_with("/citizen-certificate"),
                    "{page}: {at}"
                ),
            }
            let name = format!("{page} ({lang})");
            browser.assert_accessible(&name).await;
            checked.push(name);
        }
    }

    // The member pages.
    member_sign_in(&browser, &app).await;
    for path in MEMBER_PAGES {
        checked.extend(check_both_languages(&browser, &app, path).await);
    }

    // The admin console (the holder made an admin).
    cardinal::admin::roles::grant(&app.engine, &cardinal::admin::Actor::cli(), "000012345678")
        .unwrap();
    // (Signed in to Cardinal already: the console's sign-in needs no card again.)
    browser.goto(&app.url("/admin")).await;
    browser.wait_css("#admin-name").await;
    for path in ADMIN_PAGES {
        checked.extend(check_both_languages(&browser, &app, path).await);
    }

    eprintln!(
        "axe-core (WCAG 2.1 A/AA, serious and critical) found nothing on {} pages:\n  {}",
        checked.len(),
        checked.join("\n  ")
    );
    browser.close().await;
}
