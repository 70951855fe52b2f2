//! ID-token validation (OpenID Connect Core §3.1.3.7), done by openidconnect's
//! `IdTokenVerifier`: signature with the provider's JWKS, `iss`, `aud`, `exp`, `nonce`.
//! The callback and the refresh action call [`verify_id_token`]; the tests call the same.

use chrono::{DateTime, Duration, Utc};
use openidconnect::core::{CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{ClaimsVerificationError, ClientId, IssuerUrl, Nonce};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::claims::PortalIdToken;

/// Clock skew tolerated on `iat` (and on logout tokens' `iat`/`exp`).
pub const CLOCK_SKEW_SECS: i64 = 60;

/// What tokens from the provider must match: who issued them, to whom, signed with which
/// keys and algorithms. Built from discovery; the JWKS is refreshed when a token names a
/// key the portal does not know yet (key rotation).
#[derive(Debug, Clone)]
pub struct TokenExpectations {
    /// The issuer exactly as the provider's metadata spells it.
    pub issuer: IssuerUrl,
    pub client_id: ClientId,
    pub jwks: CoreJsonWebKeySet,
    /// Asymmetric algorithms the provider announced; HMAC and `none` are never accepted.
    pub algs: Vec<CoreJwsSigningAlgorithm>,
}

/// How the `nonce` claim is checked.
#[derive(Debug, Clone, Copy)]
pub enum NonceCheck<'a> {
    /// After an authorization request: the claim must equal the nonce sent.
    Equals(&'a Nonce),
    /// After a refresh: no nonce, or the one of the original sign-in (Core §12.2).
    AbsentOrEquals(Option<&'a Nonce>),
}

/// Who signed in, from a validated ID token.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Identity {
    pub sub: String,
    pub sid: Option<String>,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    /// Unix seconds.
    pub auth_time: Option<i64>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    /// Unix seconds (`iat`, `exp`).
    pub issued_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum IdTokenError {
    #[error("the token response has no ID token")]
    Missing,
    #[error("the ID token was rejected: {0}")]
    Claims(#[from] ClaimsVerificationError),
}

impl IdTokenError {
    /// Whether fetching the provider's keys again might help (a rotated signing key).
    pub fn may_be_key_rotation(&self) -> bool {
        matches!(
            self,
            IdTokenError::Claims(ClaimsVerificationError::SignatureVerification(
                openidconnect::SignatureVerificationError::NoMatchingKey
            ))
        )
    }
}

fn same_secret(a: &str, b: &str) -> bool {
    // Compare digests, not the strings, so the comparison time says nothing of the value.
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

/// Validates `token` as an ID token for this client at instant `now`.
pub fn verify_id_token(
    token: &PortalIdToken,
    expect: &TokenExpectations,
    nonce: NonceCheck<'_>,
    now: DateTime<Utc>,
) -> Result<Identity, IdTokenError> {
    let verifier = CoreIdTokenVerifier::new_public_client(
        expect.client_id.clone(),
        expect.issuer.clone(),
        expect.jwks.clone(),
    )
    .set_allowed_algs(expect.algs.iter().cloned())
    .set_time_fn(move || now)
    .set_issue_time_verifier_fn(move |iat| {
        if iat > now + Duration::seconds(CLOCK_SKEW_SECS) {
            Err(format!("issued in the future ({iat})"))
        } else {
            Ok(())
        }
    });
    let check_nonce = move |found: Option<&Nonce>| -> Result<(), String> {
        match (nonce, found) {
            (NonceCheck::Equals(want), Some(got)) if same_secret(want.secret(), got.secret()) => {
                Ok(())
            }
            (NonceCheck::Equals(_), Some(_)) => Err("nonce mismatch".into()),
            (NonceCheck::Equals(_), None) => Err("missing nonce claim".into()),
            (NonceCheck::AbsentOrEquals(_), None) => Ok(()),
            (NonceCheck::AbsentOrEquals(Some(want)), Some(got))
                if same_secret(want.secret(), got.secret()) =>
            {
                Ok(())
            }
            (NonceCheck::AbsentOrEquals(_), Some(_)) => {
                Err("nonce differs from the original sign-in".into())
            }
        }
    };
    let claims = token.claims(&verifier, check_nonce)?;
    Ok(Identity {
        sub: claims.subject().as_str().to_string(),
        sid: claims.additional_claims().sid.clone(),
        acr: claims.auth_context_ref().map(|a| a.as_str().to_string()),
        amr: claims
            .auth_method_refs()
            .map(|v| v.iter().map(|a| a.as_str().to_string()).collect())
            .unwrap_or_default(),
        auth_time: claims.auth_time().map(|t| t.timestamp()),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string()),
        email: claims.email().map(|e| e.as_str().to_string()),
        phone_number: claims.phone_number().map(|p| p.as_str().to_string()),
        issued_at: claims.issue_time().timestamp(),
        expires_at: claims.expiration().timestamp(),
    })
}
