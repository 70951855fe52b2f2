//! The UserInfo endpoint (OIDC Core §5.3) and the access-token check it shares with
//! introspection.

use serde::Serialize;

use super::claims::{AccessTokenClaims, UserClaims};
use super::error::{ErrorCode, OAuthError, OAuthResult};
use super::Engine;
use crate::crypto::token_hash;
use crate::domain::Scope;
use crate::store::AccessTokenRecord;

#[derive(Debug, Clone, Serialize)]
pub struct UserInfo {
    pub sub: String,
    #[serde(flatten)]
    pub claims: UserClaims,
}

impl Engine {
    /// A JWT access token that is well signed, unexpired, meant for this OP and neither
    /// revoked nor under a revoked grant.
    pub fn check_access_token(
        &self,
        token: &str,
    ) -> OAuthResult<(AccessTokenClaims, AccessTokenRecord)> {
        let now = self.now();
        let invalid =
            || OAuthError::invalid_token("the access token is invalid, expired or revoked");
        let claims =
            super::tokens::verify_access_token(self.keys(), token, now).map_err(|_| invalid())?;
        if claims.iss != self.issuer() || claims.aud != self.issuer() || claims.exp <= now {
            return Err(invalid());
        }
        let record = self
            .store()
            .find_access_token(&token_hash(&claims.jti))?
            .ok_or_else(invalid)?;
        if record.revoked_at.is_some() || record.expires_at <= now {
            return Err(invalid());
        }
        if let Some(grant_id) = &record.grant_id {
            let grant = self.store().find_grant(grant_id)?.ok_or_else(invalid)?;
            if grant.revoked_at.is_some() {
                return Err(invalid());
            }
        }
        if let Some(person_id) = &record.person_id {
            if !self.in_good_standing(person_id)? {
                return Err(invalid());
            }
        }
        Ok((claims, record))
    }

    pub fn userinfo(&self, token: &str) -> OAuthResult<UserInfo> {
        let (claims, record) = self.check_access_token(token)?;
        let scope = Scope::parse(&record.scope).unwrap_or_default();
        if !scope.contains("openid") {
            return Err(OAuthError::new(
                ErrorCode::InsufficientScope,
                "the access token was not issued with the openid scope",
            ));
        }
        let invalid = || OAuthError::invalid_token("the access token does not belong to a person");
        let person_id = record.person_id.as_deref().ok_or_else(invalid)?;
        let person = self.store().find_person(person_id)?.ok_or_else(invalid)?;
        let client = self
            .store()
            .find_client(&claims.client_id)?
            .ok_or_else(invalid)?;
        Ok(UserInfo {
            sub: self.subject_for(&client, &person.id),
            claims: self.user_claims(&person, &scope),
        })
    }
}
