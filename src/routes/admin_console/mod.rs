//! The admin console at `/admin` (docs/requirements.md R-ADM-1): an OpenID Connect client
//! of Cardinal itself. `/admin/login` sends the browser through `/authorize` as the
//! first-party client `cardinal-admin` (code flow, PKCE, the minimum acr `admin.min_acr`),
//! so the card sign-in and its rules apply; `/admin/callback` redeems the code with the
//! engine, checks the acr and the admin role, and opens a console session (a random cookie,
//! stored hashed, that ends with the SSO session, on logout, on expiry or when the role is
//! revoked). See `session.rs`.
//!
//! Pages in zh-TW and English; every form carries a CSRF token bound to the console
//! session; every action goes through `crate::admin` with the admin as the audited actor.
//! Handlers take the signed-in admin as the [`Console`] extractor (or, for a form post,
//! [`ConsoleForm`], which also checks the CSRF token); failures are rendered with the
//! status of `routes::error::admin_status`.

mod audit;
mod clients;
mod keys;
mod notices;
mod registrations;
mod session;
mod words;

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::csrf::Csrf;
use super::error::{blocking_failed, reported_status};
use super::responses::{cookie, page, see_other};
use super::AppState;
use crate::admin::{Actor, AdminError, AdminResult};
use crate::crypto::token_hash;
use crate::oidc::Engine;

fn session_cookie_name(state: &AppState) -> String {
    if state.cookies.secure {
        "__Host-cardinal_admin".into()
    } else {
        "cardinal_admin".into()
    }
}

fn flow_cookie_name(state: &AppState) -> String {
    if state.cookies.secure {
        "__Host-cardinal_admin_flow".into()
    } else {
        "cardinal_admin_flow".into()
    }
}

/// The signed-in admin of a request: unexpired console session, its SSO session still
/// active, the person still an admin in good standing, signed in at the minimum acr of now.
/// Without one, the request is sent to sign in.
#[derive(Clone)]
pub struct Console {
    state: web::Data<AppState>,
    req: HttpRequest,
    person_id: String,
    name: String,
    token: String,
    ip: Option<String>,
}

/// Who a console session belongs to.
struct Admin {
    person_id: String,
    name: String,
}

/// The admin of the console session `token`, if it is still good.
fn admin_of(engine: &Engine, token: &str) -> Option<Admin> {
    let now = engine.now();
    let store = engine.store();
    let s = store.find_admin_session(&token_hash(token)).ok()??;
    if s.ended_at.is_some() || s.expires_at <= now {
        return None;
    }
    let sso = store.find_session_by_sid(&s.sid).ok()??;
    // Using the console is using the SSO session: it keeps it from going idle.
    engine.keep_alive(sso, now).ok()??;
    // An admin whose registration is locked or deactivated is out, as everywhere.
    if !store.is_admin(&s.person_id).ok()? || !engine.in_good_standing(&s.person_id).ok()? {
        return None;
    }
    // A session opened below the minimum of now (the setting was raised) is over.
    let required = engine.settings().admin.min_acr;
    if !crate::domain::Acr::parse(&s.acr).is_some_and(|a| a.satisfies(required)) {
        return None;
    }
    let person = store.find_person(&s.person_id).ok()??;
    Some(Admin {
        person_id: s.person_id,
        name: person.name,
    })
}

impl FromRequest for Console {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let to_login = || InternalError::from_response("sign in", login_redirect(&req));
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(to_login)?;
            let token = req
                .cookie(&session_cookie_name(&state))
                .map(|c| c.value().to_string())
                .ok_or_else(to_login)?;
            let engine = state.engine.clone();
            let hashed = token.clone();
            let admin = web::block(move || admin_of(&engine, &hashed))
                .await
                .ok()
                .flatten()
                .ok_or_else(to_login)?;
            let ip = state.browser(&req).ip;
            Ok(Console {
                state,
                req,
                person_id: admin.person_id,
                name: admin.name,
                token,
                ip,
            })
        })
    }
}

/// Form fields, repeated keys kept (check boxes).
type Fields = Vec<(String, String)>;

/// A form post of a signed-in admin that carries the console's CSRF token.
pub struct ConsoleForm {
    console: Console,
    body: web::Bytes,
    fields: Fields,
}

impl FromRequest for ConsoleForm {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        let console = Console::from_request(req, payload);
        Box::pin(async move {
            let body = body.await?;
            let fields: Fields =
                serde_urlencoded::from_bytes(&body).map_err(actix_web::error::ErrorBadRequest)?;
            let console = console.await?;
            let sent = field(&fields, "csrf_token").unwrap_or_default();
            if !console.csrf().matches(sent) {
                let resp = denied(&console.state, &console.req, StatusCode::FORBIDDEN, "csrf");
                return Err(InternalError::from_response("csrf", resp).into());
            }
            Ok(ConsoleForm {
                console,
                body,
                fields,
            })
        })
    }
}

impl ConsoleForm {
    fn field(&self, name: &str) -> Option<&str> {
        field(&self.fields, name)
    }

    /// The whole form as `T` (`serde_html_form`: a repeated key, such as a group of check
    /// boxes, fills a list); a value of the wrong shape names its field.
    fn parse<T: serde::de::DeserializeOwned>(&self) -> AdminResult<T> {
        serde_html_form::from_bytes(&self.body).map_err(|e| {
            AdminError::invalid("form", format!("the form could not be read: {e}"))
                .coded("form_unreadable")
        })
    }
}

impl Console {
    fn actor(&self) -> Actor {
        Actor::person(&self.person_id, self.ip.clone())
    }

    fn csrf(&self) -> Csrf {
        Csrf::console(&self.state.engine, &self.token)
    }

    fn text(&self, key: &str) -> String {
        text(&self.state, &self.req, key)
    }

    /// Runs `op` off the executor, as this admin.
    async fn call<T, F>(&self, op: F) -> AdminResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Engine, &Actor) -> AdminResult<T> + Send + 'static,
    {
        let engine = self.state.engine.clone();
        let actor = self.actor();
        web::block(move || op(&engine, &actor))
            .await
            .map_err(blocking_failed)?
    }

    /// Renders console page `name` for this admin.
    fn render(&self, name: &str, status: StatusCode, data: &impl Serialize) -> HttpResponse {
        render(&self.state, &self.req, name, status, Some(self), data)
    }

    /// The page `name` with `data` and the failure `e`, at its status.
    fn failed(&self, name: &str, data: &impl Serialize, e: &AdminError) -> HttpResponse {
        let page = WithOutcome {
            data,
            outcome: Outcome::failed(self, e),
        };
        self.render(name, reported_status(e), &page)
    }

    /// The console's home page with the failure `e`.
    fn failed_home(&self, e: &AdminError) -> HttpResponse {
        self.failed("admin_home", &Nothing {}, e)
    }

    /// The notice for `?done=…` after a redirect.
    fn done(&self, done: Option<&str>) -> Outcome {
        let key = match done {
            Some("created") => "admin_created",
            Some("saved") => "admin_saved",
            Some("deleted_client") => "admin_deleted_client",
            Some("deactivated") => "admin_done_deactivated",
            Some("reactivated") => "admin_done_reactivated",
            Some("unlocked") => "admin_done_unlocked",
            Some("deleted") => "admin_done_deleted",
            Some("sessions") => "admin_done_sessions",
            Some("rotated") => "admin_rotated",
            _ => return Outcome::Nothing {},
        };
        Outcome::Done {
            message: self.text(key),
            outcome: done.unwrap_or_default().to_string(),
        }
    }
}

/// A page without content of its own.
#[derive(Serialize)]
struct Nothing {}

/// What a page reports besides its content: nothing, a notice after a redirect, or why the
/// action failed.
#[derive(Serialize)]
#[serde(untagged)]
enum Outcome {
    Nothing {},
    Done {
        message: String,
        outcome: String,
    },
    Failed {
        error: String,
        error_field: Option<String>,
    },
}

impl Outcome {
    /// The failure `e`, said in the page's language.
    fn failed(c: &Console, e: &AdminError) -> Self {
        Outcome::Failed {
            error: c.error_text(e),
            error_field: e.field().map(str::to_string),
        }
    }
}

/// A page's content with its outcome.
#[derive(Serialize)]
struct WithOutcome<'a, T: Serialize> {
    #[serde(flatten)]
    data: &'a T,
    #[serde(flatten)]
    outcome: Outcome,
}

/// Renders a console page in the request's language (a `?lang=` choice is remembered).
fn render(
    state: &AppState,
    req: &HttpRequest,
    name: &str,
    status: StatusCode,
    console: Option<&Console>,
    data: &impl Serialize,
) -> HttpResponse {
    let lang = state.lang(req, &[]);
    let mut data = serde_json::to_value(data).unwrap_or_else(|e| {
        tracing::error!(error = ?e, "console page data");
        json!({})
    });
    if let Value::Object(map) = &mut data {
        if let Some(c) = console {
            map.insert("admin".into(), json!({ "name": c.name }));
            map.insert("csrf_token".into(), json!(c.csrf()));
        }
        if !map.contains_key("title") {
            map.insert(
                "title".into(),
                json!(state.templates.text(&lang, "admin_home_title", &[])),
            );
        }
    }
    let mut resp = page(state, name, &lang, status, data);
    remember_lang(state, req, &mut resp);
    resp
}

fn text(state: &AppState, req: &HttpRequest, key: &str) -> String {
    let lang = state.lang(req, &[]);
    state.templates.text(&lang, key, &[])
}

/// Why the console was refused.
#[derive(Serialize)]
struct Denied<'a> {
    reason: &'a str,
    text: String,
    title: String,
}

fn denied(state: &AppState, req: &HttpRequest, status: StatusCode, reason: &str) -> HttpResponse {
    let page = Denied {
        reason,
        text: text(state, req, &format!("admin_denied_{reason}")),
        title: text(state, req, "admin_denied_title"),
    };
    render(state, req, "admin_denied", status, None, &page)
}

/// To the sign-in, keeping an explicit language choice.
fn login_redirect(req: &HttpRequest) -> HttpResponse {
    match req
        .query_string()
        .split('&')
        .find(|p| p.starts_with("lang="))
    {
        Some(lang) => see_other(&format!("/admin/login?{lang}")),
        None => see_other("/admin/login"),
    }
}

/// Remembers `?lang=` in the language cookie.
fn remember_lang(state: &AppState, req: &HttpRequest, resp: &mut HttpResponse) {
    if let Some(picked) = req
        .query_string()
        .split('&')
        .find_map(|p| p.strip_prefix("lang="))
    {
        let picked = state.templates.pick_lang([picked]);
        let _ = resp.add_cookie(&cookie(state, &state.cookies.lang, picked, 365 * 24 * 3600));
    }
}

fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `?cursor=` and `?done=` of the console's pages.
#[derive(Deserialize)]
pub struct PageQuery {
    cursor: Option<String>,
    done: Option<String>,
}

/// `GET /admin`.
pub async fn get_home(c: Console) -> HttpResponse {
    c.render("admin_home", StatusCode::OK, &Nothing {})
}

/// `GET /static/admin.css`.
pub async fn get_stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(crate::templates::ADMIN_STYLESHEET)
}

/// The console's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use clients as c;
    use registrations as r;
    cfg.route("/static/admin.css", web::get().to(get_stylesheet))
        .route("/admin", web::get().to(get_home))
        .route("/admin/", web::get().to(get_home))
        .route("/admin/login", web::get().to(session::get_login))
        .route("/admin/callback", web::get().to(session::get_callback))
        .route("/admin/logout", web::post().to(session::post_logout))
        .route("/admin/clients", web::get().to(c::get_clients))
        .route("/admin/clients", web::post().to(c::post_new_client))
        .route("/admin/clients/new", web::get().to(c::get_new_client))
        .route("/admin/clients/{client_id}", web::get().to(c::get_client))
        .route("/admin/clients/{client_id}", web::post().to(c::post_client))
        .route(
            "/admin/clients/{client_id}/secret",
            web::post().to(c::post_client_secret),
        )
        .route(
            "/admin/clients/{client_id}/secret",
            web::get().to(c::get_client_secret),
        )
        .route(
            "/admin/clients/{client_id}/delete",
            web::post().to(c::post_client_delete),
        )
        .route("/admin/registrations", web::get().to(r::get_registrations))
        .route(
            "/admin/registrations",
            web::post().to(r::post_registrations),
        )
        .route(
            "/admin/registrations/{person_id}",
            web::get().to(r::get_registration),
        )
        .route(
            "/admin/registrations/{person_id}/{action}",
            web::post().to(r::post_registration),
        )
        .route("/admin/audit", web::get().to(audit::get_audit))
        .route("/admin/audit.csv", web::get().to(audit::get_audit_csv))
        .route("/admin/keys", web::get().to(keys::get_keys))
        .route("/admin/keys/rotate", web::post().to(keys::post_rotate_keys))
        .route("/admin/notices", web::get().to(notices::get_notices))
        .route("/admin/notices", web::post().to(notices::post_new_notice))
        .route("/admin/notices/new", web::get().to(notices::get_new_notice))
        .route("/admin/notices/{id}", web::get().to(notices::get_notice))
        .route("/admin/notices/{id}", web::post().to(notices::post_notice))
        .route(
            "/admin/notices/{id}/delete",
            web::post().to(notices::post_notice_delete),
        );
}
