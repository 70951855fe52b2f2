//! `GET`/`POST /logout` (RP-initiated logout) and `POST /logout/confirm`.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::responses::{blocking_failed, error_page, page, removal, see_other};
use super::AppState;
use crate::oidc::logout::{EndSessionOutcome, EndSessionRequest};

fn parse(pairs: Vec<(String, String)>) -> (EndSessionRequest, Option<String>) {
    let map: BTreeMap<String, String> = pairs.into_iter().collect();
    let get = |k: &str| map.get(k).cloned().filter(|v| !v.is_empty());
    (
        EndSessionRequest {
            id_token_hint: get("id_token_hint"),
            client_id: get("client_id"),
            post_logout_redirect_uri: get("post_logout_redirect_uri"),
            state: get("state"),
            ui_locales: get("ui_locales"),
        },
        get("csrf_token"),
    )
}

async fn end_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    pairs: Vec<(String, String)>,
    confirmed: bool,
) -> HttpResponse {
    let (request, csrf) = parse(pairs);
    let ui_locales: Vec<String> = request
        .ui_locales
        .iter()
        .flat_map(|v| v.split(' ').map(str::to_string))
        .collect();
    let lang = state.lang(&req, &ui_locales);
    let ctx = state.browser(&req);
    let engine = state.engine.clone();
    let confirmation = if confirmed {
        Some(csrf.unwrap_or_default())
    } else {
        None
    };
    let outcome = match web::block(move || {
        engine.end_session(request, &ctx, confirmation.as_deref())
    })
    .await
    {
        Ok(o) => o,
        Err(e) => return error_page(&state, &req, &blocking_failed(e)),
    };
    let t = &state.templates;
    match outcome {
        EndSessionOutcome::ErrorPage(e) => error_page(&state, &req, &e),
        EndSessionOutcome::Confirm {
            csrf_token,
            client_name,
            signing_out,
            request,
        } => {
            let hidden: BTreeMap<&str, String> = [
                ("id_token_hint", request.id_token_hint),
                ("client_id", request.client_id),
                ("post_logout_redirect_uri", request.post_logout_redirect_uri),
                ("state", request.state),
                ("ui_locales", request.ui_locales),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
            page(
                &state,
                "logout_confirm",
                &lang,
                StatusCode::OK,
                json!({ "title": t.text(&lang, "logout_confirm_title", &[]), "csrf_token": csrf_token, "client_name": client_name, "signing_out": signing_out, "hidden": hidden }),
            )
        }
        EndSessionOutcome::LoggedOut {
            redirect,
            signed_out,
            deliveries,
        } => {
            state.backchannel.spawn(deliveries);
            let mut resp = match redirect {
                Some(uri) => see_other(&uri),
                None => logged_out(&state, &req, &lang, &signed_out),
            };
            let _ = resp.add_cookie(&removal(&state, &state.cookies.session));
            resp
        }
    }
}

const DONE_CONTEXT: &str = "logout.done";
/// How long the 已登出 page's switch can show the list (seconds).
const DONE_TTL: i64 = 600;

/// What the switch of 已登出 carries, sealed for this browser only and for a short while:
/// on a shared computer the next person must not read from the history which applications
/// the last one used.
#[derive(serde::Serialize, serde::Deserialize)]
struct SignedOut {
    apps: Vec<String>,
    until: i64,
}

fn done_context(state: &AppState, req: &HttpRequest) -> String {
    let browser = state.browser(req).browser_token.unwrap_or_default();
    format!("{DONE_CONTEXT}|{}", crate::crypto::token_hash(&browser))
}

/// 已登出: which applications were signed out too, a language switch (to `/logout/done` with
/// the list sealed in its address, so that switching signs nobody out again) and the way
/// back to the sign-in page.
fn logged_out(
    state: &AppState,
    req: &HttpRequest,
    lang: &str,
    signed_out: &[String],
) -> HttpResponse {
    let t = &state.templates;
    let other = t.text(lang, "other_lang", &[]);
    let done = SignedOut {
        apps: signed_out.to_vec(),
        until: state.engine.now() + DONE_TTL,
    };
    let sealed = serde_json::to_vec(&done)
        .ok()
        .and_then(|json| {
            state
                .engine
                .ring()
                .seal(&done_context(state, req), &json)
                .ok()
        })
        .unwrap_or_default();
    let switch = format!(
        "/logout/done?{}",
        serde_urlencoded::to_string([("s", sealed.as_str()), ("lang", other.as_str())])
            .unwrap_or_default()
    );
    page(
        state,
        "logged_out",
        lang,
        StatusCode::OK,
        json!({ "title": t.text(lang, "logged_out_title", &[]), "signed_out": signed_out,
                "lang_switch": switch, "home": format!("/register?lang={lang}") }),
    )
}

/// `GET /logout/done`: the 已登出 page again (after the language switch, which is remembered).
pub async fn get_logout_done(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let pairs: BTreeMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let now = state.engine.now();
    let signed_out: Vec<String> = pairs
        .get("s")
        .and_then(|s| {
            state
                .engine
                .ring()
                .open(&done_context(&state, &req), s)
                .ok()
        })
        .and_then(|json| serde_json::from_slice::<SignedOut>(&json).ok())
        .filter(|done| done.until > now)
        .map(|done| done.apps)
        .unwrap_or_default();
    let lang = state.lang(&req, &[]);
    let mut resp = logged_out(&state, &req, &lang, &signed_out);
    state.remember_lang(&req, &mut resp);
    resp
}

pub async fn get_logout(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    end_session(state, req, pairs, false).await
}

pub async fn post_logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    end_session(state, req, pairs, false).await
}

pub async fn post_logout_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    end_session(state, req, pairs, true).await
}
