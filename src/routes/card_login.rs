//! The card sign-in pages of an authorization: the NHI card page (`/interaction/{id}/card`:
//! 讀取 the 健保卡, then 註冊密碼) and the citizen-certificate page
//! (`/interaction/{id}/citizen-certificate`: PIN first, 讀取 the 自然人憑證, no password). Each
//! page takes its own kind of card: the other kind is refused at 讀取 by the page's script
//! and, whatever the script did, by the server before anything is checked or counted.
//!
//! A MOICA card meets every level (it is the highest), so a request that asks for the NHI
//! card (eCPA's 健保卡 button) can be met with it too — on its own page, reached from the
//! chooser or from the NHI page's refusal, which links to it.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::interaction::finish_login;
use super::messages::Localize;
use super::responses::{blocking_failed, error_page, page, see_other};
use super::AppState;
use crate::audit::AuditKind;
use crate::card::{CardKind, CardToken};
use crate::domain::password::Password;
use crate::domain::Acr;
use crate::enroll::login::{CardLogin, LoginError};
use crate::oidc::interaction::{LoginView, ResumeOutcome};

/// Which card page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CardPage {
    /// 健保卡 + 註冊密碼.
    Nhi,
    /// 自然人憑證 + PIN.
    CitizenCertificate,
}

impl CardPage {
    fn kind(self) -> CardKind {
        match self {
            CardPage::Nhi => CardKind::Nhi,
            CardPage::CitizenCertificate => CardKind::Moica,
        }
    }

    fn acr(self) -> Acr {
        match self {
            CardPage::Nhi => Acr::Card,
            CardPage::CitizenCertificate => Acr::CitizenCertificate,
        }
    }

    fn path(self, id: &str) -> String {
        match self {
            CardPage::Nhi => format!("/interaction/{id}/card"),
            CardPage::CitizenCertificate => format!("/interaction/{id}/citizen-certificate"),
        }
    }

    /// The template and the dictionary keys of its title and introduction.
    fn words(self) -> (&'static str, &'static str, &'static str) {
        match self {
            CardPage::Nhi => ("card_login", "card_login_title", "card_login_intro"),
            CardPage::CitizenCertificate => (
                "citizen_login",
                "citizen_login_title",
                "citizen_login_intro",
            ),
        }
    }
}

fn render(
    state: &AppState,
    req: &HttpRequest,
    view: &LoginView,
    card_page: CardPage,
    error: Option<&LoginError>,
) -> HttpResponse {
    let lang = state.lang(req, &view.ui_locales);
    let t = &state.templates;
    let status = match error {
        None => StatusCode::OK,
        Some(LoginError::RateLimited(_)) => StatusCode::TOO_MANY_REQUESTS,
        Some(LoginError::Internal) => StatusCode::INTERNAL_SERVER_ERROR,
        Some(LoginError::Card(crate::card::CardError::RevocationUnknown)) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        Some(_) => StatusCode::BAD_REQUEST,
    };
    let authenticator = state.engine.settings().card.authenticator_url.clone();
    let (template, title, intro) = card_page.words();
    let id = &view.interaction_id;
    let other = t.text(&lang, "other_lang", &[]);
    let mut resp = page(
        state,
        template,
        &lang,
        status,
        json!({
            "title": t.text(&lang, title, &[]),
            "intro": t.text(&lang, intro, &[("client", &view.client_name)]),
            "required_acr": view.required_acr.map(|a| t.text(&lang, &format!("acr_{}", a.as_str()), &[])),
            "interaction_id": id,
            "action": card_page.path(id),
            "card_kind": card_page.kind().as_str(),
            "citizen_href": CardPage::CitizenCertificate.path(id),
            "from": serde_urlencoded::to_string([("client_id", view.client_id.as_str())]).unwrap_or_default(),
            "csrf_token": view.csrf_token,
            "authenticator_url": authenticator,
            "error": error.map(|e| e.message().text(t, &lang)),
            "error_code": error.map(|e| e.code()),
            "error_help": error.and_then(|e| super::help_links::card_error_link(e.code())),
            // Locked, or the address's wrong passwords spent: 忘記註冊密碼 is the way on.
            "offer_forgot": matches!(error, Some(LoginError::Locked | LoginError::RateLimited(_))),
            "lang_switch": format!("{}?lang={other}", card_page.path(id)),
        }),
    );
    super::responses::card_page_csp(&mut resp, &authenticator, false);
    if let Some(seconds) = error.and_then(Localize::retry_after) {
        resp.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(seconds),
        );
    }
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
        Ok(_) => Err(see_other(&format!(
            "/interaction/{}",
            req.match_info().get("id").unwrap_or_default()
        ))),
        Err(e) => Err(error_page(state, req, &blocking_failed(e))),
    }
}

async fn get_page(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
    card_page: CardPage,
) -> HttpResponse {
    let view = match login_view(state, req, id).await {
        Ok(view) => view,
        Err(resp) => return resp,
    };
    // The NHI card cannot reach what the request needs: its page is not the way in.
    if view
        .required_acr
        .is_some_and(|r| !card_page.acr().satisfies(r))
    {
        return see_other(&CardPage::CitizenCertificate.path(id));
    }
    let mut resp = render(state, req, &view, card_page, None);
    state.remember_lang(req, &mut resp);
    resp
}

/// `GET /interaction/{id}/card`: the NHI card page.
pub async fn get_card_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    get_page(&state, &req, &path.into_inner(), CardPage::Nhi).await
}

/// `GET /interaction/{id}/citizen-certificate`: the citizen-certificate page.
pub async fn get_citizen_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    get_page(
        &state,
        &req,
        &path.into_inner(),
        CardPage::CitizenCertificate,
    )
    .await
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

/// `POST /interaction/{id}/card`.
pub async fn post_card_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CardLoginForm>,
) -> HttpResponse {
    post_page(
        state,
        req,
        path.into_inner(),
        form.into_inner(),
        CardPage::Nhi,
    )
    .await
}

/// `POST /interaction/{id}/citizen-certificate`.
pub async fn post_citizen_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CardLoginForm>,
) -> HttpResponse {
    post_page(
        state,
        req,
        path.into_inner(),
        form.into_inner(),
        CardPage::CitizenCertificate,
    )
    .await
}

async fn post_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: String,
    form: CardLoginForm,
    card_page: CardPage,
) -> HttpResponse {
    let view = match login_view(&state, &req, &id).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
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
            card_page,
            Some(&LoginError::Card(crate::card::CardError::UnknownFormat)),
        );
    };
    // Step-up: the NHI card page cannot reach what the request needs. Refused here, before
    // anything is checked or counted (never a silently lower acr); the card of the other
    // kind is refused by `card_login` just as early.
    if view
        .required_acr
        .is_some_and(|r| !card_page.acr().satisfies(r))
    {
        return render(
            &state,
            &req,
            &view,
            card_page,
            Some(&LoginError::NeedsStrongerCard),
        );
    }
    let ctx = state.browser(&req);
    let Some(browser) = ctx.browser_token.clone() else {
        return render(
            &state,
            &req,
            &view,
            card_page,
            Some(&LoginError::Card(crate::card::CardError::BadChallenge)),
        );
    };
    let input = CardLogin {
        challenge: form.challenge,
        token,
        // The citizen certificate's second factor is its PIN: no password is read there.
        password: (card_page == CardPage::Nhi && !form.password.is_empty())
            .then(|| Password::new(&form.password)),
        kind: Some(card_page.kind()),
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
        Ok(Ok(auth)) => super::limits::card_used(finish_login(&state, &req, id, auth).await),
        Ok(Err(e)) => render(&state, &req, &view, card_page, Some(&e)),
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}
