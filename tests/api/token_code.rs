//! The token endpoint with authorization codes (docs/security.md §1.2, P17–P23) and
//! client credentials.

use crate::helpers::*;

async fn code_for(app: &TestApp, client: &TestClient, challenge: &str) -> String {
    let person = app.add_person("測試者");
    let url = app
        .sign_in(&auth_params(client, challenge, &[]), &person.id)
        .await;
    query_param(&url, "code").expect("code")
}

async fn error_of(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn code_has_256_bits_and_token_response_is_not_cached() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &client, &challenge).await;
    assert!(code.len() >= 43);
    let resp = app.redeem(&client, &code, &verifier).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let id = jwt_claims(body["id_token"].as_str().unwrap());
    for claim in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "sid",
        "azp",
    ] {
        assert!(id.get(claim).is_some(), "ID token lacks {claim}: {id}");
    }
    assert_eq!(id["nonce"], "n-456");
    assert_eq!(id["aud"], client.client_id);
    assert!(
        id.get("email").is_none(),
        "profile claims come from userinfo unless requested for the ID token"
    );
    assert_eq!(
        jwt_header(body["access_token"].as_str().unwrap())["typ"],
        "at+jwt"
    );
}

#[tokio::test]
async fn reused_code_is_refused_and_revokes_the_tokens_it_issued() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &client, &challenge).await;
    let first: serde_json::Value = app
        .redeem(&client, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let at = first["access_token"].as_str().unwrap();
    assert_eq!(app.introspect(&client, at).await["active"], true);
    let (status, error) = error_of(app.redeem(&client, &code, &verifier).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    assert_eq!(
        app.introspect(&client, at).await["active"],
        false,
        "the first redemption's token is revoked"
    );
    let audit = app.engine.store().list_audit(50).unwrap();
    assert!(audit.iter().any(|e| e.event == "code_reuse"));
}

#[tokio::test]
async fn pkce_verifier_must_match_and_cannot_be_dropped_or_added() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let (_, challenge) = pkce();
    let code = code_for(&app, &client, &challenge).await;
    let (wrong, _) = pkce();
    let (s, e) = error_of(app.redeem(&client, &code, &wrong).await).await;
    assert_eq!((s, e.as_str()), (400, "invalid_grant"));

    let code = code_for(&app, &client, &challenge).await;
    let resp = app
        .api
        .post(app.url("/token"))
        .basic_auth(&client.client_id, client.secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(resp).await.1,
        "invalid_grant",
        "missing code_verifier"
    );
}

#[tokio::test]
async fn verifier_without_challenge_is_a_downgrade_and_refused() {
    let app = spawn_app_with(|s| s.oidc.require_pkce = false).await;
    let client = app.add_client(|_| {});
    let person = app.add_person("丑");
    let mut params = auth_params(&client, "", &[]);
    params.retain(|(k, _)| !k.starts_with("code_challenge"));
    let url = app.sign_in(&params, &person.id).await;
    let code = query_param(&url, "code").expect("confidential client without PKCE when configured");
    let (verifier, _) = pkce();
    let (_, e) = error_of(app.redeem(&client, &code, &verifier).await).await;
    assert_eq!(e, "invalid_grant");
}

#[tokio::test]
async fn expired_code_is_refused() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &client, &challenge).await;
    app.clock.advance(61);
    let (_, e) = error_of(app.redeem(&client, &code, &verifier).await).await;
    assert_eq!(e, "invalid_grant");
}

#[tokio::test]
async fn every_failed_redemption_burns_the_code() {
    let app = spawn_app().await;
    let client = app.add_client(|d| {
        d.redirect_uris = Some(vec![REDIRECT_URI.into(), "http://127.0.0.1:9/other".into()])
    });
    let thief = app.add_client(|_| {});
    let mut other_redirect = client.clone();
    other_redirect.redirect_uri = "http://127.0.0.1:9/other".into();
    let (verifier, challenge) = pkce();
    let (wrong_verifier, _) = pkce();
    // (who redeems, with which verifier, the error they get)
    let attempts: [(&TestClient, &str, &str); 4] = [
        (&thief, verifier.as_str(), "invalid_grant"),
        (&other_redirect, verifier.as_str(), "invalid_grant"),
        (&client, wrong_verifier.as_str(), "invalid_grant"),
        // Not a verifier at all (RFC 7636 §4.1: 43–128 unreserved characters).
        (&client, "short!", "invalid_request"),
    ];
    for (who, v, expected) in attempts {
        let code = code_for(&app, &client, &challenge).await;
        let (status, e) = error_of(app.redeem(who, &code, v).await).await;
        assert_eq!((status, e.as_str()), (400, expected), "{}", who.client_id);
        let (status, e) = error_of(app.redeem(&client, &code, &verifier).await).await;
        assert_eq!(
            (status, e.as_str()),
            (400, "invalid_grant"),
            "after a failed redemption ({expected}) the right one gets nothing either"
        );
    }
    // The same request, untouched, works.
    let code = code_for(&app, &client, &challenge).await;
    assert_eq!(app.redeem(&client, &code, &verifier).await.status(), 200);
}

#[tokio::test]
async fn unsupported_and_malformed_token_requests_get_exact_errors() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let post = |form: Vec<(&'static str, &'static str)>| {
        app.api
            .post(app.url("/token"))
            .basic_auth(&client.client_id, client.secret.as_deref())
            .form(&form)
            .send()
    };
    assert_eq!(
        error_of(
            post(vec![
                ("grant_type", "password"),
                ("username", "a"),
                ("password", "b")
            ])
            .await
            .unwrap()
        )
        .await
        .1,
        "unsupported_grant_type"
    );
    assert_eq!(
        error_of(post(vec![("grant_type", "implicit")]).await.unwrap())
            .await
            .1,
        "unsupported_grant_type"
    );
    assert_eq!(
        error_of(post(vec![]).await.unwrap()).await.1,
        "invalid_request"
    );
    assert_eq!(
        error_of(
            post(vec![("grant_type", "authorization_code")])
                .await
                .unwrap()
        )
        .await
        .1,
        "invalid_request"
    );
    let json = app
        .api
        .post(app.url("/token"))
        .basic_auth(&client.client_id, client.secret.as_deref())
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(json).await.1,
        "invalid_request",
        "the body must be form-encoded"
    );
}

#[tokio::test]
async fn client_credentials_token_verifies_against_jwks_and_is_revocable() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let resp = app
        .api
        .post(app.url("/token"))
        .basic_auth(&client.client_id, client.secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let at = body["access_token"].as_str().unwrap().to_string();

    // Verify the JWT with an independent library against the published JWKS.
    let jwks: serde_json::Value = app
        .api
        .get(app.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = jwt_header(&at)["kid"].as_str().unwrap().to_string();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("signing key published");
    let jwk = josekit::jwk::Jwk::from_bytes(jwk.to_string()).unwrap();
    let verifier = josekit::jws::RS256.verifier_from_jwk(&jwk).unwrap();
    let (payload, _) =
        josekit::jwt::decode_with_verifier(&at, &verifier).expect("signature verifies");
    assert_eq!(payload.subject(), Some(client.client_id.as_str()));
    assert_eq!(payload.issuer(), Some(app.address.as_str()));

    assert_eq!(app.introspect(&client, &at).await["active"], true);
    let r = app
        .api
        .post(app.url("/revoke"))
        .basic_auth(&client.client_id, client.secret.as_deref())
        .form(&[("token", at.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.introspect(&client, &at).await["active"], false);
}

#[tokio::test]
async fn client_credentials_cannot_ask_for_person_scopes() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let resp = app
        .api
        .post(app.url("/token"))
        .basic_auth(&client.client_id, client.secret.as_deref())
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "openid email"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.1, "invalid_scope");
}

#[tokio::test]
async fn introspection_hides_other_clients_tokens() {
    let app = spawn_app().await;
    let a = app.add_client(|_| {});
    let b = app.add_client(|_| {});
    let body: serde_json::Value = app
        .api
        .post(app.url("/token"))
        .basic_auth(&a.client_id, a.secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(app.introspect(&a, at).await["active"], true);
    assert_eq!(
        app.introspect(&b, at).await,
        serde_json::json!({"active": false})
    );
}
