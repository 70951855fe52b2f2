//! RP-initiated logout and back-channel logout (docs/security.md §1.6, P48–P49).

use crate::helpers::*;

async fn signed_in(app: &TestApp, client: &TestClient, person_id: &str) -> String {
    let (verifier, challenge) = pkce();
    let url = app
        .sign_in(&auth_params(client, &challenge, &[]), person_id)
        .await;
    let tokens: serde_json::Value = app
        .redeem(client, &query_param(&url, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    tokens["id_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn logout_with_hint_redirects_and_notifies_every_client_of_the_session() {
    let app = spawn_app().await;
    let receiver = spawn_receiver().await;
    let ecpa = app.add_client(|d| d.backchannel_logout_uri = Some(Some(receiver.uri.clone())));
    let webhr = app.add_client(|d| d.backchannel_logout_uri = Some(Some(receiver.uri.clone())));
    let person = app.add_person("未");
    let hint = signed_in(&app, &ecpa, &person.id).await;
    let webhr_id = signed_in(&app, &webhr, &person.id).await;
    let sid = jwt_claims(&hint)["sid"].as_str().unwrap().to_string();
    assert_eq!(
        jwt_claims(&webhr_id)["sid"],
        sid.as_str(),
        "one SSO session"
    );

    let r = app
        .browser
        .get(app.url("/logout"))
        .query(&[
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", "http://127.0.0.1:9/logged-out"),
            ("state", "bye"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "http://127.0.0.1:9/logged-out?state=bye");

    let tokens = wait_for(&receiver.tokens, 2).await;
    assert_eq!(tokens.len(), 2, "both clients get a logout token");
    let mut audiences = Vec::new();
    for t in &tokens {
        let header = jwt_header(t);
        assert_eq!(header["typ"], "logout+jwt");
        let c = jwt_claims(t);
        assert!(c["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
        assert!(c.get("nonce").is_none());
        assert_eq!(c["sid"], sid.as_str());
        assert_eq!(c["sub"], person.id.as_str());
        let lifetime = c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap();
        assert!(lifetime > 0 && lifetime <= 120, "short-lived: {lifetime}");
        audiences.push(c["aud"].as_str().unwrap().to_string());
    }
    audiences.sort();
    let mut expected = vec![ecpa.client_id.clone(), webhr.client_id.clone()];
    expected.sort();
    assert_eq!(audiences, expected);

    // The session is gone: prompt=none now answers login_required.
    let (_, challenge) = pkce();
    let resp = app
        .authorize(&auth_params(&ecpa, &challenge, &[("prompt", "none")]))
        .await;
    let url = url::Url::parse(&location(&resp)).unwrap();
    assert_eq!(
        query_param(&url, "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn logout_without_hint_asks_for_confirmation() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let person = app.add_person("申");
    signed_in(&app, &client, &person.id).await;
    let r = app.browser.get(app.url("/logout")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("登出確認"));
    assert!(
        page.contains("下列應用程式也將一併登出") && page.contains("<li>Test RP</li>"),
        "the confirmation lists what will be signed out: {page}"
    );
    // A forged confirmation does not log out.
    let forged = app
        .browser
        .post(app.url("/logout/confirm"))
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    let (_, challenge) = pkce();
    let still = app
        .authorize(&auth_params(&client, &challenge, &[("prompt", "none")]))
        .await;
    assert!(
        query_param(&url::Url::parse(&location(&still)).unwrap(), "code").is_some(),
        "still signed in"
    );
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let r = app
        .browser
        .post(app.url("/logout/confirm"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let done = r.text().await.unwrap();
    assert!(done.contains("已登出"));
    assert!(
        done.contains("Test RP"),
        "the page lists the applications signed out"
    );
}

#[tokio::test]
async fn unregistered_post_logout_redirect_uri_is_an_error_page() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let person = app.add_person("酉");
    let hint = signed_in(&app, &client, &person.id).await;
    let r = app
        .browser
        .get(app.url("/logout"))
        .query(&[
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    let r = app
        .browser
        .get(app.url("/logout"))
        .query(&[("post_logout_redirect_uri", "http://127.0.0.1:9/logged-out")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        400,
        "a redirect needs the client to be identified"
    );
    let r = app
        .browser
        .get(app.url("/logout"))
        .query(&[
            ("id_token_hint", "forged.token.here"),
            ("post_logout_redirect_uri", "http://127.0.0.1:9/logged-out"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn logout_revokes_the_sessions_tokens_but_not_offline_ones() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let person = app.add_person("戌");
    let (verifier, challenge) = pkce();
    let url = app
        .sign_in(
            &auth_params(&client, &challenge, &[("scope", "openid offline_access")]),
            &person.id,
        )
        .await;
    let offline: serde_json::Value = app
        .redeem(&client, &query_param(&url, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let (verifier, challenge) = pkce();
    let url = app
        .sign_in(&auth_params(&client, &challenge, &[]), &person.id)
        .await;
    let online: serde_json::Value = app
        .redeem(&client, &query_param(&url, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let hint = online["id_token"].as_str().unwrap();
    app.browser
        .get(app.url("/logout"))
        .query(&[("id_token_hint", hint)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        app.introspect(&client, online["access_token"].as_str().unwrap())
            .await["active"],
        false
    );
    assert_eq!(
        app.introspect(&client, offline["refresh_token"].as_str().unwrap())
            .await["active"],
        true,
        "offline_access survives logout"
    );
}
