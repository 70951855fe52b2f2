//! `GET` and `POST /authorize`.

use actix_web::{web, HttpRequest, HttpResponse};

use super::responses::{authorization_response, blocking_failed, cookie, error_page, see_other};
use super::AppState;
use crate::limits::Budget;
use crate::oidc::authorize::AuthorizeOutcome;
use crate::oidc::request::RawParams;

async fn authorize(
    state: web::Data<AppState>,
    req: HttpRequest,
    pairs: Vec<(String, String)>,
) -> HttpResponse {
    let params = RawParams::new(pairs);
    let ui_locales: Vec<String> = params
        .get("ui_locales")
        .map(|v| v.split(' ').map(str::to_string).collect())
        .unwrap_or_default();
    let lang = state.lang(&req, &ui_locales);
    let ctx = state.browser(&req);
    let engine = state.engine.clone();
    let outcome = match web::block(move || engine.authorize(params, &ctx)).await {
        Ok(o) => o,
        Err(e) => return error_page(&state, &req, &blocking_failed(e)),
    };
    match outcome {
        AuthorizeOutcome::ErrorPage(e) => error_page(&state, &req, &e),
        AuthorizeOutcome::Respond(resp) => {
            // Answered at once (a signed-in browser, or an error for the client): nothing
            // is left unfinished.
            let mut response = authorization_response(&state, &lang, &resp);
            super::limits::give_back(&mut response, &[(Budget::Authorize, 1)]);
            response
        }
        AuthorizeOutcome::Interact {
            interaction_id,
            browser_token,
        } => {
            let mut resp = see_other(&format!("/interaction/{interaction_id}"));
            let ttl = state
                .engine
                .settings()
                .tokens
                .session_ttl
                .max(365 * 24 * 3600);
            let _ = resp.add_cookie(&cookie(&state, &state.cookies.browser, browser_token, ttl));
            // No language cookie here: it holds only a choice made with a switch (the
            // interaction's pages read `ui_locales` from the stored request).
            resp
        }
    }
}

pub async fn get_authorize(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    authorize(state, req, pairs).await
}

pub async fn post_authorize(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    authorize(state, req, pairs).await
}
