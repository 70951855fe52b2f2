//! Service notices on the web (docs/notices.md): the layer that shows the notices of now on
//! the registration site and the sign-in pages and answers the maintenance page during a
//! maintenance window, and the public feed `GET /notices.json`.
//!
//! **The layer** ([`service_notices`], wrapped around the whole app) reads the notices not
//! ended yet once per request of a registration or sign-in page (one indexed query, off the
//! executor; nothing is cached, so every instance agrees at once). During a maintenance
//! window the paths that create or change a registration ([`PAUSED`]) answer the
//! maintenance page: 503 with `Retry-After`. Otherwise the notices meant for the page's
//! place are kept for the request's handler (a task-local value: request-scoped, never
//! shared), and [`add_to_page`], called by `responses::page`, adds them to whatever page
//! the handler renders, in that page's language. The `service_notices` partial, included
//! by the `header` partial, shows them as a labelled region.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::{json, Value};

use super::AppState;
use crate::clock::{format_rfc3339, UnixTime};
use crate::crypto::{b64url, sha256};
use crate::notices::{taipei_time, text_in, Live, Maintenance, Place};
use crate::store::NoticeRecord;

/// The paths that create or change a registration, paused during a maintenance window
/// (each with what lies below it): 申請 (terms, both steps), the confirmation link, 重寄認證信,
/// 刪除註冊申請, 忘記註冊密碼 and the reset link, and a member's password, contact details
/// and e-mail change. Signing in (`/register/login`, `/interaction/…`, `/token`) is not.
pub const PAUSED: &[&str] = &[
    "/register/terms",
    "/register/apply",
    "/register/confirm",
    "/register/resend",
    "/register/delete",
    "/register/forgot",
    "/register/reset",
    "/register/email",
    "/register/member/password",
    "/register/member/profile",
];

/// The feed's `Cache-Control` lifetime (seconds).
pub const FEED_MAX_AGE: i64 = 60;

tokio::task_local! {
    /// The notices the page of the current request shows.
    static SHOWN: Shown;
}

#[derive(Debug, Clone)]
struct Shown {
    now: UnixTime,
    notices: Vec<NoticeRecord>,
}

fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Whether `path` is paused during a maintenance window.
pub fn is_paused(path: &str) -> bool {
    PAUSED.iter().any(|p| under(path, p))
}

/// The place whose notices the page at `path` shows.
fn place_of(path: &str) -> Option<Place> {
    if path == "/" || (under(path, "/register") && path != "/register/places") {
        Some(Place::Register)
    } else if under(path, "/interaction") {
        Some(Place::Signin)
    } else {
        None
    }
}

/// The layer (see the module's documentation).
pub async fn service_notices(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The path as the router matches it (percent-decoded): `/register/%61pply` is the apply
    // page too, and must not slip past the maintenance window.
    let path = req.match_info().as_str().to_string();
    let place = place_of(&path);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(place), Some(state)) = (place, state) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let engine = state.engine.clone();
    let live = match web::block(move || Live::load(&engine)).await {
        Ok(Ok(live)) => live,
        Ok(Err(e)) => {
            // The page itself will say whether the database is gone; notices are extra.
            tracing::warn!(error = ?e, "service notices could not be read");
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body);
        }
        Err(e) => {
            tracing::warn!(error = %e, "service notices could not be read");
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body);
        }
    };
    if is_paused(&path) {
        if let Some(m) = live.maintenance() {
            let resp = maintenance_page(&state, req.request(), &live, &m);
            return Ok(req.into_response(resp));
        }
    }
    let shown = Shown {
        now: live.now,
        notices: live.shown(place).into_iter().cloned().collect(),
    };
    SHOWN
        .scope(shown, next.call(req))
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// A notice as a page shows it, in the page's language.
#[derive(Debug, Serialize)]
struct NoticeItem {
    id: String,
    text: String,
    /// The maintenance window in words, if it has one.
    window: Option<String>,
    /// Its window is in force now.
    in_maintenance: bool,
}

fn items(state: &AppState, lang: &str, now: UnixTime, notices: &[NoticeRecord]) -> Vec<NoticeItem> {
    notices
        .iter()
        .map(|n| NoticeItem {
            id: n.id.clone(),
            text: text_in(n, lang).to_string(),
            window: n.maintenance.map(|w| {
                let (from, until) = (taipei_time(w.from, lang), taipei_time(w.until, lang));
                state.templates.text(
                    lang,
                    "notices_window",
                    &[("from", &from), ("until", &until)],
                )
            }),
            in_maintenance: n.maintenance.is_some_and(|w| w.contains(now)),
        })
        .collect()
}

/// Adds the notices of the current request (if the layer kept any) to the data of a page
/// rendered in `lang`, unless the page brings its own.
pub fn add_to_page(state: &AppState, lang: &str, data: &mut Value) {
    let Ok(shown) = SHOWN.try_with(Shown::clone) else {
        return;
    };
    if let Value::Object(map) = data {
        if !shown.notices.is_empty() && !map.contains_key("service_notices") {
            let list = items(state, lang, shown.now, &shown.notices);
            map.insert("service_notices".into(), json!(list));
        }
    }
}

/// The address of the same page in `other` (its query kept, `lang` replaced).
fn switch(req: &HttpRequest, other: &str) -> String {
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let mut pairs: Vec<(String, String)> = query
        .into_iter()
        .filter(|(k, _)| k != "lang" && k != "ui_locales")
        .collect();
    // A form's answer switches to the page of the form (step 2 posts to `…/submit`, which
    // has no page of its own).
    let mut path = req.match_info().as_str().to_string();
    if req.method() != Method::GET {
        pairs.clear();
        if let Some(form) = path.strip_suffix("/submit") {
            path = form.to_string();
        }
    }
    pairs.push(("lang".into(), other.into()));
    format!(
        "/{}?{}",
        path.trim_start_matches('/'),
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

/// 503 with `Retry-After`: applying and resetting are paused until the window ends.
fn maintenance_page(
    state: &AppState,
    req: &HttpRequest,
    live: &Live,
    m: &Maintenance,
) -> HttpResponse {
    let lang = state.lang(req, &[]);
    let t = |key: &str, vars: &[(&str, &str)]| state.templates.text(&lang, key, vars);
    let until = taipei_time(m.until, &lang);
    // The notices of the registration site and those that announced this window.
    let mut notices: Vec<NoticeRecord> = live.shown(Place::Register).into_iter().cloned().collect();
    for n in &m.notices {
        if !notices.iter().any(|shown| shown.id == n.id) {
            notices.push(n.clone());
        }
    }
    let other = t("other_lang", &[]);
    let data = json!({
        "title": t("maintenance_title", &[]),
        "message": t("maintenance_message", &[("until", &until)]),
        "until": format_rfc3339(m.until),
        "lang_switch": switch(req, &other),
        "service_notices": items(state, &lang, live.now, &notices),
    });
    // Rendered here rather than by `responses::page`, which uses this module.
    match state.templates.render("maintenance", &lang, data) {
        Ok(html) => HttpResponse::ServiceUnavailable()
            .insert_header((header::RETRY_AFTER, m.retry_after(live.now).to_string()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(e) => {
            tracing::error!(error = ?e, "template failed");
            HttpResponse::ServiceUnavailable()
                .insert_header((header::RETRY_AFTER, m.retry_after(live.now).to_string()))
                .content_type("text/plain; charset=utf-8")
                .body("Service unavailable")
        }
    }
}

/// `GET /notices.json`: the current and upcoming notices meant for relying parties.
/// Public; cached for [`FEED_MAX_AGE`] seconds, with an `ETag` for revalidation.
pub async fn get_feed(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let engine = state.engine.clone();
    let live = match web::block(move || Live::load(&engine)).await {
        Ok(Ok(live)) => live,
        failed => {
            if let Ok(Err(e)) = failed {
                tracing::error!(error = ?e, "the notice feed could not be read");
            }
            return HttpResponse::ServiceUnavailable()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((header::RETRY_AFTER, "30"))
                .json(json!({ "error": "temporarily_unavailable",
                              "error_description": "the notices cannot be read right now; try again shortly" }));
        }
    };
    let feed = live.feed();
    // The validator covers the notices, not the moment of the answer.
    let tag = serde_json::to_vec(&feed.notices)
        .map(|bytes| {
            format!(
                "\"{}\"",
                b64url(&sha256(&bytes)).chars().take(27).collect::<String>()
            )
        })
        .unwrap_or_default();
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == tag)
        });
    let mut resp = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((
        header::CACHE_CONTROL,
        format!("public, max-age={FEED_MAX_AGE}"),
    ))
    .insert_header((header::ETAG, tag))
    .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
    if matches {
        resp.finish()
    } else {
        resp.json(&feed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applying_and_resetting_are_paused_signing_in_is_not() {
        for path in [
            "/register/terms",
            "/register/apply",
            "/register/apply/submit",
            "/register/forgot",
            "/register/reset",
            "/register/confirm",
            "/register/member/password",
        ] {
            assert!(is_paused(path), "{path}");
        }
        for path in [
            "/register",
            "/register/login",
            "/register/member",
            "/register/applyx",
            "/interaction/abc/card",
            "/token",
        ] {
            assert!(!is_paused(path), "{path}");
        }
    }

    #[test]
    fn pages_show_the_notices_of_their_place() {
        assert_eq!(place_of("/"), Some(Place::Register));
        assert_eq!(place_of("/register/apply"), Some(Place::Register));
        assert_eq!(place_of("/register/places"), None);
        assert_eq!(place_of("/interaction/x/card"), Some(Place::Signin));
        assert_eq!(place_of("/admin"), None);
        assert_eq!(place_of("/registered"), None);
    }
}
