//! The registration site's home (健保卡網路服務註冊, R-REG-1) with its own card login, and the
//! member services behind it (基本資料異動, 註冊密碼變更, the new-e-mail link).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::card_form::CardForm;
use super::limits::card_used;
use super::register::{ContactFields, LinkFields};
use super::responses::{blocking_failed, error_page, removal, see_other, session_cookie};
use super::site::{Notice, Site};
use super::AppState;
use crate::domain::password::Password;
use crate::domain::Acr;
use crate::enroll::login::{CardLogin, LoginError};
use crate::enroll::member::{PasswordChangeOutcome, Profile};
use crate::enroll::recovery::RecoveryError;
use crate::store::SessionRecord;

/// The SSO session of the signed-in member (card level or above), or `None`.
async fn member_session(state: &AppState, req: &HttpRequest) -> Option<SessionRecord> {
    let ctx = state.browser(req);
    let engine = state.engine.clone();
    let session = web::block(move || engine.current_session(&ctx, engine.now()))
        .await
        .ok()?
        .ok()??;
    Acr::parse(&session.acr)
        .is_some_and(|a| a.satisfies(Acr::Card))
        .then_some(session)
}

/// The signed-in member (card level or above), or `None`.
pub(super) async fn member_id(state: &AppState, req: &HttpRequest) -> Option<String> {
    member_session(state, req).await.map(|s| s.person_id)
}

fn home(mut site: Site<'_>, error: Option<&LoginError>) -> HttpResponse {
    site.page_address("/register", &[]);
    let status = match error {
        None => StatusCode::OK,
        Some(LoginError::RateLimited(_)) => StatusCode::TOO_MANY_REQUESTS,
        Some(_) => StatusCode::BAD_REQUEST,
    };
    let data = json!({ "related_links": super::help::related_links(site.state, &site.lang) });
    site.card_page("register_home", status, site.with_error(data, error))
}

pub async fn get_home(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    home(Site::new(&state, &req), None)
}

#[derive(Default, Deserialize)]
pub struct PasswordField {
    #[serde(default)]
    pub password: String,
}

impl std::fmt::Debug for PasswordField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordField").finish_non_exhaustive()
    }
}

pub async fn post_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CardForm<PasswordField>,
) -> HttpResponse {
    let site = Site::new(&state, &req);
    let card = match form.card {
        Ok(card) => card,
        Err(e) => return home(site, Some(&e.into())),
    };
    let password = form.fields.password;
    let input = CardLogin {
        challenge: card.challenge,
        token: card.token,
        password: (!password.is_empty()).then(|| Password::new(&password)),
        kind: None,
    };
    let ctx = state.browser(&req);
    let enroll = state.enroll.clone();
    let engine = state.engine.clone();
    let binding = site.binding("home");
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
            let _ = resp.add_cookie(&session_cookie(
                &state,
                &state.cookies.session,
                done.session_token,
            ));
            card_used(resp)
        }
        Ok(Err(Some(e))) => home(site, Some(&e)),
        Ok(Err(None)) => home(site, Some(&LoginError::Internal)),
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}

/// The member page, with the outcome of what was just done: (outcome, dictionary key,
/// masked address).
async fn member_home(site: Site<'_>, message: Option<(&str, &str, &str)>) -> HttpResponse {
    let Some(person_id) = member_id(site.state, site.req).await else {
        return see_other("/register");
    };
    member_page(site, person_id, message).await
}

/// The member page of `person_id` (signed in: checked by the caller).
async fn member_page(
    mut site: Site<'_>,
    person_id: String,
    message: Option<(&str, &str, &str)>,
) -> HttpResponse {
    let enroll = site.state.enroll.clone();
    let ring = site.state.engine.ring().clone();
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
    site.page_address("/register/member", &[]);
    let hello = site.text("reg_member_hello", &[("name", &name), ("id", &masked)]);
    let text = message.map(|(_, key, to)| site.text(key, &[("masked", to)]));
    site.page(
        "member",
        StatusCode::OK,
        json!({ "title": site.text("reg_member_title", &[]), "hello": hello, "message": text, "outcome": message.map(|m| m.0) }),
    )
}

pub async fn get_member(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    member_home(Site::new(&state, &req), None).await
}

fn password_page(site: Site<'_>, error: Option<&RecoveryError>) -> HttpResponse {
    let (password_help, password_policy) = site.password_rule();
    let data = json!({
        "title": site.text("reg_service_password", &[]),
        "csrf_token": site.csrf(),
        "password_help": password_help,
        "password_policy": password_policy,
    });
    site.page(
        "member_password",
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        site.with_error(data, error),
    )
}

pub async fn get_password(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if member_id(&state, &req).await.is_none() {
        return see_other("/register");
    }
    password_page(Site::new(&state, &req), None)
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
    let Some(session) = member_session(&state, &req).await else {
        return see_other("/register");
    };
    let person_id = session.person_id.clone();
    let site = Site::new(&state, &req);
    let form = form.into_inner();
    if !site.csrf_ok(&form.csrf_token) {
        return password_page(site, Some(&RecoveryError::LinkInvalid));
    }
    let enroll = state.enroll.clone();
    let ip = state.browser(&req).ip;
    let lang = site.lang.clone();
    let outcome = web::block(move || {
        let passwords = (
            form.old_password.as_str(),
            form.password.as_str(),
            form.password_confirm.as_str(),
        );
        enroll.change_password(&session, passwords, &lang, ip.as_deref())
    })
    .await;
    match outcome {
        Ok(Ok(PasswordChangeOutcome::Changed {
            session_token,
            ended,
        })) => {
            state.backchannel.spawn(ended);
            // The member stays signed in, on a renewed session.
            let mut resp = member_page(
                site,
                person_id,
                Some(("password_changed", "reg_notice_password_changed", "")),
            )
            .await;
            let _ = resp.add_cookie(&session_cookie(
                &state,
                &state.cookies.session,
                session_token,
            ));
            resp
        }
        Ok(Ok(PasswordChangeOutcome::LockedOut { ended })) => {
            state.backchannel.spawn(ended);
            let mut resp = password_page(site, Some(&RecoveryError::Locked));
            let _ = resp.add_removal_cookie(&removal(&state, &state.cookies.session));
            resp
        }
        Ok(Err(e)) => password_page(site, Some(&e)),
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}

async fn profile_page(
    site: Site<'_>,
    person_id: &str,
    error: Option<&RecoveryError>,
) -> HttpResponse {
    let enroll = site.state.enroll.clone();
    let pid = person_id.to_string();
    let Ok(Ok((person, reg))) = web::block(move || enroll.member(&pid)).await else {
        return see_other("/register");
    };
    let data = json!({
        "title": site.text("reg_service_profile", &[]),
        "csrf_token": site.csrf(),
        "phone_area": reg.phone_area, "phone_number": reg.phone_number, "phone_ext": reg.phone_ext,
        "mobile": reg.mobile, "email": person.email, "email_backup": reg.email_backup,
    });
    site.page(
        "member_profile",
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        site.with_error(data, error),
    )
}

pub async fn get_profile(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let Some(person_id) = member_id(&state, &req).await else {
        return see_other("/register");
    };
    profile_page(Site::new(&state, &req), &person_id, None).await
}

#[derive(Deserialize)]
pub struct ProfileForm {
    pub csrf_token: String,
    #[serde(flatten)]
    pub contact: ContactFields,
}

pub async fn post_profile(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ProfileForm>,
) -> HttpResponse {
    let Some(person_id) = member_id(&state, &req).await else {
        return see_other("/register");
    };
    let site = Site::new(&state, &req);
    let form = form.into_inner();
    if !site.csrf_ok(&form.csrf_token) {
        return profile_page(site, &person_id, Some(&RecoveryError::LinkInvalid)).await;
    }
    let c = form.contact;
    let profile = Profile {
        phone_area: c.phone_area,
        phone_number: c.phone_number,
        phone_ext: c.phone_ext,
        mobile: c.mobile,
        email: c.email,
        email_backup: c.email_backup,
    };
    let enroll = state.enroll.clone();
    let (ip, lang) = (state.browser(&req).ip, site.lang.clone());
    let pid = person_id.clone();
    match web::block(move || enroll.update_profile(&pid, &profile, &lang, ip.as_deref())).await {
        Ok(Ok(Some(masked))) => {
            member_home(
                site,
                Some(("email_link_sent", "reg_notice_email_link_sent", &masked)),
            )
            .await
        }
        Ok(Ok(None)) => {
            member_home(
                site,
                Some(("profile_updated", "reg_notice_profile_updated", "")),
            )
            .await
        }
        Ok(Err(e)) => profile_page(site, &person_id, Some(&e)).await,
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}

fn email_page(mut site: Site<'_>, link: &str, error: Option<&RecoveryError>) -> HttpResponse {
    site.page_address("/register/email", &[("t", link)]);
    let heading = site.text("reg_title_confirm", &[]);
    let data = json!({ "title": heading, "heading": heading,
                       "explain": site.text("reg_email_explain", &[]), "submit": site.text("reg_ok", &[]),
                       "purpose": "email", "action": "/register/email", "link_token": link });
    site.card_page(
        "card_action",
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        site.with_error(data, error),
    )
}

pub async fn get_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<LinkFields>,
) -> HttpResponse {
    email_page(Site::new(&state, &req), &q.into_inner().t, None)
}

pub async fn post_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: CardForm<LinkFields>,
) -> HttpResponse {
    let mut site = Site::new(&state, &req);
    let link = form.fields.t;
    let card = match form.card {
        Ok(card) => card,
        Err(e) => return email_page(site, &link, Some(&e.into())),
    };
    let enroll = state.enroll.clone();
    let binding = site.binding("email");
    let ip = state.browser(&req).ip;
    let t = link.clone();
    match web::block(move || {
        enroll.confirm_new_email(&binding, &t, &card.challenge, &card.token, ip.as_deref())
    })
    .await
    {
        Ok(Ok(())) => card_used(site.notice(&Notice::EmailChanged).await),
        Ok(Err(e)) => email_page(site, &link, Some(&e)),
        Err(e) => error_page(&state, &req, &blocking_failed(e)),
    }
}
