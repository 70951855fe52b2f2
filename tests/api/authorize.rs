//! The authorization endpoint (docs/security.md §1.1, P1–P16).

use crate::helpers::*;

fn assert_error_page(resp: &reqwest::Response) {
    assert_eq!(resp.status(), 400);
    assert!(
        resp.headers().get("location").is_none(),
        "an error page never redirects"
    );
}

#[tokio::test]
async fn unknown_client_gets_an_error_page_and_no_redirect() {
    let app = spawn_app().await;
    let resp = app
        .authorize(&[
            ("response_type", "code"),
            ("client_id", "nobody"),
            ("redirect_uri", "https://evil.example/cb"),
            ("scope", "openid"),
        ])
        .await;
    assert_error_page(&resp);
    assert!(resp.text().await.unwrap().contains("invalid_request"));
}

#[tokio::test]
async fn unregistered_or_inexact_redirect_uri_gets_an_error_page() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let (_, challenge) = pkce();
    for bad in [
        "https://evil.example/cb",
        "http://127.0.0.1:9/callback/",
        "http://127.0.0.1:9/callback?x=1",
        "http://127.0.0.1:9/CALLBACK",
        "http://127.0.0.1:9/callback#f",
    ] {
        let params = auth_params(&client, &challenge, &[("redirect_uri", bad)]);
        let resp = app.authorize(&params).await;
        assert_error_page(&resp);
    }
    let mut params = auth_params(&client, &challenge, &[]);
    params.retain(|(k, _)| *k != "redirect_uri");
    assert_error_page(&app.authorize(&params).await);
}

#[tokio::test]
async fn loopback_redirect_uri_may_use_any_port() {
    let app = spawn_app().await;
    let client = app.add_client(|d| d.redirect_uris = Some(vec!["http://127.0.0.1/cb".into()]));
    let (_, challenge) = pkce();
    let params = auth_params(
        &client,
        &challenge,
        &[("redirect_uri", "http://127.0.0.1:51234/cb")],
    );
    let resp = app.authorize(&params).await;
    assert_eq!(resp.status(), 303);
    assert!(location(&resp).starts_with("/interaction/"));
}

#[tokio::test]
async fn protocol_errors_redirect_with_iss_and_state() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let (_, challenge) = pkce();
    let long_state = "s".repeat(1500);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (
            vec![("response_type", "code id_token")],
            "unsupported_response_type",
        ),
        (vec![("scope", "profile")], "invalid_scope"),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (
            vec![("request", "eyJhbGciOiJub25lIn0.e30.")],
            "request_not_supported",
        ),
        (
            vec![("request_uri", "https://rp.example/req")],
            "request_uri_not_supported",
        ),
        (vec![("prompt", "none login")], "invalid_request"),
        (vec![("max_age", "-1")], "invalid_request"),
        (vec![("claims", MALFORMED_JSON)], "invalid_request"),
        (vec![("response_mode", "fragment")], "invalid_request"),
        (vec![("id_token_hint", "not.a.jwt")], "invalid_request"),
        (vec![("prompt", "none")], "login_required"),
    ];
    for (extra, expected) in cases {
        let mut extra = extra;
        extra.push(("state", &long_state));
        let params = auth_params(&client, &challenge, &extra);
        let resp = app.authorize(&params).await;
        assert_eq!(resp.status(), 303, "{expected}: 303 See Other");
        let url = url::Url::parse(&location(&resp)).unwrap();
        assert!(url.as_str().starts_with(REDIRECT_URI));
        assert_eq!(
            query_param(&url, "error").as_deref(),
            Some(expected),
            "{extra:?}"
        );
        assert_eq!(
            query_param(&url, "iss").as_deref(),
            Some(app.address.as_str())
        );
        assert_eq!(
            query_param(&url, "state").as_deref(),
            Some(long_state.as_str()),
            "long state echoed unchanged"
        );
    }
}

#[tokio::test]
async fn repeated_parameters_are_refused() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let (_, challenge) = pkce();
    let mut params = auth_params(&client, &challenge, &[]);
    params.push(("scope", "openid"));
    let url = url::Url::parse(&location(&app.authorize(&params).await)).unwrap();
    assert_eq!(
        query_param(&url, "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn public_clients_must_send_pkce_and_plain_is_refused() {
    let app = spawn_app().await;
    let client = app.add_client(|d| {
        d.auth_method = Some("none".into());
        d.grant_types = Some(vec!["authorization_code".into()]);
    });
    let mut params = auth_params(&client, "x", &[]);
    params.retain(|(k, _)| !k.starts_with("code_challenge"));
    let url = url::Url::parse(&location(&app.authorize(&params).await)).unwrap();
    assert_eq!(
        query_param(&url, "error").as_deref(),
        Some("invalid_request")
    );
    assert!(query_param(&url, "error_description")
        .unwrap()
        .contains("PKCE"));
}

#[tokio::test]
async fn client_without_code_grant_is_unauthorized() {
    let app = spawn_app().await;
    let client = app.add_client(|d| d.grant_types = Some(vec!["authorization_code".into()]));
    // Turn the client into a machine client after registration.
    let mut stored = app
        .engine
        .store()
        .find_client(&client.client_id)
        .unwrap()
        .unwrap();
    stored.grant_types = vec![cardinal::domain::GrantType::ClientCredentials];
    app.engine.store().update_client(&stored).unwrap();
    let (_, challenge) = pkce();
    let url = url::Url::parse(&location(
        &app.authorize(&auth_params(&client, &challenge, &[])).await,
    ))
    .unwrap();
    assert_eq!(
        query_param(&url, "error").as_deref(),
        Some("unauthorized_client")
    );
}

#[tokio::test]
async fn login_page_cannot_be_framed_and_sends_no_referrer() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let (_, challenge) = pkce();
    let resp = app.authorize(&auth_params(&client, &challenge, &[])).await;
    assert!(
        resp.headers().get("access-control-allow-origin").is_none(),
        "no CORS at /authorize"
    );
    let page = app.get(&location(&resp)).await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("登入"), "zh-TW by default");
}

#[tokio::test]
async fn ui_locales_selects_english() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let (_, challenge) = pkce();
    let resp = app
        .authorize(&auth_params(&client, &challenge, &[("ui_locales", "en")]))
        .await;
    let html = app.get(&location(&resp)).await.text().await.unwrap();
    assert!(html.contains("Sign in"), "{html}");
}

#[tokio::test]
async fn interaction_from_another_browser_is_refused() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let person = app.add_person("甲");
    let (_, challenge) = pkce();
    let interaction = location(&app.authorize(&auth_params(&client, &challenge, &[])).await);
    let other = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let id = interaction.rsplit('/').next().unwrap();
    let resp = other
        .post(app.url(&format!("/test-login/{id}")))
        .form(&[("person_id", person.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_error_page(&resp);
}

#[tokio::test]
async fn sso_session_skips_login_and_remembered_consent_skips_consent() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let person = app.add_person("乙");
    let (_, challenge) = pkce();
    let first = app
        .sign_in(&auth_params(&client, &challenge, &[]), &person.id)
        .await;
    assert!(query_param(&first, "code").is_some());
    // Second request: no login page, no consent page: straight back with a code.
    let resp = app.authorize(&auth_params(&client, &challenge, &[])).await;
    let url = url::Url::parse(&location(&resp)).unwrap();
    assert!(query_param(&url, "code").is_some(), "{url}");
    // prompt=none works now.
    let resp = app
        .authorize(&auth_params(&client, &challenge, &[("prompt", "none")]))
        .await;
    let url = url::Url::parse(&location(&resp)).unwrap();
    assert!(query_param(&url, "code").is_some());
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_new_sign_in() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let person = app.add_person("丙");
    let (_, challenge) = pkce();
    app.sign_in(&auth_params(&client, &challenge, &[]), &person.id)
        .await;
    let resp = app
        .authorize(&auth_params(&client, &challenge, &[("prompt", "login")]))
        .await;
    assert!(
        location(&resp).starts_with("/interaction/"),
        "prompt=login asks again"
    );
    app.clock.advance(120);
    let resp = app
        .authorize(&auth_params(&client, &challenge, &[("max_age", "60")]))
        .await;
    assert!(
        location(&resp).starts_with("/interaction/"),
        "max_age exceeded asks again"
    );
    let resp = app
        .authorize(&auth_params(
            &client,
            &challenge,
            &[("max_age", "60"), ("prompt", "none")],
        ))
        .await;
    let url = url::Url::parse(&location(&resp)).unwrap();
    assert_eq!(
        query_param(&url, "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn prompt_none_without_consent_is_consent_required() {
    let app = spawn_app().await;
    let a = app.add_client(|_| {});
    let b = app.add_client(|_| {});
    let person = app.add_person("丁");
    let (_, challenge) = pkce();
    app.sign_in(&auth_params(&a, &challenge, &[]), &person.id)
        .await;
    let resp = app
        .authorize(&auth_params(&b, &challenge, &[("prompt", "none")]))
        .await;
    let url = url::Url::parse(&location(&resp)).unwrap();
    assert_eq!(
        query_param(&url, "error").as_deref(),
        Some("consent_required")
    );
}

#[tokio::test]
async fn skip_consent_clients_are_not_asked() {
    let app = spawn_app().await;
    let client = app.add_client(|d| d.skip_consent = Some(true));
    let person = app.add_person("戊");
    let (_, challenge) = pkce();
    let resp = app.authorize(&auth_params(&client, &challenge, &[])).await;
    let interaction = location(&resp);
    let r = app.test_login(&interaction, &person.id, None).await;
    let r = app.get(&location(&r)).await;
    assert_eq!(r.status(), 303, "no consent page for a first-party client");
    assert!(query_param(&url::Url::parse(&location(&r)).unwrap(), "code").is_some());
}

#[tokio::test]
async fn consent_denied_returns_access_denied() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let person = app.add_person("己");
    let (_, challenge) = pkce();
    let interaction = location(&app.authorize(&auth_params(&client, &challenge, &[])).await);
    app.test_login(&interaction, &person.id, None).await;
    let page = app.get(&interaction).await.text().await.unwrap();
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    // A forged form without the right CSRF token does nothing.
    let forged = app
        .browser
        .post(app.url(&format!("{interaction}/consent")))
        .form(&[("csrf_token", "x"), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_error_page(&forged);
    let r = app
        .browser
        .post(app.url(&format!("{interaction}/consent")))
        .form(&[("csrf_token", csrf.as_str()), ("decision", "deny")])
        .send()
        .await
        .unwrap();
    let url = url::Url::parse(&location(&r)).unwrap();
    assert_eq!(query_param(&url, "error").as_deref(), Some("access_denied"));
    assert_eq!(
        query_param(&url, "iss").as_deref(),
        Some(app.address.as_str())
    );
}

#[tokio::test]
async fn form_post_response_mode_posts_code_state_and_iss() {
    let app = spawn_app().await;
    let client = app.add_client(|d| d.skip_consent = Some(true));
    let person = app.add_person("庚");
    let (_, challenge) = pkce();
    let interaction = location(
        &app.authorize(&auth_params(
            &client,
            &challenge,
            &[("response_mode", "form_post")],
        ))
        .await,
    );
    app.test_login(&interaction, &person.id, None).await;
    let r = app.get(&interaction).await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'nonce-"), "{csp}");
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!(
            "action=\"{}\"",
            REDIRECT_URI.replace('/', "&#x2F;")
        )) || html.contains(REDIRECT_URI),
        "{html}"
    );
    assert!(hidden_value(&html, "code").is_some());
    assert_eq!(hidden_value(&html, "state").as_deref(), Some("st-123"));
    assert!(html.contains("name=\"iss\""));
}

#[tokio::test]
async fn acr_values_force_step_up_and_unmet_essential_acr_is_an_error() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let person = app.add_person("辛");
    let (_, challenge) = pkce();
    app.sign_in(&auth_params(&client, &challenge, &[]), &person.id)
        .await;
    let cc = "urn:cardinal:acr:citizen-certificate";
    // The card session does not satisfy citizen-certificate: sign in again.
    let resp = app
        .authorize(&auth_params(&client, &challenge, &[("acr_values", cc)]))
        .await;
    let interaction = location(&resp);
    assert!(interaction.starts_with("/interaction/"));
    let page = app.get(&interaction).await.text().await.unwrap();
    assert!(
        page.contains("自然人憑證"),
        "the login page names the required level"
    );
    // An essential acr that the new sign-in does not reach is an error, never a lower acr.
    let claims = format!(r#"{{"id_token":{{"acr":{{"essential":true,"values":["{cc}"]}}}}}}"#);
    let interaction = location(
        &app.authorize(&auth_params(&client, &challenge, &[("claims", &claims)]))
            .await,
    );
    let r = app
        .test_login(&interaction, &person.id, Some("urn:cardinal:acr:card"))
        .await;
    let r = app.get(&location(&r)).await;
    let url = url::Url::parse(&location(&r)).unwrap();
    assert_eq!(
        query_param(&url, "error").as_deref(),
        Some("unmet_authentication_requirements")
    );
    // With the stronger method it succeeds and the token says so.
    let (verifier, challenge) = pkce();
    let interaction = location(
        &app.authorize(&auth_params(&client, &challenge, &[("claims", &claims)]))
            .await,
    );
    let r = app.test_login(&interaction, &person.id, Some(cc)).await;
    let r = app.get(&location(&r)).await;
    let url = url::Url::parse(&location(&r)).unwrap();
    let code = query_param(&url, "code").expect("code");
    let tokens: serde_json::Value = app
        .redeem(&client, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(jwt_claims(tokens["id_token"].as_str().unwrap())["acr"], cc);
}

#[tokio::test]
async fn client_minimum_acr_forces_step_up() {
    let app = spawn_app().await;
    let low = app.add_client(|_| {});
    let high = app.add_client(|d| d.min_acr = Some(Some("citizen-certificate".into())));
    let person = app.add_person("壬");
    let (_, challenge) = pkce();
    app.sign_in(&auth_params(&low, &challenge, &[]), &person.id)
        .await;
    let resp = app
        .authorize(&auth_params(&high, &challenge, &[("prompt", "none")]))
        .await;
    let url = url::Url::parse(&location(&resp)).unwrap();
    assert_eq!(
        query_param(&url, "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn id_token_hint_for_someone_else_requires_login() {
    let app = spawn_app().await;
    let client = app.add_client(|d| d.skip_consent = Some(true));
    let alice = app.add_person("Alice");
    let (verifier, challenge) = pkce();
    let url = app
        .sign_in(&auth_params(&client, &challenge, &[]), &alice.id)
        .await;
    let tokens: serde_json::Value = app
        .redeem(&client, &query_param(&url, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let alice_hint = tokens["id_token"].as_str().unwrap().to_string();
    // Bob signs in in the same browser.
    let bob = app.add_person("Bob");
    let interaction = location(
        &app.authorize(&auth_params(&client, &challenge, &[("prompt", "login")]))
            .await,
    );
    app.test_login(&interaction, &bob.id, None).await;
    app.get(&interaction).await;
    let resp = app
        .authorize(&auth_params(
            &client,
            &challenge,
            &[("prompt", "none"), ("id_token_hint", &alice_hint)],
        ))
        .await;
    let url = url::Url::parse(&location(&resp)).unwrap();
    assert_eq!(
        query_param(&url, "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn unknown_parameters_are_ignored() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let (_, challenge) = pkce();
    let resp = app
        .authorize(&auth_params(
            &client,
            &challenge,
            &[("foo", "bar"), ("login_hint", "A123")],
        ))
        .await;
    assert!(location(&resp).starts_with("/interaction/"));
}

#[tokio::test]
async fn error_page_explains_in_the_requested_language() {
    let app = spawn_app().await;
    let params = [
        ("response_type", "code"),
        ("client_id", "nobody"),
        ("redirect_uri", "https://evil.example/cb"),
        ("scope", "openid"),
    ];
    let zh = app
        .api
        .get(app.url("/authorize"))
        .query(&params)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        zh.contains("應用程式送出的登入要求不正確") && zh.contains("invalid_request"),
        "{zh}"
    );
    let mut en_params = params.to_vec();
    en_params.push(("ui_locales", "en"));
    let en = app
        .api
        .get(app.url("/authorize"))
        .query(&en_params)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        en.contains("The application sent a sign-in request"),
        "{en}"
    );
}
