//! The card sign-in page of an authorization: `GET`/`POST /interaction/{id}/card`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::interaction::finish_login;
use super::messages::Localize;
use super::responses::{blocking_failed, error_page, page};
use super::AppState;
use crate::audit::AuditKind;
use crate::card::CardToken;
use crate::domain::password::Password;
use crate::domain::Acr;
use crate::enroll::login::{CardLogin, LoginError};
use crate::oidc::interaction::{LoginView, ResumeOutcome};

fn render(
    state: &AppState,
    req: &HttpRequest,
    view: &LoginView,
    error: Option<&LoginError>,
) -> HttpResponse {
    let lang = state.lang(req, &view.ui_locales);
    let t = &state.templates;
    let status = match error {
        None => StatusCode::OK,
        Some(LoginError::RateLimited) => StatusCode::TOO_MANY_REQUESTS,
        Some(LoginError::Internal) => StatusCode::INTERNAL_SERVER_ERROR,
        Some(LoginError::Card(crate::card::CardError::RevocationUnknown)) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        Some(_) => StatusCode::BAD_REQUEST,
    };
    let authenticator = state.engine.settings().card.authenticator_url.clone();
    let mut resp = page(
        state,
        "card_login",
        &lang,
        status,
        json!({
            "title": t.text(&lang, "card_login_title", &[]),
            "intro": t.text(&lang, "card_login_intro", &[("client", &view.client_name)]),
            "required_acr": view.required_acr.map(|a| t.text(&lang, &format!("acr_{}", a.as_str()), &[])),
            "interaction_id": view.interaction_id,
            "csrf_token": view.csrf_token,
            "authenticator_url": authenticator,
            "error": error.map(|e| e.message().text(t, &lang)),
            "error_code": error.map(|e| e.code()),
            "error_help": error.and_then(|e| super::help_links::card_error_link(e.code())),
            "locked": matches!(error, Some(LoginError::Locked)),
        }),
    );
    super::responses::card_page_csp(&mut resp, &authenticator, false);
    resp
}

async fn login_view(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
) -> Result<LoginView, HttpResponse> {
    let ctx = state.browser(req);
    let engine = state.engine.clone();
    let id = id.to_string();
    match web::block(move || engine.resume(&id, &ctx)).await {
        Ok(ResumeOutcome::Login(view)) => Ok(view),
        Ok(ResumeOutcome::ErrorPage(e)) => Err(error_page(state, req, &e)),
        // Signed in already (another tab): continue the interaction.
        Ok(_) => Err(super::responses::see_other(&format!(
            "/interaction/{}",
            req.match_info().get("id").unwrap_or_default()
        ))),
        Err(e) => Err(error_page(state, req, &blocking_failed(e))),
    }
}

pub async fn get_card_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    match login_view(&state, &req, &path.into_inner()).await {
        Ok(view) => render(&state, &req, &view, None),
        Err(resp) => resp,
    }
}

#[derive(Deserialize)]
pub struct CardLoginForm {
    pub csrf_token: String,
    #[serde(default)]
    pub challenge: String,
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub password: String,
}

pub async fn post_card_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CardLoginForm>,
) -> HttpResponse {
    let id = path.into_inner();
    let view = match login_view(&state, &req, &id).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let form = form.into_inner();
    if !crate::crypto::ct_eq(&form.csrf_token, &view.csrf_token) {
        return error_page(
            &state,
            &req,
            &crate::oidc::OAuthError::invalid_request(
                "the form has expired; reload the page and try again",
            ),
        );
    }
    let Ok(token) = serde_json::from_str::<CardToken>(&form.token) else {
        return render(
            &state,
            &req,
            &view,
            Some(&LoginError::Card(crate::card::CardError::UnknownFormat)),
        );
    };
    // Step-up: a card of a lower level is refused here, before anything is checked or
    // counted, so that the person can put in the right card (never a silently lower acr).
    let card_acr = match token.card_kind.as_str() {
        "nhi" => Some(Acr::Card),
        "moica" => Some(Acr::CitizenCertificate),
        _ => None,
    };
    if let (Some(required), Some(have)) = (view.required_acr, card_acr) {
        if !have.satisfies(required) {
            return render(&state, &req, &view, Some(&LoginError::NeedsStrongerCard));
        }
    }
    let ctx = state.browser(&req);
    let Some(browser) = ctx.browser_token.clone() else {
        return render(
            &state,
            &req,
            &view,
            Some(&LoginError::Card(crate::card::CardError::BadChallenge)),
        );
    };
    let input = CardLogin {
        challenge: form.challenge,
        token,
        password: (!form.password.is_empty()).then(|| Password::new(&form.password)),
    };
    let enroll = state.enroll.clone();
    let binding = crate::enroll::binding("login", &id, &browser);
    let ip = ctx.ip.clone();
    let flow = id.clone();
    let outcome = web::block(move || {
        let auth = enroll.card_login(&binding, &input, ip.as_deref())?;
        // A request that named its user (id_token_hint) is refused here, with a message, when
        // another person's card signs in; nothing of the other person's sign-in is kept.
        let hinted = enroll
            .engine
            .is_hinted_person(&flow, &ctx, &auth.person_id)
            .map_err(|_| LoginError::Internal)?;
        if !hinted {
            enroll.engine.audit_from(
                ctx.ip.as_deref(),
                AuditKind::Login,
                "hint_mismatch",
                Some(&auth.person_id),
                None,
                Some(format!("method={}", auth.method)),
            );
            return Err(LoginError::NotHintedPerson);
        }
        Ok(auth)
    })
    .await;
    match outcome {
        Ok(Ok(auth)) => finish_login(&state, &req, id, auth).await,
        Ok(Err(e)) => render(&state, &req, &view, Some(&e)),
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}
