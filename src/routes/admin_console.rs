//! The admin console at `/admin` (docs/requirements.md R-ADM-1): an OpenID Connect client
//! of Cardinal itself. `/admin/login` sends the browser through `/authorize` as the
//! first-party client `cardinal-admin` (code flow, PKCE, the minimum acr `admin.min_acr`),
//! so the card sign-in and its rules apply; `/admin/callback` redeems the code with the
//! engine, checks the acr and the admin role, and opens a console session (a random cookie,
//! stored hashed, that ends with the SSO session, on logout, on expiry or when the role is
//! revoked).
//!
//! Pages in zh-TW and English; every form carries a CSRF token bound to the console
//! session; every action goes through `crate::admin` with the admin as the audited actor.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::responses::{cookie, page, removal, see_other, session_cookie};
use super::AppState;
use crate::admin::audit::AuditQuery;
use crate::admin::clients::ClientInput;
use crate::admin::keys::RotateRequest;
use crate::admin::{self, Actor, AdminError, CONSOLE_CLIENT_ID};
use crate::audit::AuditKind;
use crate::clock::format_rfc3339;
use crate::crypto::{ct_eq, new_secret_token, random_token, token_hash, KeyPurpose};
use crate::domain::{Acr, AuthMethod, GrantType, SubjectType};
use crate::oidc::grants::TokenRequest;
use crate::oidc::Engine;
use crate::store::AdminSessionRecord;

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

/// The signed-in admin of a request.
#[derive(Clone)]
struct Console {
    person_id: String,
    name: String,
    token: String,
    ip: Option<String>,
}

impl Console {
    fn actor(&self) -> Actor {
        Actor::person(&self.person_id, self.ip.clone())
    }
}

fn csrf_for(engine: &Engine, session_token: &str) -> String {
    engine.ring().keyed_hash(
        KeyPurpose::Csrf,
        format!("admin|{session_token}").as_bytes(),
    )
}

/// The console session of the request: unexpired, its SSO session still active, the person
/// still an admin.
async fn console(state: &AppState, req: &HttpRequest) -> Option<Console> {
    let token = req
        .cookie(&session_cookie_name(state))
        .map(|c| c.value().to_string())?;
    let engine = state.engine.clone();
    let ip = state.browser(req).ip;
    web::block(move || -> Option<Console> {
        let now = engine.now();
        let store = engine.store();
        let s = store.find_admin_session(&token_hash(&token)).ok()??;
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
        Some(Console {
            person_id: s.person_id,
            name: person.name,
            token,
            ip,
        })
    })
    .await
    .ok()
    .flatten()
}

/// Renders a console page in the request's language (a `?lang=` choice is remembered).
fn render(
    state: &AppState,
    req: &HttpRequest,
    name: &str,
    status: StatusCode,
    console: Option<&Console>,
    mut data: Value,
) -> HttpResponse {
    let lang = state.lang(req, &[]);
    if let Value::Object(map) = &mut data {
        if let Some(c) = console {
            map.insert("admin".into(), json!({ "name": c.name }));
            map.insert(
                "csrf_token".into(),
                json!(csrf_for(&state.engine, &c.token)),
            );
        }
        if !map.contains_key("title") {
            map.insert(
                "title".into(),
                json!(state.templates.text(&lang, "admin_home_title", &[])),
            );
        }
    }
    let mut resp = page(state, name, &lang, status, data);
    if let Some(picked) = req
        .query_string()
        .split('&')
        .find_map(|p| p.strip_prefix("lang="))
    {
        let picked = state.templates.pick_lang([picked]);
        let _ = resp.add_cookie(&cookie(state, &state.cookies.lang, picked, 365 * 24 * 3600));
    }
    resp
}

fn text(state: &AppState, req: &HttpRequest, key: &str) -> String {
    let lang = state.lang(req, &[]);
    state.templates.text(&lang, key, &[])
}

fn denied(state: &AppState, req: &HttpRequest, status: StatusCode, reason: &str) -> HttpResponse {
    let t = text(state, req, &format!("admin_denied_{reason}"));
    render(
        state,
        req,
        "admin_denied",
        status,
        None,
        json!({ "reason": reason, "text": t, "title": text(state, req, "admin_denied_title") }),
    )
}

/// The console of the request, or the redirect to sign in.
macro_rules! signed_in {
    ($state:expr, $req:expr) => {
        match console(&$state, &$req).await {
            Some(c) => c,
            None => return login_redirect(&$req),
        }
    };
}

/// The console of a signed-in admin whose form carries its CSRF token, or the answer.
macro_rules! signed_in_post {
    ($state:expr, $req:expr, $form:expr) => {
        match signed_in_post(&$state, &$req, &$form).await {
            Ok(c) => c,
            Err(resp) => return resp,
        }
    };
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

/// Form fields, repeated keys kept (check boxes).
type Fields = Vec<(String, String)>;

fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn all(fields: &Fields, name: &str) -> Vec<String> {
    fields
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// The signed-in admin of a form post with a valid CSRF token.
async fn signed_in_post(
    state: &AppState,
    req: &HttpRequest,
    fields: &Fields,
) -> Result<Console, HttpResponse> {
    let Some(c) = console(state, req).await else {
        return Err(login_redirect(req));
    };
    let sent = field(fields, "csrf_token").unwrap_or_default();
    if !ct_eq(sent, &csrf_for(&state.engine, &c.token)) {
        return Err(denied(state, req, StatusCode::FORBIDDEN, "csrf"));
    }
    Ok(c)
}

fn status_of(e: &AdminError) -> StatusCode {
    match e {
        AdminError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        AdminError::NotFound(_) => StatusCode::NOT_FOUND,
        AdminError::Conflict(_) => StatusCode::CONFLICT,
        AdminError::Store(_) | AdminError::Internal(_) => {
            tracing::error!(error = ?e, "admin console request failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

fn error_data(e: &AdminError) -> Value {
    json!({ "error": e.public_message(), "error_field": e.field() })
}

async fn blocking<T: Send + 'static>(
    engine: &Engine,
    f: impl FnOnce(&Engine) -> Result<T, AdminError> + Send + 'static,
) -> Result<T, AdminError> {
    let engine = engine.clone();
    web::block(move || f(&engine))
        .await
        .map_err(|e| AdminError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
}

// ---------------------------------------------------------------------------------------
// Sign-in
// ---------------------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
struct Flow {
    state: String,
    verifier: String,
}

/// `GET /admin`.
pub async fn get_home(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let c = signed_in!(state, req);
    render(
        &state,
        &req,
        "admin_home",
        StatusCode::OK,
        Some(&c),
        json!({}),
    )
}

/// `GET /admin/login`: starts the code flow against this very OP.
pub async fn get_login(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let engine = &state.engine;
    let verifier = random_token(32);
    let challenge = crate::crypto::b64url(&crate::crypto::sha256(verifier.as_bytes()));
    let flow = Flow {
        state: random_token(16),
        verifier,
    };
    let sealed = match serde_json::to_vec(&flow)
        .map_err(anyhow::Error::from)
        .and_then(|b| engine.ring().seal("admin.flow", &b))
    {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = ?e, "cannot start the admin sign-in");
            return denied(&state, &req, StatusCode::INTERNAL_SERVER_ERROR, "failed");
        }
    };
    let lang = state.lang(&req, &[]);
    let redirect_uri = engine.endpoint("/admin/callback");
    let acr = engine.settings().admin.min_acr.as_str();
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", CONSOLE_CLIENT_ID),
        ("redirect_uri", redirect_uri.as_str()),
        ("scope", "openid profile"),
        ("state", flow.state.as_str()),
        ("nonce", random_token(16).as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("acr_values", acr),
        // A recent sign-in, not any SSO session of the day (an eCPA sign-in hours ago).
        ("max_age", "900"),
        ("ui_locales", lang.as_str()),
    ])
    .unwrap_or_default();
    let mut resp = see_other(&format!("/authorize?{query}"));
    let _ = resp.add_cookie(&cookie(&state, &flow_cookie_name(&state), sealed, 900));
    remember_lang(&state, &req, &mut resp);
    resp
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

/// What the callback found out.
enum Admitted {
    Yes { token: String },
    No(&'static str),
}

/// `GET /admin/callback`: redeems the code, checks acr and role, opens the console session.
pub async fn get_callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<CallbackQuery>,
) -> HttpResponse {
    let q = query.into_inner();
    let engine = state.engine.clone();
    let flow: Option<Flow> = req
        .cookie(&flow_cookie_name(&state))
        .and_then(|c| engine.ring().open("admin.flow", c.value()).ok())
        .and_then(|b| serde_json::from_slice(&b).ok());
    let (Some(flow), Some(code), Some(got_state), None) = (flow, q.code, q.state, q.error) else {
        return denied(&state, &req, StatusCode::BAD_REQUEST, "failed");
    };
    if !ct_eq(&got_state, &flow.state) || q.iss.as_deref() != Some(engine.issuer()) {
        return denied(&state, &req, StatusCode::BAD_REQUEST, "failed");
    }
    let ip = state.browser(&req).ip;
    let result = web::block(move || -> anyhow::Result<Admitted> {
        let client = engine
            .store()
            .find_client(CONSOLE_CLIENT_ID)?
            .ok_or_else(|| anyhow::anyhow!("the console client is missing"))?;
        let tokens = match engine.token(
            &client,
            TokenRequest::AuthorizationCode {
                code,
                redirect_uri: Some(engine.endpoint("/admin/callback")),
                code_verifier: Some(flow.verifier),
            },
        ) {
            Ok(t) => t,
            Err(_) => return Ok(Admitted::No("failed")),
        };
        let (claims, record) = engine
            .check_access_token(&tokens.access_token)
            .map_err(|e| anyhow::anyhow!("own access token refused: {e}"))?;
        let person_id = record
            .person_id
            .ok_or_else(|| anyhow::anyhow!("console token without a person"))?;
        let min = engine.settings().admin.min_acr;
        let event = |outcome: &str, detail: &str| {
            Actor::person(&person_id, ip.clone()).event(
                engine.now(),
                AuditKind::AdminLogin,
                outcome,
                Some(&person_id),
                Some(CONSOLE_CLIENT_ID),
                Some(detail.to_string()),
            )
        };
        let audit = |outcome: &str, detail: &str| {
            if let Err(err) = engine.store().append_audit(&event(outcome, detail)) {
                tracing::error!(error = ?err, "cannot write the audit event");
            }
        };
        let acr = claims.acr.as_deref().and_then(Acr::parse);
        if !acr.is_some_and(|a| a.satisfies(min)) {
            audit("failure", "reason=acr");
            return Ok(Admitted::No("acr"));
        }
        if !engine.store().is_admin(&person_id)? {
            audit("failure", "reason=not_admin");
            return Ok(Admitted::No("not_admin"));
        }
        let sid = claims
            .sid
            .ok_or_else(|| anyhow::anyhow!("console token without a session"))?;
        let now = engine.now();
        let token = new_secret_token();
        // The session exists only with its audit event: no sign-in goes unrecorded.
        engine.store().create_admin_session(
            &AdminSessionRecord {
                id_hash: token_hash(&token),
                person_id: person_id.clone(),
                sid,
                acr: acr.map(|a| a.as_str().to_string()).unwrap_or_default(),
                created_at: now,
                expires_at: now + engine.settings().admin.session_ttl,
                ended_at: None,
            },
            &event(
                "success",
                &format!("acr={}", claims.acr.as_deref().unwrap_or_default()),
            ),
        )?;
        Ok(Admitted::Yes { token })
    })
    .await;
    let mut resp = match result {
        Ok(Ok(Admitted::Yes { token })) => {
            let mut resp = see_other("/admin");
            let _ = resp.add_cookie(&session_cookie(&state, &session_cookie_name(&state), token));
            resp
        }
        Ok(Ok(Admitted::No(reason))) => denied(&state, &req, StatusCode::FORBIDDEN, reason),
        Ok(Err(e)) => {
            tracing::error!(error = ?e, "admin sign-in failed");
            denied(&state, &req, StatusCode::INTERNAL_SERVER_ERROR, "failed")
        }
        Err(e) => {
            tracing::error!(error = %e, "admin sign-in failed");
            denied(&state, &req, StatusCode::INTERNAL_SERVER_ERROR, "failed")
        }
    };
    let _ = resp.add_removal_cookie(&removal(&state, &flow_cookie_name(&state)));
    resp
}

/// `POST /admin/logout`: ends the console session, then offers the SSO logout.
pub async fn post_logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Fields>,
) -> HttpResponse {
    let c = signed_in_post!(state, req, form);
    let _ = blocking(&state.engine, move |e| {
        let audit = c.actor().event(
            e.now(),
            AuditKind::AdminLogout,
            "success",
            Some(&c.person_id),
            None,
            None,
        );
        Ok(e.store()
            .end_admin_session(&token_hash(&c.token), e.now(), &audit)?)
    })
    .await;
    let query = serde_urlencoded::to_string([
        ("client_id", CONSOLE_CLIENT_ID),
        (
            "post_logout_redirect_uri",
            state.engine.endpoint("/admin").as_str(),
        ),
    ])
    .unwrap_or_default();
    let mut resp = see_other(&format!("/logout?{query}"));
    let _ = resp.add_removal_cookie(&removal(&state, &session_cookie_name(&state)));
    resp
}

/// `GET /static/admin.css`.
pub async fn get_stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(crate::templates::ADMIN_STYLESHEET)
}

// ---------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct PageQuery {
    cursor: Option<String>,
    done: Option<String>,
}

/// A notice for `?done=…` after a redirect.
fn done_message(state: &AppState, req: &HttpRequest, done: Option<&str>) -> Value {
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
        _ => return json!({}),
    };
    json!({ "message": text(state, req, key), "outcome": done })
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Value::Object(a), Value::Object(b)) = (&mut a, b) {
        a.extend(b);
    }
    a
}

pub async fn get_clients(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<PageQuery>,
) -> HttpResponse {
    let c = signed_in!(state, req);
    let q = query.into_inner();
    let cursor = q.cursor.clone();
    let page = blocking(&state.engine, move |e| {
        admin::clients::list(e, Some(admin::MAX_LIMIT), cursor.as_deref())
    })
    .await;
    let message = done_message(&state, &req, q.done.as_deref());
    match page {
        Ok(p) => render(
            &state,
            &req,
            "admin_clients",
            StatusCode::OK,
            Some(&c),
            merge(
                json!({ "title": text(&state, &req, "admin_clients"), "nav_clients": true, "clients": p.items, "next": p.next_cursor }),
                message,
            ),
        ),
        Err(e) => render(
            &state,
            &req,
            "admin_clients",
            status_of(&e),
            Some(&c),
            merge(json!({ "nav_clients": true }), error_data(&e)),
        ),
    }
}

/// The values shown in the client form.
#[derive(Default, Serialize)]
struct ClientForm {
    client_id: String,
    name: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: String,
    grant_types: Vec<String>,
    auth_method: String,
    scopes: Vec<String>,
    min_acr: String,
    skip_consent: bool,
    subject_type: String,
    id_token_alg: String,
    jwks: String,
}

impl ClientForm {
    fn new_client() -> Self {
        ClientForm {
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            auth_method: "client_secret_basic".into(),
            scopes: ["openid", "profile", "email", "phone", "offline_access"]
                .map(String::from)
                .to_vec(),
            subject_type: "public".into(),
            ..Default::default()
        }
    }

    fn of(v: &crate::admin::clients::ClientView) -> Self {
        ClientForm {
            client_id: v.client_id.clone(),
            name: v.name.clone(),
            redirect_uris: v.redirect_uris.join("\n"),
            post_logout_redirect_uris: v.post_logout_redirect_uris.join("\n"),
            backchannel_logout_uri: v.backchannel_logout_uri.clone().unwrap_or_default(),
            grant_types: v.grant_types.clone(),
            auth_method: v.auth_method.clone(),
            scopes: v.scopes.clone(),
            min_acr: v.min_acr.clone().unwrap_or_default(),
            skip_consent: v.skip_consent,
            subject_type: v.subject_type.clone(),
            id_token_alg: v.id_token_alg.clone().unwrap_or_default(),
            jwks: String::new(),
        }
    }

    fn from_fields(fields: &Fields) -> Self {
        let get = |n: &str| field(fields, n).unwrap_or_default().to_string();
        ClientForm {
            client_id: get("client_id"),
            name: get("name"),
            redirect_uris: get("redirect_uris"),
            post_logout_redirect_uris: get("post_logout_redirect_uris"),
            backchannel_logout_uri: get("backchannel_logout_uri"),
            grant_types: all(fields, "grant_types"),
            auth_method: get("auth_method"),
            scopes: all(fields, "scopes"),
            min_acr: get("min_acr"),
            skip_consent: field(fields, "skip_consent") == Some("true"),
            subject_type: get("subject_type"),
            id_token_alg: get("id_token_alg"),
            jwks: get("jwks"),
        }
    }

    fn input(&self, is_new: bool) -> ClientInput {
        let lines = |v: &str| -> Vec<String> {
            v.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        };
        let opt = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_string());
        ClientInput {
            client_id: if is_new { opt(&self.client_id) } else { None },
            name: Some(self.name.trim().to_string()),
            redirect_uris: Some(lines(&self.redirect_uris)),
            post_logout_redirect_uris: Some(lines(&self.post_logout_redirect_uris)),
            backchannel_logout_uri: Some(opt(&self.backchannel_logout_uri)),
            grant_types: Some(self.grant_types.clone()),
            auth_method: opt(&self.auth_method),
            scopes: Some(self.scopes.clone()),
            min_acr: Some(opt(&self.min_acr)),
            skip_consent: Some(self.skip_consent),
            subject_type: opt(&self.subject_type),
            jwks: opt(&self.jwks),
            id_token_alg: opt(&self.id_token_alg),
        }
    }
}

fn choices(values: &[&str], chosen: &[String]) -> Vec<Value> {
    values
        .iter()
        .map(|v| json!({ "value": v, "checked": chosen.iter().any(|c| c == v) }))
        .collect()
}

fn client_page(
    state: &AppState,
    req: &HttpRequest,
    c: &Console,
    status: StatusCode,
    form: &ClientForm,
    is_new: bool,
    extra: Value,
) -> HttpResponse {
    let t = |k: &str| text(state, req, k);
    let grants: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
    let methods: Vec<&str> = AuthMethod::ALL.iter().map(|m| m.as_str()).collect();
    let subjects: Vec<&str> = SubjectType::ALL.iter().map(|s| s.as_str()).collect();
    let mut scopes: Vec<&str> = crate::domain::scope::KNOWN_SCOPES.to_vec();
    scopes.push(crate::domain::scope::ADMIN_SCOPE);
    let acr_choices: Vec<Value> = std::iter::once(("", t("admin_acr_none")))
        .chain(
            [Acr::Card, Acr::Passkey, Acr::CitizenCertificate]
                .iter()
                .map(|a| (a.as_str(), t(&format!("acr_{}", a.as_str())))),
        )
        .map(|(v, label)| json!({ "value": v, "label": label, "checked": form.min_acr == v }))
        .collect();
    let alg_choices: Vec<Value> = std::iter::once(("", t("admin_alg_default")))
        .chain(
            state
                .engine
                .settings()
                .keys
                .algorithms
                .iter()
                .map(|a| (a.as_str(), a.clone())),
        )
        .map(|(v, label)| json!({ "value": v, "label": label, "checked": form.id_token_alg == v }))
        .collect();
    let heading = if is_new {
        t("admin_client_new")
    } else {
        t("admin_client_edit")
    };
    let action = if is_new {
        "/admin/clients".to_string()
    } else {
        format!("/admin/clients/{}", form.client_id)
    };
    render(
        state,
        req,
        "admin_client",
        status,
        Some(c),
        merge(
            json!({
                "title": heading, "heading": heading, "nav_clients": true, "is_new": is_new,
                "action": action, "form": form,
                "grant_choices": choices(&grants, &form.grant_types),
                "auth_choices": choices(&methods, std::slice::from_ref(&form.auth_method)),
                "scope_choices": choices(&scopes, &form.scopes),
                "subject_choices": choices(&subjects, std::slice::from_ref(&form.subject_type)),
                "acr_choices": acr_choices, "alg_choices": alg_choices,
            }),
            extra,
        ),
    )
}

pub async fn get_new_client(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let c = signed_in!(state, req);
    client_page(
        &state,
        &req,
        &c,
        StatusCode::OK,
        &ClientForm::new_client(),
        true,
        json!({}),
    )
}

pub async fn get_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> HttpResponse {
    let c = signed_in!(state, req);
    let id = path.into_inner();
    match blocking(&state.engine, move |e| admin::clients::show(e, &id)).await {
        Ok(v) => client_page(
            &state,
            &req,
            &c,
            StatusCode::OK,
            &ClientForm::of(&v),
            false,
            done_message(&state, &req, query.done.as_deref()),
        ),
        Err(e) => render(
            &state,
            &req,
            "admin_home",
            status_of(&e),
            Some(&c),
            error_data(&e),
        ),
    }
}

fn secret_page(
    state: &AppState,
    req: &HttpRequest,
    c: &Console,
    client_id: &str,
    secret: &str,
) -> HttpResponse {
    let heading = text(state, req, "admin_secret_title");
    render(
        state,
        req,
        "admin_secret",
        StatusCode::OK,
        Some(c),
        json!({ "title": heading, "heading": heading, "nav_clients": true, "client_id": client_id, "secret": secret }),
    )
}

pub async fn post_new_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Fields>,
) -> HttpResponse {
    let c = signed_in_post!(state, req, form);
    let values = ClientForm::from_fields(&form);
    let input = values.input(true);
    let actor = c.actor();
    let result = blocking(&state.engine, move |e| {
        admin::clients::create(e, &actor, input)
    })
    .await;
    client_saved(&state, &req, &c, result, &values, true)
}

/// After a create or an edit: the secret (shown once), or the client's page, or the form
/// again with the error.
fn client_saved(
    state: &AppState,
    req: &HttpRequest,
    c: &Console,
    result: Result<admin::clients::ClientWithSecret, AdminError>,
    values: &ClientForm,
    new: bool,
) -> HttpResponse {
    match result {
        Ok(saved) => {
            let id = saved.client.client_id;
            match saved.client_secret {
                Some(secret) => secret_page(state, req, c, &id, &secret),
                None => {
                    let done = if new { "created" } else { "saved" };
                    see_other(&format!("/admin/clients/{id}?done={done}"))
                }
            }
        }
        Err(e) => client_page(state, req, c, status_of(&e), values, new, error_data(&e)),
    }
}

pub async fn post_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let c = signed_in_post!(state, req, form);
    let id = path.into_inner();
    let mut values = ClientForm::from_fields(&form);
    values.client_id = id.clone();
    let input = values.input(false);
    let actor = c.actor();
    let client_id = id.clone();
    let result = blocking(&state.engine, move |e| {
        admin::clients::update(e, &actor, &client_id, input)
    })
    .await;
    client_saved(&state, &req, &c, result, &values, false)
}

pub async fn post_client_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let c = signed_in_post!(state, req, form);
    let id = path.into_inner();
    let actor = c.actor();
    let client_id = id.clone();
    match blocking(&state.engine, move |e| {
        admin::clients::rotate_secret(e, &actor, &client_id)
    })
    .await
    {
        Ok(r) => secret_page(&state, &req, &c, &id, &r.client_secret),
        Err(e) => render(
            &state,
            &req,
            "admin_home",
            status_of(&e),
            Some(&c),
            error_data(&e),
        ),
    }
}

pub async fn post_client_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let c = signed_in_post!(state, req, form);
    let id = path.into_inner();
    let actor = c.actor();
    match blocking(&state.engine, move |e| {
        admin::clients::delete(e, &actor, &id)
    })
    .await
    {
        Ok(()) => see_other("/admin/clients?done=deleted_client"),
        Err(e) => render(
            &state,
            &req,
            "admin_home",
            status_of(&e),
            Some(&c),
            error_data(&e),
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Registrations
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

fn status_label(state: &AppState, req: &HttpRequest, status: &str) -> String {
    text(state, req, &format!("status_{status}"))
}

pub async fn get_registrations(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<SearchQuery>,
) -> HttpResponse {
    let c = signed_in!(state, req);
    registrations_page(&state, &req, &c, query.into_inner()).await
}

/// The search itself is posted: a national ID typed into it must not end up in the
/// browser's history or in a proxy's access log, as a query string would.
pub async fn post_registrations(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Fields>,
) -> HttpResponse {
    let c = signed_in_post!(state, req, form);
    let get = |n: &str| {
        field(&form, n)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let q = SearchQuery {
        q: get("q"),
        cursor: get("cursor"),
        done: None,
    };
    registrations_page(&state, &req, &c, q).await
}

async fn registrations_page(
    state: &AppState,
    req: &HttpRequest,
    c: &Console,
    q: SearchQuery,
) -> HttpResponse {
    let (text_q, cursor) = (q.q.clone(), q.cursor.clone());
    let result = blocking(&state.engine, move |e| {
        admin::registrations::search(e, text_q.as_deref(), None, cursor.as_deref())
    })
    .await;
    let base = merge(
        json!({ "title": text(state, req, "admin_registrations"), "nav_registrations": true, "q": q.q }),
        done_message(state, req, q.done.as_deref()),
    );
    match result {
        Ok(p) => {
            let items: Vec<Value> = p
                .items
                .iter()
                .map(|r| {
                    merge(
                        json!(r),
                        json!({ "status_label": status_label(state, req, &r.status) }),
                    )
                })
                .collect();
            render(
                state,
                req,
                "admin_registrations",
                StatusCode::OK,
                Some(c),
                merge(base, json!({ "items": items, "next": p.next_cursor })),
            )
        }
        Err(e) => render(
            state,
            req,
            "admin_registrations",
            status_of(&e),
            Some(c),
            merge(base, error_data(&e)),
        ),
    }
}

async fn registration_page(
    state: &AppState,
    req: &HttpRequest,
    c: &Console,
    person_id: String,
    status: StatusCode,
    extra: Value,
) -> HttpResponse {
    match blocking(&state.engine, move |e| {
        admin::registrations::detail(e, &person_id)
    })
    .await
    {
        Ok(r) => {
            let s = r.status.as_str();
            render(
                state,
                req,
                "admin_registration",
                status,
                Some(c),
                merge(
                    json!({
                        "title": r.name, "nav_registrations": true,
                        "status_label": status_label(state, req, s),
                        "applied": format_rfc3339(r.created_at),
                        "can_deactivate": s != "deactivated",
                        "can_reactivate": s == "deactivated",
                        "can_unlock": s == "locked",
                        "can_delete": s == "pending",
                        "audit": r.audit, "r": r,
                    }),
                    extra,
                ),
            )
        }
        Err(e) => render(
            state,
            req,
            "admin_home",
            status_of(&e),
            Some(c),
            error_data(&e),
        ),
    }
}

pub async fn get_registration(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> HttpResponse {
    let c = signed_in!(state, req);
    let message = done_message(&state, &req, query.done.as_deref());
    registration_page(&state, &req, &c, path.into_inner(), StatusCode::OK, message).await
}

/// `POST /admin/registrations/{person_id}/{action}`: deactivate (reason), reactivate,
/// unlock, delete (pending), end-sessions.
pub async fn post_registration(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let c = signed_in_post!(state, req, form);
    let (person_id, action) = path.into_inner();
    let reason = field(&form, "reason").unwrap_or_default().to_string();
    let actor = c.actor();
    let id = person_id.clone();
    let act = action.clone();
    let result = blocking(&state.engine, move |e| {
        use admin::registrations as r;
        let changed = match act.as_str() {
            "deactivate" => r::deactivate(e, &actor, &id, &reason)?,
            "reactivate" => r::reactivate(e, &actor, &id)?,
            "unlock" => r::unlock(e, &actor, &id)?,
            "end-sessions" => r::end_sessions(e, &actor, &id)?,
            "delete" => {
                r::delete_pending(e, &actor, &id)?;
                return Ok(None);
            }
            _ => return Err(AdminError::NotFound("no such action".into())),
        };
        Ok(Some(changed))
    })
    .await;
    let done = match action.as_str() {
        "deactivate" => "deactivated",
        "reactivate" => "reactivated",
        "unlock" => "unlocked",
        "end-sessions" => "sessions",
        _ => "deleted",
    };
    match result {
        Ok(Some(changed)) => {
            state.backchannel.spawn(changed.deliveries);
            see_other(&format!("/admin/registrations/{person_id}?done={done}"))
        }
        Ok(None) => see_other("/admin/registrations?done=deleted"),
        Err(e) => {
            let status = status_of(&e);
            registration_page(&state, &req, &c, person_id, status, error_data(&e)).await
        }
    }
}

// ---------------------------------------------------------------------------------------
// Audit log and keys
// ---------------------------------------------------------------------------------------

/// Events that the filter suggests.
const EVENTS: &[&str] = &[
    "login",
    "logout",
    "admin_login",
    "admin_logout",
    "admin_grant",
    "admin_revoke",
    "client_create",
    "client_update",
    "client_delete",
    "client_rotate_secret",
    "registration_deactivate",
    "registration_reactivate",
    "registration_unlock",
    "registration_delete",
    "sessions_end",
    "key_rotate",
    "audit_export",
    "apply",
    "confirm",
];

/// The filter part of the query string (no cursor), for the CSV and next-page links.
fn filter_query(req: &HttpRequest) -> String {
    req.query_string()
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("cursor=") && !p.starts_with("lang="))
        .collect::<Vec<_>>()
        .join("&")
}

/// The audit filters of the query string. A malformed one is an error naming it, never
/// an unfiltered log (or export) that the admin takes for the filtered one.
fn audit_query(req: &HttpRequest) -> Result<AuditQuery, AdminError> {
    serde_urlencoded::from_str(req.query_string()).map_err(|e| {
        AdminError::invalid(
            "filters",
            format!("the filters could not be read ({e}); correct them and search again"),
        )
    })
}

pub async fn get_audit(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let c = signed_in!(state, req);
    let q = match audit_query(&req) {
        Ok(q) => q,
        Err(e) => {
            let base = json!({ "title": text(&state, &req, "admin_audit"), "nav_audit": true,
                               "events": EVENTS, "f": {} });
            return render(
                &state,
                &req,
                "admin_audit",
                status_of(&e),
                Some(&c),
                merge(base, error_data(&e)),
            );
        }
    };
    let shown = json!({ "from": q.from, "to": q.to, "person": q.person, "client_id": q.client_id,
                        "event": q.event, "outcome": q.outcome, "actor": q.actor });
    let base = json!({ "title": text(&state, &req, "admin_audit"), "nav_audit": true, "f": shown,
                       "events": EVENTS, "query": filter_query(&req) });
    match blocking(&state.engine, move |e| admin::audit::list(e, &q)).await {
        Ok(p) => render(
            &state,
            &req,
            "admin_audit",
            StatusCode::OK,
            Some(&c),
            merge(base, json!({ "audit": p.items, "next": p.next_cursor })),
        ),
        Err(e) => render(
            &state,
            &req,
            "admin_audit",
            status_of(&e),
            Some(&c),
            merge(base, error_data(&e)),
        ),
    }
}

pub async fn get_audit_csv(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let c = signed_in!(state, req);
    let q = match audit_query(&req) {
        Ok(q) => q,
        Err(e) => {
            return HttpResponse::build(status_of(&e))
                .content_type("text/plain; charset=utf-8")
                .body(e.public_message())
        }
    };
    let actor = c.actor();
    let result = blocking(&state.engine, move |e| {
        let csv = admin::audit::csv(e, &q)?;
        let audit = actor.event(e.now(), AuditKind::AuditExport, "success", None, None, None);
        e.store().append_audit(&audit)?;
        Ok(csv)
    })
    .await;
    match result {
        Ok(csv) => super::admin_api::csv_response(csv),
        Err(e) => render(
            &state,
            &req,
            "admin_home",
            status_of(&e),
            Some(&c),
            error_data(&e),
        ),
    }
}

async fn keys_page(
    state: &AppState,
    req: &HttpRequest,
    c: &Console,
    status: StatusCode,
    extra: Value,
) -> HttpResponse {
    let keys = blocking(&state.engine, |e| admin::keys::list(e)).await;
    let keys: Vec<Value> = keys
        .unwrap_or_default()
        .into_iter()
        .map(|k| {
            json!({ "kid": k.kid, "alg": k.alg, "state": k.state,
                    "active_from": format_rfc3339(k.active_from),
                    "retired_at": k.retired_at.map(format_rfc3339) })
        })
        .collect();
    render(
        state,
        req,
        "admin_keys",
        status,
        Some(c),
        merge(
            json!({ "title": text(state, req, "admin_keys"), "nav_keys": true, "keys": keys,
                    "algs": state.engine.settings().keys.algorithms }),
            extra,
        ),
    )
}

pub async fn get_keys(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<PageQuery>,
) -> HttpResponse {
    let c = signed_in!(state, req);
    let message = done_message(&state, &req, query.done.as_deref());
    keys_page(&state, &req, &c, StatusCode::OK, message).await
}

pub async fn post_rotate_keys(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Fields>,
) -> HttpResponse {
    let c = signed_in_post!(state, req, form);
    let request = RotateRequest {
        alg: field(&form, "alg")
            .filter(|a| !a.is_empty())
            .map(|a| vec![a.to_string()])
            .unwrap_or_default(),
        now: field(&form, "now") == Some("true"),
    };
    let actor = c.actor();
    match blocking(&state.engine, move |e| {
        admin::keys::rotate(e, &actor, &request)
    })
    .await
    {
        Ok(_) => see_other("/admin/keys?done=rotated"),
        Err(e) => keys_page(&state, &req, &c, status_of(&e), error_data(&e)).await,
    }
}

/// The console's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/admin.css", web::get().to(get_stylesheet))
        .route("/admin", web::get().to(get_home))
        .route("/admin/", web::get().to(get_home))
        .route("/admin/login", web::get().to(get_login))
        .route("/admin/callback", web::get().to(get_callback))
        .route("/admin/logout", web::post().to(post_logout))
        .route("/admin/clients", web::get().to(get_clients))
        .route("/admin/clients", web::post().to(post_new_client))
        .route("/admin/clients/new", web::get().to(get_new_client))
        .route("/admin/clients/{client_id}", web::get().to(get_client))
        .route("/admin/clients/{client_id}", web::post().to(post_client))
        .route(
            "/admin/clients/{client_id}/secret",
            web::post().to(post_client_secret),
        )
        .route(
            "/admin/clients/{client_id}/delete",
            web::post().to(post_client_delete),
        )
        .route("/admin/registrations", web::get().to(get_registrations))
        .route("/admin/registrations", web::post().to(post_registrations))
        .route(
            "/admin/registrations/{person_id}",
            web::get().to(get_registration),
        )
        .route(
            "/admin/registrations/{person_id}/{action}",
            web::post().to(post_registration),
        )
        .route("/admin/audit", web::get().to(get_audit))
        .route("/admin/audit.csv", web::get().to(get_audit_csv))
        .route("/admin/keys", web::get().to(get_keys))
        .route("/admin/keys/rotate", web::post().to(post_rotate_keys));
}
