//! Taking access away (issue: account lifecycle): a password reset or change, a deactivation
//! or a lockout ends what it must — sessions (with back-channel logout), grants, codes,
//! reset links — and every later use re-checks the registration; sessions end with the
//! browser and after an idle time; unknown essential acr and id_token_hint are honoured.
//! Run on SQLite, and on PostgreSQL with `TEST_POSTGRES`.

use cardinal::admin::{registrations, Actor};
use cardinal::store::RegistrationStatus;

use crate::card::Issuers;
use crate::card_login::{card_app, register, start, submit, PASSWORD};
use crate::helpers::*;
use crate::register::{card_form_post, link_in, post_reset, registered_app, wait_mail};

/// Everything a person was granted, to check afterwards that it is gone.
struct Granted {
    client: TestClient,
    access_token: String,
    refresh_token: String,
    /// A code issued (through SSO, `prompt=none`) but not redeemed yet.
    code: String,
    verifier: String,
}

/// Signs the holder of `card` in to a new client (with back-channel logout to `receiver`)
/// through the card page, redeems a code for offline tokens, and gets a second code through
/// SSO that is left unredeemed.
async fn grant_everything(app: &TestApp, card: &serde_json::Value, receiver: &Receiver) -> Granted {
    let client = app.add_client(|d| {
        d.backchannel_logout_uri = Some(Some(receiver.uri.clone()));
        d.scopes = Some(vec![
            "openid".into(),
            "profile".into(),
            "email".into(),
            "offline_access".into(),
        ]);
    });
    let (verifier, challenge) = pkce();
    let params = auth_params(
        &client,
        &challenge,
        &[("scope", "openid profile offline_access")],
    );
    let interaction = location(&app.authorize(&params).await);
    let r = submit(app, &interaction, card, PASSWORD).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let r = app.approve_consent(&interaction).await;
    let url = url::Url::parse(&location(&r)).unwrap();
    let code = query_param(&url, "code").expect("code");
    let tokens: serde_json::Value = app
        .redeem(&client, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let refresh_token = tokens["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_string();
    let access_token = tokens["access_token"].as_str().unwrap().to_string();
    let (verifier, challenge) = pkce();
    let silent = app
        .authorize(&auth_params(
            &client,
            &challenge,
            &[
                ("scope", "openid profile offline_access"),
                ("prompt", "none"),
            ],
        ))
        .await;
    let url = url::Url::parse(&location(&silent)).unwrap();
    let code = query_param(&url, "code").expect("SSO gives a code");
    Granted {
        client,
        access_token,
        refresh_token,
        code,
        verifier,
    }
}

async fn refresh(app: &TestApp, client: &TestClient, rt: &str) -> (u16, String) {
    let r = app.refresh(client, rt).await;
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap();
    (status, body["error"].as_str().unwrap_or("").to_string())
}

async fn userinfo_status(app: &TestApp, access_token: &str) -> u16 {
    app.api
        .get(app.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `prompt=none` in this browser: the `error` of the answer, or `code` when one was issued.
async fn silent_outcome(app: &TestApp, client: &TestClient) -> String {
    let (_, challenge) = pkce();
    let r = app
        .authorize(&auth_params(client, &challenge, &[("prompt", "none")]))
        .await;
    let url = url::Url::parse(&location(&r)).unwrap();
    query_param(&url, "error").unwrap_or_else(|| {
        assert!(query_param(&url, "code").is_some(), "{url}");
        "code".into()
    })
}

/// Asserts that nothing of `g` works any more, with the exact refusal of each path.
async fn assert_all_gone(app: &TestApp, g: &Granted) {
    assert_eq!(
        refresh(app, &g.client, &g.refresh_token).await,
        (400, "invalid_grant".to_string()),
        "the refresh token is dead"
    );
    assert_eq!(userinfo_status(app, &g.access_token).await, 401);
    assert_eq!(
        app.introspect(&g.client, &g.access_token).await["active"],
        false
    );
    assert_eq!(
        app.introspect(&g.client, &g.refresh_token).await["active"],
        false
    );
    let r = app.redeem(&g.client, &g.code, &g.verifier).await;
    assert_eq!(r.status(), 400, "the outstanding code is burnt");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(silent_outcome(app, &g.client).await, "login_required");
}

/// The `sid`s in the logout tokens received.
fn logged_out_sids(tokens: &[String]) -> Vec<String> {
    tokens
        .iter()
        .map(|t| {
            jwt_claims(t)["sid"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn a_reset_ends_every_session_grant_code_and_link_and_notifies_the_holder() {
    let issuers = Issuers::new();
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let (app, outbox) = registered_app(&issuers, &card, |_| {}).await;
    let receiver = spawn_receiver().await;
    let g = grant_everything(&app, &card, &receiver).await;
    let sid = jwt_claims(&g.access_token)["sid"].clone();
    assert_eq!(userinfo_status(&app, &g.access_token).await, 200);

    // Two reset links; the second one is used.
    for _ in 0..2 {
        card_form_post(
            &app,
            "/register/forgot",
            "forgot",
            &card,
            &[("mode", "registered")],
        )
        .await;
    }
    let mails = wait_mail(outbox.path(), 3).await;
    let links: Vec<String> = mails
        .iter()
        .filter(|m| m.contains("/register/reset?t="))
        .map(|m| link_in(m, &format!("{}/register/reset?t=", app.address)))
        .collect();
    assert_eq!(links.len(), 2);
    let mut working = Vec::new();
    for l in &links {
        if app.get(l).await.status() == 200 {
            working.push(l.clone());
        }
    }
    assert_eq!(working.len(), 1, "a new reset link replaces the older one");
    let link = working.remove(0);
    let t = link.rsplit('=').next().unwrap().to_string();
    let html = post_reset(&app, &link, &card, "Nw8~pQz5").await;
    assert!(html.contains("註冊密碼變更成功"), "{html}");

    assert_all_gone(&app, &g).await;
    let tokens = wait_for(&receiver.tokens, 1).await;
    assert_eq!(
        logged_out_sids(&tokens),
        vec![sid.as_str().unwrap().to_string()],
        "the client of the session got its back-channel logout"
    );
    let mails = wait_mail(outbox.path(), 4).await;
    let notice = mails
        .iter()
        .find(|m| m.contains("經由「忘記註冊密碼」變更成功"))
        .unwrap_or_else(|| panic!("註冊密碼已變更通知 in {mails:?}"));
    assert!(notice.contains("applicant@example.gov.tw"), "{notice}");
    assert!(notice.contains("王小明"), "{notice}");
    assert!(!notice.contains("Nw8~pQz5"), "never the password");
    assert_not_logged(&["Nw8~pQz5", &g.refresh_token, &t]);
}

/// Signs the holder in on the registration site's own login box, in this browser.
async fn post_member_login(
    app: &TestApp,
    card: &serde_json::Value,
    password: &str,
) -> reqwest::Response {
    let home = app.get("/register").await.text().await.unwrap();
    let csrf = hidden_value(&home, "csrf_token").unwrap();
    let c = crate::register::challenge(app, "home").await;
    let token = serde_json::to_string(&crate::card::sign_token(card, &app.address, &c)).unwrap();
    app.browser
        .post(app.url("/register/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("challenge", c.as_str()),
            ("token", token.as_str()),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

async fn member_login(app: &TestApp, card: &serde_json::Value, password: &str) {
    let r = post_member_login(app, card, password).await;
    assert_eq!(location(&r), "/register/member");
}

async fn change_password(app: &TestApp, old: &str, new: &str) -> reqwest::Response {
    let page = app
        .get("/register/member/password")
        .await
        .text()
        .await
        .unwrap();
    let csrf = hidden_value(&page, "csrf_token").expect("the member is signed in");
    app.browser
        .post(app.url("/register/member/password"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("old_password", old),
            ("password", new),
            ("password_confirm", new),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_change_renews_the_member_session_and_ends_everything_else() {
    let issuers = Issuers::new();
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let (app, outbox) = registered_app(&issuers, &card, |_| {}).await;
    let receiver = spawn_receiver().await;
    let g = grant_everything(&app, &card, &receiver).await;
    let person_id = jwt_claims(&g.access_token)["sub"]
        .as_str()
        .unwrap()
        .to_string();
    let old_sid = jwt_claims(&g.access_token)["sid"]
        .as_str()
        .unwrap()
        .to_string();
    member_login(&app, &card, PASSWORD).await;

    // The card number is personal data: refused as a password.
    let r = change_password(&app, PASSWORD, "000012345678").await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("data-error=\"password_personal_data\""));

    let r = change_password(&app, PASSWORD, "Nw8~pQz5").await;
    assert_eq!(r.status(), 200);
    let set_cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("cardinal_session="))
        .expect("a renewed session cookie");
    assert!(
        !set_cookie.to_ascii_lowercase().contains("max-age")
            && !set_cookie.to_ascii_lowercase().contains("expires"),
        "a browser-session cookie: {set_cookie}"
    );
    assert!(r.text().await.unwrap().contains("註冊密碼變更成功"));

    // Still a member, on a new session; the old one (and its client) ended.
    let member = app.get("/register/member").await;
    assert_eq!(member.status(), 200, "the renewed session works");
    let sessions = app
        .engine
        .store()
        .person_sessions(&person_id, app.engine.now())
        .unwrap();
    assert_eq!(sessions.len(), 1, "only the renewed session is left");
    assert_ne!(sessions[0].sid, old_sid);
    assert!(app
        .engine
        .store()
        .session_clients(&sessions[0].sid)
        .unwrap()
        .is_empty());
    assert_eq!(
        refresh(&app, &g.client, &g.refresh_token).await,
        (400, "invalid_grant".to_string())
    );
    assert_eq!(userinfo_status(&app, &g.access_token).await, 401);
    assert_eq!(
        app.redeem(&g.client, &g.code, &g.verifier).await.status(),
        400
    );
    let tokens = wait_for(&receiver.tokens, 1).await;
    assert_eq!(logged_out_sids(&tokens), vec![old_sid]);
    let mails = wait_mail(outbox.path(), 2).await;
    assert!(
        mails
            .iter()
            .any(|m| m.contains("經由「註冊密碼變更」變更成功") && m.contains("王小明")),
        "{mails:?}"
    );
}

#[tokio::test]
async fn a_wrong_old_password_has_its_own_message_and_locks_at_the_threshold() {
    let issuers = Issuers::new();
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let (app, _outbox) = registered_app(&issuers, &card, |_| {}).await;
    member_login(&app, &card, PASSWORD).await;
    for remaining in (1..=4).rev() {
        let r = change_password(&app, "Wrong~pass1", "Nw8~pQz5").await;
        assert_eq!(r.status(), 400);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("data-error=\"wrong_old_password\"")
                && html.contains(&format!(
                    "原註冊密碼錯誤，再錯誤 {remaining} 次將鎖定您的註冊"
                )),
            "{html}"
        );
        assert!(
            !html.contains("兩次輸入的註冊密碼不一致"),
            "not the mismatch message"
        );
    }
    let r = change_password(&app, "Wrong~pass1", "Nw8~pQz5").await;
    let html = r.text().await.unwrap();
    assert!(html.contains("data-error=\"locked\""), "{html}");
    let (person, reg) = app
        .engine
        .store()
        .find_by_card("000012345678")
        .unwrap()
        .unwrap();
    assert_eq!(reg.unwrap().status, RegistrationStatus::Locked);
    assert!(app
        .engine
        .store()
        .person_sessions(&person.id, app.engine.now())
        .unwrap()
        .is_empty());
    assert_eq!(location(&app.get("/register/member").await), "/register");
    // The same lockout as sign-in: the right password no longer signs in.
    let r = post_member_login(&app, &card, PASSWORD).await;
    assert!(r.text().await.unwrap().contains("data-error=\"locked\""));
}

#[tokio::test]
async fn deactivation_at_the_counter_ends_everything_at_once() {
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let person_id = register(&app, &card, false);
    let receiver = spawn_receiver().await;
    let g = grant_everything(&app, &card, &receiver).await;
    let engine = app.engine.clone();
    let pid = person_id.clone();
    let changed = tokio::task::spawn_blocking(move || {
        registrations::deactivate(&engine, &Actor::cli(), &pid, "申請人臨櫃停用")
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(changed.deliveries.len(), 1, "one client to log out");
    assert_all_gone(&app, &g).await;
}

#[tokio::test]
async fn every_later_use_rechecks_the_registration() {
    // A lockout at the card page ends no session by itself: the re-checks must hold alone.
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let person_id = register(&app, &card, false);
    let receiver = spawn_receiver().await;
    let g = grant_everything(&app, &card, &receiver).await;
    let other = app.add_client(|_| {});
    let (_, challenge) = pkce();
    let params = auth_params(&other, &challenge, &[("prompt", "login")]);
    let interaction = location(&app.authorize(&params).await);
    for _ in 0..5 {
        submit(&app, &interaction, &card, "Wrong~pass1").await;
    }
    let reg = app
        .engine
        .store()
        .find_registration(&person_id)
        .unwrap()
        .unwrap();
    assert_eq!(reg.status, RegistrationStatus::Locked);
    assert_eq!(
        app.engine
            .store()
            .person_sessions(&person_id, app.engine.now())
            .unwrap()
            .len(),
        1,
        "the session row is still there"
    );
    assert_all_gone(&app, &g).await;
}

#[tokio::test]
async fn sessions_end_with_the_browser_and_after_the_idle_timeout() {
    let app = spawn_app().await;
    let client = app.add_client(|d| d.skip_consent = Some(true));
    let person = app.add_person("林");
    let (_, challenge) = pkce();
    let resp = app.authorize(&auth_params(&client, &challenge, &[])).await;
    let interaction = location(&resp);
    let r = app.test_login(&interaction, &person.id, None).await;
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .find(|c| c.starts_with("cardinal_session="))
        .expect("session cookie");
    assert!(
        !cookie.contains("max-age") && !cookie.contains("expires"),
        "{cookie}"
    );
    assert!(cookie.contains("httponly") && cookie.contains("samesite=lax"));
    app.get(&location(&r)).await;

    // Used every 29 minutes, it lives on; the idle time counts from the last use.
    for _ in 0..3 {
        app.clock.advance(29 * 60);
        assert_eq!(silent_outcome(&app, &client).await, "code");
    }
    app.clock.advance(31 * 60);
    assert_eq!(silent_outcome(&app, &client).await, "login_required");
}

/// An app, a first-party client and a person signed in to it in the app's browser.
async fn signed_in_to_a_first_party_client() -> (TestApp, TestClient, cardinal::store::Person) {
    let app = spawn_app().await;
    let client = app.add_client(|d| d.skip_consent = Some(true));
    let person = app.add_person("林");
    let (_, challenge) = pkce();
    app.sign_in(&auth_params(&client, &challenge, &[]), &person.id)
        .await;
    (app, client, person)
}

#[tokio::test]
async fn the_absolute_lifetime_holds_however_busy_the_session() {
    let (app, client, _) = signed_in_to_a_first_party_client().await;
    for _ in 0..(12 * 60 / 20 - 1) {
        app.clock.advance(20 * 60);
        assert_eq!(silent_outcome(&app, &client).await, "code");
    }
    app.clock.advance(20 * 60);
    assert_eq!(silent_outcome(&app, &client).await, "login_required");
}

#[tokio::test]
async fn the_idle_timeout_is_shared_by_instances_on_one_database() {
    let (app_a, client, person) = signed_in_to_a_first_party_client().await;
    let app_b = spawn_on(app_a.db.clone(), |_| {}).await;
    // The browser's cookies go to B as well (a load balancer in front of both).
    let cookie = app_a
        .engine
        .store()
        .person_sessions(&person.id, app_a.engine.now())
        .unwrap();
    assert_eq!(cookie.len(), 1);
    // Use on A at +20 min keeps it alive for B at +45 min; idle on both at +51 min.
    app_a.clock.advance(20 * 60);
    app_b.clock.advance(20 * 60);
    assert_eq!(silent_outcome(&app_a, &client).await, "code");
    app_b.clock.advance(25 * 60);
    let s = app_b
        .engine
        .store()
        .find_session_by_sid(&cookie[0].sid)
        .unwrap()
        .unwrap();
    assert!(
        s.is_active(
            app_b.engine.now(),
            app_b.engine.settings().tokens.session_idle_ttl
        ),
        "B sees A's use"
    );
    app_b.clock.advance(6 * 60);
    assert!(!s.is_active(
        app_b.engine.now(),
        app_b.engine.settings().tokens.session_idle_ttl
    ));
}

#[tokio::test]
async fn an_unknown_essential_acr_is_unmet_and_passkey_is_not_offered() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let (_, challenge) = pkce();
    let claims = r#"{"id_token":{"acr":{"essential":true,"values":["urn:example:acr:unknown"]}}}"#;
    let r = app
        .authorize(&auth_params(&client, &challenge, &[("claims", claims)]))
        .await;
    let url = url::Url::parse(&location(&r)).unwrap();
    assert_eq!(
        query_param(&url, "error").as_deref(),
        Some("unmet_authentication_requirements")
    );
    assert_eq!(query_param(&url, "state").as_deref(), Some("st-123"));
    // Passkey is known but cannot be reached yet: unmet too when essential.
    let claims = r#"{"id_token":{"acr":{"essential":true,"value":"urn:cardinal:acr:passkey"}}}"#;
    let r = app
        .authorize(&auth_params(&client, &challenge, &[("claims", claims)]))
        .await;
    let url = url::Url::parse(&location(&r)).unwrap();
    assert_eq!(
        query_param(&url, "error").as_deref(),
        Some("unmet_authentication_requirements")
    );
    // A voluntary unknown acr is ignored: the user is asked to sign in.
    let r = app
        .authorize(&auth_params(
            &client,
            &challenge,
            &[("acr_values", "urn:example:acr:unknown")],
        ))
        .await;
    assert!(location(&r).starts_with("/interaction/"));
    let discovery: serde_json::Value = app
        .api
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["acr_values_supported"],
        serde_json::json!([
            "urn:cardinal:acr:card",
            "urn:cardinal:acr:citizen-certificate"
        ])
    );
    let refused = cardinal::admin::clients::records::create(
        &app.engine,
        &cardinal::admin::clients::ClientDraft {
            name: Some("needs passkey".into()),
            redirect_uris: Some(vec![REDIRECT_URI.into()]),
            min_acr: Some(Some("passkey".into())),
            ..Default::default()
        },
    );
    assert!(
        refused.is_err(),
        "a minimum no sign-in can reach is refused"
    );
}

#[tokio::test]
async fn a_card_of_another_person_than_id_token_hint_is_refused_on_the_card_page() {
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    let wang = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let mut chen = issuers.issue("nhi", "nhi", "000087654321", "陳美華", 365);
    // Another person (the test issuer gives every card the same national ID).
    chen["national_id"] = serde_json::json!("B223456782");
    let wang_id = register(&app, &wang, false);
    let chen_id = register(&app, &chen, false);
    let client = app.add_client(|d| d.skip_consent = Some(true));
    let (verifier, challenge) = pkce();
    let interaction = start(&app, &client, &challenge).await;
    submit(&app, &interaction, &wang, PASSWORD).await;
    let r = app.get(&interaction).await;
    let url = url::Url::parse(&location(&r)).unwrap();
    let tokens: serde_json::Value = app
        .redeem(&client, &query_param(&url, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let hint = tokens["id_token"].as_str().unwrap().to_string();

    // The application asks for 王小明 again (prompt=login); 陳美華's card is refused.
    let (_, challenge) = pkce();
    let params = auth_params(
        &client,
        &challenge,
        &[("id_token_hint", hint.as_str()), ("prompt", "login")],
    );
    let interaction = location(&app.authorize(&params).await);
    let r = submit(&app, &interaction, &chen, PASSWORD).await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("data-error=\"hint_mismatch\"")
            && html.contains("此卡片的持卡人與應用系統要求登入的使用者不同"),
        "{html}"
    );
    assert!(
        app.engine
            .store()
            .person_sessions(&chen_id, app.engine.now())
            .unwrap()
            .is_empty(),
        "nothing of 陳美華's sign-in is kept"
    );
    // 王小明's own card goes through.
    let r = submit(&app, &interaction, &wang, PASSWORD).await;
    assert_eq!(r.status(), 303);
    let r = app.get(&interaction).await;
    let url = url::Url::parse(&location(&r)).unwrap();
    assert!(query_param(&url, "code").is_some(), "{url}");
    assert_eq!(
        app.engine
            .store()
            .person_sessions(&wang_id, app.engine.now())
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn an_admin_whose_registration_is_locked_is_out_of_the_console() {
    let app = spawn_app().await;
    let admin = crate::admin_cli::resident(&app, 62, "000066660002", "管理員", false);
    cardinal::admin::roles::grant(&app.engine, &Actor::cli(), "000066660002").unwrap();
    let r = crate::admin_console::console_sign_in(&app, &admin).await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.get("/admin/clients").await.status(), 200);
    // Locked (say by wrong passwords at a card page): no session was ended, yet the
    // console refuses at once.
    let failed = app
        .engine
        .store()
        .record_failed_login(&admin, 1, app.engine.now())
        .unwrap()
        .unwrap();
    assert!(failed.locked_now);
    assert_eq!(location(&app.get("/admin/clients").await), "/admin/login");
}
