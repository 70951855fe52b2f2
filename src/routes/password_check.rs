//! `POST /register/password-check`: the 註冊密碼 meter asks whether a new password would be
//! accepted, so that it never calls 強 a password the form then refuses (the service is
//! `enroll::password_check`). The registration site's CSRF token; a limit per address; the
//! password is never logged or kept.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::member::member_id;
use super::messages::Localize;
use super::site::Site;
use super::AppState;
use crate::enroll::password_check::Whose;

/// Checks a minute may ask, per address (typing pauses, not keystrokes).
const CHECKS_PER_MINUTE: i32 = 60;
/// Checks per minute from one address, all browsers behind it together.
const CHECKS_PER_MINUTE_PER_ADDRESS: i32 = 1200;
/// Checks per reset link (it lives 30 minutes): enough to type a password, far too few to
/// guess a birth date from the answers.
const CHECKS_PER_RESET_LINK: i32 = 20;

#[derive(Deserialize)]
pub struct CheckForm {
    #[serde(default)]
    pub csrf_token: String,
    #[serde(default)]
    pub password: String,
    /// Step 2's sealed proof.
    #[serde(default)]
    pub proof: String,
    /// The reset page's link token.
    #[serde(default)]
    pub t: String,
}

impl std::fmt::Debug for CheckForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckForm").finish_non_exhaustive()
    }
}

fn refusal(status: actix_web::http::StatusCode, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("cache-control", "no-store"))
        .json(json!({ "error": error, "error_description": description }))
}

pub async fn post_password_check(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CheckForm>,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let form = form.into_inner();
    let site = Site::new(&state, &req);
    if !site.csrf_ok(&form.csrf_token) {
        return refusal(
            StatusCode::FORBIDDEN,
            "csrf",
            "the page has expired; reload it",
        );
    }
    let member = if form.proof.is_empty() && form.t.is_empty() {
        member_id(&state, &req).await
    } else {
        None
    };
    let enroll = state.enroll.clone();
    let ip = state.browser(&req).ip.unwrap_or_default();
    let browser = site.browser().to_string();
    let verdict = web::block(move || {
        let store = enroll.engine.store();
        let now = enroll.engine.now();
        // Per browser (an agency's whole office may share one address), with a wide
        // ceiling per address; and few checks per reset link, whose holder has not shown
        // the card: the verdict on personal data must not become a way to guess it.
        let browser_key = crate::crypto::token_hash(&browser);
        if store.hit(&format!("pwcheck:browser:{browser_key}"), 60, now)? > CHECKS_PER_MINUTE
            || store.hit(&format!("pwcheck:ip:{ip}"), 60, now)? > CHECKS_PER_MINUTE_PER_ADDRESS
        {
            return Ok(None);
        }
        if !form.t.is_empty() && form.proof.is_empty() {
            let link = crate::crypto::token_hash(&form.t);
            if store.hit(&format!("pwcheck:link:{link}"), 3600, now)? > CHECKS_PER_RESET_LINK {
                return Ok(None);
            }
        }
        let whose = if !form.proof.is_empty() {
            Whose::Applicant {
                proof: &form.proof,
                browser: &browser,
            }
        } else if !form.t.is_empty() {
            Whose::ResetLink(&form.t)
        } else if let Some(person) = member.as_deref() {
            Whose::Member(person)
        } else {
            Whose::Nobody
        };
        enroll.check_new_password(&form.password, whose).map(Some)
    })
    .await;
    match verdict {
        Ok(Ok(Some(Ok(())))) => HttpResponse::Ok()
            .insert_header(("cache-control", "no-store"))
            .json(json!({ "ok": true })),
        Ok(Ok(Some(Err(e)))) => HttpResponse::Ok()
            .insert_header(("cache-control", "no-store"))
            .json(json!({ "ok": false, "code": e.code(), "message": site.say(&e.message()) })),
        Ok(Ok(None)) => refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many checks from this address; the form still checks the password when it is sent",
        ),
        Ok(Err(e)) => {
            tracing::error!(error = ?e, "the password check failed on the database");
            refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "try again later",
            )
        }
        Err(_) => refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "try again later",
        ),
    }
}
