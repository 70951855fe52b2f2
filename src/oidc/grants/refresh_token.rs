//! `grant_type=refresh_token` (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2): a used refresh token presented again revokes the whole grant.

use super::{Consumes, Mint, TokenResponse};
use crate::audit::AuditKind;
use crate::crypto::token_hash;
use crate::domain::{Client, GrantType, Scope};
use crate::oidc::error::{ErrorCode, OAuthError, OAuthResult};
use crate::oidc::Engine;

impl Engine {
    pub(super) fn refresh(
        &self,
        client: &Client,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> OAuthResult<TokenResponse> {
        if !client.allows_grant(GrantType::RefreshToken) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this client may not use refresh_token",
            ));
        }
        let now = self.now();
        let hash = token_hash(refresh_token);
        let invalid =
            || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
        let record = self
            .store()
            .find_refresh_token(&hash)?
            .ok_or_else(invalid)?;
        if record.client_id != client.client_id.as_ref() {
            return Err(invalid());
        }
        if record.consumed_at.is_some() {
            return Err(self.refresh_reused(&record.grant_id, client));
        }
        if record.revoked_at.is_some() || record.expires_at <= now {
            return Err(invalid());
        }
        let grant = self
            .store()
            .find_grant(&record.grant_id)?
            .ok_or_else(invalid)?;
        if grant.revoked_at.is_some() || grant.expires_at <= now {
            return Err(invalid());
        }
        let granted = Scope::parse(&grant.scope).unwrap_or_default();
        let scope = match scope {
            None => granted.clone(),
            Some(s) => {
                let asked =
                    Scope::parse(s).map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e))?;
                if !asked.is_subset(&granted) {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidScope,
                        "scope may only narrow the original grant",
                    ));
                }
                asked
            }
        };
        let person_id = grant.person_id.clone().ok_or_else(invalid)?;
        let person = self.store().find_person(&person_id)?.ok_or_else(invalid)?;
        if !self.in_good_standing(&person.id)? {
            return Err(OAuthError::invalid_grant(
                "the user's registration is no longer active",
            ));
        }
        let subject = self.subject_for(client, &person.id);
        let minted = self.mint(
            Mint {
                client,
                grant: &grant,
                new_grant: false,
                scope: scope.clone(),
                with_refresh: true,
                consumes: Consumes::RefreshToken(&hash),
                subject: subject.clone(),
            },
            now,
        )?;
        let Some((access_token, refresh_token, expires_in)) = minted else {
            // Someone else rotated this token first: that is a reuse.
            return Err(self.refresh_reused(&record.grant_id, client));
        };
        let id_token = if scope.contains("openid") {
            Some(self.id_token(client, &grant, &person, subject, None, now)?)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in,
            refresh_token,
            id_token,
            scope: scope.to_string(),
        })
    }

    fn refresh_reused(&self, grant_id: &str, client: &Client) -> OAuthError {
        if let Err(e) = self.store().revoke_grant(grant_id, self.now()) {
            return OAuthError::server(e);
        }
        self.audit(
            AuditKind::RefreshReuse,
            "revoked",
            None,
            Some(client.client_id.as_ref()),
            Some(format!("grant={grant_id}")),
        );
        tracing::warn!(client_id = %client.client_id, "refresh token reused; the grant was revoked");
        OAuthError::invalid_grant("the refresh token was already used; the grant is revoked")
    }
}
