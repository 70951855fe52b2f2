//! Card endpoints for the browser: a challenge, the check of a signed token (檢測健保卡認證),
//! the environment page (電腦環境說明) and the authenticator download.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::responses::cookie;
use super::AppState;
use crate::audit::AuditKind;
use crate::card::{CardError, CardToken};
use crate::crypto::new_secret_token;

/// The binding of a challenge for the environment check: this browser.
fn check_binding(browser_token: &str) -> String {
    crate::enroll::binding("check", "", browser_token)
}

/// What a page asks a challenge for.
#[derive(Debug, Deserialize, Default)]
pub struct ChallengeRequest {
    #[serde(default)]
    pub purpose: Option<String>,
    #[serde(default)]
    pub flow: Option<String>,
}

/// Purposes a page may ask a challenge for.
const PURPOSES: [&str; 10] = [
    "check", "login", "apply", "confirm", "forgot", "reset", "resend", "delete", "home", "email",
];

/// JSON POSTs from pages must come from our own origin (the browser sets `Origin`; a
/// cross-site form cannot send JSON without a preflight that we never grant).
pub fn same_origin(state: &AppState, req: &HttpRequest) -> bool {
    let content_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let origin_ok = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        == Some(state.card.origin());
    content_json && origin_ok
}

fn card_error(e: &CardError) -> HttpResponse {
    let status = match e {
        CardError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        // The card may be fine: this IdP cannot check it now (no current CRL).
        CardError::RevocationUnknown => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "error": e.code(), "message": e.to_string() }))
}

fn forbidden() -> HttpResponse {
    HttpResponse::Forbidden()
        .json(json!({ "error": "forbidden", "message": "send JSON from this site's pages" }))
}

/// `POST /card/challenge` `{purpose?, flow?}`: a challenge bound to this browser, the
/// purpose (`check` by default, `login`) and the flow (e.g. the sign-in interaction).
pub async fn post_check_challenge(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    if !same_origin(&state, &req) {
        return forbidden();
    }
    let ask: ChallengeRequest = if body.is_empty() {
        ChallengeRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(a) => a,
            Err(_) => return HttpResponse::BadRequest().json(json!({ "error": "bad_request", "message": "send {\"purpose\", \"flow\"} as JSON" })),
        }
    };
    let purpose = ask.purpose.unwrap_or_else(|| "check".into());
    let flow = ask.flow.unwrap_or_default();
    if !PURPOSES.contains(&purpose.as_str()) || flow.len() > 64 {
        return HttpResponse::BadRequest()
            .json(json!({ "error": "bad_request", "message": "unknown purpose" }));
    }
    let ctx = state.browser(&req);
    let (browser, fresh) = match ctx.browser_token {
        Some(t) => (t, false),
        None => (new_secret_token(), true),
    };
    let card = state.card.clone();
    let binding = crate::enroll::binding(&purpose, &flow, &browser);
    match web::block(move || card.issue_challenge(&binding, None)).await {
        Ok(Ok(challenge)) => {
            let mut resp = HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(challenge);
            if fresh {
                let _ = resp.add_cookie(&cookie(
                    &state,
                    &state.cookies.browser,
                    browser,
                    365 * 24 * 3600,
                ));
            }
            resp
        }
        _ => card_error(&CardError::Internal),
    }
}

#[derive(Debug, Deserialize)]
pub struct CheckRequest {
    pub challenge: String,
    pub token: CardToken,
}

/// `POST /card/check`: verifies a signed token; answers what the card proved (the card
/// number masked, the name, the kind).
pub async fn post_check(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<CheckRequest>,
) -> HttpResponse {
    if !same_origin(&state, &req) {
        return forbidden();
    }
    let Some(browser) = state.browser(&req).browser_token else {
        return card_error(&CardError::BadChallenge);
    };
    let card = state.card.clone();
    let body = body.into_inner();
    let binding = check_binding(&browser);
    let result =
        web::block(move || card.authenticate(&binding, &body.challenge, &body.token)).await;
    match result {
        Ok(Ok(verified)) => {
            state.engine.audit_from(
                state.browser(&req).ip.as_deref(),
                AuditKind::CardCheck,
                "success",
                None,
                None,
                Some(format!("kind={}", verified.kind.as_str())),
            );
            let masked = format!(
                "{}****{}",
                verified.card_number.get(..4).unwrap_or_default(),
                verified.card_number.get(8..).unwrap_or_default()
            );
            let mut response = HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(json!({
                    "ok": true,
                    "card_number": masked,
                    "name": verified.name,
                    "card_kind": verified.kind.as_str(),
                    "expires_at": crate::clock::format_taipei(verified.not_after),
                }));
            // A genuine card answered: this check and its challenge are given back.
            super::limits::give_back(&mut response, &[(crate::limits::Budget::Card, 2)]);
            response
        }
        Ok(Err(e)) => {
            state.engine.audit_from(
                state.browser(&req).ip.as_deref(),
                AuditKind::CardCheck,
                "failure",
                None,
                None,
                Some(e.code().into()),
            );
            card_error(&e)
        }
        Err(_) => card_error(&CardError::Internal),
    }
}

/// The authenticator offered for download, and its SHA-256.
fn download_file(state: &AppState) -> Option<(std::path::PathBuf, String)> {
    let path = state
        .engine
        .settings()
        .card
        .authenticator_download
        .clone()
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(|d| d.join("cardinal-authenticator")))
        })?;
    let bytes = std::fs::read(&path).ok()?;
    let digest: String = crate::crypto::sha256(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some((path, digest))
}

/// `GET /help/environment`: 電腦環境說明 with 檢測環境 and 檢測健保卡認證.
pub async fn get_environment(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let download = web::block({
        let state = state.clone();
        move || download_file(&state)
    })
    .await
    .ok()
    .flatten();
    let site = super::site::Site::new(&state, &req);
    site.card_page(
        "environment",
        StatusCode::OK,
        json!({
            "title": site.text("env_title", &[]),
            "download_sha256": download.as_ref().map(|(_, d)| d.clone()),
        }),
    )
}

/// `GET /download/cardinal-authenticator`.
pub async fn get_download(state: web::Data<AppState>) -> HttpResponse {
    let file = web::block(move || {
        download_file(&state).and_then(|(p, d)| std::fs::read(p).ok().map(|b| (b, d)))
    })
    .await;
    match file {
        Ok(Some((bytes, digest))) => HttpResponse::Ok()
            .content_type("application/octet-stream")
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"cardinal-authenticator\"",
            ))
            .insert_header(("x-content-sha256", digest))
            .body(bytes),
        _ => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("The authenticator is not available for download on this server."),
    }
}

/// `GET /static/register.js`.
pub async fn get_register_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(include_str!("../../templates/static/register.js"))
}

/// `GET /static/card.js`.
pub async fn get_card_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(include_str!("../../templates/static/card.js"))
}

/// `GET /static/environment.js`.
pub async fn get_environment_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(include_str!("../../templates/static/environment.js"))
}
