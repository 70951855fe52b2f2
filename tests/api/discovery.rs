//! Discovery, JWKS, health, metrics, key rotation (docs/security.md P14, R12).

use crate::helpers::*;

#[tokio::test]
async fn discovery_publishes_what_the_op_does() {
    let app = spawn_app().await;
    let d: serde_json::Value = app
        .api
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], app.address);
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(d["request_parameter_supported"], false);
    assert_eq!(d["backchannel_logout_supported"], true);
    for alg in ["RS256", "ES256", "EdDSA"] {
        assert!(d["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == alg));
    }
    assert!(!d["grant_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g == "password" || g == "implicit"));
}

#[tokio::test]
async fn jwks_has_one_key_per_algorithm_without_private_parts() {
    let app = spawn_app().await;
    let jwks: serde_json::Value = app
        .api
        .get(app.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    for k in keys {
        assert!(
            k.get("d").is_none() && k.get("p").is_none(),
            "no private key material: {k}"
        );
        assert!(k["kid"].is_string() && k["alg"].is_string());
        assert_eq!(k["use"], "sig");
    }
    let kids: std::collections::BTreeSet<_> =
        keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids.len(), 3, "no duplicate kid");
}

#[tokio::test]
async fn rotated_key_is_published_before_it_signs_and_old_tokens_stay_valid() {
    let app = spawn_app_with(|s| s.keys.prepublish_secs = 3600).await;
    let client = app.add_client(|_| {});
    let token = |app: &TestApp| {
        let c = client.clone();
        let api = app.api.clone();
        let url = app.url("/token");
        async move {
            let body: serde_json::Value = api
                .post(url)
                .basic_auth(&c.client_id, c.secret.as_deref())
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["access_token"].as_str().unwrap().to_string()
        }
    };
    let old = token(&app).await;
    let old_kid = jwt_header(&old)["kid"].as_str().unwrap().to_string();
    let engine = app.engine.clone();
    let new_kid = tokio::task::spawn_blocking(move || {
        engine
            .keys()
            .rotate(cardinal::oidc::SigningAlg::RS256, engine.now(), 3600)
    })
    .await
    .unwrap()
    .unwrap();
    let jwks: serde_json::Value = app
        .api
        .get(app.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == new_kid.as_str()),
        "next key is published at once"
    );
    assert_eq!(
        jwt_header(&token(&app).await)["kid"],
        old_kid.as_str(),
        "but does not sign yet"
    );
    app.clock.advance(3601);
    let newer = token(&app).await;
    assert_eq!(
        jwt_header(&newer)["kid"],
        new_kid.as_str(),
        "after pre-publication it signs"
    );
    let jwks: serde_json::Value = app
        .api
        .get(app.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == old_kid.as_str()),
        "retired key stays until its tokens (and sessions) expire"
    );
    app.clock.advance(12 * 3600 + 1);
    let jwks: serde_json::Value = app
        .api
        .get(app.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == old_kid.as_str()),
        "then it is withdrawn"
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await;
    assert_eq!(
        app.api
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let ready: serde_json::Value = app
        .api
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    app.api
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    let metrics = app.metrics_text().await;
    assert!(metrics.contains("cardinal_http_requests_total{method=\"GET\",route=\"/.well-known/openid-configuration\",status=\"200\"}"), "{metrics}");
    assert!(metrics.contains("cardinal_db_pool_connections"));
}

#[tokio::test]
async fn logins_are_counted_by_method_and_audited() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let person = app.add_person("亥");
    let (_, challenge) = pkce();
    app.sign_in(&auth_params(&client, &challenge, &[]), &person.id)
        .await;
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("cardinal_logins_total{method=\"test\",outcome=\"success\"} 1"),
        "{metrics}"
    );
    let audit = app.engine.store().list_audit(20).unwrap();
    let login = audit
        .iter()
        .find(|e| e.event == "login")
        .expect("login audited");
    assert_eq!(login.person_id.as_deref(), Some(person.id.as_str()));
    assert_eq!(login.ip.as_deref(), Some("127.0.0.1"));
}
