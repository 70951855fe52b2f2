//! Back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.4, §2.6).
//!
//! openidconnect validates ID tokens but has no logout-token verifier, and its generic JWT
//! verifier is private. Rather than add a second JOSE library (josekit needs OpenSSL,
//! jsonwebtoken would bring its own JWK types), this module splits the compact JWS itself
//! and checks the signature with openidconnect's own `CoreJsonWebKey::verify_signature`
//! over the same JWKS the ID-token verifier uses — so one key set and one set of
//! signature algorithms serve both. The only new dependency is `base64` for base64url.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::{JsonWebKey, JwsSigningAlgorithm, SignatureVerificationError};
use serde::Deserialize;
use serde_json::Value;

use crate::verify::{TokenExpectations, CLOCK_SKEW_SECS};

pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A logout token older than this (by `iat`) is refused even if `exp` says otherwise.
pub const MAX_AGE_SECS: i64 = 10 * 60;

/// What a valid logout token asks for: end the sessions with `sid`, or all of `sub`'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequest {
    pub sub: Option<String>,
    pub sid: Option<String>,
    pub jti: String,
    /// Unix seconds; the `jti` needs to be remembered until then.
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogoutTokenError {
    #[error("the logout token is not a compact JWS: {0}")]
    Malformed(&'static str),
    #[error("the logout token's typ {0:?} is not logout+jwt")]
    WrongType(String),
    #[error("the logout token uses algorithm {0}, which is not accepted")]
    AlgorithmNotAccepted(String),
    #[error("no key of the provider matches the logout token")]
    UnknownKey,
    #[error("the logout token's signature is invalid")]
    BadSignature,
    #[error("the logout token was issued by {0:?}, not the provider")]
    WrongIssuer(String),
    #[error("the logout token is not addressed to this client")]
    WrongAudience,
    #[error("the logout token has expired or is too old")]
    Expired,
    #[error("the logout token is issued in the future")]
    NotYetValid,
    #[error("the logout token has no back-channel logout event")]
    MissingEvent,
    #[error("the logout token names neither sid nor sub")]
    NoSubject,
    #[error("a logout token must not contain a nonce")]
    NonceNotAllowed,
}

impl LogoutTokenError {
    /// Whether fetching the provider's keys again might help (a rotated signing key).
    pub fn may_be_key_rotation(&self) -> bool {
        matches!(self, LogoutTokenError::UnknownKey)
    }
}

#[derive(Deserialize)]
struct Header {
    alg: Value,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, client_id: &str) -> bool {
        match self {
            Audience::One(a) => a == client_id,
            Audience::Many(v) => v.iter().any(|a| a == client_id),
        }
    }
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    aud: Audience,
    iat: i64,
    exp: i64,
    jti: String,
    #[serde(default)]
    events: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    nonce: Option<Value>,
}

fn b64(part: &str, what: &'static str) -> Result<Vec<u8>, LogoutTokenError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| LogoutTokenError::Malformed(what))
}

/// `typ` may be absent; if present it must be `logout+jwt` (the spec's explicit type) or
/// the generic `JWT`, with or without the `application/` prefix.
fn type_accepted(typ: &str) -> bool {
    let t = typ.to_ascii_lowercase();
    let t = t.strip_prefix("application/").unwrap_or(&t);
    t == "logout+jwt" || t == "jwt"
}

/// Checks the JWS signature against the provider's keys; the `kid`, when present, must
/// name one of them.
fn verify_signature(
    signing_input: &str,
    signature: &[u8],
    alg: &CoreJwsSigningAlgorithm,
    kid: Option<&str>,
    expect: &TokenExpectations,
) -> Result<(), LogoutTokenError> {
    let mut candidates = 0usize;
    for key in expect.jwks.keys() {
        if kid.is_some() && key.key_id().map(|k| k.as_str()) != kid {
            continue;
        }
        match key.verify_signature(alg, signing_input.as_bytes(), signature) {
            Ok(()) => return Ok(()),
            // A key of another type or use is not a candidate.
            Err(SignatureVerificationError::InvalidKey(_)) => {}
            Err(_) => candidates += 1,
        }
    }
    if candidates == 0 {
        Err(LogoutTokenError::UnknownKey)
    } else {
        Err(LogoutTokenError::BadSignature)
    }
}

/// Validates a logout token (Back-Channel Logout 1.0 §2.6) at instant `now`: signature by a
/// provider key with an accepted asymmetric algorithm, `iss`, `aud` contains the client,
/// `iat`/`exp`, the back-channel logout event, `sid` and/or `sub`, and no `nonce`.
/// Replay of `jti` is the caller's to check (it needs memory).
pub fn verify_logout_token(
    token: &str,
    expect: &TokenExpectations,
    now: DateTime<Utc>,
) -> Result<LogoutRequest, LogoutTokenError> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(LogoutTokenError::Malformed(
            "expected three dot-separated parts (encrypted tokens are not supported)",
        ));
    };
    let header: Header = serde_json::from_slice(&b64(h, "header is not base64url")?)
        .map_err(|_| LogoutTokenError::Malformed("header is not a JSON object"))?;
    if header.crit.is_some() {
        return Err(LogoutTokenError::Malformed(
            "critical header parameters are not supported",
        ));
    }
    if let Some(typ) = header.typ.as_deref().filter(|t| !type_accepted(t)) {
        return Err(LogoutTokenError::WrongType(typ.to_string()));
    }
    let alg_name = header.alg.as_str().unwrap_or_default().to_string();
    let alg: CoreJwsSigningAlgorithm = serde_json::from_value(header.alg)
        .map_err(|_| LogoutTokenError::AlgorithmNotAccepted(alg_name.clone()))?;
    if alg == CoreJwsSigningAlgorithm::None
        || alg.uses_shared_secret()
        || !expect.algs.contains(&alg)
    {
        return Err(LogoutTokenError::AlgorithmNotAccepted(alg_name));
    }
    let signature = b64(s, "signature is not base64url")?;
    let signing_input_len = h.len() + 1 + p.len();
    let signing_input = token
        .trim()
        .get(..signing_input_len)
        .ok_or(LogoutTokenError::Malformed("truncated"))?;
    verify_signature(
        signing_input,
        &signature,
        &alg,
        header.kid.as_deref(),
        expect,
    )?;

    let claims: Claims =
        serde_json::from_slice(&b64(p, "payload is not base64url")?).map_err(|_| {
            LogoutTokenError::Malformed("payload lacks iss, aud, iat, exp or jti, or is not JSON")
        })?;
    if claims.iss != expect.issuer.as_str() {
        return Err(LogoutTokenError::WrongIssuer(claims.iss));
    }
    if !claims.aud.contains(expect.client_id.as_str()) {
        return Err(LogoutTokenError::WrongAudience);
    }
    let now = now.timestamp();
    if claims.iat > now + CLOCK_SKEW_SECS {
        return Err(LogoutTokenError::NotYetValid);
    }
    if claims.exp + CLOCK_SKEW_SECS <= now || claims.iat + MAX_AGE_SECS < now {
        return Err(LogoutTokenError::Expired);
    }
    let has_event = claims
        .events
        .as_ref()
        .and_then(|e| e.get(BACKCHANNEL_LOGOUT_EVENT))
        .is_some_and(Value::is_object);
    if !has_event {
        return Err(LogoutTokenError::MissingEvent);
    }
    if claims.nonce.is_some() {
        return Err(LogoutTokenError::NonceNotAllowed);
    }
    let sub = claims.sub.filter(|s| !s.is_empty());
    let sid = claims.sid.filter(|s| !s.is_empty());
    if sub.is_none() && sid.is_none() {
        return Err(LogoutTokenError::NoSubject);
    }
    Ok(LogoutRequest {
        sub,
        sid,
        jti: claims.jti,
        expires_at: claims.exp,
    })
}
