//! The portal's token checks, run on tokens signed with test keys: the ID-token check
//! the callback uses (`verify_id_token`) and the logout-token check of the back-channel
//! receiver (`verify_logout_token`). The keys under `fixtures/` are test keys only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Duration, TimeZone, Utc};
use ecpa_portal::claims::{PortalClaims, PortalIdToken, PortalIdTokenClaims};
use ecpa_portal::logout_token::{
    verify_logout_token, LogoutRequest, LogoutTokenError, BACKCHANNEL_LOGOUT_EVENT,
};
use ecpa_portal::verify::{verify_id_token, IdTokenError, NonceCheck, TokenExpectations};
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{
    Audience, AuthenticationContextClass, AuthenticationMethodReference, ClaimsVerificationError,
    ClientId, IssuerUrl, JsonWebKeyId, Nonce, PrivateSigningKey, SignatureVerificationError,
    StandardClaims, SubjectIdentifier,
};
use serde_json::{json, Value};

const ISSUER: &str = "http://127.0.0.1:8080";
const CLIENT_ID: &str = "ecpa";
const KEY_A: &str = include_str!("fixtures/test-rsa-a.pem");
const KEY_B: &str = include_str!("fixtures/test-rsa-b.pem");

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 6, 4, 0, 0).unwrap()
}

/// Key A under kid `a`: the provider's key.
fn provider_key() -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(KEY_A, Some(JsonWebKeyId::new("a".into()))).unwrap()
}

/// Key B claiming to be kid `a`: a forger's key.
fn forger_key() -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(KEY_B, Some(JsonWebKeyId::new("a".into()))).unwrap()
}

fn expectations() -> TokenExpectations {
    TokenExpectations {
        issuer: IssuerUrl::new(ISSUER.into()).unwrap(),
        client_id: ClientId::new(CLIENT_ID.into()),
        jwks: CoreJsonWebKeySet::new(vec![provider_key().as_verification_key()]),
        algs: vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
    }
}

// ---------------------------------------------------------------- ID tokens

struct IdTokenSpec {
    iss: &'static str,
    aud: &'static str,
    nonce: Option<&'static str>,
    iat: DateTime<Utc>,
    exp: DateTime<Utc>,
}

impl Default for IdTokenSpec {
    fn default() -> Self {
        IdTokenSpec {
            iss: ISSUER,
            aud: CLIENT_ID,
            nonce: Some("n-0S6_WzA2Mj"),
            iat: now() - Duration::seconds(5),
            exp: now() + Duration::seconds(600),
        }
    }
}

fn id_token(spec: IdTokenSpec, key: &CoreRsaPrivateSigningKey) -> PortalIdToken {
    let claims = PortalIdTokenClaims::new(
        IssuerUrl::new(spec.iss.into()).unwrap(),
        vec![Audience::new(spec.aud.into())],
        spec.exp,
        spec.iat,
        StandardClaims::new(SubjectIdentifier::new("person-1".into())),
        PortalClaims {
            sid: Some("sid-1".into()),
        },
    )
    .set_nonce(spec.nonce.map(|n| Nonce::new(n.into())))
    .set_auth_time(Some(now() - Duration::seconds(30)))
    .set_auth_context_ref(Some(AuthenticationContextClass::new(
        "urn:cardinal:acr:card".into(),
    )))
    .set_auth_method_refs(Some(vec![
        AuthenticationMethodReference::new("hwk".into()),
        AuthenticationMethodReference::new("pwd".into()),
    ]));
    PortalIdToken::new(
        claims,
        key,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        None,
        None,
    )
    .unwrap()
}

fn sent_nonce() -> Nonce {
    Nonce::new("n-0S6_WzA2Mj".into())
}

fn check(token: &PortalIdToken) -> Result<ecpa_portal::verify::Identity, IdTokenError> {
    let nonce = sent_nonce();
    verify_id_token(token, &expectations(), NonceCheck::Equals(&nonce), now())
}

fn rejection(token: &PortalIdToken) -> ClaimsVerificationError {
    match check(token) {
        Err(IdTokenError::Claims(e)) => e,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn id_token_from_the_provider_for_this_client_is_accepted() {
    let token = id_token(IdTokenSpec::default(), &provider_key());

    let identity = check(&token).unwrap();

    assert_eq!(identity.sub, "person-1");
    assert_eq!(identity.sid.as_deref(), Some("sid-1"));
    assert_eq!(identity.acr.as_deref(), Some("urn:cardinal:acr:card"));
    assert_eq!(identity.amr, vec!["hwk", "pwd"]);
    assert_eq!(
        identity.auth_time,
        Some((now() - Duration::seconds(30)).timestamp())
    );
}

#[test]
fn id_token_for_another_client_is_rejected() {
    let token = id_token(
        IdTokenSpec {
            aud: "webhr",
            ..Default::default()
        },
        &provider_key(),
    );

    assert!(matches!(
        rejection(&token),
        ClaimsVerificationError::InvalidAudience(_)
    ));
}

#[test]
fn id_token_with_another_nonce_is_rejected() {
    let token = id_token(
        IdTokenSpec {
            nonce: Some("replayed-from-another-login"),
            ..Default::default()
        },
        &provider_key(),
    );

    assert!(matches!(
        rejection(&token),
        ClaimsVerificationError::InvalidNonce(_)
    ));
}

#[test]
fn id_token_without_a_nonce_is_rejected_after_an_authorization_request() {
    let token = id_token(
        IdTokenSpec {
            nonce: None,
            ..Default::default()
        },
        &provider_key(),
    );

    assert!(matches!(
        rejection(&token),
        ClaimsVerificationError::InvalidNonce(_)
    ));
}

#[test]
fn id_token_from_another_issuer_is_rejected() {
    let token = id_token(
        IdTokenSpec {
            iss: "http://127.0.0.1:9999",
            ..Default::default()
        },
        &provider_key(),
    );

    assert!(matches!(
        rejection(&token),
        ClaimsVerificationError::InvalidIssuer(_)
    ));
}

#[test]
fn id_token_signed_by_another_key_is_rejected() {
    let token = id_token(IdTokenSpec::default(), &forger_key());

    assert!(matches!(
        rejection(&token),
        ClaimsVerificationError::SignatureVerification(SignatureVerificationError::CryptoError(_))
    ));
}

#[test]
fn id_token_with_a_tampered_payload_is_rejected() {
    let good = id_token(IdTokenSpec::default(), &provider_key()).to_string();
    let other = id_token(
        IdTokenSpec {
            aud: CLIENT_ID,
            iss: ISSUER,
            nonce: Some("n-0S6_WzA2Mj"),
            exp: now() + Duration::seconds(6000),
            ..Default::default()
        },
        &provider_key(),
    )
    .to_string();
    let g: Vec<&str> = good.split('.').collect();
    let o: Vec<&str> = other.split('.').collect();
    let spliced: PortalIdToken = format!("{}.{}.{}", g[0], o[1], g[2]).parse().unwrap();

    assert!(matches!(
        rejection(&spliced),
        ClaimsVerificationError::SignatureVerification(_)
    ));
}

#[test]
fn expired_id_token_is_rejected() {
    let token = id_token(
        IdTokenSpec {
            iat: now() - Duration::seconds(700),
            exp: now() - Duration::seconds(100),
            ..Default::default()
        },
        &provider_key(),
    );

    assert!(matches!(
        rejection(&token),
        ClaimsVerificationError::Expired(_)
    ));
}

#[test]
fn id_token_under_an_unknown_kid_asks_for_the_keys_again() {
    let rotated =
        CoreRsaPrivateSigningKey::from_pem(KEY_B, Some(JsonWebKeyId::new("b".into()))).unwrap();
    let token = id_token(IdTokenSpec::default(), &rotated);

    let err = check(&token).unwrap_err();

    assert!(err.may_be_key_rotation(), "{err:?}");
}

#[test]
fn id_token_from_a_refresh_may_omit_the_nonce_but_not_change_it() {
    let without = id_token(
        IdTokenSpec {
            nonce: None,
            ..Default::default()
        },
        &provider_key(),
    );
    let changed = id_token(
        IdTokenSpec {
            nonce: Some("other"),
            ..Default::default()
        },
        &provider_key(),
    );
    let original = sent_nonce();
    let refresh = NonceCheck::AbsentOrEquals(Some(&original));

    assert!(verify_id_token(&without, &expectations(), refresh, now()).is_ok());
    assert!(verify_id_token(&changed, &expectations(), refresh, now()).is_err());
}

// ------------------------------------------------------------ logout tokens

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// A compact JWS over `header` and `claims`, signed RS256 with `key`.
fn jws(header: &Value, claims: &Value, key: &CoreRsaPrivateSigningKey) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let signature = key
        .sign(
            &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            input.as_bytes(),
        )
        .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn logout_header() -> Value {
    json!({"alg": "RS256", "kid": "a", "typ": "logout+jwt"})
}

fn logout_claims() -> Value {
    let t = now().timestamp();
    json!({
        "iss": ISSUER,
        "sub": "person-1",
        "aud": CLIENT_ID,
        "iat": t - 2,
        "exp": t + 118,
        "jti": "bWJq",
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        "sid": "sid-1",
    })
}

fn logout_check(token: &str) -> Result<LogoutRequest, LogoutTokenError> {
    verify_logout_token(token, &expectations(), now())
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

#[test]
fn logout_token_from_the_provider_names_the_session_to_end() {
    let token = jws(&logout_header(), &logout_claims(), &provider_key());

    let request = logout_check(&token).unwrap();

    assert_eq!(request.sid.as_deref(), Some("sid-1"));
    assert_eq!(request.sub.as_deref(), Some("person-1"));
    assert_eq!(request.jti, "bWJq");
}

#[test]
fn logout_token_with_only_sid_or_only_sub_is_accepted() {
    let sid_only = jws(
        &logout_header(),
        &without(logout_claims(), "sub"),
        &provider_key(),
    );
    let sub_only = jws(
        &logout_header(),
        &without(logout_claims(), "sid"),
        &provider_key(),
    );

    assert_eq!(logout_check(&sid_only).unwrap().sub, None);
    assert_eq!(logout_check(&sub_only).unwrap().sid, None);
}

#[test]
fn logout_token_with_neither_sid_nor_sub_is_rejected() {
    let claims = without(without(logout_claims(), "sid"), "sub");
    let token = jws(&logout_header(), &claims, &provider_key());

    assert_eq!(logout_check(&token), Err(LogoutTokenError::NoSubject));
}

#[test]
fn logout_token_for_another_client_is_rejected() {
    let token = jws(
        &logout_header(),
        &with(logout_claims(), "aud", json!("webhr")),
        &provider_key(),
    );
    let in_a_list = jws(
        &logout_header(),
        &with(logout_claims(), "aud", json!(["webhr", CLIENT_ID])),
        &provider_key(),
    );

    assert_eq!(logout_check(&token), Err(LogoutTokenError::WrongAudience));
    assert!(logout_check(&in_a_list).is_ok());
}

#[test]
fn logout_token_without_the_backchannel_event_is_rejected() {
    let missing = jws(
        &logout_header(),
        &without(logout_claims(), "events"),
        &provider_key(),
    );
    let other_event = jws(
        &logout_header(),
        &with(
            logout_claims(),
            "events",
            json!({"http://schemas.openid.net/event/other": {}}),
        ),
        &provider_key(),
    );
    let not_an_object = jws(
        &logout_header(),
        &with(
            logout_claims(),
            "events",
            json!({ BACKCHANNEL_LOGOUT_EVENT: "yes" }),
        ),
        &provider_key(),
    );

    for token in [missing, other_event, not_an_object] {
        assert_eq!(logout_check(&token), Err(LogoutTokenError::MissingEvent));
    }
}

#[test]
fn logout_token_with_a_nonce_is_rejected() {
    let token = jws(
        &logout_header(),
        &with(logout_claims(), "nonce", json!("n-0S6_WzA2Mj")),
        &provider_key(),
    );

    assert_eq!(logout_check(&token), Err(LogoutTokenError::NonceNotAllowed));
}

#[test]
fn logout_token_signed_by_another_key_is_rejected() {
    let token = jws(&logout_header(), &logout_claims(), &forger_key());

    assert_eq!(logout_check(&token), Err(LogoutTokenError::BadSignature));
}

#[test]
fn logout_token_with_a_tampered_payload_is_rejected() {
    let good = jws(&logout_header(), &logout_claims(), &provider_key());
    let parts: Vec<&str> = good.split('.').collect();
    let forged_claims = with(logout_claims(), "sid", json!("someone-elses-sid"));
    let tampered = format!("{}.{}.{}", parts[0], b64(&forged_claims), parts[2]);

    assert_eq!(logout_check(&tampered), Err(LogoutTokenError::BadSignature));
}

#[test]
fn logout_token_under_an_unknown_kid_asks_for_the_keys_again() {
    let header = json!({"alg": "RS256", "kid": "rotated", "typ": "logout+jwt"});
    let token = jws(&header, &logout_claims(), &provider_key());

    let err = logout_check(&token).unwrap_err();

    assert_eq!(err, LogoutTokenError::UnknownKey);
    assert!(err.may_be_key_rotation());
}

#[test]
fn logout_token_from_another_issuer_is_rejected() {
    let token = jws(
        &logout_header(),
        &with(logout_claims(), "iss", json!("http://evil.example")),
        &provider_key(),
    );

    assert!(matches!(
        logout_check(&token),
        Err(LogoutTokenError::WrongIssuer(_))
    ));
}

#[test]
fn stale_or_future_logout_token_is_rejected() {
    let t = now().timestamp();
    let expired = with(
        with(logout_claims(), "iat", json!(t - 400)),
        "exp",
        json!(t - 280),
    );
    let too_old = with(
        with(logout_claims(), "iat", json!(t - 3600)),
        "exp",
        json!(t + 3600),
    );
    let future = with(logout_claims(), "iat", json!(t + 600));

    assert_eq!(
        logout_check(&jws(&logout_header(), &expired, &provider_key())),
        Err(LogoutTokenError::Expired)
    );
    assert_eq!(
        logout_check(&jws(&logout_header(), &too_old, &provider_key())),
        Err(LogoutTokenError::Expired)
    );
    assert_eq!(
        logout_check(&jws(&logout_header(), &future, &provider_key())),
        Err(LogoutTokenError::NotYetValid)
    );
}

#[test]
fn logout_token_must_be_signed_with_an_accepted_asymmetric_algorithm() {
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "logout+jwt"})),
        b64(&logout_claims())
    );
    let hmac = format!(
        "{}.{}.c2ln",
        b64(&json!({"alg": "HS256", "kid": "a"})),
        b64(&logout_claims())
    );

    assert!(matches!(
        logout_check(&unsigned),
        Err(LogoutTokenError::AlgorithmNotAccepted(_))
    ));
    assert!(matches!(
        logout_check(&hmac),
        Err(LogoutTokenError::AlgorithmNotAccepted(_))
    ));
}

#[test]
fn logout_token_of_another_type_is_rejected_but_plain_jwt_is_accepted() {
    let access_token_typed = jws(
        &json!({"alg": "RS256", "kid": "a", "typ": "at+jwt"}),
        &logout_claims(),
        &provider_key(),
    );
    let plain = jws(
        &json!({"alg": "RS256", "kid": "a", "typ": "JWT"}),
        &logout_claims(),
        &provider_key(),
    );

    assert!(matches!(
        logout_check(&access_token_typed),
        Err(LogoutTokenError::WrongType(_))
    ));
    assert!(logout_check(&plain).is_ok());
}

#[test]
fn an_id_token_is_not_a_logout_token() {
    let token = id_token(IdTokenSpec::default(), &provider_key()).to_string();

    assert!(logout_check(&token).is_err());
}

#[test]
fn garbage_is_malformed() {
    for token in ["", "abc", "a.b", "a.b.c.d.e", "!!.??.**"] {
        assert!(
            matches!(logout_check(token), Err(LogoutTokenError::Malformed(_))),
            "{token:?}"
        );
    }
}
