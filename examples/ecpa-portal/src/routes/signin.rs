//! Signing in: the authorization request (code + PKCE S256 + state + nonce, optional
//! `acr_values` and `prompt=login`), the callback, and the refresh action.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::catalog;
use crate::claims::{acr, PortalIdToken, PortalTokenResponse, PortalUserInfoClaims};
use crate::portal::{same_token, Portal};
use crate::provider::UserinfoError;
use crate::sessions::{
    fingerprint, random_token, PendingLogin, Session, PENDING_TTL_SECS, SESSION_TTL_SECS,
};
use crate::verify::{verify_id_token, IdTokenError, Identity, NonceCheck, CLOCK_SKEW_SECS};
use openidconnect::{OAuth2TokenResponse, TokenResponse};

/// Sends the browser to the provider. The pending sign-in is kept server-side under its
/// `state` and bound to this browser by a cookie (login CSRF).
pub fn start(
    req: &HttpRequest,
    portal: &Portal,
    acr_value: Option<&str>,
    prompt_login: bool,
    return_to: String,
) -> HttpResponse {
    // Cardinal's pages speak the portal's current language.
    let view = portal.view(req);
    let authorization = portal
        .provider
        .start_authorization(acr_value, prompt_login, view.lang);
    let binding = req
        .cookie(portal.binding_cookie_name())
        .map(|c| c.value().to_string())
        .filter(|v| v.len() >= 32)
        .unwrap_or_else(random_token);
    portal.sessions.add_pending(
        authorization.state.secret(),
        PendingLogin {
            browser: fingerprint(&binding),
            nonce: authorization.nonce,
            pkce_verifier: authorization.pkce_verifier.secret().clone(),
            requested_acr: acr_value.map(str::to_string),
            prompt_login,
            return_to,
            created_at: portal.now(),
        },
    );
    let mut response = Portal::see_other(authorization.url.as_str())
        .cookie(portal.cookie(
            portal.binding_cookie_name(),
            binding,
            Some(PENDING_TTL_SECS),
        ))
        .finish();
    portal.remember_lang(&view, &mut response);
    response
}

/// 登入 without a level: whatever sign-in the provider's session has (single sign-on).
pub async fn get_login(req: HttpRequest, portal: web::Data<Portal>) -> HttpResponse {
    if portal.current(&req).is_some() {
        return Portal::see_other(&portal.after_login_path()).finish();
    }
    start(&req, &portal, None, false, portal.after_login_path())
}

/// 健保卡登入: `acr_values=urn:cardinal:acr:card`.
pub async fn get_login_card(req: HttpRequest, portal: web::Data<Portal>) -> HttpResponse {
    start(
        &req,
        &portal,
        Some(acr::CARD),
        false,
        portal.after_login_path(),
    )
}

/// 自然人憑證登入: `acr_values=urn:cardinal:acr:citizen-certificate`.
pub async fn get_login_citizen_certificate(
    req: HttpRequest,
    portal: web::Data<Portal>,
) -> HttpResponse {
    start(
        &req,
        &portal,
        Some(acr::CITIZEN_CERTIFICATE),
        false,
        portal.after_login_path(),
    )
}

#[derive(Debug, Deserialize)]
pub struct CertificateQuery {
    #[serde(default)]
    method: Option<String>,
}

/// 憑證登入 (the form of the login box): the chosen certificate, 自然人憑證 or 健保卡.
/// Nothing chosen (e.g. after 清除) goes back to the box with a note.
pub async fn get_login_certificate(
    req: HttpRequest,
    portal: web::Data<Portal>,
    query: web::Query<CertificateQuery>,
) -> HttpResponse {
    let acr_value = match query.method.as_deref() {
        Some("citizen-certificate") => acr::CITIZEN_CERTIFICATE,
        Some("card") => acr::CARD,
        _ => {
            return Portal::see_other(&format!("{}?m=choose-certificate", portal.path(""))).finish()
        }
    };
    start(
        &req,
        &portal,
        Some(acr_value),
        false,
        portal.after_login_path(),
    )
}

#[derive(Debug, Deserialize)]
pub struct StepUpQuery {
    #[serde(default)]
    target: Option<String>,
}

/// The step-up link of a grey system: sign in again with the citizen certificate
/// (`prompt=login`), then open that system. The target is a code of the catalog (anything
/// else is refused), and the path it leads to is built here and kept server-side with the
/// pending sign-in: no address from the request is ever followed.
pub async fn get_step_up(
    req: HttpRequest,
    portal: web::Data<Portal>,
    query: web::Query<StepUpQuery>,
) -> HttpResponse {
    let return_to = match query.target.as_deref() {
        None | Some("") => portal.path("apps"),
        Some(target) => match catalog::find(target) {
            Some(app) => portal.path(&format!("apps/{}", app.code)),
            None => {
                return portal.error_page(
                    &portal.view(&req),
                    StatusCode::BAD_REQUEST,
                    "error_no_app",
                    "error_no_app_text",
                )
            }
        },
    };
    start(
        &req,
        &portal,
        Some(acr::CITIZEN_CERTIFICATE),
        true,
        return_to,
    )
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    iss: Option<String>,
}

/// The dictionary key of the text for an error the provider returned (never its
/// description).
fn provider_error_text(code: &str) -> &'static str {
    match code {
        "access_denied" => "callback_access_denied",
        "login_required" | "interaction_required" | "consent_required" => "callback_login_required",
        "unmet_authentication_requirements" => "callback_unmet_acr",
        "temporarily_unavailable" | "server_error" => "callback_unavailable",
        _ => "callback_failed",
    }
}

/// Validates an ID token; when it names a key the portal has not seen, fetches the
/// provider's JWKS once more and tries again (key rotation).
pub async fn checked_identity(
    portal: &Portal,
    token: &PortalIdToken,
    nonce: NonceCheck<'_>,
) -> Result<Identity, IdTokenError> {
    let now = portal.clock.now();
    match verify_id_token(token, &portal.provider.expectations(), nonce, now) {
        Err(e) if e.may_be_key_rotation() => {
            match portal.provider.refresh_keys(now.timestamp()).await {
                Ok(true) => verify_id_token(token, &portal.provider.expectations(), nonce, now),
                Ok(false) => Err(e),
                Err(fetch) => {
                    tracing::warn!(error = %format_args!("{fetch:#}"), "JWKS refresh failed");
                    Err(e)
                }
            }
        }
        other => other,
    }
}

/// Fills in what the ID token did not carry (Cardinal releases profile claims at
/// userinfo).
fn merge_userinfo(identity: &mut Identity, info: &PortalUserInfoClaims) {
    if let Some(name) = info.name().and_then(|n| n.get(None)) {
        identity.name = Some(name.as_str().to_string());
    }
    if let Some(email) = info.email() {
        identity.email = Some(email.as_str().to_string());
    }
    if let Some(phone) = info.phone_number() {
        identity.phone_number = Some(phone.as_str().to_string());
    }
}

fn bad_callback(req: &HttpRequest, portal: &Portal, message: &str) -> HttpResponse {
    let view = portal.view(req);
    portal.error_page(
        &view,
        StatusCode::BAD_REQUEST,
        "error_login_failed",
        message,
    )
}

fn upstream_failure(req: &HttpRequest, portal: &Portal, message: &str) -> HttpResponse {
    let view = portal.view(req);
    portal.error_page(
        &view,
        StatusCode::BAD_GATEWAY,
        "error_login_failed",
        message,
    )
}

/// The authorization response (RFC 6749 §4.1.2, RFC 9207 `iss`).
pub async fn get_callback(
    req: HttpRequest,
    portal: web::Data<Portal>,
    query: web::Query<CallbackQuery>,
) -> HttpResponse {
    let now = portal.now();
    let Some(state) = query.state.as_deref() else {
        return bad_callback(&req, &portal, "callback_no_state");
    };
    let Some(pending) = portal.sessions.take_pending(state, now) else {
        return bad_callback(&req, &portal, "callback_expired");
    };
    let bound = req
        .cookie(portal.binding_cookie_name())
        .is_some_and(|c| same_token(&fingerprint(c.value()), &pending.browser));
    if !bound {
        return bad_callback(&req, &portal, "callback_other_browser");
    }
    // Cardinal advertises authorization_response_iss_parameter_supported, so every answer
    // must name it (RFC 9207 §2.4): a missing `iss` is refused like a wrong one.
    if query.iss.as_deref() != Some(portal.provider.issuer().as_str()) {
        tracing::warn!(iss = ?query.iss, "authorization response without Cardinal's iss");
        return bad_callback(&req, &portal, "callback_wrong_issuer");
    }
    if let Some(error) = query.error.as_deref() {
        tracing::info!(error, "the provider returned an error");
        return bad_callback(&req, &portal, provider_error_text(error));
    }
    let Some(code) = query.code.clone() else {
        return bad_callback(&req, &portal, "callback_no_code");
    };

    let response = match portal
        .provider
        .exchange_code(code, pending.pkce_verifier.clone())
        .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %format_args!("{e:#}"), "code exchange failed");
            return upstream_failure(&req, &portal, "callback_exchange_failed");
        }
    };
    let Some(id_token) = response.id_token() else {
        tracing::warn!("token response without an ID token");
        return upstream_failure(&req, &portal, "callback_no_id_token");
    };
    let mut identity =
        match checked_identity(&portal, id_token, NonceCheck::Equals(&pending.nonce)).await {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(error = %e, "ID token rejected");
                return upstream_failure(&req, &portal, "callback_bad_id_token");
            }
        };
    if pending.prompt_login
        && identity
            .auth_time
            .is_none_or(|t| t + CLOCK_SKEW_SECS < pending.created_at)
    {
        tracing::warn!("prompt=login answered with an old sign-in");
        return upstream_failure(&req, &portal, "callback_not_fresh");
    }
    let access_token = response.access_token().secret().clone();
    match portal.provider.userinfo(&access_token, &identity.sub).await {
        Ok(info) => merge_userinfo(&mut identity, &info),
        Err(e) => {
            tracing::warn!(error = %format_args!("{e:#}"), "userinfo failed; using the ID token alone")
        }
    }
    let unmet_acr = pending
        .requested_acr
        .clone()
        .filter(|want| identity.acr.as_deref() != Some(want.as_str()))
        .filter(|want| want == acr::CITIZEN_CERTIFICATE);
    tracing::info!(
        sub = %identity.sub,
        acr = identity.acr.as_deref().unwrap_or("-"),
        "signed in"
    );
    let session = Session {
        id_token: id_token.to_string(),
        access_token,
        refresh_token: response.refresh_token().map(|r| r.secret().clone()),
        nonce: Some(pending.nonce.clone()),
        csrf: random_token(),
        unmet_acr,
        created_at: now,
        expires_at: now + SESSION_TTL_SECS,
        identity,
    };
    let old = req
        .cookie(portal.session_cookie_name())
        .map(|c| c.value().to_string());
    let token = portal.sessions.create(session, old.as_deref());
    Portal::see_other(&pending.return_to)
        .cookie(portal.cookie(portal.session_cookie_name(), token, None))
        .finish()
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfForm {
    pub fn matches(&self, session: &Session) -> bool {
        !self.csrf.is_empty() && same_token(&self.csrf, &session.csrf)
    }
}

/// Applies a refresh-token response to the session: new tokens, and the new ID token
/// (same subject, nonce absent or the original one).
async fn apply_refresh(
    portal: &Portal,
    session: &Session,
    response: &PortalTokenResponse,
) -> Result<Session, String> {
    let mut next = session.clone();
    next.access_token = response.access_token().secret().clone();
    if let Some(rt) = response.refresh_token() {
        next.refresh_token = Some(rt.secret().clone());
    }
    if let Some(id_token) = response.id_token() {
        let identity = checked_identity(
            portal,
            id_token,
            NonceCheck::AbsentOrEquals(session.nonce.as_ref()),
        )
        .await
        .map_err(|e| e.to_string())?;
        if identity.sub != session.identity.sub {
            return Err("the refreshed ID token names another subject".into());
        }
        let kept = next.identity.clone();
        next.identity = Identity {
            name: identity.name.clone().or(kept.name),
            email: identity.email.clone().or(kept.email),
            phone_number: identity.phone_number.clone().or(kept.phone_number),
            ..identity
        };
        next.id_token = id_token.to_string();
    }
    Ok(next)
}

/// 更新個人資料: uses the refresh token if there is one, then fetches userinfo again. An
/// access token the provider no longer accepts (its session ended) ends the portal's.
pub async fn post_refresh(
    req: HttpRequest,
    portal: web::Data<Portal>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let Some((token, session)) = portal.current(&req) else {
        return Portal::see_other(&portal.path("")).finish();
    };
    if !form.matches(&session) {
        return portal.error_page(
            &portal.view(&req),
            StatusCode::BAD_REQUEST,
            "error_form_expired",
            "error_form_expired_text",
        );
    }
    let back = |m: &str| format!("{}?m={m}", portal.after_login_path());
    let mut next = session.clone();
    if let Some(rt) = session.refresh_token.as_deref() {
        let applied = match portal.provider.refresh(rt).await {
            Ok(response) => apply_refresh(&portal, &session, &response).await,
            Err(e) => Err(format!("{e:#}")),
        };
        match applied {
            Ok(s) => next = s,
            Err(e) => {
                tracing::info!(error = %e, "refresh failed; ending the portal session");
                portal.sessions.remove(&token);
                return Portal::see_other(&format!("{}?m=session-ended", portal.path("")))
                    .cookie(portal.removal_cookie(portal.session_cookie_name()))
                    .finish();
            }
        }
    }
    match portal
        .provider
        .userinfo(&next.access_token, &next.identity.sub)
        .await
    {
        Ok(info) => merge_userinfo(&mut next.identity, &info),
        Err(UserinfoError::Unauthorized) => {
            tracing::info!("access token refused; ending the portal session");
            portal.sessions.remove(&token);
            return Portal::see_other(&format!("{}?m=session-ended", portal.path("")))
                .cookie(portal.removal_cookie(portal.session_cookie_name()))
                .finish();
        }
        Err(UserinfoError::Other(e)) => {
            tracing::warn!(error = %format_args!("{e:#}"), "userinfo failed");
            return Portal::see_other(&back("refresh-failed")).finish();
        }
    }
    portal.sessions.update(&token, |s| *s = next);
    Portal::see_other(&back("refreshed")).finish()
}
