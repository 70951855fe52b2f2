//! The token endpoint: one typed request per grant, one file per grant.

mod authorization_code;
mod client_credentials;
mod refresh_token;

use serde::Serialize;

use super::claims::AccessTokenClaims;
use super::error::{ErrorCode, OAuthError, OAuthResult};
use super::request::RawParams;
use super::Engine;
use crate::clock::UnixTime;
use crate::crypto::{new_secret_token, random_token, token_hash};
use crate::domain::{Client, Scope};
use crate::store::{AccessTokenRecord, GrantRecord, IssueBundle, RefreshTokenRecord};

/// A token request, parsed by `grant_type`. `Debug` shows the grant and scope only: the code,
/// verifier and refresh token are credentials.
#[derive(Clone)]
pub enum TokenRequest {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
    },
    ClientCredentials {
        scope: Option<String>,
    },
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenRequest::AuthorizationCode { redirect_uri, .. } => f
                .debug_struct("AuthorizationCode")
                .field("redirect_uri", redirect_uri)
                .finish_non_exhaustive(),
            TokenRequest::RefreshToken { scope, .. } => f
                .debug_struct("RefreshToken")
                .field("scope", scope)
                .finish_non_exhaustive(),
            TokenRequest::ClientCredentials { scope } => f
                .debug_struct("ClientCredentials")
                .field("scope", scope)
                .finish(),
        }
    }
}

impl TokenRequest {
    pub fn parse(p: &RawParams) -> OAuthResult<TokenRequest> {
        if let Some(dup) = p.first_duplicate() {
            return Err(OAuthError::invalid_request(format!(
                "parameter {dup} must not be repeated"
            )));
        }
        let required = |name: &str| {
            p.get(name)
                .map(str::to_string)
                .ok_or_else(|| OAuthError::invalid_request(format!("{name} is missing")))
        };
        match p.get("grant_type") {
            None => Err(OAuthError::invalid_request("grant_type is missing")),
            Some("authorization_code") => Ok(TokenRequest::AuthorizationCode {
                code: required("code")?,
                redirect_uri: p.get("redirect_uri").map(str::to_string),
                code_verifier: p.get("code_verifier").map(str::to_string),
            }),
            Some("refresh_token") => Ok(TokenRequest::RefreshToken {
                refresh_token: required("refresh_token")?,
                scope: p.get("scope").map(str::to_string),
            }),
            Some("client_credentials") => Ok(TokenRequest::ClientCredentials { scope: p.get("scope").map(str::to_string) }),
            Some(other) => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type {other:?} is not supported (authorization_code, refresh_token, client_credentials)"),
            )),
        }
    }
}

#[derive(Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The single-use credential traded in for tokens.
#[derive(Debug, Clone, Copy)]
enum Consumes<'a> {
    Nothing,
    /// Hash of the authorization code.
    Code(&'a str),
    /// Hash of the refresh token being rotated.
    RefreshToken(&'a str),
}

/// What tokens to mint under a grant.
struct Mint<'a> {
    client: &'a Client,
    grant: &'a GrantRecord,
    /// The grant is new and must be written with the tokens.
    new_grant: bool,
    scope: Scope,
    with_refresh: bool,
    /// The single-use credential this issuance consumes, in the same transaction.
    consumes: Consumes<'a>,
    subject: String,
}

impl Engine {
    /// Handles a token request from an authenticated client.
    pub fn token(&self, client: &Client, request: TokenRequest) -> OAuthResult<TokenResponse> {
        match request {
            TokenRequest::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => self.exchange_code(
                client,
                &code,
                redirect_uri.as_deref(),
                code_verifier.as_deref(),
            ),
            TokenRequest::RefreshToken {
                refresh_token,
                scope,
            } => self.refresh(client, &refresh_token, scope.as_deref()),
            TokenRequest::ClientCredentials { scope } => {
                self.client_credentials(client, scope.as_deref())
            }
        }
    }

    /// Writes an access token (and refresh token) under `grant`; `Ok(None)` when the
    /// consumed code or refresh token was used meanwhile (nothing is written then).
    fn mint(
        &self,
        m: Mint<'_>,
        now: UnixTime,
    ) -> OAuthResult<Option<(String, Option<String>, i64)>> {
        let ttl = self.settings().tokens.access_token_ttl;
        let jti = random_token(16);
        let claims = AccessTokenClaims {
            iss: self.issuer().to_string(),
            sub: m.subject,
            aud: self.issuer().to_string(),
            exp: now + ttl,
            iat: now,
            jti: jti.clone(),
            client_id: m.client.client_id.to_string(),
            scope: m.scope.to_string(),
            auth_time: m.grant.auth_time,
            acr: m.grant.acr.clone(),
            sid: m.grant.sid.clone(),
        };
        let access_token =
            super::tokens::sign_access_token(self.keys(), self.access_token_alg(), &claims, now)
                .map_err(OAuthError::server)?;
        let refresh = m.with_refresh.then(new_secret_token);
        let bundle = IssueBundle {
            new_grant: m.new_grant.then(|| m.grant.clone()),
            access_token: AccessTokenRecord {
                jti_hash: token_hash(&jti),
                grant_id: Some(m.grant.id.clone()),
                client_id: m.client.client_id.to_string(),
                person_id: m.grant.person_id.clone(),
                scope: m.scope.to_string(),
                created_at: now,
                expires_at: now + ttl,
                revoked_at: None,
            },
            refresh_token: refresh.as_ref().map(|rt| RefreshTokenRecord {
                token_hash: token_hash(rt),
                grant_id: m.grant.id.clone(),
                client_id: m.client.client_id.to_string(),
                created_at: now,
                expires_at: m.grant.expires_at,
                consumed_at: None,
                revoked_at: None,
            }),
        };
        let won = match m.consumes {
            Consumes::Nothing => {
                self.store().issue_tokens(&bundle)?;
                true
            }
            Consumes::Code(hash) => self.store().redeem_code(hash, now, &bundle)?,
            Consumes::RefreshToken(hash) => {
                self.store().rotate_refresh_token(hash, now, &bundle)?
            }
        };
        if !won {
            return Ok(None);
        }
        Ok(Some((access_token, refresh, ttl)))
    }
}

pub(crate) fn new_grant_id() -> String {
    random_token(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_requests_and_responses_never_print_their_credentials() {
        let secret = "cred-SeCrEt-0123456789";
        let shown = [
            format!(
                "{:?}",
                TokenRequest::AuthorizationCode {
                    code: secret.into(),
                    redirect_uri: Some("https://rp.example/cb".into()),
                    code_verifier: Some(secret.into()),
                }
            ),
            format!(
                "{:?}",
                TokenRequest::RefreshToken {
                    refresh_token: secret.into(),
                    scope: None,
                }
            ),
            format!(
                "{:?}",
                TokenResponse {
                    access_token: secret.into(),
                    token_type: "Bearer",
                    expires_in: 600,
                    refresh_token: Some(secret.into()),
                    id_token: Some(secret.into()),
                    scope: "openid".into(),
                }
            ),
        ];
        for s in shown {
            assert!(!s.contains("SeCrEt"), "{s}");
        }
    }
}
