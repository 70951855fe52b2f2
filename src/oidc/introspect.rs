//! Token introspection (RFC 7662) and revocation (RFC 7009).

use serde::Serialize;

use super::error::OAuthResult;
use super::Engine;
use crate::audit::AuditKind;
use crate::crypto::token_hash;
use crate::domain::Client;

#[derive(Debug, Clone, Serialize, Default)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

impl Engine {
    /// Introspects a token for `caller`. Tokens of other clients are reported inactive,
    /// so that one client cannot learn about another's tokens.
    pub fn introspect(&self, caller: &Client, token: &str) -> OAuthResult<Introspection> {
        let now = self.now();
        if looks_like_jwt(token) {
            if let Ok((claims, _)) = self.check_access_token(token) {
                if claims.client_id != caller.client_id.as_ref() {
                    return Ok(Introspection::default());
                }
                return Ok(Introspection {
                    active: true,
                    scope: Some(claims.scope),
                    client_id: Some(claims.client_id),
                    sub: Some(claims.sub),
                    exp: Some(claims.exp),
                    iat: Some(claims.iat),
                    iss: Some(claims.iss),
                    aud: Some(claims.aud),
                    token_type: Some("Bearer"),
                    acr: claims.acr,
                    auth_time: claims.auth_time,
                });
            }
            return Ok(Introspection::default());
        }
        let Some(rt) = self.store().find_refresh_token(&token_hash(token))? else {
            return Ok(Introspection::default());
        };
        if rt.client_id != caller.client_id.as_ref()
            || rt.consumed_at.is_some()
            || rt.revoked_at.is_some()
            || rt.expires_at <= now
        {
            return Ok(Introspection::default());
        }
        let Some(grant) = self.store().find_grant(&rt.grant_id)? else {
            return Ok(Introspection::default());
        };
        if grant.revoked_at.is_some() {
            return Ok(Introspection::default());
        }
        if let Some(person_id) = &grant.person_id {
            if !self.in_good_standing(person_id)? {
                return Ok(Introspection::default());
            }
        }
        let sub = grant
            .person_id
            .as_deref()
            .map(|p| self.subject_for(caller, p));
        Ok(Introspection {
            active: true,
            scope: Some(grant.scope),
            client_id: Some(rt.client_id),
            sub,
            exp: Some(rt.expires_at),
            iat: Some(rt.created_at),
            iss: Some(self.issuer().to_string()),
            aud: None,
            token_type: Some("refresh_token"),
            acr: grant.acr,
            auth_time: grant.auth_time,
        })
    }

    /// Revokes a token of `caller`. Unknown tokens and tokens of other clients are
    /// ignored (RFC 7009 §2.2: the answer is 200 either way).
    pub fn revoke(&self, caller: &Client, token: &str) -> OAuthResult<()> {
        let now = self.now();
        if looks_like_jwt(token) {
            if let Ok(claims) = super::tokens::verify_access_token(self.keys(), token, now) {
                if claims.client_id == caller.client_id.as_ref() {
                    self.store()
                        .revoke_access_token(&token_hash(&claims.jti), now)?;
                    self.audit(
                        AuditKind::Revoke,
                        "access_token",
                        None,
                        Some(caller.client_id.as_ref()),
                        None,
                    );
                }
            }
            return Ok(());
        }
        if let Some(rt) = self.store().find_refresh_token(&token_hash(token))? {
            if rt.client_id == caller.client_id.as_ref() {
                self.store().revoke_grant(&rt.grant_id, now)?;
                self.audit(
                    AuditKind::Revoke,
                    "refresh_token",
                    None,
                    Some(caller.client_id.as_ref()),
                    None,
                );
            }
        }
        Ok(())
    }
}
