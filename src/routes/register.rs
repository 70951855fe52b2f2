//! 健保卡網路服務註冊: terms, apply (two steps), the confirmation link. Thin handlers over
//! `enroll::apply`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::responses::{blocking_failed, cookie, page};
use super::AppState;
use crate::card::CardToken;
use crate::crypto::{ct_eq, new_secret_token, KeyPurpose};
use crate::enroll::apply::{ApplyError, Step2};
use crate::registry::ProofInput;

/// The registration site speaks the guide's Traditional Chinese (its pages are written in
/// it; the OIDC pages follow the browser's language).
pub const SITE_LANG: &str = "zh-TW";

/// The browser token (made when missing) and whether it is new.
fn browser(state: &AppState, req: &HttpRequest) -> (String, bool) {
    match state.browser(req).browser_token {
        Some(t) => (t, false),
        None => (new_secret_token(), true),
    }
}

fn csrf(state: &AppState, browser: &str) -> String {
    state
        .engine
        .ring()
        .keyed_hash(KeyPurpose::Csrf, format!("register|{browser}").as_bytes())
}

/// A page with the card script's CSP (it talks to the local authenticator).
fn card_page(
    state: &AppState,
    _req: &HttpRequest,
    name: &str,
    status: StatusCode,
    mut data: Value,
    browser: (&str, bool),
) -> HttpResponse {
    let authenticator = state.engine.settings().card.authenticator_url.clone();
    if let Value::Object(map) = &mut data {
        map.insert("authenticator_url".into(), json!(authenticator));
        map.insert("csrf_token".into(), json!(csrf(state, browser.0)));
        map.entry("title").or_insert(json!("健保卡網路服務註冊"));
    }
    let lang = super::register::SITE_LANG.to_string();
    let mut resp = page(state, name, &lang, status, data);
    super::responses::card_page_csp(&mut resp, &authenticator, true);
    if browser.1 {
        let _ = resp.add_cookie(&cookie(
            state,
            &state.cookies.browser,
            browser.0.to_string(),
            365 * 24 * 3600,
        ));
    }
    resp
}

fn status_of(e: &ApplyError) -> StatusCode {
    match e {
        ApplyError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ApplyError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn notice(
    state: &AppState,
    _req: &HttpRequest,
    status: StatusCode,
    heading: &str,
    outcome: &str,
    message: &str,
    link: Option<(&str, &str)>,
) -> HttpResponse {
    let lang = super::register::SITE_LANG.to_string();
    page(
        state,
        "notice",
        &lang,
        status,
        json!({ "title": heading, "heading": heading, "outcome": outcome, "message": message,
                "link": link.map(|l| l.0), "link_text": link.map(|l| l.1) }),
    )
}

pub async fn get_terms(state: web::Data<AppState>, _req: HttpRequest) -> HttpResponse {
    let lang = super::register::SITE_LANG.to_string();
    page(
        &state,
        "terms",
        &lang,
        StatusCode::OK,
        json!({ "title": "全民健康保險服務註冊管理作業要點" }),
    )
}

async fn apply_page(
    state: &AppState,
    req: &HttpRequest,
    error: Option<&ApplyError>,
    household_no: &str,
) -> HttpResponse {
    let b = browser(state, req);
    let engine = state.engine.clone();
    let counties = web::block(move || engine.store().counties())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    card_page(
        state,
        req,
        "apply",
        error.map(status_of).unwrap_or(StatusCode::OK),
        json!({
            "counties": counties,
            "error": error.map(|e| e.to_string()),
            "error_code": error.map(ApplyError::code),
            "forgot_link": matches!(error, Some(ApplyError::AlreadyRegistered)),
            "household_no": household_no,
        }),
        (&b.0, b.1),
    )
}

pub async fn get_apply(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    apply_page(&state, &req, None, "").await
}

#[derive(Deserialize)]
pub struct Step1Form {
    pub csrf_token: String,
    #[serde(default)]
    pub challenge: String,
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub household_no: String,
    #[serde(default)]
    pub county: String,
    #[serde(default)]
    pub township: String,
    #[serde(default)]
    pub village: String,
    #[serde(default)]
    pub neighborhood: String,
}

fn step2_page(
    state: &AppState,
    _req: &HttpRequest,
    browser: &str,
    name: &str,
    proof: &str,
    error: Option<&ApplyError>,
) -> HttpResponse {
    let policy = state.engine.settings().password.policy();
    let lang = super::register::SITE_LANG.to_string();
    page(
        state,
        "apply2",
        &lang,
        error.map(status_of).unwrap_or(StatusCode::OK),
        json!({
            "title": "健保卡網路服務註冊-申請",
            "name": name,
            "proof": proof,
            "csrf_token": csrf(state, browser),
            "min": policy.min_length,
            "max": policy.max_length,
            "warn_domains": state.engine.settings().mail.warn_domains.join(","),
            "error": error.map(|e| e.to_string()),
            "error_code": error.map(ApplyError::code),
        }),
    )
}

pub async fn post_apply(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Step1Form>,
) -> HttpResponse {
    let form = form.into_inner();
    let (b, _) = browser(&state, &req);
    if !ct_eq(&form.csrf_token, &csrf(&state, &b)) {
        return apply_page(
            &state,
            &req,
            Some(&ApplyError::ProofExpired),
            &form.household_no,
        )
        .await;
    }
    let Ok(token) = serde_json::from_str::<CardToken>(&form.token) else {
        return apply_page(
            &state,
            &req,
            Some(&ApplyError::Card(crate::card::CardError::UnknownFormat)),
            &form.household_no,
        )
        .await;
    };
    let place = ProofInput {
        household_no: form.household_no.clone(),
        county: form.county.clone(),
        township: form.township.clone(),
        village: form.village.clone(),
        neighborhood: form.neighborhood.trim().parse().unwrap_or(-1),
    };
    let enroll = state.enroll.clone();
    let ip = state.browser(&req).ip;
    let binding = crate::enroll::binding("apply", "", &b);
    let challenge = form.challenge.clone();
    let browser_token = b.clone();
    let result = web::block(move || {
        enroll.apply_step1(
            &binding,
            &browser_token,
            &challenge,
            &token,
            &place,
            ip.as_deref(),
        )
    })
    .await;
    match result {
        Ok(Ok(step)) => step2_page(&state, &req, &b, &step.name, &step.sealed_proof, None),
        Ok(Err(e)) => apply_page(&state, &req, Some(&e), &form.household_no).await,
        Err(e) => super::responses::error_page(&state, &req, &blocking_failed(e)),
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

pub async fn post_apply_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Step2Form>,
) -> HttpResponse {
    let form = form.into_inner();
    let (b, _) = browser(&state, &req);
    if !ct_eq(&form.csrf_token, &csrf(&state, &b)) {
        return apply_page(&state, &req, Some(&ApplyError::ProofExpired), "").await;
    }
    let step2 = Step2 {
        password: form.password,
        password_confirm: form.password_confirm,
        phone_area: form.phone_area,
        phone_number: form.phone_number,
        phone_ext: form.phone_ext,
        mobile: form.mobile,
        email: form.email,
        email_backup: form.email_backup,
    };
    let enroll = state.enroll.clone();
    let ip = state.browser(&req).ip;
    let (proof, browser_token) = (form.proof.clone(), b.clone());
    let result = web::block(move || {
        let outcome = enroll.apply_step2(&proof, &browser_token, &step2, ip.as_deref());
        let name = enroll.proof_name(&proof, &browser_token).ok();
        (outcome, name)
    })
    .await;
    match result {
        Ok((Ok(masked), _)) => {
            let days = (state.engine.settings().registration.confirm_link_ttl + 86_399) / 86_400;
            notice(
                &state,
                &req,
                StatusCode::OK,
                "健保卡網路服務註冊-申請",
                "applied",
                &format!("認證通知信已寄至 {masked}，請於{days}日內至信箱點選信中連結，並以申請時的健保卡完成電子信箱認證。"),
                None,
            )
        }
        Ok((Err(ApplyError::ProofExpired), _)) | Ok((Err(_), None)) => {
            apply_page(&state, &req, Some(&ApplyError::ProofExpired), "").await
        }
        Ok((Err(e), Some(name))) => step2_page(&state, &req, &b, &name, &form.proof, Some(&e)),
        Err(e) => super::responses::error_page(&state, &req, &blocking_failed(e)),
    }
}

#[derive(Deserialize)]
pub struct PlacesQuery {
    pub county: Option<String>,
    pub township: Option<String>,
}

/// `GET /register/places?county=&township=`: 鄉鎮市區 of a 縣市, or 村里 of both.
pub async fn get_places(state: web::Data<AppState>, q: web::Query<PlacesQuery>) -> HttpResponse {
    let q = q.into_inner();
    let engine = state.engine.clone();
    let list = web::block(move || match (q.county.as_deref(), q.township.as_deref()) {
        (Some(c), Some(t)) => engine.store().villages(c, t),
        (Some(c), None) => engine.store().townships(c),
        _ => engine.store().counties(),
    })
    .await;
    match list {
        Ok(Ok(l)) => HttpResponse::Ok()
            .insert_header(("cache-control", "public, max-age=300"))
            .json(l),
        _ => HttpResponse::InternalServerError().json(json!([])),
    }
}

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    pub t: String,
}

fn invalid_link(state: &AppState, req: &HttpRequest) -> HttpResponse {
    notice(
        state,
        req,
        StatusCode::BAD_REQUEST,
        "健保卡網路服務註冊-電子信箱認證",
        "link_invalid",
        &ApplyError::LinkInvalid.to_string(),
        None,
    )
}

pub async fn get_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<LinkQuery>,
) -> HttpResponse {
    let t = q.into_inner().t;
    let enroll = state.enroll.clone();
    let token = t.clone();
    match web::block(move || enroll.confirm_link_valid(&token)).await {
        Ok(Ok(true)) => {
            let b = browser(&state, &req);
            card_page(
                &state,
                &req,
                "confirm",
                StatusCode::OK,
                json!({ "link_token": t }),
                (&b.0, b.1),
            )
        }
        _ => invalid_link(&state, &req),
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    pub csrf_token: String,
    pub t: String,
    #[serde(default)]
    pub challenge: String,
    #[serde(default)]
    pub token: String,
}

pub async fn post_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let (b, _) = browser(&state, &req);
    let again = |e: &ApplyError| {
        card_page(
            &state,
            &req,
            "confirm",
            status_of(e),
            json!({ "link_token": form.t, "error": e.to_string(), "error_code": e.code() }),
            (&b, false),
        )
    };
    if !ct_eq(&form.csrf_token, &csrf(&state, &b)) {
        return again(&ApplyError::ProofExpired);
    }
    let Ok(token) = serde_json::from_str::<CardToken>(&form.token) else {
        return again(&ApplyError::Card(crate::card::CardError::UnknownFormat));
    };
    let enroll = state.enroll.clone();
    let ip = state.browser(&req).ip;
    let binding = crate::enroll::binding("confirm", "", &b);
    let (link, challenge) = (form.t.clone(), form.challenge.clone());
    match web::block(move || enroll.confirm(&binding, &link, &challenge, &token, ip.as_deref()))
        .await
    {
        Ok(Ok(())) => notice(
            &state,
            &req,
            StatusCode::OK,
            "健保卡網路服務註冊-電子信箱認證",
            "confirmed",
            "已完成電子信箱認證，您現在可以使用健保卡及註冊密碼登入。",
            None,
        ),
        Ok(Err(ApplyError::LinkInvalid)) => invalid_link(&state, &req),
        Ok(Err(e)) => again(&e),
        Err(e) => super::responses::error_page(&state, &req, &blocking_failed(e)),
    }
}

use crate::enroll::recovery::{RecoveryError, ResetDelivery};

fn recovery_status(e: &RecoveryError) -> StatusCode {
    match e {
        RecoveryError::Apply(a) => status_of(a),
        _ => StatusCode::BAD_REQUEST,
    }
}

async fn counties(state: &AppState) -> Vec<String> {
    let engine = state.engine.clone();
    web::block(move || engine.store().counties())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default()
}

async fn forgot_page(
    state: &AppState,
    req: &HttpRequest,
    error: Option<&RecoveryError>,
) -> HttpResponse {
    let b = browser(state, req);
    let list = counties(state).await;
    card_page(
        state,
        req,
        "forgot",
        error.map(recovery_status).unwrap_or(StatusCode::OK),
        json!({ "counties": list, "error": error.map(|e| e.to_string()), "error_code": error.map(RecoveryError::code) }),
        (&b.0, b.1),
    )
}

pub async fn get_forgot(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    forgot_page(&state, &req, None).await
}

#[derive(Deserialize)]
pub struct ForgotForm {
    pub csrf_token: String,
    #[serde(default)]
    pub challenge: String,
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub county: String,
    #[serde(default)]
    pub township: String,
    #[serde(default)]
    pub village: String,
    #[serde(default)]
    pub neighborhood: String,
    #[serde(default)]
    pub mobile: String,
}

/// Common checks of a card form: CSRF and the token.
fn card_form(
    state: &AppState,
    browser: &str,
    csrf_token: &str,
    token: &str,
) -> Result<CardToken, RecoveryError> {
    if !ct_eq(csrf_token, &csrf(state, browser)) {
        return Err(RecoveryError::Apply(ApplyError::ProofExpired));
    }
    serde_json::from_str::<CardToken>(token)
        .map_err(|_| RecoveryError::Apply(ApplyError::Card(crate::card::CardError::UnknownFormat)))
}

pub async fn post_forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ForgotForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let (b, _) = browser(&state, &req);
    let token = match card_form(&state, &b, &form.csrf_token, &form.token) {
        Ok(t) => t,
        Err(e) => return forgot_page(&state, &req, Some(&e)).await,
    };
    let delivery = if form.mode == "new" {
        ResetDelivery::NewAddress {
            email: form.email.clone(),
            place: ProofInput {
                household_no: String::new(),
                county: form.county.clone(),
                township: form.township.clone(),
                village: form.village.clone(),
                neighborhood: form.neighborhood.trim().parse().unwrap_or(-1),
            },
            mobile: form.mobile.clone(),
        }
    } else {
        ResetDelivery::Registered
    };
    let enroll = state.enroll.clone();
    let ip = state.browser(&req).ip;
    let binding = crate::enroll::binding("forgot", "", &b);
    let challenge = form.challenge.clone();
    match web::block(move || enroll.forgot(&binding, &challenge, &token, &delivery, ip.as_deref()))
        .await
    {
        Ok(Ok(masked)) => {
            let minutes = state.engine.settings().registration.reset_link_ttl / 60;
            notice(
                &state,
                &req,
                StatusCode::OK,
                "健保卡網路服務註冊-忘記註冊密碼",
                "reset_sent",
                &format!("重設註冊密碼信已寄至 {masked}，請於{minutes}分鐘內點選信中連結，並以健保卡完成註冊密碼變更。完成前您仍可使用原註冊密碼登入。"),
                None,
            )
        }
        Ok(Err(e)) => forgot_page(&state, &req, Some(&e)).await,
        Err(e) => super::responses::error_page(&state, &req, &blocking_failed(e)),
    }
}

fn reset_page(
    state: &AppState,
    req: &HttpRequest,
    link: &str,
    error: Option<&RecoveryError>,
) -> HttpResponse {
    let b = browser(state, req);
    let policy = state.engine.settings().password.policy();
    card_page(
        state,
        req,
        "reset",
        error.map(recovery_status).unwrap_or(StatusCode::OK),
        json!({ "link_token": link, "min": policy.min_length, "max": policy.max_length,
                "error": error.map(|e| e.to_string()), "error_code": error.map(RecoveryError::code) }),
        (&b.0, b.1),
    )
}

fn dead_reset_link(state: &AppState, req: &HttpRequest) -> HttpResponse {
    notice(
        state,
        req,
        StatusCode::BAD_REQUEST,
        "健保卡網路服務註冊-重設註冊密碼",
        "link_invalid",
        &RecoveryError::LinkInvalid.to_string(),
        Some(("/register/forgot", "忘記註冊密碼")),
    )
}

pub async fn get_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<LinkQuery>,
) -> HttpResponse {
    let t = q.into_inner().t;
    let enroll = state.enroll.clone();
    let token = t.clone();
    match web::block(move || enroll.reset_link_valid(&token)).await {
        Ok(Ok(true)) => reset_page(&state, &req, &t, None),
        _ => dead_reset_link(&state, &req),
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    pub csrf_token: String,
    pub t: String,
    #[serde(default)]
    pub challenge: String,
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
}

pub async fn post_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ResetForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let (b, _) = browser(&state, &req);
    let token = match card_form(&state, &b, &form.csrf_token, &form.token) {
        Ok(t) => t,
        Err(e) => return reset_page(&state, &req, &form.t, Some(&e)),
    };
    let enroll = state.enroll.clone();
    let ip = state.browser(&req).ip;
    let binding = crate::enroll::binding("reset", "", &b);
    let (link, challenge, pw, pw2) = (
        form.t.clone(),
        form.challenge.clone(),
        form.password,
        form.password_confirm,
    );
    match web::block(move || {
        enroll.reset(
            &binding,
            &link,
            &challenge,
            &token,
            (&pw, &pw2),
            ip.as_deref(),
        )
    })
    .await
    {
        Ok(Ok(())) => notice(
            &state,
            &req,
            StatusCode::OK,
            "健保卡網路服務註冊-重設註冊密碼",
            "reset_done",
            "註冊密碼變更成功，下次使用【健保卡】登入系統請用新的註冊密碼！",
            None,
        ),
        Ok(Err(RecoveryError::LinkInvalid)) => dead_reset_link(&state, &req),
        Ok(Err(e)) => reset_page(&state, &req, &form.t, Some(&e)),
        Err(e) => super::responses::error_page(&state, &req, &blocking_failed(e)),
    }
}

/// 重寄認證信 and 刪除註冊申請: a card and one button.
fn action_page(
    state: &AppState,
    req: &HttpRequest,
    purpose: &str,
    error: Option<&RecoveryError>,
) -> HttpResponse {
    let b = browser(state, req);
    let (heading, explain, submit) = if purpose == "resend" {
        ("健保卡網路服務註冊-重寄認證信", "請插入申請註冊時使用的健保卡並按『讀取』，系統將重新寄送認證通知信，先前寄出的認證連結將失效。", "重寄認證信")
    } else {
        ("健保卡網路服務註冊-刪除註冊申請", "請插入申請註冊時使用的健保卡並按『讀取』，確認後將刪除尚未完成電子信箱認證的註冊申請。", "刪除註冊申請")
    };
    card_page(
        state,
        req,
        "card_action",
        error.map(recovery_status).unwrap_or(StatusCode::OK),
        json!({ "title": heading, "heading": heading, "explain": explain, "submit": submit, "purpose": purpose,
                "action": format!("/register/{purpose}"),
                "error": error.map(|e| e.to_string()), "error_code": error.map(RecoveryError::code) }),
        (&b.0, b.1),
    )
}

pub async fn get_resend(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    action_page(&state, &req, "resend", None)
}

pub async fn get_delete(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    action_page(&state, &req, "delete", None)
}

#[derive(Deserialize)]
pub struct CardOnlyForm {
    pub csrf_token: String,
    #[serde(default)]
    pub challenge: String,
    #[serde(default)]
    pub token: String,
}

async fn card_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CardOnlyForm,
    purpose: &'static str,
) -> HttpResponse {
    let (b, _) = browser(&state, &req);
    let token = match card_form(&state, &b, &form.csrf_token, &form.token) {
        Ok(t) => t,
        Err(e) => return action_page(&state, &req, purpose, Some(&e)),
    };
    let enroll = state.enroll.clone();
    let ip = state.browser(&req).ip;
    let binding = crate::enroll::binding(purpose, "", &b);
    let challenge = form.challenge;
    let result = web::block(move || {
        if purpose == "resend" {
            enroll
                .resend(&binding, &challenge, &token, ip.as_deref())
                .map(Some)
        } else {
            enroll
                .delete_application(&binding, &challenge, &token, ip.as_deref())
                .map(|()| None)
        }
    })
    .await;
    match result {
        Ok(Ok(Some(masked))) => notice(
            &state,
            &req,
            StatusCode::OK,
            "健保卡網路服務註冊-重寄認證信",
            "resent",
            &format!("認證通知信已重新寄至 {masked}，先前寄出的認證連結已失效。"),
            None,
        ),
        Ok(Ok(None)) => notice(
            &state,
            &req,
            StatusCode::OK,
            "健保卡網路服務註冊-刪除註冊申請",
            "deleted",
            "您的註冊申請已刪除。如需使用健保卡網路服務，請重新申請。",
            Some(("/register/terms", "首次登入請先申請")),
        ),
        Ok(Err(e)) => action_page(&state, &req, purpose, Some(&e)),
        Err(e) => super::responses::error_page(&state, &req, &blocking_failed(e)),
    }
}

pub async fn post_resend(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CardOnlyForm>,
) -> HttpResponse {
    card_action(state, req, form.into_inner(), "resend").await
}

pub async fn post_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CardOnlyForm>,
) -> HttpResponse {
    card_action(state, req, form.into_inner(), "delete").await
}

/// For the member pages: a page with the card script's CSP.
pub fn card_page_for(
    state: &AppState,
    req: &HttpRequest,
    name: &str,
    status: StatusCode,
    data: Value,
    browser: (&str, bool),
) -> HttpResponse {
    card_page(state, req, name, status, data, browser)
}

/// The CSRF token of the registration site's forms for this browser.
pub fn csrf_for(state: &AppState, browser: &str) -> String {
    csrf(state, browser)
}

/// A notice page without a link.
pub fn notice_for(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    heading: &str,
    outcome: &str,
    message: &str,
) -> HttpResponse {
    notice(state, req, status, heading, outcome, message, None)
}
