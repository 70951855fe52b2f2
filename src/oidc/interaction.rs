//! While the user signs in and consents: resuming a stored authorization request,
//! completing a sign-in (the interface every authentication method calls), consent.

use super::authorize::{AuthorizationResponse, BrowserContext, Decision};
use super::error::{ErrorCode, OAuthError, OAuthResult};
use super::logout::LogoutDelivery;
use super::request::AuthorizeRequest;
use super::{AuthResult, Engine};
use crate::audit::AuditKind;
use crate::clock::UnixTime;
use crate::crypto::{ct_eq, new_secret_token, random_token, token_hash};
use crate::domain::{Acr, Client};
use crate::store::{InteractionRecord, LoginRecord, SessionRecord};

/// What the sign-in page needs to know.
#[derive(Debug, Clone)]
pub struct LoginView {
    pub interaction_id: String,
    pub csrf_token: String,
    /// The client asking: the registration links of the sign-in page name it, so that the
    /// registration site's pages lead back to it.
    pub client_id: String,
    pub client_name: String,
    pub login_hint: Option<String>,
    /// The level the sign-in must reach, if the client or request demands one.
    pub required_acr: Option<Acr>,
    /// The levels the request asked for (`acr_values`, most wanted first).
    pub requested_acrs: Vec<Acr>,
    pub ui_locales: Vec<String>,
}

/// What the consent page needs to know.
#[derive(Debug, Clone)]
pub struct ConsentView {
    pub interaction_id: String,
    pub csrf_token: String,
    pub client_name: String,
    pub person_name: String,
    pub scopes: Vec<String>,
    pub ui_locales: Vec<String>,
}

#[derive(Debug)]
pub enum ResumeOutcome {
    Login(LoginView),
    Consent(ConsentView),
    Respond(AuthorizationResponse),
    ErrorPage(OAuthError),
}

/// A finished sign-in: the session cookie to set, and sessions of someone else in this
/// browser that were ended (their clients get back-channel logout tokens).
pub struct LoginCompletion {
    pub session_token: String,
    pub ended: Vec<LogoutDelivery>,
}

impl std::fmt::Debug for LoginCompletion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginCompletion")
            .field("ended", &self.ended.len())
            .finish_non_exhaustive()
    }
}

struct Loaded {
    record: InteractionRecord,
    client: Client,
    request: AuthorizeRequest,
}

impl Engine {
    fn load_interaction(
        &self,
        id: &str,
        ctx: &BrowserContext,
        now: UnixTime,
    ) -> OAuthResult<Loaded> {
        let gone = || {
            OAuthError::invalid_request("this sign-in request has expired or was already used; go back to the application and start again")
        };
        let record = self.store().find_interaction(id)?.ok_or_else(gone)?;
        if record.consumed_at.is_some() || record.expires_at <= now {
            return Err(gone());
        }
        let bound = ctx
            .browser_token
            .as_deref()
            .is_some_and(|t| ct_eq(&token_hash(t), &record.browser_hash));
        if !bound {
            return Err(OAuthError::invalid_request(
                "this sign-in request was started in another browser",
            ));
        }
        let client = self
            .store()
            .find_client(&record.client_id)?
            .ok_or_else(gone)?;
        let request: AuthorizeRequest =
            serde_json::from_str(&record.request).map_err(OAuthError::server)?;
        Ok(Loaded {
            record,
            client,
            request,
        })
    }

    /// Shows the next step of an interaction, or finishes it with a response to the client.
    pub fn resume(&self, id: &str, ctx: &BrowserContext) -> ResumeOutcome {
        let now = self.now();
        let loaded = match self.load_interaction(id, ctx, now) {
            Ok(l) => l,
            Err(e) => return ResumeOutcome::ErrorPage(e),
        };
        let Loaded {
            record,
            client,
            request,
        } = loaded;
        let respond_error = |e: &OAuthError| {
            ResumeOutcome::Respond(self.error_response(
                request.redirect_uri.as_ref(),
                request.response_mode,
                request.state.as_deref(),
                e,
            ))
        };
        let session = match self.current_session(ctx, now) {
            Ok(s) => s,
            Err(e) => return respond_error(&e),
        };
        let decision = match self.decide(&client, &request, session.as_ref(), Some(&record), now) {
            Ok(d) => d,
            Err(e) => return respond_error(&e),
        };
        match decision {
            Decision::Login => ResumeOutcome::Login(LoginView {
                interaction_id: record.id.clone(),
                csrf_token: record.csrf_token.clone(),
                client_id: client.client_id.to_string(),
                client_name: client.name.clone(),
                login_hint: request.login_hint.clone(),
                required_acr: required_acr(&client, &request),
                requested_acrs: request.requested_acrs(),
                ui_locales: request.ui_locales.clone(),
            }),
            Decision::Consent => {
                let person_name = session
                    .as_ref()
                    .and_then(|s| self.store().find_person(&s.person_id).ok().flatten())
                    .map(|p| p.name)
                    .unwrap_or_default();
                ResumeOutcome::Consent(ConsentView {
                    interaction_id: record.id.clone(),
                    csrf_token: record.csrf_token.clone(),
                    client_name: client.name.clone(),
                    person_name,
                    scopes: request
                        .scope()
                        .iter()
                        .filter(|s| *s != "openid")
                        .map(str::to_string)
                        .collect(),
                    ui_locales: request.ui_locales.clone(),
                })
            }
            Decision::Fail(e) => match self.store().consume_interaction(&record.id, now) {
                Ok(true) => respond_error(&e),
                Ok(false) => ResumeOutcome::ErrorPage(OAuthError::invalid_request(
                    "this sign-in request was already used",
                )),
                Err(err) => respond_error(&OAuthError::from(err)),
            },
            Decision::Issue(current) => {
                match self.store().consume_interaction(&record.id, now) {
                    Ok(true) => {}
                    Ok(false) => {
                        return ResumeOutcome::ErrorPage(OAuthError::invalid_request(
                            "this sign-in request was already used",
                        ))
                    }
                    Err(e) => return respond_error(&OAuthError::from(e)),
                }
                match self.issue_code(&client, &request, &current, record.consent_given, now) {
                    Ok(resp) => ResumeOutcome::Respond(resp),
                    Err(e) => respond_error(&e),
                }
            }
        }
    }

    /// Creates (or renews, for the same person) the SSO session after a sign-in; ends the
    /// session of someone else in this browser. Returns the cookie value and the renewed
    /// session.
    fn open_session(
        &self,
        ctx: &BrowserContext,
        result: &AuthResult,
        now: i64,
    ) -> OAuthResult<(LoginCompletion, SessionRecord)> {
        if self.store().find_person(&result.person_id)?.is_none() {
            return Err(OAuthError::server(anyhow::anyhow!(
                "authentication method returned an unknown person"
            )));
        }
        let session_token = new_secret_token();
        let renewed = SessionRecord {
            id_hash: token_hash(&session_token),
            sid: random_token(16),
            person_id: result.person_id.clone(),
            auth_time: now,
            acr: result.acr.as_str().to_string(),
            amr: result.amr.clone(),
            created_at: now,
            expires_at: now + self.settings().tokens.session_ttl,
            ended_at: None,
            last_seen_at: now,
        };
        let mut ended = Vec::new();
        let existing = self.current_session(ctx, now)?;
        let kept = match &existing {
            Some(old) if old.person_id == result.person_id => {
                self.store().reauthenticate(&old.id_hash, &renewed)?
            }
            Some(old) => {
                ended = self.end_session_record(old, now)?;
                false
            }
            None => false,
        };
        if !kept {
            self.store().create_session(&renewed)?;
        }
        Ok((
            LoginCompletion {
                session_token,
                ended,
            },
            renewed,
        ))
    }

    /// A sign-in outside an authorization (the registration site's own login box): the SSO
    /// session only.
    pub fn sign_in(
        &self,
        ctx: &BrowserContext,
        result: &AuthResult,
    ) -> OAuthResult<LoginCompletion> {
        let now = self.now();
        let (completion, _) = self.open_session(ctx, result, now)?;
        self.metrics().login(&result.method, "success");
        self.audit_from(
            ctx.ip.as_deref(),
            AuditKind::Login,
            "success",
            Some(&result.person_id),
            None,
            Some(format!(
                "method={} acr={} site=register",
                result.method, result.acr
            )),
        );
        Ok(completion)
    }

    /// The interface of every authentication method: `result` proves who signed in for
    /// interaction `id`. Creates (or renews) the SSO session; the caller sets the cookie and
    /// then resumes the interaction.
    pub fn complete_login(
        &self,
        id: &str,
        ctx: &BrowserContext,
        result: &AuthResult,
    ) -> OAuthResult<LoginCompletion> {
        let now = self.now();
        let loaded = self.load_interaction(id, ctx, now)?;
        if !self.hint_allows(&loaded, &result.person_id) {
            // Sign-in pages refuse this with their own message first; this holds for all.
            return Err(OAuthError::invalid_request(
                "the person who signed in is not the one the application asked for (id_token_hint)",
            ));
        }
        let (completion, renewed) = self.open_session(ctx, result, now)?;
        let session_token = completion.session_token;
        let ended = completion.ended;
        let login = LoginRecord {
            person_id: result.person_id.clone(),
            auth_time: now,
            acr: renewed.acr.clone(),
            amr: renewed.amr.clone(),
        };
        if !self.store().record_login(&loaded.record.id, &login, now)? {
            return Err(OAuthError::invalid_request(
                "this sign-in request has expired; start again",
            ));
        }
        self.metrics().login(&result.method, "success");
        self.audit_from(
            ctx.ip.as_deref(),
            AuditKind::Login,
            "success",
            Some(&result.person_id),
            Some(loaded.client.client_id.as_ref()),
            Some(format!("method={} acr={}", result.method, result.acr)),
        );
        Ok(LoginCompletion {
            session_token,
            ended,
        })
    }

    /// Whether `person_id` may sign in for interaction `id`: when the request named its user
    /// with `id_token_hint`, only that user may (OIDC Core §3.1.2.1); anyone otherwise.
    pub fn is_hinted_person(
        &self,
        id: &str,
        ctx: &BrowserContext,
        person_id: &str,
    ) -> OAuthResult<bool> {
        let loaded = self.load_interaction(id, ctx, self.now())?;
        Ok(self.hint_allows(&loaded, person_id))
    }

    fn hint_allows(&self, loaded: &Loaded, person_id: &str) -> bool {
        loaded
            .request
            .id_token_hint_sub
            .as_deref()
            .is_none_or(|sub| sub == self.subject_for(&loaded.client, person_id))
    }

    /// Checks the CSRF token of a form posted inside interaction `id`.
    pub fn check_interaction_csrf(
        &self,
        id: &str,
        ctx: &BrowserContext,
        csrf: &str,
    ) -> OAuthResult<()> {
        let loaded = self.load_interaction(id, ctx, self.now())?;
        if ct_eq(&loaded.record.csrf_token, csrf) {
            Ok(())
        } else {
            Err(OAuthError::invalid_request(
                "the form has expired; reload the page and try again",
            ))
        }
    }

    /// The consent form: approve records the consent and resumes; deny answers
    /// `access_denied` to the client.
    pub fn submit_consent(
        &self,
        id: &str,
        ctx: &BrowserContext,
        csrf: &str,
        approve: bool,
    ) -> ResumeOutcome {
        if let Err(e) = self.check_interaction_csrf(id, ctx, csrf) {
            return ResumeOutcome::ErrorPage(e);
        }
        let now = self.now();
        if !approve {
            return self.abort_interaction(id, ctx, "the user declined");
        }
        let result = (|| -> OAuthResult<()> {
            let loaded = self.load_interaction(id, ctx, now)?;
            let session = self
                .current_session(ctx, now)?
                .ok_or_else(|| OAuthError::invalid_request("you are no longer signed in"))?;
            let mut scopes = loaded.request.scope();
            if let Some(previous) = self
                .store()
                .find_consent(&session.person_id, loaded.client.client_id.as_ref())?
            {
                let prev = crate::domain::Scope::parse(&previous).unwrap_or_default();
                scopes = crate::domain::Scope::from_tokens(
                    scopes.iter().chain(prev.iter()).map(str::to_string),
                );
            }
            self.store().save_consent(
                &session.person_id,
                loaded.client.client_id.as_ref(),
                &scopes.to_string(),
                now,
            )?;
            self.store().record_consent(id, now)?;
            self.audit(
                AuditKind::Consent,
                "granted",
                Some(&session.person_id),
                Some(loaded.client.client_id.as_ref()),
                Some(scopes.to_string()),
            );
            Ok(())
        })();
        match result {
            Ok(()) => self.resume(id, ctx),
            Err(e) => ResumeOutcome::ErrorPage(e),
        }
    }

    /// Ends an interaction with `access_denied` (the user cancelled).
    pub fn abort_interaction(&self, id: &str, ctx: &BrowserContext, why: &str) -> ResumeOutcome {
        let now = self.now();
        let loaded = match self.load_interaction(id, ctx, now) {
            Ok(l) => l,
            Err(e) => return ResumeOutcome::ErrorPage(e),
        };
        match self.store().consume_interaction(id, now) {
            Ok(true) => {}
            Ok(false) => {
                return ResumeOutcome::ErrorPage(OAuthError::invalid_request(
                    "this sign-in request was already used",
                ))
            }
            Err(e) => return ResumeOutcome::ErrorPage(e.into()),
        }
        let e = OAuthError::new(ErrorCode::AccessDenied, why);
        let r = &loaded.request;
        ResumeOutcome::Respond(self.error_response(
            r.redirect_uri.as_ref(),
            r.response_mode,
            r.state.as_deref(),
            &e,
        ))
    }
}

/// The strongest level the client or the request asks for.
fn required_acr(client: &Client, request: &AuthorizeRequest) -> Option<Acr> {
    let mut candidates: Vec<Acr> = request.requested_acrs().into_iter().take(1).collect();
    candidates.extend(client.min_acr);
    candidates.into_iter().max_by_key(|a| a.rank())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completed_sign_in_never_prints_its_cookie_value() {
        let done = LoginCompletion {
            session_token: "sEcReT-cookie-value-1234567890".into(),
            ended: Vec::new(),
        };
        let shown = format!("{done:?}");
        assert!(!shown.contains("sEcReT"), "{shown}");
        assert!(shown.contains("LoginCompletion"));
    }
}
