//! `grant_type=client_credentials` (RFC 6749 §4.4): a token for the client itself.

use super::{new_grant_id, Consumes, Mint, TokenResponse};
use crate::domain::{Client, GrantType, Scope};
use crate::oidc::error::{ErrorCode, OAuthError, OAuthResult};
use crate::oidc::Engine;
use crate::store::GrantRecord;

/// Scopes that only make sense with a person; never granted to a client alone.
const PERSON_SCOPES: [&str; 5] = ["openid", "profile", "email", "phone", "offline_access"];

impl Engine {
    pub(super) fn client_credentials(
        &self,
        client: &Client,
        scope: Option<&str>,
    ) -> OAuthResult<TokenResponse> {
        if client.is_public() || !client.allows_grant(GrantType::ClientCredentials) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this client may not use client_credentials",
            ));
        }
        let mut allowed = client.scopes.clone();
        for s in PERSON_SCOPES {
            allowed = allowed.without(s);
        }
        let scope = match scope {
            None => allowed,
            Some(s) => {
                let asked =
                    Scope::parse(s).map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e))?;
                if !asked.is_subset(&allowed) {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidScope,
                        "scope asks for more than this client may have",
                    ));
                }
                asked
            }
        };
        let now = self.now();
        let grant = GrantRecord {
            id: new_grant_id(),
            client_id: client.client_id.to_string(),
            person_id: None,
            sid: None,
            scope: scope.to_string(),
            claims: None,
            auth_time: None,
            acr: None,
            amr: Vec::new(),
            created_at: now,
            expires_at: now + self.settings().tokens.access_token_ttl,
            revoked_at: None,
        };
        let minted = self.mint(
            Mint {
                client,
                grant: &grant,
                new_grant: true,
                scope: scope.clone(),
                with_refresh: false,
                consumes: Consumes::Nothing,
                subject: client.client_id.to_string(),
            },
            now,
        )?;
        let (access_token, _, expires_in) =
            minted.ok_or_else(|| OAuthError::server(anyhow::anyhow!("token not written")))?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in,
            refresh_token: None,
            id_token: None,
            scope: scope.to_string(),
        })
    }
}
