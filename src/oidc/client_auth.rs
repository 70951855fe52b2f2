//! Client authentication at the token, introspection and revocation endpoints:
//! client_secret_basic, client_secret_post, private_key_jwt, none.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::error::{OAuthError, OAuthResult};
use super::request::RawParams;
use super::Engine;
use crate::audit::AuditKind;
use crate::crypto::{ct_eq, token_hash};
use crate::domain::{AuthMethod, Client};

pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The credentials a request carried.
#[derive(Debug, Clone)]
pub struct ClientAuthInput {
    pub authorization_header: Option<String>,
    pub params: RawParams,
}

impl ClientAuthInput {
    pub fn used_basic(&self) -> bool {
        self.authorization_header
            .as_deref()
            .is_some_and(|h| h.len() > 6 && h[..6].eq_ignore_ascii_case("basic "))
    }
}

/// Percent-decoding of the `application/x-www-form-urlencoded` id and secret inside
/// HTTP Basic (RFC 6749 §2.3.1).
fn form_decode(value: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={value}")).ok()?;
    pairs.into_iter().next().map(|(_, v)| v)
}

fn parse_basic(header: &str) -> OAuthResult<(String, String)> {
    let bad = || OAuthError::invalid_client("the Authorization header is not valid HTTP Basic");
    let encoded = header.get(6..).ok_or_else(bad)?.trim();
    let decoded = STANDARD.decode(encoded).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    Ok((
        form_decode(id).ok_or_else(bad)?,
        form_decode(secret).ok_or_else(bad)?,
    ))
}

impl Engine {
    /// Authenticates the client by exactly one method, the one it registered.
    pub fn authenticate_client(&self, input: &ClientAuthInput) -> OAuthResult<Client> {
        let p = &input.params;
        let basic = if input.used_basic() {
            Some(parse_basic(
                input.authorization_header.as_deref().unwrap_or_default(),
            )?)
        } else {
            None
        };
        let has_secret = p.get("client_secret").is_some();
        let has_assertion =
            p.get("client_assertion").is_some() || p.get("client_assertion_type").is_some();
        let methods =
            usize::from(basic.is_some()) + usize::from(has_secret) + usize::from(has_assertion);
        if methods > 1 {
            return Err(OAuthError::invalid_request(
                "use exactly one client authentication method",
            ));
        }
        let unknown = || OAuthError::invalid_client("client authentication failed");
        let (method, client_id) = if let Some((id, _)) = &basic {
            (AuthMethod::ClientSecretBasic, id.clone())
        } else if has_secret {
            (
                AuthMethod::ClientSecretPost,
                p.get("client_id").ok_or_else(unknown)?.to_string(),
            )
        } else if has_assertion {
            (AuthMethod::PrivateKeyJwt, self.assertion_client_id(p)?)
        } else {
            (
                AuthMethod::None,
                p.get("client_id")
                    .ok_or_else(|| OAuthError::invalid_client("client_id is missing"))?
                    .to_string(),
            )
        };
        if let Some(form_id) = p.get("client_id") {
            if form_id != client_id {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the authenticated client",
                ));
            }
        }
        let client = self.store().find_client(&client_id)?.ok_or_else(unknown)?;
        if client.auth_method != method {
            return Err(OAuthError::invalid_client(format!(
                "this client must authenticate with {}",
                client.auth_method.as_str()
            )));
        }
        match method {
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
                let secret = match &basic {
                    Some((_, s)) => s.as_str(),
                    None => p.get("client_secret").unwrap_or_default(),
                };
                let stored = client.secret_hash.as_deref().ok_or_else(unknown)?;
                if !ct_eq(&self.hash_client_secret(secret), stored) {
                    self.audit(
                        AuditKind::ClientAuth,
                        "failure",
                        None,
                        Some(client.client_id.as_ref()),
                        Some(method.as_str().into()),
                    );
                    return Err(unknown());
                }
            }
            AuthMethod::PrivateKeyJwt => self.verify_assertion(&client, p)?,
            AuthMethod::None => {}
        }
        Ok(client)
    }

    fn assertion_client_id(&self, p: &RawParams) -> OAuthResult<String> {
        if p.get("client_assertion_type") != Some(CLIENT_ASSERTION_TYPE) {
            return Err(OAuthError::invalid_client(format!(
                "client_assertion_type must be {CLIENT_ASSERTION_TYPE}"
            )));
        }
        let assertion = p
            .get("client_assertion")
            .ok_or_else(|| OAuthError::invalid_client("client_assertion is missing"))?;
        // The issuer is read unverified only to find the client's keys.
        let payload = assertion
            .split('.')
            .nth(1)
            .and_then(crate::crypto::b64url_decode);
        let claims: Option<serde_json::Value> =
            payload.and_then(|b| serde_json::from_slice(&b).ok());
        claims
            .and_then(|c| c.get("iss").and_then(|v| v.as_str()).map(str::to_string))
            .ok_or_else(|| OAuthError::invalid_client("client_assertion has no iss"))
    }

    fn verify_assertion(&self, client: &Client, p: &RawParams) -> OAuthResult<()> {
        let fail = |why: &str| {
            self.audit(
                AuditKind::ClientAuth,
                "failure",
                None,
                Some(client.client_id.as_ref()),
                Some(format!("private_key_jwt: {why}")),
            );
            OAuthError::invalid_client(format!("client_assertion rejected: {why}"))
        };
        let jwks = client
            .jwks
            .as_deref()
            .ok_or_else(|| fail("the client has no registered keys"))?;
        let assertion = p.get("client_assertion").unwrap_or_default();
        let claims = super::tokens::verify_client_assertion(jwks, assertion)
            .map_err(|e| fail(&e.to_string()))?;
        let now = self.now();
        let id = client.client_id.as_ref();
        if claims.iss != id || claims.sub != id {
            return Err(fail("iss and sub must both be the client_id"));
        }
        // rfc7523bis: the audience is this OP, as a single string.
        match claims.aud.as_str() {
            Some(aud) if aud == self.issuer() => {}
            Some(_) => return Err(fail("aud must be the issuer identifier")),
            None => return Err(fail("aud must be a single string (the issuer identifier)")),
        }
        if claims.exp <= now {
            return Err(fail("the assertion has expired"));
        }
        if claims.exp > now + 600 {
            return Err(fail("exp is more than 10 minutes ahead"));
        }
        for t in [claims.iat, claims.nbf].into_iter().flatten() {
            if t > now + 60 {
                return Err(fail("iat/nbf is in the future"));
            }
        }
        if claims.jti.is_empty() {
            return Err(fail("jti is missing"));
        }
        let key = token_hash(&format!("{id}|{}", claims.jti));
        if !self.store().record_jti(&key, id, claims.exp)? {
            return Err(fail("this jti was used before (replay)"));
        }
        Ok(())
    }
}
