//! Signing and verifying the JWTs of the protocol; with `keys.rs` the only place that
//! touches josekit.

use anyhow::{anyhow, bail};
use josekit::jwk::JwkSet;
use josekit::jws::{EdDSA, JwsVerifier, ES256, PS256, RS256};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::claims::{AccessTokenClaims, ClientAssertionClaims, IdTokenClaims, LogoutTokenClaims};
use crate::clock::UnixTime;
use crate::keys::{decode_header, KeyManager, SigningAlg};

pub const TYP_ACCESS_TOKEN: &str = "at+jwt";
pub const TYP_LOGOUT_TOKEN: &str = "logout+jwt";
pub const TYP_ID_TOKEN: &str = "JWT";

fn sign<T: Serialize>(
    keys: &KeyManager,
    alg: SigningAlg,
    typ: &str,
    claims: &T,
    now: UnixTime,
) -> anyhow::Result<String> {
    let payload = serde_json::to_vec(claims)?;
    keys.sign(alg, typ, &payload, now)
}

pub fn sign_id_token(
    keys: &KeyManager,
    alg: SigningAlg,
    claims: &IdTokenClaims,
    now: UnixTime,
) -> anyhow::Result<String> {
    sign(keys, alg, TYP_ID_TOKEN, claims, now)
}

pub fn sign_access_token(
    keys: &KeyManager,
    alg: SigningAlg,
    claims: &AccessTokenClaims,
    now: UnixTime,
) -> anyhow::Result<String> {
    sign(keys, alg, TYP_ACCESS_TOKEN, claims, now)
}

pub fn sign_logout_token(
    keys: &KeyManager,
    alg: SigningAlg,
    claims: &LogoutTokenClaims,
    now: UnixTime,
) -> anyhow::Result<String> {
    sign(keys, alg, TYP_LOGOUT_TOKEN, claims, now)
}

fn verify_typed<T: DeserializeOwned>(
    keys: &KeyManager,
    token: &str,
    typ: &str,
    now: UnixTime,
) -> anyhow::Result<T> {
    let (payload, token_typ) = keys.verify(token, now)?;
    // Token confusion (RFC 8725 §3.11): an ID token is never accepted as an access token.
    if !token_typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(typ))
    {
        bail!("token is not of type {typ}");
    }
    serde_json::from_slice(&payload).map_err(|e| anyhow!("token claims are malformed: {e}"))
}

/// Verifies an access token's signature and type; expiry and revocation are the caller's.
pub fn verify_access_token(
    keys: &KeyManager,
    token: &str,
    now: UnixTime,
) -> anyhow::Result<AccessTokenClaims> {
    verify_typed(keys, token, TYP_ACCESS_TOKEN, now)
}

/// Verifies an ID token this OP issued (as `id_token_hint`); an expired one is accepted.
pub fn verify_id_token_hint(
    keys: &KeyManager,
    token: &str,
    now: UnixTime,
) -> anyhow::Result<IdTokenClaims> {
    verify_typed(keys, token, TYP_ID_TOKEN, now)
}

/// Verifies a client assertion against the client's registered JWKS. Allowed algorithms:
/// RS256, PS256, ES256, EdDSA; the key must fit the algorithm (no HMAC, no `none`).
/// `jku`, `x5u` and `jwk` headers are ignored: keys come only from the registration.
pub fn verify_client_assertion(jwks: &str, token: &str) -> anyhow::Result<ClientAssertionClaims> {
    let header = decode_header(token)?;
    let alg = header
        .get("alg")
        .and_then(|v| v.as_str())
        .ok_or_else(|| anyhow!("client assertion has no alg"))?;
    let set = JwkSet::from_bytes(jwks.as_bytes())
        .map_err(|e| anyhow!("registered JWKS is invalid: {e}"))?;
    let candidates: Vec<_> = match header.get("kid").and_then(|v| v.as_str()) {
        Some(kid) => set.get(kid),
        None => set.keys(),
    };
    if candidates.is_empty() {
        bail!("no registered key matches the assertion's kid");
    }
    for jwk in candidates {
        let verifier: Box<dyn JwsVerifier> = match alg {
            "RS256" => match RS256.verifier_from_jwk(jwk) {
                Ok(v) => Box::new(v),
                Err(_) => continue,
            },
            "PS256" => match PS256.verifier_from_jwk(jwk) {
                Ok(v) => Box::new(v),
                Err(_) => continue,
            },
            "ES256" => match ES256.verifier_from_jwk(jwk) {
                Ok(v) => Box::new(v),
                Err(_) => continue,
            },
            "EdDSA" => match EdDSA.verifier_from_jwk(jwk) {
                Ok(v) => Box::new(v),
                Err(_) => continue,
            },
            other => bail!(
                "client assertion algorithm {other:?} is not allowed (RS256, PS256, ES256, EdDSA)"
            ),
        };
        if let Ok((payload, _)) = josekit::jws::deserialize_compact(token, verifier.as_ref()) {
            return serde_json::from_slice(&payload)
                .map_err(|e| anyhow!("client assertion claims are malformed: {e}"));
        }
    }
    bail!("client assertion signature does not verify with the registered keys")
}
