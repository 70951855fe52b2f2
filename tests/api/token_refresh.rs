//! Refresh tokens: rotation, reuse detection, narrowing, revocation
//! (docs/security.md P38–P41).

use crate::helpers::*;

async fn offline_tokens(app: &TestApp, client: &TestClient) -> serde_json::Value {
    let person = app.add_person("寅");
    let (verifier, challenge) = pkce();
    let url = app
        .sign_in(
            &auth_params(
                client,
                &challenge,
                &[("scope", "openid email offline_access")],
            ),
            &person.id,
        )
        .await;
    app.redeem(client, &query_param(&url, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap()
}

async fn refresh(
    app: &TestApp,
    client: &TestClient,
    rt: &str,
    scope: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    app.api
        .post(app.url("/token"))
        .basic_auth(&client.client_id, client.secret.as_deref())
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn no_refresh_token_without_offline_access() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let person = app.add_person("卯");
    let (verifier, challenge) = pkce();
    let url = app
        .sign_in(&auth_params(&client, &challenge, &[]), &person.id)
        .await;
    let body: serde_json::Value = app
        .redeem(&client, &query_param(&url, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    assert!(body.get("refresh_token").is_none());
}

#[tokio::test]
async fn rotation_issues_a_new_token_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let first = offline_tokens(&app, &client).await;
    let rt1 = first["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string();
    let second: serde_json::Value = refresh(&app, &client, &rt1, None)
        .await
        .json()
        .await
        .unwrap();
    let rt2 = second["refresh_token"].as_str().unwrap().to_string();
    let at2 = second["access_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    assert!(second["id_token"].is_string());
    assert_eq!(app.introspect(&client, &rt2).await["active"], true);

    let reuse = refresh(&app, &client, &rt1, None).await;
    assert_eq!(reuse.status(), 400);
    let body: serde_json::Value = reuse.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        app.introspect(&client, &rt2).await["active"],
        false,
        "the newer refresh token died with the family"
    );
    assert_eq!(
        app.introspect(&client, &at2).await["active"],
        false,
        "so did its access token"
    );
    assert_eq!(refresh(&app, &client, &rt2, None).await.status(), 400);
}

#[tokio::test]
async fn refresh_can_narrow_but_not_widen_scope() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let tokens = offline_tokens(&app, &client).await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let wide = refresh(&app, &client, rt, Some("openid email phone offline_access")).await;
    assert_eq!(
        wide.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_scope"
    );
    let narrow: serde_json::Value = refresh(&app, &client, rt, Some("openid email"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(narrow["scope"], "email openid");
}

#[tokio::test]
async fn refresh_token_is_bound_to_its_client() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let other = app.add_client(|_| {});
    let tokens = offline_tokens(&app, &client).await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&app, &other, rt, None).await.status(), 400);
    assert_eq!(
        refresh(&app, &client, rt, None).await.status(),
        200,
        "a foreign attempt does not burn it"
    );
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_the_grant() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let tokens = offline_tokens(&app, &client).await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let at = tokens["access_token"].as_str().unwrap();
    let r = app
        .api
        .post(app.url("/revoke"))
        .basic_auth(&client.client_id, client.secret.as_deref())
        .form(&[("token", rt)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(refresh(&app, &client, rt, None).await.status(), 400);
    assert_eq!(app.introspect(&client, at).await["active"], false);
    // Unknown tokens are accepted silently (RFC 7009 §2.2).
    let r = app
        .api
        .post(app.url("/revoke"))
        .basic_auth(&client.client_id, client.secret.as_deref())
        .form(&[("token", "nonsense")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn refresh_family_has_an_absolute_expiry() {
    let app = spawn_app_with(|s| s.tokens.refresh_token_ttl = 3600).await;
    let client = app.add_client(|_| {});
    let tokens = offline_tokens(&app, &client).await;
    let mut rt = tokens["refresh_token"].as_str().unwrap().to_string();
    app.clock.advance(1800);
    let next: serde_json::Value = refresh(&app, &client, &rt, None)
        .await
        .json()
        .await
        .unwrap();
    rt = next["refresh_token"].as_str().unwrap().to_string();
    app.clock.advance(1801);
    assert_eq!(
        refresh(&app, &client, &rt, None).await.status(),
        400,
        "rotation never extends the family"
    );
}
