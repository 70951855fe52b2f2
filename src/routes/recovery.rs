//! 忘記註冊密碼 and the reset link (/register/forgot, /register/reset): thin handlers over
//! `enroll::recovery`; a reset ends every session and grant of the person.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::card_form::CardForm;
use super::limits::card_used;
use super::register::{link_page, recovery_status, LinkFields};
use super::responses::{blocking_failed, error_page};
use super::site::{Notice, PlaceFields, Site};
use super::AppState;
use crate::enroll::recovery::{RecoveryError, ResetDelivery, ResetForm};
use crate::registry::ProofInput;

/// What 忘記註冊密碼 posts besides the card.
#[derive(Debug, Default, Deserialize)]
pub struct ForgotFields {
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub email: String,
    #[serde(flatten)]
    pub place: PlaceFields,
    #[serde(default)]
    pub mobile: String,
}

async fn forgot_page(
    mut site: Site<'_>,
    error: Option<&RecoveryError>,
    form: &ForgotFields,
) -> HttpResponse {
    site.page_address("/register/forgot", &[]);
    let places = form.place.options();
    let data = json!({
        "title": site.text("reg_title_forgot", &[]),
        "places": places,
        "place_required": false,
        "new_address": form.mode == "new",
        "form": { "email": form.email, "mobile": form.mobile },
    });
    site.card_page(
        "forgot",
        error.map(recovery_status).unwrap_or(StatusCode::OK),
        site.with_error(data, error),
    )
}

pub async fn get_forgot(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    forgot_page(Site::new(&state, &req), None, &ForgotFields::default()).await
}

pub async fn post_forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CardForm<ForgotFields>,
) -> HttpResponse {
    let mut site = Site::new(&state, &req);
    let fields = form.fields;
    let card = match form.card {
        Ok(card) => card,
        Err(e) => return forgot_page(site, Some(&e.into()), &fields).await,
    };
    let delivery = if fields.mode == "new" {
        ResetDelivery::NewAddress {
            email: fields.email.clone(),
            place: ProofInput {
                household_no: String::new(),
                county: fields.place.county.clone(),
                township: fields.place.township.clone(),
                village: fields.place.village.clone(),
                neighborhood: fields.place.neighborhood_number(),
            },
            mobile: fields.mobile.clone(),
        }
    } else {
        ResetDelivery::Registered
    };
    let enroll = state.enroll.clone();
    let (ip, lang) = (state.browser(&req).ip, site.lang.clone());
    let binding = site.binding("forgot");
    match web::block(move || {
        enroll.forgot(
            &binding,
            &card.challenge,
            &card.token,
            &delivery,
            &lang,
            ip.as_deref(),
        )
    })
    .await
    {
        Ok(Ok(sent)) => {
            let minutes = state.engine.settings().registration.reset_link_ttl / 60;
            card_used(
                site.notice(&Notice::ResetSent {
                    masked: sent.masked,
                    minutes,
                    locked: sent.locked,
                })
                .await,
            )
        }
        Ok(Err(e)) => forgot_page(site, Some(&e), &fields).await,
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}

fn reset_page(mut site: Site<'_>, link: &str, error: Option<&RecoveryError>) -> HttpResponse {
    site.page_address("/register/reset", &[("t", link)]);
    let (password_help, password_policy) = site.password_rule();
    let data = json!({
        "title": site.text("reg_title_reset", &[]),
        "link_token": link,
        "password_help": password_help,
        "password_policy": password_policy,
    });
    site.card_page(
        "reset",
        error.map(recovery_status).unwrap_or(StatusCode::OK),
        site.with_error(data, error),
    )
}

pub async fn get_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<LinkFields>,
) -> HttpResponse {
    link_page(
        &state,
        &req,
        q.into_inner().t,
        |enroll, t| enroll.reset_link_valid(t).unwrap_or(false),
        |site, t| reset_page(site, t, None),
        Notice::ResetLinkInvalid,
    )
    .await
}

#[derive(Default, Deserialize)]
pub struct ResetFields {
    #[serde(default)]
    pub t: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
}

impl std::fmt::Debug for ResetFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetFields").finish_non_exhaustive()
    }
}

pub async fn post_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CardForm<ResetFields>,
) -> HttpResponse {
    let mut site = Site::new(&state, &req);
    let fields = form.fields;
    let card = match form.card {
        Ok(card) => card,
        Err(e) => return reset_page(site, &fields.t, Some(&e.into())),
    };
    let enroll = state.enroll.clone();
    let ip = state.browser(&req).ip;
    let binding = site.binding("reset");
    let (link, pw, pw2) = (fields.t.clone(), fields.password, fields.password_confirm);
    let lang = site.lang.clone();
    match web::block(move || {
        let form = ResetForm {
            link_token: &link,
            password: &pw,
            confirm: &pw2,
        };
        enroll.reset(
            &binding,
            &card.challenge,
            &card.token,
            &form,
            &lang,
            ip.as_deref(),
        )
    })
    .await
    {
        Ok(Ok(ended)) => {
            state.backchannel.spawn(ended);
            site.notice(&Notice::ResetDone).await
        }
        Ok(Err(RecoveryError::LinkInvalid)) => site.notice(&Notice::ResetLinkInvalid).await,
        Ok(Err(e)) => reset_page(site, &fields.t, Some(&e)),
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}
