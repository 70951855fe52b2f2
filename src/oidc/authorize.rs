//! The authorization endpoint. Checks run in this order (node-oidc-provider style):
//!
//! | # | check | on failure |
//! |---|---|---|
//! | 1 | `client_id` present, single, registered | error page |
//! | 2 | `redirect_uri` present, single, registered (exact match) | error page |
//! | 3 | `response_mode` is query or form_post | redirect `invalid_request` (query) |
//! | 4 | client may use the code grant | redirect `unauthorized_client` |
//! | 5 | no repeated parameter | redirect `invalid_request` |
//! | 6 | `request` / `request_uri` not used | redirect `request_not_supported` / `request_uri_not_supported` |
//! | 7 | `response_type=code` | redirect `unsupported_response_type` |
//! | 8 | free-text parameters at most 4096 characters | redirect `invalid_request` |
//! | 9 | `scope` contains `openid`, narrowed to the client's; `claims` well-formed | redirect `invalid_scope` / `invalid_request` |
//! | 10 | PKCE S256 (public clients always; confidential per config) | redirect `invalid_request` |
//! | 11 | `prompt`, `max_age`, `acr_values`, `id_token_hint` well-formed | redirect `invalid_request` |
//! | 12 | session, `prompt`, `max_age`, acr, hint → sign in, consent, or issue | see [`Engine::decide`] |
//!
//! Every redirect carries `iss` (RFC 9207) and the request's `state`.

use serde::Serialize;

use super::error::{ErrorCode, OAuthError, OAuthResult};
use super::request::{self, AuthorizeRequest, RawParams, ResponseMode};
use super::Engine;
use crate::clock::UnixTime;
use crate::crypto::{new_secret_token, random_token, token_hash};
use crate::domain::{Acr, Client, GrantType, Prompt, RedirectUri, Scope};
use crate::store::{CodeRecord, InteractionRecord, SessionRecord};

/// Cookies the browser presented.
#[derive(Debug, Clone, Default)]
pub struct BrowserContext {
    pub session_token: Option<String>,
    pub browser_token: Option<String>,
    /// The client's address (for the audit trail).
    pub ip: Option<String>,
}

/// Where and how to send the authorization response.
#[derive(Debug, Clone, Serialize)]
pub struct AuthorizationResponse {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub params: Vec<(String, String)>,
}

impl AuthorizationResponse {
    /// The redirect target for `response_mode=query`.
    pub fn location(&self) -> String {
        let query = serde_urlencoded::to_string(&self.params).unwrap_or_default();
        let sep = if self.redirect_uri.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{}{}", self.redirect_uri, sep, query)
    }
}

#[derive(Debug)]
pub enum AuthorizeOutcome {
    /// Never redirect: show this error to the user.
    ErrorPage(OAuthError),
    /// Send the response (code or error) to the client's redirect URI.
    Respond(AuthorizationResponse),
    /// The user must sign in or consent; `browser_token` is the binding cookie to set.
    Interact {
        interaction_id: String,
        browser_token: String,
    },
}

/// The sign-in the request can rely on.
#[derive(Debug, Clone)]
pub struct CurrentAuth {
    pub person_id: String,
    pub sid: String,
    pub auth_time: UnixTime,
    pub acr: String,
    pub amr: Vec<String>,
}

impl From<&SessionRecord> for CurrentAuth {
    fn from(s: &SessionRecord) -> Self {
        CurrentAuth {
            person_id: s.person_id.clone(),
            sid: s.sid.clone(),
            auth_time: s.auth_time,
            acr: s.acr.clone(),
            amr: s.amr.clone(),
        }
    }
}

#[derive(Debug)]
pub enum Decision {
    Login,
    Consent,
    Issue(CurrentAuth),
    Fail(OAuthError),
}

const MAX_PARAM_LEN: usize = 4096;

/// How often (seconds) a session's last use is written: often enough for a 15-minute idle
/// timeout, rare enough not to write on every request.
const SESSION_TOUCH_INTERVAL: i64 = 60;

impl Engine {
    pub fn error_response(
        &self,
        redirect_uri: &str,
        mode: ResponseMode,
        state: Option<&str>,
        err: &OAuthError,
    ) -> AuthorizationResponse {
        let mut params = vec![("error".to_string(), err.code.as_str().to_string())];
        if !err.description.is_empty() {
            params.push(("error_description".into(), err.description.clone()));
        }
        if let Some(s) = state {
            params.push(("state".into(), s.to_string()));
        }
        params.push(("iss".into(), self.issuer().to_string()));
        AuthorizationResponse {
            redirect_uri: redirect_uri.to_string(),
            mode,
            params,
        }
    }

    /// Steps 1–2: the client and redirect URI, without which nothing may be redirected.
    fn resolve_client(&self, params: &RawParams) -> OAuthResult<(Client, String)> {
        if params.is_duplicated("client_id") {
            return Err(OAuthError::invalid_request("client_id must be sent once"));
        }
        let client_id = params
            .get("client_id")
            .ok_or_else(|| OAuthError::invalid_request("client_id is missing"))?;
        let client = self
            .store()
            .find_client(client_id)?
            .ok_or_else(|| OAuthError::invalid_request("client_id is not a registered client"))?;
        if params.is_duplicated("redirect_uri") {
            return Err(OAuthError::invalid_request(
                "redirect_uri must be sent once",
            ));
        }
        let redirect_uri = params.get("redirect_uri").ok_or_else(|| {
            OAuthError::invalid_request("redirect_uri is missing (OpenID Connect requires it)")
        })?;
        if client.find_redirect_uri(redirect_uri).is_none() {
            return Err(OAuthError::invalid_request(
                "redirect_uri is not registered for this client",
            ));
        }
        Ok((client.clone(), redirect_uri.to_string()))
    }

    /// Steps 3–9: everything whose failure is reported to the client.
    fn validate_request(
        &self,
        client: &Client,
        redirect_uri: &str,
        mode: ResponseMode,
        params: &RawParams,
    ) -> OAuthResult<AuthorizeRequest> {
        if !client.allows_grant(GrantType::AuthorizationCode) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this client may not use the authorization code flow",
            ));
        }
        if let Some(dup) = params.first_duplicate() {
            return Err(OAuthError::invalid_request(format!(
                "parameter {dup} must not be repeated"
            )));
        }
        if params.get("request").is_some() {
            return Err(OAuthError::new(
                ErrorCode::RequestNotSupported,
                "request objects are not supported",
            ));
        }
        if params.get("request_uri").is_some() {
            return Err(OAuthError::new(
                ErrorCode::RequestUriNotSupported,
                "request_uri is not supported",
            ));
        }
        match params.get("response_type") {
            None => return Err(OAuthError::invalid_request("response_type is missing")),
            Some("code") => {}
            Some(other) => {
                return Err(OAuthError::new(
                    ErrorCode::UnsupportedResponseType,
                    format!("response_type {other:?} is not supported; use code"),
                ))
            }
        }
        for key in [
            "state",
            "nonce",
            "login_hint",
            "claims",
            "acr_values",
            "ui_locales",
            "id_token_hint",
        ] {
            if params.get(key).is_some_and(|v| v.len() > MAX_PARAM_LEN) {
                return Err(OAuthError::invalid_request(format!(
                    "{key} is longer than {MAX_PARAM_LEN} characters"
                )));
            }
        }
        let requested = Scope::parse(params.get("scope").unwrap_or(""))
            .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e))?;
        if !requested.contains("openid") {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "scope must include openid",
            ));
        }
        if !client.scopes.contains("openid") {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "this client is not registered for the openid scope",
            ));
        }
        let claims = request::parse_claims(params.get("claims"))?;
        // The admin API's scope is never granted to a person's token.
        let mut scope = requested
            .intersect(&client.scopes)
            .without(crate::domain::scope::ADMIN_SCOPE);
        if let Some(c) = &claims {
            let extra = c.covering_scopes().intersect(&client.scopes);
            scope = Scope::from_tokens(scope.iter().chain(extra.iter()).map(str::to_string));
        }
        let challenge = request::parse_code_challenge(params)?;
        if challenge.is_none() && (client.is_public() || self.settings().oidc.require_pkce) {
            return Err(OAuthError::invalid_request(
                "PKCE is required: send code_challenge with code_challenge_method=S256",
            ));
        }
        let prompt = request::parse_prompt(params.get("prompt"))?;
        let max_age = request::parse_max_age(params.get("max_age"))?;
        let (mut acr_values, essential_acr) = claims.as_ref().map(|c| c.acr()).unwrap_or_default();
        // An essential acr (claims parameter) that no method here can reach is unmet, never
        // silently dropped (OIDC Core §5.5.1.1); voluntary unknown values are ignored.
        if essential_acr
            && !acr_values.is_empty()
            && !acr_values.iter().any(|a| Acr::parse_offered(a).is_some())
        {
            return Err(OAuthError::new(
                ErrorCode::UnmetAuthenticationRequirements,
                "none of the essential acr values can be met here; see acr_values_supported",
            ));
        }
        if let Some(v) = params.get("acr_values") {
            acr_values.extend(v.split(' ').filter(|s| !s.is_empty()).map(str::to_string));
        }
        let acr_values: Vec<Acr> = acr_values
            .iter()
            .filter_map(|a| Acr::parse_offered(a))
            .collect();
        let id_token_hint_sub = match params.get("id_token_hint") {
            None => None,
            Some(hint) => {
                let claims = super::tokens::verify_id_token_hint(self.keys(), hint, self.now())
                    .map_err(|_| {
                        OAuthError::invalid_request(
                            "id_token_hint is not an ID token issued by this OP",
                        )
                    })?;
                if claims.iss != self.issuer() || claims.aud != client.client_id.as_ref() {
                    return Err(OAuthError::invalid_request(
                        "id_token_hint was not issued to this client",
                    ));
                }
                Some(claims.sub)
            }
        };
        Ok(AuthorizeRequest {
            client_id: client.client_id.clone(),
            // Matched against the registered URIs before this step (a loopback URI may
            // differ in its port), so it parses.
            redirect_uri: RedirectUri::parse(redirect_uri).map_err(OAuthError::invalid_request)?,
            response_mode: mode,
            state: params.get("state").map(str::to_string),
            nonce: params.get("nonce").map(str::to_string),
            scope,
            code_challenge: challenge,
            prompt,
            max_age,
            acr_values,
            essential_acr,
            claims,
            login_hint: params.get("login_hint").map(str::to_string),
            ui_locales: params
                .get("ui_locales")
                .map(|v| v.split(' ').map(str::to_string).collect())
                .unwrap_or_default(),
            id_token_hint_sub,
        })
    }

    /// Handles `GET` or `POST /authorize`.
    pub fn authorize(&self, params: RawParams, ctx: &BrowserContext) -> AuthorizeOutcome {
        let (client, redirect_uri) = match self.resolve_client(&params) {
            Ok(v) => v,
            Err(e) => return AuthorizeOutcome::ErrorPage(e),
        };
        let state = params.get("state").map(str::to_string);
        let (mode, mode_error) = match params.get("response_mode") {
            None | Some("query") => (ResponseMode::Query, None),
            Some("form_post") => (ResponseMode::FormPost, None),
            Some(other) => (
                ResponseMode::Query,
                Some(OAuthError::invalid_request(format!(
                    "response_mode {other:?} is not supported (query, form_post)"
                ))),
            ),
        };
        let fail = |e: OAuthError| {
            AuthorizeOutcome::Respond(self.error_response(
                &redirect_uri,
                mode,
                state.as_deref(),
                &e,
            ))
        };
        if let Some(e) = mode_error {
            return fail(e);
        }
        let req = match self.validate_request(&client, &redirect_uri, mode, &params) {
            Ok(r) => r,
            Err(e) if e.code == ErrorCode::ServerError => {
                tracing::error!(error = ?e, "authorization request failed");
                return fail(e);
            }
            Err(e) => return fail(e),
        };
        let now = self.now();
        let session = match self.current_session(ctx, now) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        match self.decide(&client, &req, session.as_ref(), None, now) {
            Ok(Decision::Issue(current)) => {
                match self.issue_code(&client, &req, &current, false, now) {
                    Ok(resp) => AuthorizeOutcome::Respond(resp),
                    Err(e) => fail(e),
                }
            }
            Ok(Decision::Fail(e)) => fail(e),
            Ok(Decision::Login | Decision::Consent) => {
                match self.start_interaction(&client, &req, ctx, now) {
                    Ok((interaction_id, browser_token)) => AuthorizeOutcome::Interact {
                        interaction_id,
                        browser_token,
                    },
                    Err(e) => fail(e),
                }
            }
            Err(e) => fail(e),
        }
    }

    /// The active SSO session named by the session cookie.
    pub fn current_session(
        &self,
        ctx: &BrowserContext,
        now: UnixTime,
    ) -> OAuthResult<Option<SessionRecord>> {
        let Some(token) = ctx.session_token.as_deref() else {
            return Ok(None);
        };
        let Some(session) = self.store().find_session(&token_hash(token))? else {
            return Ok(None);
        };
        let Some(session) = self.keep_alive(session, now)? else {
            return Ok(None);
        };
        // A session outlives nothing that ended the registration (belt and braces: those
        // changes end the sessions too).
        if !self.in_good_standing(&session.person_id)? {
            return Ok(None);
        }
        Ok(Some(session))
    }

    /// A session that is still active, marked as used now: `None` once it has ended, passed
    /// its absolute lifetime or been idle longer than `tokens.session_idle_ttl`. The mark is
    /// written at most once a minute, by a conditional write, so that an instance can never
    /// revive a session that another one has seen idle.
    pub fn keep_alive(
        &self,
        mut session: SessionRecord,
        now: UnixTime,
    ) -> OAuthResult<Option<SessionRecord>> {
        let idle = self.settings().tokens.session_idle_ttl;
        if !session.is_active(now, idle) {
            return Ok(None);
        }
        if now - session.last_seen_at >= SESSION_TOUCH_INTERVAL {
            if !self
                .store()
                .touch_session(&session.id_hash, now, now - idle)?
            {
                return Ok(None);
            }
            session.last_seen_at = now;
        }
        Ok(Some(session))
    }

    fn start_interaction(
        &self,
        client: &Client,
        req: &AuthorizeRequest,
        ctx: &BrowserContext,
        now: UnixTime,
    ) -> OAuthResult<(String, String)> {
        let browser_token = ctx.browser_token.clone().unwrap_or_else(new_secret_token);
        let record = InteractionRecord {
            id: random_token(16),
            browser_hash: token_hash(&browser_token),
            client_id: client.client_id.to_string(),
            request: serde_json::to_string(req).map_err(OAuthError::server)?,
            csrf_token: random_token(16),
            login: None,
            consent_given: false,
            created_at: now,
            expires_at: now + self.settings().tokens.interaction_ttl,
            consumed_at: None,
        };
        self.store().create_interaction(&record)?;
        Ok((record.id, browser_token))
    }

    /// Step 10: with the session (and the interaction, when resuming), what happens next.
    pub fn decide(
        &self,
        client: &Client,
        req: &AuthorizeRequest,
        session: Option<&SessionRecord>,
        interaction: Option<&InteractionRecord>,
        now: UnixTime,
    ) -> OAuthResult<Decision> {
        let prompt_none = req.has_prompt(Prompt::None);
        let Some(session) = session else {
            return Ok(if prompt_none {
                Decision::Fail(login_required("no one is signed in"))
            } else {
                Decision::Login
            });
        };
        let fresh = interaction
            .and_then(|i| i.login.as_ref())
            .is_some_and(|l| l.person_id == session.person_id && l.auth_time == session.auth_time);
        let session_acr = Acr::parse(&session.acr);
        let requested = req.requested_acrs();
        let requested_ok = requested.is_empty()
            || session_acr.is_some_and(|a| requested.iter().any(|r| a.satisfies(*r)));
        let min_ok = client
            .min_acr
            .is_none_or(|m| session_acr.is_some_and(|a| a.satisfies(m)));
        if fresh {
            if !min_ok || (!requested_ok && req.essential_acr) {
                return Ok(Decision::Fail(OAuthError::new(
                    ErrorCode::UnmetAuthenticationRequirements,
                    "the sign-in did not reach the required authentication level",
                )));
            }
        } else {
            let hint_mismatch = req
                .id_token_hint_sub
                .as_deref()
                .is_some_and(|sub| sub != self.subject_for(client, &session.person_id));
            let too_old = req.max_age.is_some_and(|m| now - session.auth_time > m);
            let reasons = [
                (
                    req.has_prompt(Prompt::Login),
                    "prompt=login asks for a new sign-in",
                ),
                (too_old, "the sign-in is older than max_age"),
                (
                    !requested_ok || !min_ok,
                    "a stronger authentication is required",
                ),
                (
                    hint_mismatch,
                    "the signed-in user is not the one in id_token_hint",
                ),
            ];
            if let Some((_, why)) = reasons.iter().find(|(hit, _)| *hit) {
                return Ok(if prompt_none {
                    Decision::Fail(login_required(why))
                } else {
                    Decision::Login
                });
            }
        }
        let consent_given = interaction.is_some_and(|i| i.consent_given);
        if !client.skip_consent && !consent_given {
            let covered = match self
                .store()
                .find_consent(&session.person_id, client.client_id.as_ref())?
            {
                Some(stored) => Scope::parse(&stored)
                    .map(|s| req.scope().without("openid").is_subset(&s))
                    .unwrap_or(false),
                None => false,
            };
            if req.has_prompt(Prompt::Consent) || !covered {
                return Ok(if prompt_none {
                    Decision::Fail(OAuthError::new(
                        ErrorCode::ConsentRequired,
                        "the user has not consented to this client",
                    ))
                } else {
                    Decision::Consent
                });
            }
        }
        Ok(Decision::Issue(CurrentAuth::from(session)))
    }

    /// Issues an authorization code for a decided request.
    pub fn issue_code(
        &self,
        client: &Client,
        req: &AuthorizeRequest,
        current: &CurrentAuth,
        consent_given_now: bool,
        now: UnixTime,
    ) -> OAuthResult<AuthorizationResponse> {
        let mut scope = req.scope();
        if scope.contains("offline_access") {
            let stored_offline = self
                .store()
                .find_consent(&current.person_id, client.client_id.as_ref())?
                .is_some_and(|s| s.split(' ').any(|t| t == "offline_access"));
            let allowed = client.allows_grant(GrantType::RefreshToken)
                && (client.skip_consent || consent_given_now || stored_offline);
            if !allowed {
                scope = scope.without("offline_access");
            }
        }
        let code = new_secret_token();
        let record = CodeRecord {
            code_hash: token_hash(&code),
            grant_id: random_token(16),
            client_id: client.client_id.to_string(),
            person_id: current.person_id.clone(),
            sid: current.sid.clone(),
            redirect_uri: req.redirect_uri.to_string(),
            scope: scope.to_string(),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.as_ref().map(|c| c.to_string()),
            claims: req
                .claims
                .as_ref()
                .and_then(|c| serde_json::to_string(c).ok()),
            auth_time: current.auth_time,
            acr: current.acr.clone(),
            amr: current.amr.clone(),
            created_at: now,
            expires_at: now + self.settings().tokens.code_ttl,
            consumed_at: None,
        };
        self.store().create_code(&record)?;
        self.store()
            .add_session_client(&current.sid, client.client_id.as_ref(), now)?;
        let mut params = vec![("code".to_string(), code)];
        if let Some(s) = &req.state {
            params.push(("state".into(), s.clone()));
        }
        params.push(("iss".into(), self.issuer().to_string()));
        Ok(AuthorizationResponse {
            redirect_uri: req.redirect_uri.to_string(),
            mode: req.response_mode,
            params,
        })
    }
}

fn login_required(why: &str) -> OAuthError {
    OAuthError::new(ErrorCode::LoginRequired, why)
}
