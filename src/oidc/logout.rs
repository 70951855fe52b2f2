//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) and back-channel logout
//! tokens (OpenID Connect Back-Channel Logout 1.0).

use serde::{Deserialize, Serialize};

use super::authorize::BrowserContext;
use super::claims::{LogoutTokenClaims, BACKCHANNEL_LOGOUT_EVENT};
use super::error::{OAuthError, OAuthResult};
use super::Engine;
use crate::audit::AuditKind;
use crate::clock::UnixTime;
use crate::crypto::{ct_eq, random_token, KeyPurpose};
use crate::domain::Client;
use crate::store::SessionRecord;

/// A logout token to POST to a client's back-channel logout URI.
#[derive(Clone)]
pub struct LogoutDelivery {
    pub client_id: String,
    pub uri: String,
    pub logout_token: String,
}

impl std::fmt::Debug for LogoutDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogoutDelivery")
            .field("client_id", &self.client_id)
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

/// Parameters of the end-session endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EndSessionRequest {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub ui_locales: Option<String>,
}

#[derive(Debug)]
pub enum EndSessionOutcome {
    ErrorPage(OAuthError),
    /// No valid `id_token_hint` for the session: ask the user before signing out.
    Confirm {
        csrf_token: String,
        client_name: Option<String>,
        /// Names of the applications the session has signed in to (what will be signed out).
        signing_out: Vec<String>,
        request: EndSessionRequest,
    },
    LoggedOut {
        /// Where to send the browser; `None` shows the signed-out page.
        redirect: Option<String>,
        /// Names of the applications that were signed out.
        signed_out: Vec<String>,
        deliveries: Vec<LogoutDelivery>,
    },
}

impl Engine {
    /// CSRF token for the logout confirmation, bound to the session cookie.
    fn logout_csrf(&self, session_token: &str) -> String {
        let mut input = b"logout|".to_vec();
        input.extend_from_slice(session_token.as_bytes());
        self.ring().keyed_hash(KeyPurpose::Csrf, &input)
    }

    /// Handles the end-session endpoint. `confirmation` is the CSRF token of the
    /// confirmation form when the user has confirmed.
    pub fn end_session(
        &self,
        req: EndSessionRequest,
        ctx: &BrowserContext,
        confirmation: Option<&str>,
    ) -> EndSessionOutcome {
        match self.end_session_inner(req, ctx, confirmation) {
            Ok(o) => o,
            Err(e) => EndSessionOutcome::ErrorPage(e),
        }
    }

    fn end_session_inner(
        &self,
        req: EndSessionRequest,
        ctx: &BrowserContext,
        confirmation: Option<&str>,
    ) -> OAuthResult<EndSessionOutcome> {
        let now = self.now();
        let hint = match req.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
            None => None,
            Some(h) => Some(
                super::tokens::verify_id_token_hint(self.keys(), h, now)
                    .ok()
                    .filter(|c| c.iss == self.issuer())
                    .ok_or_else(|| {
                        OAuthError::invalid_request(
                            "id_token_hint is not an ID token issued by this OP",
                        )
                    })?,
            ),
        };
        let client_id = match (
            req.client_id.as_deref().filter(|c| !c.is_empty()),
            hint.as_ref().map(|h| h.aud.as_str()),
        ) {
            (Some(a), Some(b)) if a != b => {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the audience of id_token_hint",
                ))
            }
            (Some(a), _) => Some(a.to_string()),
            (None, Some(b)) => Some(b.to_string()),
            (None, None) => None,
        };
        let client: Option<Client> = match &client_id {
            Some(id) => Some(self.store().find_client(id)?.ok_or_else(|| {
                OAuthError::invalid_request("client_id is not a registered client")
            })?),
            None => None,
        };
        let redirect = match req
            .post_logout_redirect_uri
            .as_deref()
            .filter(|u| !u.is_empty())
        {
            None => None,
            Some(uri) => {
                let c = client.as_ref().ok_or_else(|| {
                    OAuthError::invalid_request("post_logout_redirect_uri needs id_token_hint or client_id to identify the client")
                })?;
                if !c.allows_post_logout_redirect(uri) {
                    return Err(OAuthError::invalid_request(
                        "post_logout_redirect_uri is not registered for this client",
                    ));
                }
                let mut target = uri.to_string();
                if let Some(state) = req.state.as_deref().filter(|s| !s.is_empty()) {
                    let sep = if target.contains('?') { '&' } else { '?' };
                    target = format!(
                        "{target}{sep}{}",
                        serde_urlencoded::to_string([("state", state)]).unwrap_or_default()
                    );
                }
                Some(target)
            }
        };
        let session = self.current_session(ctx, now)?;
        let Some(session) = session else {
            return Ok(EndSessionOutcome::LoggedOut {
                redirect,
                signed_out: Vec::new(),
                deliveries: Vec::new(),
            });
        };
        let hint_matches = hint.as_ref().is_some_and(|h| {
            h.sid.as_deref() == Some(session.sid.as_str())
                || client
                    .as_ref()
                    .is_some_and(|c| self.subject_for(c, &session.person_id) == h.sub)
        });
        let token = ctx.session_token.as_deref().unwrap_or_default();
        let signed_out: Vec<String> = self
            .store()
            .session_clients(&session.sid)?
            .iter()
            .filter_map(|id| self.store().find_client(id).ok().flatten().map(|c| c.name))
            .collect();
        if !hint_matches {
            match confirmation {
                Some(csrf) if ct_eq(csrf, &self.logout_csrf(token)) => {}
                Some(_) => {
                    return Err(OAuthError::invalid_request(
                        "the logout form has expired; try again",
                    ))
                }
                None => {
                    return Ok(EndSessionOutcome::Confirm {
                        csrf_token: self.logout_csrf(token),
                        client_name: client.map(|c| c.name),
                        signing_out: signed_out,
                        request: req,
                    })
                }
            }
        }
        let deliveries = self.end_session_record(&session, now)?;
        Ok(EndSessionOutcome::LoggedOut {
            redirect,
            signed_out,
            deliveries,
        })
    }

    /// Ends a session: marks it ended, revokes its (non-offline) grants, and returns the
    /// logout tokens for its clients' back-channel URIs.
    pub fn end_session_record(
        &self,
        session: &SessionRecord,
        now: UnixTime,
    ) -> OAuthResult<Vec<LogoutDelivery>> {
        if !self.store().end_session(&session.sid, now)? {
            return Ok(Vec::new());
        }
        self.store().revoke_session_grants(&session.sid, now)?;
        self.audit(
            AuditKind::Logout,
            "success",
            Some(&session.person_id),
            None,
            Some(format!("sid={}", session.sid)),
        );
        self.logout_deliveries(&session.person_id, &session.sid, now)
    }

    /// The back-channel logout tokens for every session in `sids` of `person_id`, all ended
    /// at once (a password change, a deactivation). A token that cannot be made is logged and
    /// skipped: the sessions have ended either way.
    pub fn logout_deliveries_for(&self, person_id: &str, sids: &[String]) -> Vec<LogoutDelivery> {
        let now = self.now();
        let mut all = Vec::new();
        for sid in sids {
            match self.logout_deliveries(person_id, sid, now) {
                Ok(d) => all.extend(d),
                Err(e) => tracing::warn!(error = ?e, "cannot make back-channel logout tokens"),
            }
        }
        all
    }

    /// The back-channel logout tokens for the clients of an ended session `sid` of
    /// `person_id`.
    pub fn logout_deliveries(
        &self,
        person_id: &str,
        sid: &str,
        now: UnixTime,
    ) -> OAuthResult<Vec<LogoutDelivery>> {
        let mut deliveries = Vec::new();
        for client_id in self.store().session_clients(sid)? {
            let Some(client) = self.store().find_client(&client_id)? else {
                continue;
            };
            let Some(uri) = client.backchannel_logout_uri.clone() else {
                continue;
            };
            let claims = LogoutTokenClaims {
                iss: self.issuer().to_string(),
                sub: self.subject_for(&client, person_id),
                aud: client_id.clone(),
                iat: now,
                exp: now + self.settings().tokens.logout_token_ttl,
                jti: random_token(16),
                events: serde_json::json!({ BACKCHANNEL_LOGOUT_EVENT: {} }),
                sid: sid.to_string(),
            };
            let logout_token = super::tokens::sign_logout_token(
                self.keys(),
                self.id_token_alg(&client),
                &claims,
                now,
            )
            .map_err(OAuthError::server)?;
            deliveries.push(LogoutDelivery {
                client_id,
                uri,
                logout_token,
            });
        }
        Ok(deliveries)
    }
}
