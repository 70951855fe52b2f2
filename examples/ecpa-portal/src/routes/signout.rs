//! Signing out: RP-initiated logout (the 登出 button) and the back-channel logout
//! receiver the provider calls when a single-sign-on session ends.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::signin::CsrfForm;
use crate::logout_token::{verify_logout_token, LogoutRequest, LogoutTokenError};
use crate::portal::Portal;

/// 登出: ends the portal session, then sends the browser to the provider's end-session
/// endpoint with `id_token_hint`, `client_id` and `post_logout_redirect_uri` (the portal's
/// home), so the single sign-on session — and with it WebHR's — ends too.
pub async fn post_logout(
    req: HttpRequest,
    portal: web::Data<Portal>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let Some((token, session)) = portal.current(&req) else {
        return Portal::see_other(&format!("{}?m=signed-out", portal.path(""))).finish();
    };
    if !form.matches(&session) {
        return portal.error_page(
            &portal.view(&req),
            StatusCode::BAD_REQUEST,
            "error_form_expired",
            "error_form_expired_logout",
        );
    }
    portal.sessions.remove(&token);
    tracing::info!(sub = %session.identity.sub, "signed out; RP-initiated logout");
    let location = portal
        .provider
        .end_session_url(
            &session.id_token,
            &portal.config.post_logout_redirect_uri(),
            portal.view(&req).lang,
        )
        .map(|u| u.to_string())
        .unwrap_or_else(|| format!("{}?m=signed-out", portal.path("")));
    Portal::see_other(&location)
        .cookie(portal.removal_cookie(portal.session_cookie_name()))
        .finish()
}

fn refuse(error: &LogoutTokenError) -> HttpResponse {
    tracing::warn!(error = %error, "back-channel logout refused");
    HttpResponse::BadRequest()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "error": "invalid_request",
            "error_description": error.to_string(),
        }))
}

async fn checked_logout_token(
    portal: &Portal,
    token: &str,
) -> Result<LogoutRequest, LogoutTokenError> {
    let now = portal.clock.now();
    match verify_logout_token(token, &portal.provider.expectations(), now) {
        Err(e) if e.may_be_key_rotation() => {
            match portal.provider.refresh_keys(now.timestamp()).await {
                Ok(true) => verify_logout_token(token, &portal.provider.expectations(), now),
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

/// `POST /backchannel-logout` with form field `logout_token` (Back-Channel Logout 1.0
/// §2.5): 200 after ending every portal session of that `sid` (or `sub`), 400 with a
/// JSON error for a token that does not validate.
pub async fn post_backchannel_logout(portal: web::Data<Portal>, body: web::Bytes) -> HttpResponse {
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned());
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return HttpResponse::BadRequest()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(json!({
                "error": "invalid_request",
                "error_description": "the form field logout_token is missing",
            }));
    };
    let request = match checked_logout_token(&portal, &token).await {
        Ok(r) => r,
        Err(e) => return refuse(&e),
    };
    if !portal
        .sessions
        .first_use_of_logout_jti(&request.jti, request.expires_at, portal.now())
    {
        tracing::warn!("back-channel logout token replayed");
        return HttpResponse::BadRequest()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(json!({
                "error": "invalid_request",
                "error_description": "this logout token was already used",
            }));
    }
    let ended = portal
        .sessions
        .end_matching(request.sid.as_deref(), request.sub.as_deref());
    tracing::info!(
        sid = request.sid.as_deref().unwrap_or("-"),
        ended,
        "back-channel logout"
    );
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
