//! 健保卡網路服務註冊: terms, apply (two steps), the confirmation link, 重寄認證信 and
//! 刪除註冊申請 (忘記註冊密碼 and the reset link are in `recovery`). Thin handlers over
//! `enroll`; the pages' language, CSRF and card forms are `site` and `card_form`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::card_form::{CardForm, NoFields};
use super::limits::card_used;
use super::responses::{blocking_failed, error_page, see_other};
use super::site::{Notice, PlaceFields, Site};
use super::AppState;
use crate::enroll::apply::{ApplyError, Step2};
use crate::enroll::recovery::RecoveryError;
use crate::enroll::Enrollment;
use crate::registry::ProofInput;

fn status_of(e: &ApplyError) -> StatusCode {
    match e {
        ApplyError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        ApplyError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

pub(super) fn recovery_status(e: &RecoveryError) -> StatusCode {
    match e {
        RecoveryError::Apply(a) => status_of(a),
        _ => StatusCode::BAD_REQUEST,
    }
}

pub async fn get_terms(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let site = Site::new(&state, &req);
    site.page(
        "terms",
        StatusCode::OK,
        json!({ "title": site.text("terms_title", &[]) }),
    )
}

/// What step 1 posts besides the card: 戶號 and 戶籍.
#[derive(Debug, Default, Deserialize)]
pub struct Step1Fields {
    #[serde(default)]
    pub household_no: String,
    #[serde(flatten)]
    pub place: PlaceFields,
}

/// Step 1; after a refusal the form comes back as it was sent (戶號, 縣市, 鄉鎮市區, 村里,
/// 鄰), so only the card has to be read again.
async fn apply_page(
    mut site: Site<'_>,
    error: Option<&ApplyError>,
    form: &Step1Fields,
) -> HttpResponse {
    site.page_address("/register/apply", &[]);
    let places = form.place.options();
    let data = json!({
        "title": site.text("reg_title_apply", &[]),
        "places": places,
        "place_required": true,
        "household_no": form.household_no,
    });
    site.card_page(
        "apply",
        error.map(status_of).unwrap_or(StatusCode::OK),
        site.with_error(data, error),
    )
}

pub async fn get_apply(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    apply_page(Site::new(&state, &req), None, &Step1Fields::default()).await
}

/// The contact data of step 2, shown again after a refusal (never the passwords).
#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct ContactFields {
    #[serde(default)]
    pub phone_area: String,
    #[serde(default)]
    pub phone_number: String,
    #[serde(default)]
    pub phone_ext: String,
    #[serde(default)]
    pub mobile: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub email_backup: String,
}

fn step2_page(
    mut site: Site<'_>,
    name: &str,
    proof: &str,
    form: &ContactFields,
    error: Option<&ApplyError>,
) -> HttpResponse {
    let csrf = site.csrf();
    site.switch_by_post(
        "/register/apply/submit",
        &[("csrf_token", &csrf), ("proof", proof)],
    );
    let (password_help, password_policy) = site.password_rule();
    let data = json!({
        "title": site.text("reg_title_apply", &[]),
        "name": name,
        "proof": proof,
        "csrf_token": csrf,
        "password_help": password_help,
        "password_policy": password_policy,
        "warn_domains": site.state.engine.settings().mail.warn_domains.join(","),
        "form": form,
    });
    site.page(
        "apply2",
        error.map(status_of).unwrap_or(StatusCode::OK),
        site.with_error(data, error),
    )
}

pub async fn post_apply(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CardForm<Step1Fields>,
) -> HttpResponse {
    let site = Site::new(&state, &req);
    let fields = form.fields;
    let card = match form.card {
        Ok(card) => card,
        Err(e) => return apply_page(site, Some(&e.into()), &fields).await,
    };
    let place = ProofInput {
        household_no: fields.household_no.clone(),
        county: fields.place.county.clone(),
        township: fields.place.township.clone(),
        village: fields.place.village.clone(),
        neighborhood: fields.place.neighborhood_number(),
    };
    let enroll = state.enroll.clone();
    let ip = state.browser(&req).ip;
    let binding = site.binding("apply");
    let browser = site.browser().to_string();
    let result = web::block(move || {
        enroll.apply_step1(
            &binding,
            &browser,
            &card.challenge,
            &card.token,
            &place,
            ip.as_deref(),
        )
    })
    .await;
    match result {
        Ok(Ok(step)) => card_used(step2_page(
            site,
            &step.name,
            &step.sealed_proof,
            &ContactFields::default(),
            None,
        )),
        Ok(Err(e)) => apply_page(site, Some(&e), &fields).await,
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}

#[derive(Deserialize)]
pub struct Step2Form {
    pub csrf_token: String,
    pub proof: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
    #[serde(flatten)]
    pub contact: ContactFields,
    /// Set by the language switch: step 2 again in that language.
    #[serde(default)]
    pub lang: String,
}

pub async fn post_apply_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Step2Form>,
) -> HttpResponse {
    let form = form.into_inner();
    let mut site = Site::new(&state, &req);
    if !site.csrf_ok(&form.csrf_token) {
        return apply_page(
            site,
            Some(&ApplyError::ProofExpired),
            &Step1Fields::default(),
        )
        .await;
    }
    let enroll = state.enroll.clone();
    let (proof, browser) = (form.proof.clone(), site.browser().to_string());
    if !form.lang.is_empty() {
        site.choose_lang(&form.lang);
        return match web::block(move || enroll.proof_name(&proof, &browser)).await {
            Ok(Ok(name)) => step2_page(site, &name, &form.proof, &form.contact, None),
            _ => {
                apply_page(
                    site,
                    Some(&ApplyError::ProofExpired),
                    &Step1Fields::default(),
                )
                .await
            }
        };
    }
    let c = &form.contact;
    let step2 = Step2 {
        password: form.password.clone(),
        password_confirm: form.password_confirm.clone(),
        phone_area: c.phone_area.clone(),
        phone_number: c.phone_number.clone(),
        phone_ext: c.phone_ext.clone(),
        mobile: c.mobile.clone(),
        email: c.email.clone(),
        email_backup: c.email_backup.clone(),
    };
    let (ip, lang) = (state.browser(&req).ip, site.lang.clone());
    let result = web::block(move || {
        let outcome = enroll.apply_step2(&proof, &browser, &step2, &lang, ip.as_deref());
        let name = enroll.proof_name(&proof, &browser).ok();
        (outcome, name)
    })
    .await;
    match result {
        Ok((Ok(masked), _)) => {
            let days = (state.engine.settings().registration.confirm_link_ttl + 86_399) / 86_400;
            site.notice(&Notice::Applied { masked, days }).await
        }
        Ok((Err(ApplyError::ProofExpired), _)) | Ok((Err(_), None)) => {
            apply_page(
                site,
                Some(&ApplyError::ProofExpired),
                &Step1Fields::default(),
            )
            .await
        }
        Ok((Err(e), Some(name))) => step2_page(site, &name, &form.proof, &form.contact, Some(&e)),
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}

#[derive(Deserialize)]
pub struct PlacesQuery {
    #[serde(default)]
    pub county: Option<String>,
}

/// `GET /register/places?county=`: every 鄉鎮市區 of a 縣市 (every 縣市 without `county`),
/// from the list of divisions: the same answer whoever is registered. 村里 are not listed.
pub async fn get_places(q: web::Query<PlacesQuery>) -> HttpResponse {
    let list = match q.into_inner().county {
        None => Some(crate::registry::divisions::counties()),
        Some(county) => crate::registry::divisions::townships(&county),
    };
    match list {
        Some(list) => HttpResponse::Ok()
            .insert_header(("cache-control", "public, max-age=86400"))
            .json(list),
        None => HttpResponse::NotFound().json(json!({
            "error": "unknown_county",
            "error_description": "no such 縣市; choose one of GET /register/places",
        })),
    }
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    pub n: String,
}

/// `GET /register/notice?n=`: a notice a form post showed, sealed for this browser (where
/// the language switch of that notice goes).
pub async fn get_notice(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<NoticeQuery>,
) -> HttpResponse {
    let mut site = Site::new(&state, &req);
    match Notice::open(&state, site.browser(), &q.into_inner().n) {
        Some(notice) => site.notice(&notice).await,
        None => see_other("/register"),
    }
}

/// What a page behind a mailed link posts besides the card: the link's token.
#[derive(Debug, Default, Deserialize)]
pub struct LinkFields {
    #[serde(default)]
    pub t: String,
}

fn confirm_page(mut site: Site<'_>, link: &str, error: Option<&ApplyError>) -> HttpResponse {
    site.page_address("/register/confirm", &[("t", link)]);
    let data = json!({ "title": site.text("reg_title_confirm", &[]), "link_token": link });
    site.card_page(
        "confirm",
        error.map(status_of).unwrap_or(StatusCode::OK),
        site.with_error(data, error),
    )
}

pub async fn get_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<LinkFields>,
) -> HttpResponse {
    link_page(
        &state,
        &req,
        q.into_inner().t,
        |enroll, t| enroll.confirm_link_valid(t).unwrap_or(false),
        |site, t| confirm_page(site, t, None),
        Notice::ConfirmLinkInvalid,
    )
    .await
}

/// `GET` of a page a mail link opens (confirm, reset): the page while the link is still
/// good, else the notice that it is not.
pub(super) async fn link_page(
    state: &AppState,
    req: &HttpRequest,
    t: String,
    valid: impl FnOnce(&Enrollment, &str) -> bool + Send + 'static,
    page: impl for<'a> FnOnce(Site<'a>, &str) -> HttpResponse,
    invalid: Notice,
) -> HttpResponse {
    let mut site = Site::new(state, req);
    let enroll = state.enroll.clone();
    let token = t.clone();
    match web::block(move || valid(&enroll, &token)).await {
        Ok(true) => page(site, &t),
        _ => site.notice(&invalid).await,
    }
}

pub async fn post_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CardForm<LinkFields>,
) -> HttpResponse {
    let mut site = Site::new(&state, &req);
    let link = form.fields.t;
    let card = match form.card {
        Ok(card) => card,
        Err(e) => return confirm_page(site, &link, Some(&e.into())),
    };
    let enroll = state.enroll.clone();
    let ip = state.browser(&req).ip;
    let binding = site.binding("confirm");
    let t = link.clone();
    match web::block(move || {
        enroll.confirm(&binding, &t, &card.challenge, &card.token, ip.as_deref())
    })
    .await
    {
        Ok(Ok(())) => card_used(site.notice(&Notice::Confirmed).await),
        Ok(Err(ApplyError::LinkInvalid)) => site.notice(&Notice::ConfirmLinkInvalid).await,
        Ok(Err(e)) => confirm_page(site, &link, Some(&e)),
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}

/// 重寄認證信 and 刪除註冊申請: a card and one button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CardAction {
    Resend,
    Delete,
}

impl CardAction {
    fn purpose(self) -> &'static str {
        match self {
            CardAction::Resend => "resend",
            CardAction::Delete => "delete",
        }
    }
}

fn action_page(
    mut site: Site<'_>,
    action: CardAction,
    error: Option<&RecoveryError>,
) -> HttpResponse {
    let purpose = action.purpose();
    let path = format!("/register/{purpose}");
    site.page_address(&path, &[]);
    let (heading, explain, submit) = match action {
        CardAction::Resend => ("reg_title_resend", "reg_resend_explain", "reg_link_resend"),
        CardAction::Delete => ("reg_title_delete", "reg_delete_explain", "reg_link_delete"),
    };
    let heading = site.text(heading, &[]);
    let data = json!({ "title": heading, "heading": heading, "explain": site.text(explain, &[]),
                       "submit": site.text(submit, &[]), "purpose": purpose, "action": path });
    site.card_page(
        "card_action",
        error.map(recovery_status).unwrap_or(StatusCode::OK),
        site.with_error(data, error),
    )
}

pub async fn get_resend(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    action_page(Site::new(&state, &req), CardAction::Resend, None)
}

pub async fn get_delete(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    action_page(Site::new(&state, &req), CardAction::Delete, None)
}

async fn card_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CardForm<NoFields>,
    action: CardAction,
) -> HttpResponse {
    let mut site = Site::new(&state, &req);
    let card = match form.card {
        Ok(card) => card,
        Err(e) => return action_page(site, action, Some(&e.into())),
    };
    let enroll = state.enroll.clone();
    let (ip, lang) = (state.browser(&req).ip, site.lang.clone());
    let binding = site.binding(action.purpose());
    let result = web::block(move || match action {
        CardAction::Resend => enroll
            .resend(&binding, &card.challenge, &card.token, &lang, ip.as_deref())
            .map(|masked| Notice::Resent { masked }),
        CardAction::Delete => enroll
            .delete_application(&binding, &card.challenge, &card.token, ip.as_deref())
            .map(|()| Notice::Deleted),
    })
    .await;
    match result {
        Ok(Ok(notice)) => card_used(site.notice(&notice).await),
        Ok(Err(e)) => action_page(site, action, Some(&e)),
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}

pub async fn post_resend(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CardForm<NoFields>,
) -> HttpResponse {
    card_action(state, req, form, CardAction::Resend).await
}

pub async fn post_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CardForm<NoFields>,
) -> HttpResponse {
    card_action(state, req, form, CardAction::Delete).await
}
