//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6, OIDC Core §3.1.3).

use super::{Consumes, Mint, TokenResponse};
use crate::audit::AuditKind;
use crate::crypto::token_hash;
use crate::domain::{Client, CodeChallenge, CodeVerifier, GrantType, Scope};
use crate::oidc::claims::IdTokenClaims;
use crate::oidc::error::{OAuthError, OAuthResult};
use crate::oidc::request::ClaimsRequest;
use crate::oidc::Engine;
use crate::store::GrantRecord;

impl Engine {
    pub(super) fn exchange_code(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
    ) -> OAuthResult<TokenResponse> {
        if !client.allows_grant(GrantType::AuthorizationCode) {
            return Err(OAuthError::new(
                crate::oidc::ErrorCode::UnauthorizedClient,
                "this client may not use authorization_code",
            ));
        }
        let now = self.now();
        let hash = token_hash(code);
        let invalid = || {
            OAuthError::invalid_grant(
                "the authorization code is invalid, expired or was already used",
            )
        };
        let record = self.store().find_code(&hash)?.ok_or_else(invalid)?;
        // Every failed redemption burns the code (RFC 9700 §4.5): whoever tries a stolen
        // code with the wrong client, redirect URI or verifier gets nothing, and neither
        // does anyone after them.
        let burn = |e: OAuthError| -> OAuthError {
            match self.store().burn_code(&hash, now) {
                Ok(_) => e,
                Err(err) => OAuthError::server(err),
            }
        };
        if record.client_id != client.client_id.as_ref() {
            return Err(burn(invalid()));
        }
        if record.consumed_at.is_some() {
            return Err(self.code_reused(&record.grant_id, client));
        }
        if record.expires_at <= now {
            return Err(burn(invalid()));
        }
        if redirect_uri != Some(record.redirect_uri.as_str()) {
            return Err(burn(OAuthError::invalid_grant(
                "redirect_uri must be the one sent in the authorization request",
            )));
        }
        match (&record.code_challenge, code_verifier) {
            (Some(challenge), Some(verifier)) => {
                // A verifier that is not one at all is a malformed request (RFC 7636 §4.1).
                let verifier = CodeVerifier::parse(verifier)
                    .map_err(|e| burn(OAuthError::invalid_request(e)))?;
                if !CodeChallenge::from_stored(challenge.clone()).verify(&verifier) {
                    return Err(burn(OAuthError::invalid_grant(
                        "code_verifier does not match the code_challenge",
                    )));
                }
            }
            (Some(_), None) => {
                return Err(burn(OAuthError::invalid_grant(
                    "code_verifier is missing (PKCE)",
                )))
            }
            (None, Some(_)) => {
                return Err(burn(OAuthError::invalid_grant(
                    "code_verifier was sent but the authorization request had no code_challenge",
                )))
            }
            (None, None) => {}
        }
        let person = self
            .store()
            .find_person(&record.person_id)?
            .ok_or_else(|| {
                burn(OAuthError::invalid_grant(
                    "the user of this code no longer exists",
                ))
            })?;
        if !self.in_good_standing(&person.id)? {
            return Err(burn(OAuthError::invalid_grant(
                "the user's registration is no longer active",
            )));
        }
        let scope = Scope::parse(&record.scope).unwrap_or_default();
        let offline =
            scope.contains("offline_access") && client.allows_grant(GrantType::RefreshToken);
        let tokens = &self.settings().tokens;
        let grant = GrantRecord {
            id: record.grant_id.clone(),
            client_id: client.client_id.to_string(),
            person_id: Some(person.id.clone()),
            sid: Some(record.sid.clone()),
            scope: scope.to_string(),
            claims: record.claims.clone(),
            auth_time: Some(record.auth_time),
            acr: Some(record.acr.clone()),
            amr: record.amr.clone(),
            created_at: now,
            expires_at: now
                + if offline {
                    tokens.refresh_token_ttl
                } else {
                    tokens.access_token_ttl
                },
            revoked_at: None,
        };
        let subject = self.subject_for(client, &person.id);
        let minted = self.mint(
            Mint {
                client,
                grant: &grant,
                new_grant: true,
                scope: scope.clone(),
                with_refresh: offline,
                consumes: Consumes::Code(&hash),
                subject: subject.clone(),
            },
            now,
        )?;
        let Some((access_token, refresh_token, expires_in)) = minted else {
            // Lost the race, or expired meanwhile. A reuse revokes what the winner issued
            // (written in the same transaction as the consumption, so it is there).
            let again = self.store().find_code(&hash)?;
            if again.is_some_and(|c| c.consumed_at.is_some()) {
                return Err(self.code_reused(&record.grant_id, client));
            }
            return Err(invalid());
        };
        let id_token =
            self.id_token(client, &grant, &person, subject, record.nonce.clone(), now)?;
        self.audit(
            AuditKind::Token,
            "issued",
            Some(&person.id),
            Some(client.client_id.as_ref()),
            Some("authorization_code".into()),
        );
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in,
            refresh_token,
            id_token: Some(id_token),
            scope: scope.to_string(),
        })
    }

    fn code_reused(&self, grant_id: &str, client: &Client) -> OAuthError {
        let now = self.now();
        if let Err(e) = self.store().revoke_grant(grant_id, now) {
            return OAuthError::server(e);
        }
        self.audit(
            AuditKind::CodeReuse,
            "revoked",
            None,
            Some(client.client_id.as_ref()),
            Some(format!("grant={grant_id}")),
        );
        tracing::warn!(client_id = %client.client_id, "authorization code reused; tokens issued from it were revoked");
        OAuthError::invalid_grant(
            "the authorization code was already used; tokens issued from it are revoked",
        )
    }

    /// An ID token for `grant`, with the claims asked for in `claims.id_token`.
    pub(super) fn id_token(
        &self,
        client: &Client,
        grant: &GrantRecord,
        person: &crate::store::Person,
        subject: String,
        nonce: Option<String>,
        now: i64,
    ) -> OAuthResult<String> {
        let requested: Option<ClaimsRequest> = grant
            .claims
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok());
        let scope = Scope::parse(&grant.scope).unwrap_or_default();
        let mut user = self.user_claims(person, &scope);
        let wanted: Vec<&String> = requested
            .as_ref()
            .map(|r| r.id_token.keys().collect())
            .unwrap_or_default();
        let keep = |claim: &str| wanted.iter().any(|w| w.as_str() == claim);
        if !keep("name") {
            user.name = None;
        }
        if !keep("email") {
            user.email = None;
        }
        if !keep("email_verified") {
            user.email_verified = None;
        }
        if !keep("phone_number") {
            user.phone_number = None;
        }
        let claims = IdTokenClaims {
            iss: self.issuer().to_string(),
            sub: subject,
            aud: client.client_id.to_string(),
            exp: now + self.settings().tokens.id_token_ttl,
            iat: now,
            auth_time: grant.auth_time,
            nonce,
            acr: grant.acr.clone(),
            amr: grant.amr.clone(),
            sid: grant.sid.clone(),
            azp: Some(client.client_id.to_string()),
            user,
        };
        crate::oidc::tokens::sign_id_token(self.keys(), self.id_token_alg(client), &claims, now)
            .map_err(OAuthError::server)
    }
}
