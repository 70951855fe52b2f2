//! The pages between the authorization request and the response: sign-in and consent.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::limits::give_back;
use super::responses::{
    authorization_response, blocking_failed, error_page, page, see_other, session_cookie,
};
use super::AppState;
use crate::limits::Budget;
use crate::oidc::interaction::{LoginCompletion, ResumeOutcome};
use crate::oidc::{AuthResult, OAuthError};

fn show(state: &AppState, req: &HttpRequest, outcome: ResumeOutcome) -> HttpResponse {
    match outcome {
        ResumeOutcome::ErrorPage(e) => error_page(state, req, &e),
        ResumeOutcome::Respond(resp) => {
            let lang = state.lang(req, &[]);
            // The authorization request is answered: it gives back what it was charged.
            let mut response = authorization_response(state, &lang, &resp);
            give_back(&mut response, &[(Budget::Authorize, 1)]);
            response
        }
        ResumeOutcome::Login(view) => {
            // Only the methods that can meet the request are offered; when one can, the
            // person goes straight to its page (no chooser with a single choice).
            let usable = super::LoginMethod::usable(
                &state.login_methods,
                &view.requested_acrs,
                view.required_acr,
            );
            if let [only] = usable.as_slice() {
                return see_other(&only.href(&view.interaction_id));
            }
            let lang = state.lang(req, &view.ui_locales);
            let t = &state.templates;
            let methods: Vec<_> = usable
                .iter()
                .map(|m| json!({ "label": m.label(&lang), "href": m.href(&view.interaction_id) }))
                .collect();
            let other = t.text(&lang, "other_lang", &[]);
            page(
                state,
                "login",
                &lang,
                StatusCode::OK,
                json!({
                    "title": t.text(&lang, "login_title", &[]),
                    "intro": t.text(&lang, "login_intro", &[("client", &view.client_name)]),
                    "required_acr": view.required_acr.map(|a| t.text(&lang, &format!("acr_{}", a.as_str()), &[])),
                    "methods": methods,
                    "interaction_id": view.interaction_id,
                    "csrf_token": view.csrf_token,
                    "login_hint": view.login_hint,
                    "lang_switch": format!("/interaction/{}?lang={other}", view.interaction_id),
                }),
            )
        }
        ResumeOutcome::Consent(view) => {
            let lang = state.lang(req, &view.ui_locales);
            let t = &state.templates;
            let scopes: Vec<String> = view
                .scopes
                .iter()
                .map(|s| t.text(&lang, &format!("scope_{s}"), &[]))
                .collect();
            let other = t.text(&lang, "other_lang", &[]);
            page(
                state,
                "consent",
                &lang,
                StatusCode::OK,
                json!({
                    "title": t.text(&lang, "consent_title", &[]),
                    "intro": t.text(&lang, "consent_intro", &[("client", &view.client_name)]),
                    "scopes": scopes,
                    "person_name": view.person_name,
                    "interaction_id": view.interaction_id,
                    "csrf_token": view.csrf_token,
                    "lang_switch": format!("/interaction/{}?lang={other}", view.interaction_id),
                }),
            )
        }
    }
}

/// `GET /interaction/{id}`: the next step of a pending authorization.
pub async fn get_interaction(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let id = path.into_inner();
    let ctx = state.browser(&req);
    let engine = state.engine.clone();
    let outcome = match web::block(move || engine.resume(&id, &ctx)).await {
        Ok(o) => o,
        Err(e) => return error_page(&state, &req, &blocking_failed(e)),
    };
    let mut resp = show(&state, &req, outcome);
    state.remember_lang(&req, &mut resp);
    resp
}

#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    pub csrf_token: String,
    pub decision: String,
}

/// `POST /interaction/{id}/consent`.
pub async fn post_consent(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ConsentForm>,
) -> HttpResponse {
    let id = path.into_inner();
    let ctx = state.browser(&req);
    let engine = state.engine.clone();
    let form = form.into_inner();
    let approve = form.decision == "approve";
    match web::block(move || engine.submit_consent(&id, &ctx, &form.csrf_token, approve)).await {
        Ok(outcome) => show(&state, &req, outcome),
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    pub csrf_token: String,
}

/// `POST /interaction/{id}/abort`: the user cancels; the client gets `access_denied`.
pub async fn post_abort(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let id = path.into_inner();
    let ctx = state.browser(&req);
    let engine = state.engine.clone();
    let csrf = form.into_inner().csrf_token;
    let result = web::block(
        move || match engine.check_interaction_csrf(&id, &ctx, &csrf) {
            Ok(()) => engine.abort_interaction(&id, &ctx, "the user cancelled the sign-in"),
            Err(e) => ResumeOutcome::ErrorPage(e),
        },
    )
    .await;
    match result {
        Ok(outcome) => show(&state, &req, outcome),
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}

/// For authentication methods: finish a sign-in for interaction `id` and continue.
/// Sets the session cookie, starts back-channel logout of a replaced session, and
/// redirects to the interaction.
pub async fn finish_login(
    state: &AppState,
    req: &HttpRequest,
    id: String,
    result: AuthResult,
) -> HttpResponse {
    let ctx = state.browser(req);
    let engine = state.engine.clone();
    let target = format!("/interaction/{id}");
    let completion: Result<LoginCompletion, OAuthError> =
        match web::block(move || engine.complete_login(&id, &ctx, &result)).await {
            Ok(r) => r,
            Err(e) => Err(blocking_failed(e)),
        };
    match completion {
        Ok(done) => {
            state.backchannel.spawn(done.ended);
            let mut resp = see_other(&target);
            let _ = resp.add_cookie(&session_cookie(
                state,
                &state.cookies.session,
                done.session_token,
            ));
            resp
        }
        Err(e) => error_page(state, req, &e),
    }
}
