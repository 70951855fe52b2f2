//! Client authentication (docs/security.md §1.3, P25–P30).

use josekit::jwk::alg::ec::EcCurve;
use josekit::jwk::Jwk;
use josekit::jws::{JwsHeader, ES256};
use serde_json::json;

use crate::helpers::*;

fn cc_form() -> Vec<(&'static str, String)> {
    vec![("grant_type", "client_credentials".into())]
}

#[tokio::test]
async fn wrong_or_missing_secret_is_invalid_client_with_basic_challenge() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let r = app
        .api
        .post(app.url("/token"))
        .basic_auth(&client.client_id, Some("wrong"))
        .form(&cc_form())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_client"
    );
    for path in ["/token", "/introspect", "/revoke"] {
        let r = app
            .api
            .post(app.url(path))
            .form(&[
                ("client_id", client.client_id.as_str()),
                ("token", "x"),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            401,
            "{path} requires the confidential client to authenticate"
        );
    }
}

#[tokio::test]
async fn client_secret_post_works_only_for_clients_registered_for_it() {
    let app = spawn_app().await;
    let post_client = app.add_client(|d| d.auth_method = Some("client_secret_post".into()));
    let basic_client = app.add_client(|_| {});
    let mut form = cc_form();
    form.push(("client_id", post_client.client_id.clone()));
    form.push(("client_secret", post_client.secret.clone().unwrap()));
    assert_eq!(
        app.api
            .post(app.url("/token"))
            .form(&form)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let mut form = cc_form();
    form.push(("client_id", basic_client.client_id.clone()));
    form.push(("client_secret", basic_client.secret.clone().unwrap()));
    assert_eq!(
        app.api
            .post(app.url("/token"))
            .form(&form)
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "method must match the registration"
    );
    // Two methods at once are refused.
    let r = app
        .api
        .post(app.url("/token"))
        .basic_auth(&basic_client.client_id, basic_client.secret.as_deref())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn secrets_with_form_encoded_characters_work_in_basic() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    // RFC 6749 §2.3.1: id and secret are form-encoded before Base64.
    use base64::Engine as _;
    let creds = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        client.client_id,
        client.secret.clone().unwrap()
    ));
    let r = app
        .api
        .post(app.url("/token"))
        .header("authorization", format!("Basic {creds}"))
        .form(&cc_form())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

struct KeyClient {
    client: TestClient,
    key: Jwk,
}

fn make_key_client(app: &TestApp) -> KeyClient {
    let mut key = Jwk::generate_ec_key(EcCurve::P256).unwrap();
    key.set_key_id("k1");
    let mut public = key.to_public_key().unwrap();
    public.set_key_id("k1");
    let jwks = json!({ "keys": [serde_json::Value::Object(public.as_ref().clone())] }).to_string();
    let client = app.add_client(|d| {
        d.auth_method = Some("private_key_jwt".into());
        d.jwks = Some(jwks);
    });
    KeyClient { client, key }
}

fn assertion(kc: &KeyClient, claims: serde_json::Value, alg_none: bool) -> String {
    let mut header = JwsHeader::new();
    header.set_key_id("k1");
    header.set_token_type("JWT");
    let payload = claims.to_string();
    if alg_none {
        use base64::Engine as _;
        let e = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        return format!(
            "{}.{}.",
            e(br#"{"alg":"none","kid":"k1"}"#),
            e(payload.as_bytes())
        );
    }
    let signer = ES256.signer_from_jwk(&kc.key).unwrap();
    josekit::jws::serialize_compact(payload.as_bytes(), &header, &signer).unwrap()
}

fn claims(app: &TestApp, kc: &KeyClient, jti: &str) -> serde_json::Value {
    let now = app.engine.now();
    json!({ "iss": kc.client.client_id, "sub": kc.client.client_id, "aud": app.address, "exp": now + 60, "iat": now, "jti": jti })
}

async fn post_assertion(app: &TestApp, assertion: &str) -> reqwest::Response {
    app.api
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn private_key_jwt_accepts_a_good_assertion_once() {
    let app = spawn_app().await;
    let kc = make_key_client(&app);
    let a = assertion(&kc, claims(&app, &kc, "jti-1"), false);
    assert_eq!(post_assertion(&app, &a).await.status(), 200);
    let replay = post_assertion(&app, &a).await;
    assert_eq!(replay.status(), 401, "the same jti is a replay");
    assert!(replay.text().await.unwrap().contains("replay"));
}

#[tokio::test]
async fn private_key_jwt_rejects_bad_assertions() {
    let app = spawn_app().await;
    let kc = make_key_client(&app);
    let now = app.engine.now();
    let id = kc.client.client_id.clone();
    let cases = vec![
        (
            "iss differs from sub",
            json!({ "iss": id, "sub": "other", "aud": app.address, "exp": now + 60, "jti": "a" }),
            false,
        ),
        (
            "expired",
            json!({ "iss": id, "sub": id, "aud": app.address, "exp": now - 1, "jti": "b" }),
            false,
        ),
        (
            "audience array",
            json!({ "iss": id, "sub": id, "aud": [app.address], "exp": now + 60, "jti": "c" }),
            false,
        ),
        (
            "foreign audience",
            json!({ "iss": id, "sub": id, "aud": "https://other.example", "exp": now + 60, "jti": "d" }),
            false,
        ),
        (
            "iat far in the future",
            json!({ "iss": id, "sub": id, "aud": app.address, "exp": now + 300, "iat": now + 120, "jti": "e" }),
            false,
        ),
        (
            "exp too far ahead",
            json!({ "iss": id, "sub": id, "aud": app.address, "exp": now + 3600, "jti": "f" }),
            false,
        ),
        (
            "alg none",
            json!({ "iss": id, "sub": id, "aud": app.address, "exp": now + 60, "jti": "g" }),
            true,
        ),
    ];
    for (why, c, none) in cases {
        let a = assertion(&kc, c, none);
        let r = post_assertion(&app, &a).await;
        assert_eq!(r.status(), 401, "{why}");
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["error"],
            "invalid_client",
            "{why}"
        );
    }
    // Signed by a key that is not registered.
    let stranger = KeyClient {
        client: kc.client.clone(),
        key: {
            let mut k = Jwk::generate_ec_key(EcCurve::P256).unwrap();
            k.set_key_id("k1");
            k
        },
    };
    let a = assertion(&stranger, claims(&app, &kc, "h"), false);
    assert_eq!(post_assertion(&app, &a).await.status(), 401);
    // HS256 with the public key as HMAC secret (key confusion).
    let mut header = JwsHeader::new();
    header.set_key_id("k1");
    let signer = josekit::jws::HS256
        .signer_from_bytes(b"0123456789abcdef0123456789abcdef")
        .unwrap();
    let a = josekit::jws::serialize_compact(
        claims(&app, &kc, "i").to_string().as_bytes(),
        &header,
        &signer,
    )
    .unwrap();
    assert_eq!(post_assertion(&app, &a).await.status(), 401);
}

#[tokio::test]
async fn public_client_cannot_use_client_credentials_and_needs_pkce_at_token() {
    let app = spawn_app().await;
    let public = app.add_client(|d| {
        d.auth_method = Some("none".into());
        d.grant_types = Some(vec!["authorization_code".into()]);
    });
    let r = app
        .api
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", public.client_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "unauthorized_client"
    );
    let person = app.add_person("辰");
    let (verifier, challenge) = pkce();
    let url = app
        .sign_in(&auth_params(&public, &challenge, &[]), &person.id)
        .await;
    let code = query_param(&url, "code").unwrap();
    let r = app
        .api
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", public.client_id.as_str()),
            ("code", code.as_str()),
            ("redirect_uri", public.redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
