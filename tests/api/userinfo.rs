//! UserInfo (OIDC Core §5.3; docs/security.md P45).

use crate::helpers::*;

async fn person_token(
    app: &TestApp,
    scope: &str,
    subject_type: Option<&str>,
) -> (TestClient, cardinal::store::Person, serde_json::Value) {
    let client = app.add_client(|d| d.subject_type = subject_type.map(str::to_string));
    let person = app.add_person("巳");
    let (verifier, challenge) = pkce();
    let url = app
        .sign_in(
            &auth_params(&client, &challenge, &[("scope", scope)]),
            &person.id,
        )
        .await;
    let tokens = app
        .redeem(&client, &query_param(&url, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    (client, person, tokens)
}

#[tokio::test]
async fn userinfo_releases_claims_by_scope_on_get_and_post() {
    let app = spawn_app().await;
    let (_, person, tokens) = person_token(&app, "openid email", None).await;
    let at = tokens["access_token"].as_str().unwrap();
    for post in [false, true] {
        let req = if post {
            app.api.post(app.url("/userinfo"))
        } else {
            app.api.get(app.url("/userinfo"))
        };
        let info: serde_json::Value = req
            .bearer_auth(at)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(info["sub"], person.id);
        assert_eq!(info["email"], person.email.clone().unwrap());
        assert_eq!(info["email_verified"], true);
        assert!(info.get("name").is_none(), "profile was not granted");
        assert!(info.get("phone_number").is_none());
    }
}

#[tokio::test]
async fn claims_parameter_releases_the_named_claim() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let person = app.add_person("午");
    let (verifier, challenge) = pkce();
    let claims = r#"{"userinfo":{"name":{"essential":true}},"id_token":{"email":null}}"#;
    let url = app
        .sign_in(
            &auth_params(
                &client,
                &challenge,
                &[("scope", "openid"), ("claims", claims)],
            ),
            &person.id,
        )
        .await;
    let tokens: serde_json::Value = app
        .redeem(&client, &query_param(&url, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        id["email"],
        person.email.clone().unwrap(),
        "requested for the ID token"
    );
    let info: serde_json::Value = app
        .api
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["name"], "午");
}

#[tokio::test]
async fn pairwise_subjects_differ_per_client_and_stay_stable() {
    let app = spawn_app().await;
    let (_, person, t1) = person_token(&app, "openid", Some("pairwise")).await;
    let sub1 = jwt_claims(t1["id_token"].as_str().unwrap())["sub"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(sub1, person.id);
    let info: serde_json::Value = app
        .api
        .get(app.url("/userinfo"))
        .bearer_auth(t1["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], sub1, "userinfo sub equals the ID token sub");
}

#[tokio::test]
async fn bad_tokens_get_bearer_errors() {
    let app = spawn_app().await;
    let r = app.api.get(app.url("/userinfo")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let r = app
        .api
        .get(app.url("/userinfo"))
        .bearer_auth("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let (_, _, tokens) = person_token(&app, "openid", None).await;
    let at = tokens["access_token"].as_str().unwrap();
    let r = app
        .api
        .get(app.url(&format!("/userinfo?access_token={at}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "tokens in the URL are refused");
    // An ID token is not an access token.
    let r = app
        .api
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["id_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    app.clock.advance(601);
    let r = app
        .api
        .get(app.url("/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "expired");
}

#[tokio::test]
async fn client_credentials_token_has_no_userinfo() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let body: serde_json::Value = app
        .api
        .post(app.url("/token"))
        .basic_auth(&client.client_id, client.secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = app
        .api
        .get(app.url("/userinfo"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
}
