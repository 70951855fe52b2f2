//! The registration site's home (健保卡網路服務註冊, R-REG-1) with its own card login, and the
//! member services behind it (基本資料異動, 註冊密碼變更, the new-e-mail link).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::register::{card_page_for, csrf_for, notice_for};
use super::responses::{blocking_failed, cookie, error_page, page, see_other};
use super::AppState;
use crate::card::CardToken;
use crate::domain::password::Password;
use crate::domain::Acr;
use crate::enroll::login::{CardLogin, LoginError};
use crate::enroll::member::Profile;
use crate::enroll::recovery::RecoveryError;

/// The signed-in member (card level or above), or `None`.
async fn member_id(state: &AppState, req: &HttpRequest) -> Option<String> {
    let ctx = state.browser(req);
    let engine = state.engine.clone();
    let session = web::block(move || engine.current_session(&ctx, engine.now()))
        .await
        .ok()?
        .ok()??;
    Acr::parse(&session.acr)
        .filter(|a| a.satisfies(Acr::Card))
        .map(|_| session.person_id)
}

fn home(state: &AppState, req: &HttpRequest, error: Option<&LoginError>) -> HttpResponse {
    let b = state
        .browser(req)
        .browser_token
        .map(|t| (t, false))
        .unwrap_or_else(|| (crate::crypto::new_secret_token(), true));
    card_page_for(
        state,
        req,
        "register_home",
        match error {
            None => StatusCode::OK,
            Some(LoginError::RateLimited) => StatusCode::TOO_MANY_REQUESTS,
            Some(_) => StatusCode::BAD_REQUEST,
        },
        json!({ "error": error.map(|e| e.to_string()), "error_code": error.map(LoginError::code), "locked": matches!(error, Some(LoginError::Locked)) }),
        (&b.0, b.1),
    )
}

pub async fn get_home(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    home(&state, &req, None)
}

#[derive(Deserialize)]
pub struct HomeLoginForm {
    pub csrf_token: String,
    #[serde(default)]
    pub challenge: String,
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub password: String,
}

pub async fn post_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HomeLoginForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let ctx = state.browser(&req);
    let Some(browser) = ctx.browser_token.clone() else {
        return home(
            &state,
            &req,
            Some(&LoginError::Card(crate::card::CardError::BadChallenge)),
        );
    };
    if !crate::crypto::ct_eq(&form.csrf_token, &csrf_for(&state, &browser)) {
        return home(
            &state,
            &req,
            Some(&LoginError::Card(crate::card::CardError::BadChallenge)),
        );
    }
    let Ok(token) = serde_json::from_str::<CardToken>(&form.token) else {
        return home(
            &state,
            &req,
            Some(&LoginError::Card(crate::card::CardError::UnknownFormat)),
        );
    };
    let input = CardLogin {
        challenge: form.challenge,
        token,
        password: (!form.password.is_empty()).then(|| Password::new(&form.password)),
    };
    let enroll = state.enroll.clone();
    let engine = state.engine.clone();
    let binding = crate::enroll::binding("home", "", &browser);
    let ip = ctx.ip.clone();
    let result = web::block(move || {
        let auth = enroll
            .card_login(&binding, &input, ip.as_deref())
            .map_err(Some)?;
        engine.sign_in(&ctx, &auth).map_err(|_| None)
    })
    .await;
    match result {
        Ok(Ok(done)) => {
            state.backchannel.spawn(done.ended);
            let mut resp = see_other("/register/member");
            let ttl = state.engine.settings().tokens.session_ttl;
            let _ = resp.add_cookie(&cookie(
                &state,
                &state.cookies.session,
                done.session_token,
                ttl,
            ));
            resp
        }
        Ok(Err(Some(e))) => home(&state, &req, Some(&e)),
        Ok(Err(None)) => home(&state, &req, Some(&LoginError::Internal)),
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}

fn member_page(
    state: &AppState,
    _req: &HttpRequest,
    name: &str,
    status: StatusCode,
    data: serde_json::Value,
) -> HttpResponse {
    let lang = super::register::SITE_LANG.to_string();
    page(state, name, &lang, status, data)
}

async fn member_home(
    state: &AppState,
    req: &HttpRequest,
    message: Option<(&str, &str)>,
) -> HttpResponse {
    let Some(person_id) = member_id(state, req).await else {
        return see_other("/register");
    };
    let enroll = state.enroll.clone();
    let ring = state.engine.ring().clone();
    let pid = person_id.clone();
    let info = web::block(move || {
        let (person, _) = enroll.member(&pid).ok()?;
        let masked = enroll
            .engine
            .store()
            .sealed_national_id(&pid)
            .ok()
            .flatten()
            .and_then(|s| ring.open("persons.national_id", &s).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|id| crate::domain::NationalId::parse(&id).ok())
            .map(|id| id.masked())
            .unwrap_or_default();
        Some((person.name, masked))
    })
    .await
    .ok()
    .flatten();
    let Some((name, masked)) = info else {
        return see_other("/register");
    };
    member_page(
        state,
        req,
        "member",
        StatusCode::OK,
        json!({ "title": "會員服務", "name": name, "masked_id": masked, "message": message.map(|m| m.1), "outcome": message.map(|m| m.0) }),
    )
}

pub async fn get_member(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    member_home(&state, &req, None).await
}

fn password_page(
    state: &AppState,
    req: &HttpRequest,
    browser: &str,
    error: Option<&RecoveryError>,
) -> HttpResponse {
    let policy = state.engine.settings().password.policy();
    member_page(
        state,
        req,
        "member_password",
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        json!({ "title": "註冊密碼變更", "csrf_token": csrf_for(state, browser), "min": policy.min_length, "max": policy.max_length,
                "error": error.map(|e| e.to_string()), "error_code": error.map(RecoveryError::code) }),
    )
}

pub async fn get_password(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if member_id(&state, &req).await.is_none() {
        return see_other("/register");
    }
    let browser = state.browser(&req).browser_token.unwrap_or_default();
    password_page(&state, &req, &browser, None)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    pub csrf_token: String,
    pub old_password: String,
    pub password: String,
    pub password_confirm: String,
}

pub async fn post_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<PasswordForm>,
) -> HttpResponse {
    let Some(person_id) = member_id(&state, &req).await else {
        return see_other("/register");
    };
    let ctx = state.browser(&req);
    let browser = ctx.browser_token.clone().unwrap_or_default();
    let form = form.into_inner();
    if !crate::crypto::ct_eq(&form.csrf_token, &csrf_for(&state, &browser)) {
        return password_page(&state, &req, &browser, Some(&RecoveryError::LinkInvalid));
    }
    let enroll = state.enroll.clone();
    let ip = ctx.ip.clone();
    match web::block(move || {
        enroll.change_password(
            &person_id,
            &form.old_password,
            &form.password,
            &form.password_confirm,
            ip.as_deref(),
        )
    })
    .await
    {
        Ok(Ok(())) => {
            member_home(
                &state,
                &req,
                Some((
                    "password_changed",
                    "註冊密碼變更成功，下次使用【健保卡】登入系統請用新的註冊密碼！",
                )),
            )
            .await
        }
        Ok(Err(e)) => password_page(&state, &req, &browser, Some(&e)),
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}

async fn profile_page(
    state: &AppState,
    req: &HttpRequest,
    person_id: &str,
    error: Option<&RecoveryError>,
) -> HttpResponse {
    let enroll = state.enroll.clone();
    let pid = person_id.to_string();
    let Ok(Ok((person, reg))) = web::block(move || enroll.member(&pid)).await else {
        return see_other("/register");
    };
    let browser = state.browser(req).browser_token.unwrap_or_default();
    member_page(
        state,
        req,
        "member_profile",
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        json!({
            "title": "基本資料異動",
            "csrf_token": csrf_for(state, &browser),
            "phone_area": reg.phone_area, "phone_number": reg.phone_number, "phone_ext": reg.phone_ext,
            "mobile": reg.mobile, "email": person.email, "email_backup": reg.email_backup,
            "error": error.map(|e| e.to_string()), "error_code": error.map(RecoveryError::code),
        }),
    )
}

pub async fn get_profile(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let Some(person_id) = member_id(&state, &req).await else {
        return see_other("/register");
    };
    profile_page(&state, &req, &person_id, None).await
}

#[derive(Deserialize)]
pub struct ProfileForm {
    pub csrf_token: String,
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

pub async fn post_profile(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ProfileForm>,
) -> HttpResponse {
    let Some(person_id) = member_id(&state, &req).await else {
        return see_other("/register");
    };
    let ctx = state.browser(&req);
    let browser = ctx.browser_token.clone().unwrap_or_default();
    let form = form.into_inner();
    if !crate::crypto::ct_eq(&form.csrf_token, &csrf_for(&state, &browser)) {
        return profile_page(&state, &req, &person_id, Some(&RecoveryError::LinkInvalid)).await;
    }
    let profile = Profile {
        phone_area: form.phone_area,
        phone_number: form.phone_number,
        phone_ext: form.phone_ext,
        mobile: form.mobile,
        email: form.email,
        email_backup: form.email_backup,
    };
    let enroll = state.enroll.clone();
    let ip = ctx.ip.clone();
    let pid = person_id.clone();
    match web::block(move || enroll.update_profile(&pid, &profile, ip.as_deref())).await {
        Ok(Ok(Some(masked))) => member_home(&state, &req, Some(("email_link_sent", &format!("基本資料已更新。電子信箱認證信已寄至 {masked}，請以健保卡完成認證後新的主要E-Mail才會生效。")))).await,
        Ok(Ok(None)) => member_home(&state, &req, Some(("profile_updated", "基本資料已更新。"))).await,
        Ok(Err(e)) => profile_page(&state, &req, &person_id, Some(&e)).await,
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    pub t: String,
}

fn email_page(
    state: &AppState,
    req: &HttpRequest,
    link: &str,
    error: Option<&RecoveryError>,
) -> HttpResponse {
    let b = state
        .browser(req)
        .browser_token
        .map(|t| (t, false))
        .unwrap_or_else(|| (crate::crypto::new_secret_token(), true));
    card_page_for(
        state,
        req,
        "card_action",
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        json!({ "title": "健保卡網路服務註冊-電子信箱認證", "heading": "健保卡網路服務註冊-電子信箱認證",
                "explain": "請插入您的健保卡並按『讀取』，確認後新的主要E-Mail即生效。", "submit": "確定", "purpose": "email",
                "action": "/register/email", "link_token": link,
                "error": error.map(|e| e.to_string()), "error_code": error.map(RecoveryError::code) }),
        (&b.0, b.1),
    )
}

pub async fn get_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<LinkQuery>,
) -> HttpResponse {
    email_page(&state, &req, &q.into_inner().t, None)
}

#[derive(Deserialize)]
pub struct EmailForm {
    pub csrf_token: String,
    pub t: String,
    #[serde(default)]
    pub challenge: String,
    #[serde(default)]
    pub token: String,
}

pub async fn post_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<EmailForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let ctx = state.browser(&req);
    let browser = ctx.browser_token.clone().unwrap_or_default();
    if !crate::crypto::ct_eq(&form.csrf_token, &csrf_for(&state, &browser)) {
        return email_page(&state, &req, &form.t, Some(&RecoveryError::LinkInvalid));
    }
    let Ok(token) = serde_json::from_str::<CardToken>(&form.token) else {
        return email_page(&state, &req, &form.t, Some(&RecoveryError::LinkInvalid));
    };
    let enroll = state.enroll.clone();
    let binding = crate::enroll::binding("email", "", &browser);
    let ip = ctx.ip.clone();
    let (link, challenge) = (form.t.clone(), form.challenge.clone());
    match web::block(move || {
        enroll.confirm_new_email(&binding, &link, &challenge, &token, ip.as_deref())
    })
    .await
    {
        Ok(Ok(())) => notice_for(
            &state,
            &req,
            StatusCode::OK,
            "健保卡網路服務註冊-電子信箱認證",
            "email_changed",
            "已完成電子信箱認證，新的主要E-Mail已生效。",
        ),
        Ok(Err(e)) => email_page(&state, &req, &form.t, Some(&e)),
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}
