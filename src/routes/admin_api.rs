//! The admin REST API, `/admin/api/v1` (docs/requirements.md R-ADM-1): the console's
//! operations as JSON, with its OpenAPI document generated from these handlers (utoipa) and
//! served at `/admin/api/v1/openapi.json`.
//!
//! **Who may call it.** A bearer access token from the `client_credentials` grant that
//! carries the `cardinal:admin` scope, issued to a confidential client registered with that
//! scope, which still holds it. A person's access token is never accepted, even a person
//! with the admin role: tokens issued to relying parties must not become admin credentials
//! (a phished admin would otherwise hand the API to any RP), and the authorization endpoint
//! never grants `cardinal:admin` to a person anyway. People administer through the console,
//! which has its own session.
//!
//! **Errors** are `{error, error_description}` (+ `field` for validation): 401 with
//! `WWW-Authenticate: Bearer` for a missing or invalid token, 403 `insufficient_scope`,
//! 400 `invalid_request` for malformed JSON or parameters, 422 `invalid_request` with the
//! field for values that break a rule, 404 `not_found`, 409 `conflict`.
//!
//! **Paging**: `?limit=` (1–200, default 50) and `?cursor=` (the `next_cursor` of the
//! previous page).

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use super::responses::blocking_failed;
use super::AppState;
use crate::admin::audit::{AuditQuery, AuditView};
use crate::admin::clients::ClientView;
use crate::admin::clients::{ClientInput, ClientWithSecret, RotatedSecret};
use crate::admin::keys::{KeyView, RotateRequest, RotatedKey};
use crate::admin::registrations::{
    CardView, Changed, DeactivateRequest, RegistrationDetailView, RegistrationView,
};
use crate::admin::{self, Actor, AdminError, Page};
use crate::audit::AuditKind;
use crate::domain::scope::ADMIN_SCOPE;
use crate::domain::Scope;
use crate::oidc::logout::LogoutDelivery;
use crate::oidc::Engine;

pub const BASE: &str = "/admin/api/v1";

/// An error of the admin API, as JSON.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiError {
    /// `invalid_token`, `insufficient_scope`, `invalid_request`, `not_found`, `conflict`,
    /// `server_error`.
    pub error: String,
    /// What went wrong and what to fix.
    pub error_description: String,
    /// The field a validation error is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Why a request did not reach the operation.
enum Refusal {
    /// 401: no token (`error` in the challenge only when a token was sent).
    Unauthorized {
        token_sent: bool,
        description: String,
    },
    /// 403 insufficient_scope.
    Forbidden(String),
    /// 400: malformed request.
    BadRequest(String),
    Admin(AdminError),
}

impl From<AdminError> for Refusal {
    fn from(e: AdminError) -> Self {
        Refusal::Admin(e)
    }
}

fn error_body(error: &str, description: &str, field: Option<&str>) -> ApiError {
    ApiError {
        error: error.into(),
        error_description: description.into(),
        field: field.map(str::to_string),
    }
}

fn refusal_response(r: Refusal) -> HttpResponse {
    let mut resp;
    let body = match r {
        Refusal::Unauthorized {
            token_sent,
            description,
        } => {
            resp = HttpResponse::Unauthorized();
            let challenge = if token_sent {
                format!(
                    "Bearer realm=\"cardinal-admin\", error=\"invalid_token\", error_description=\"{}\"",
                    description.replace('"', "'")
                )
            } else {
                "Bearer realm=\"cardinal-admin\"".to_string()
            };
            resp.insert_header((header::WWW_AUTHENTICATE, challenge));
            error_body("invalid_token", &description, None)
        }
        Refusal::Forbidden(description) => {
            resp = HttpResponse::Forbidden();
            resp.insert_header((
                header::WWW_AUTHENTICATE,
                format!(
                    "Bearer realm=\"cardinal-admin\", error=\"insufficient_scope\", scope=\"{ADMIN_SCOPE}\""
                ),
            ));
            error_body("insufficient_scope", &description, None)
        }
        Refusal::BadRequest(description) => {
            resp = HttpResponse::BadRequest();
            error_body("invalid_request", &description, None)
        }
        Refusal::Admin(e) => {
            let status = match &e {
                AdminError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                AdminError::NotFound(_) => StatusCode::NOT_FOUND,
                AdminError::Conflict(_) => StatusCode::CONFLICT,
                AdminError::Store(_) | AdminError::Internal(_) => {
                    tracing::error!(error = ?e, "admin API request failed");
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            };
            resp = HttpResponse::build(status);
            error_body(e.code(), &e.public_message(), e.field())
        }
    };
    resp.insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// The bearer token of the request (RFC 6750 §2.1; never a query parameter).
fn bearer(req: &HttpRequest) -> Result<String, Refusal> {
    let missing = || {
        Refusal::Unauthorized {
        token_sent: false,
        description: "an access token is required: Authorization: Bearer TOKEN (client_credentials with the cardinal:admin scope)".into(),
    }
    };
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim().to_string())
}

/// Checks the token; the actor is the client it was issued to.
fn authenticate(engine: &Engine, token: &str, ip: Option<String>) -> Result<Actor, Refusal> {
    let invalid = |description: &str| Refusal::Unauthorized {
        token_sent: true,
        description: description.into(),
    };
    let (claims, record) = engine
        .check_access_token(token)
        .map_err(|_| invalid("the access token is invalid, expired or revoked"))?;
    let scope = Scope::parse(&record.scope).unwrap_or_default();
    if record.person_id.is_some() {
        return Err(Refusal::Forbidden(
            "a person's access token cannot use the admin API; use a client_credentials token with the cardinal:admin scope".into(),
        ));
    }
    if !scope.contains(ADMIN_SCOPE) {
        return Err(Refusal::Forbidden(format!(
            "the access token lacks the {ADMIN_SCOPE} scope"
        )));
    }
    let client = engine
        .store()
        .find_client(&claims.client_id)
        .map_err(|e| Refusal::Admin(e.into()))?;
    match client {
        Some(c) if c.scopes.contains(ADMIN_SCOPE) => Ok(Actor::client(c.client_id.as_ref(), ip)),
        Some(_) => Err(Refusal::Forbidden(format!(
            "the client no longer holds the {ADMIN_SCOPE} scope"
        ))),
        None => Err(invalid("the client of this access token no longer exists")),
    }
}

/// Authenticates, runs `op` off the executor, answers `status` with its JSON (or 204), and
/// sends the back-channel logout tokens of sessions it ended.
async fn run_with<T, F>(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    op: F,
) -> HttpResponse
where
    T: Serialize + Send + 'static,
    F: FnOnce(&Engine, &Actor) -> Result<(T, Vec<LogoutDelivery>), Refusal> + Send + 'static,
{
    let token = match bearer(req) {
        Ok(t) => t,
        Err(r) => return refusal_response(r),
    };
    let engine = state.engine.clone();
    let ip = state.browser(req).ip;
    let result = web::block(move || {
        let actor = authenticate(&engine, &token, ip)?;
        op(&engine, &actor)
    })
    .await;
    match result {
        Ok(Ok((body, deliveries))) => {
            state.backchannel.spawn(deliveries);
            let mut resp = HttpResponse::build(status);
            resp.insert_header((header::CACHE_CONTROL, "no-store"));
            if status == StatusCode::NO_CONTENT {
                resp.finish()
            } else {
                resp.json(body)
            }
        }
        Ok(Err(r)) => refusal_response(r),
        Err(e) => refusal_response(Refusal::Admin(AdminError::Internal(anyhow::anyhow!(
            "{}",
            blocking_failed(e)
        )))),
    }
}

async fn run<T, F>(state: &AppState, req: &HttpRequest, status: StatusCode, op: F) -> HttpResponse
where
    T: Serialize + Send + 'static,
    F: FnOnce(&Engine, &Actor) -> Result<T, Refusal> + Send + 'static,
{
    run_with(state, req, status, move |e, a| {
        op(e, a).map(|t| (t, Vec::new()))
    })
    .await
}

fn changed(c: Changed) -> (RegistrationDetailView, Vec<LogoutDelivery>) {
    (c.registration, c.deliveries)
}

/// Query parameters, with a 400 that names the bad one.
/// (Checked after the token: a caller without one learns nothing about its input.)
fn query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, Refusal> {
    serde_urlencoded::from_str(req.query_string())
        .map_err(|e| Refusal::BadRequest(format!("bad query parameter: {e}")))
}

/// A JSON body, with a 400 that says what is wrong; an empty body is `{}` when allowed.
fn body<T: DeserializeOwned>(
    req: &HttpRequest,
    bytes: &[u8],
    empty_ok: bool,
) -> Result<T, Refusal> {
    let bad = Refusal::BadRequest;
    if bytes.iter().all(u8::is_ascii_whitespace) && empty_ok {
        return serde_json::from_str("{}").map_err(|e| bad(e.to_string()));
    }
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !ct.to_ascii_lowercase().starts_with("application/json") {
        return Err(bad("the body must be application/json".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| bad(format!("the JSON body is not valid: {e}")))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1–200, default 50.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// A card number (12 digits), a national ID, or part of a name; absent lists all.
    pub q: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------

/// List clients, ordered by client_id.
#[utoipa::path(get, path = "/admin/api/v1/clients", tag = "clients", params(ListQuery),
    responses((status = 200, body = Page<ClientView>), (status = 400, body = ApiError),
              (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = ["cardinal:admin"])))]
pub async fn list_clients(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let q: Result<ListQuery, Refusal> = query(&req);
    run(&state, &req, StatusCode::OK, move |e, _| {
        let q = q?;
        Ok(admin::clients::list(e, q.limit, q.cursor.as_deref())?)
    })
    .await
}

/// Register a client. The response carries the secret, once.
#[utoipa::path(post, path = "/admin/api/v1/clients", tag = "clients", request_body = ClientInput,
    responses((status = 201, body = ClientWithSecret), (status = 400, body = ApiError),
              (status = 401, body = ApiError), (status = 403, body = ApiError),
              (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = ["cardinal:admin"])))]
pub async fn create_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    bytes: web::Bytes,
) -> HttpResponse {
    let input: Result<ClientInput, Refusal> = body(&req, &bytes, false);
    run(&state, &req, StatusCode::CREATED, move |e, a| {
        Ok(admin::clients::create(e, a, input?)?)
    })
    .await
}

/// One client.
#[utoipa::path(get, path = "/admin/api/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = ClientView), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = ["cardinal:admin"])))]
pub async fn get_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let id = path.into_inner();
    run(&state, &req, StatusCode::OK, move |e, _| {
        Ok(admin::clients::show(e, &id)?)
    })
    .await
}

/// Change a client: fields given replace the current values (`null` removes
/// backchannel_logout_uri or min_acr). A switch to a secret-based auth method returns a
/// new secret, once.
#[utoipa::path(patch, path = "/admin/api/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)), request_body = ClientInput,
    responses((status = 200, body = ClientWithSecret), (status = 400, body = ApiError),
              (status = 401, body = ApiError), (status = 403, body = ApiError),
              (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = ["cardinal:admin"])))]
pub async fn update_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> HttpResponse {
    let id = path.into_inner();
    let input: Result<ClientInput, Refusal> = body(&req, &bytes, false);
    run(&state, &req, StatusCode::OK, move |e, a| {
        Ok(admin::clients::update(e, a, &id, input?)?)
    })
    .await
}

/// Delete a client and every token issued to it.
#[utoipa::path(delete, path = "/admin/api/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 204), (status = 401, body = ApiError), (status = 403, body = ApiError),
              (status = 404, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = ["cardinal:admin"])))]
pub async fn delete_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let id = path.into_inner();
    run(&state, &req, StatusCode::NO_CONTENT, move |e, a| {
        Ok(admin::clients::delete(e, a, &id)?)
    })
    .await
}

/// Make a new secret (shown once); the old one stops working.
#[utoipa::path(post, path = "/admin/api/v1/clients/{client_id}/secret", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = RotatedSecret), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError),
              (status = 422, body = ApiError)),
    security(("bearer" = ["cardinal:admin"])))]
pub async fn rotate_client_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let id = path.into_inner();
    run(&state, &req, StatusCode::OK, move |e, a| {
        Ok(admin::clients::rotate_secret(e, a, &id)?)
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Registrations
// ---------------------------------------------------------------------------------------

/// Search registrations by card number, national ID or part of the name (national IDs
/// are returned masked).
#[utoipa::path(get, path = "/admin/api/v1/registrations", tag = "registrations", params(SearchQuery),
    responses((status = 200, body = Page<RegistrationView>), (status = 400, body = ApiError),
              (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = ["cardinal:admin"])))]
pub async fn search_registrations(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let q: Result<SearchQuery, Refusal> = query(&req);
    run(&state, &req, StatusCode::OK, move |e, _| {
        let q = q?;
        Ok(admin::registrations::search(
            e,
            q.q.as_deref(),
            q.limit,
            q.cursor.as_deref(),
        )?)
    })
    .await
}

/// A registration with its status and audit trail.
#[utoipa::path(get, path = "/admin/api/v1/registrations/{person_id}", tag = "registrations",
    params(("person_id" = String, Path)),
    responses((status = 200, body = RegistrationDetailView), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = ["cardinal:admin"])))]
pub async fn get_registration(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let id = path.into_inner();
    run(&state, &req, StatusCode::OK, move |e, _| {
        Ok(admin::registrations::detail(e, &id)?)
    })
    .await
}

/// Delete a pending application (刪除註冊申請); 409 for any other state.
#[utoipa::path(delete, path = "/admin/api/v1/registrations/{person_id}", tag = "registrations",
    params(("person_id" = String, Path)),
    responses((status = 204), (status = 401, body = ApiError), (status = 403, body = ApiError),
              (status = 404, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = ["cardinal:admin"])))]
pub async fn delete_registration(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let id = path.into_inner();
    run(&state, &req, StatusCode::NO_CONTENT, move |e, a| {
        Ok(admin::registrations::delete_pending(e, a, &id)?)
    })
    .await
}

/// Deactivate at the counter (reason required): the person can no longer sign in, every
/// session ends (back-channel logout) and every grant is revoked.
#[utoipa::path(post, path = "/admin/api/v1/registrations/{person_id}/deactivate", tag = "registrations",
    params(("person_id" = String, Path)), request_body = DeactivateRequest,
    responses((status = 200, body = RegistrationDetailView), (status = 400, body = ApiError),
              (status = 401, body = ApiError), (status = 403, body = ApiError),
              (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = ["cardinal:admin"])))]
pub async fn deactivate_registration(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> HttpResponse {
    let id = path.into_inner();
    let input: Result<DeactivateRequest, Refusal> = body(&req, &bytes, false);
    run_with(&state, &req, StatusCode::OK, move |e, a| {
        let input = input?;
        admin::registrations::deactivate(e, a, &id, &input.reason)
            .map(changed)
            .map_err(Refusal::from)
    })
    .await
}

/// Reactivate a deactivated registration.
#[utoipa::path(post, path = "/admin/api/v1/registrations/{person_id}/reactivate", tag = "registrations",
    params(("person_id" = String, Path)),
    responses((status = 200, body = RegistrationDetailView), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = ["cardinal:admin"])))]
pub async fn reactivate_registration(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let id = path.into_inner();
    run_with(&state, &req, StatusCode::OK, move |e, a| {
        admin::registrations::reactivate(e, a, &id)
            .map(changed)
            .map_err(Refusal::from)
    })
    .await
}

/// Unlock a registration locked by wrong passwords.
#[utoipa::path(post, path = "/admin/api/v1/registrations/{person_id}/unlock", tag = "registrations",
    params(("person_id" = String, Path)),
    responses((status = 200, body = RegistrationDetailView), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = ["cardinal:admin"])))]
pub async fn unlock_registration(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let id = path.into_inner();
    run_with(&state, &req, StatusCode::OK, move |e, a| {
        admin::registrations::unlock(e, a, &id)
            .map(changed)
            .map_err(Refusal::from)
    })
    .await
}

/// End every session of the person (back-channel logout to their clients) and revoke every
/// grant, offline ones included.
#[utoipa::path(post, path = "/admin/api/v1/registrations/{person_id}/end-sessions", tag = "registrations",
    params(("person_id" = String, Path)),
    responses((status = 200, body = RegistrationDetailView), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = ["cardinal:admin"])))]
pub async fn end_sessions(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let id = path.into_inner();
    run_with(&state, &req, StatusCode::OK, move |e, a| {
        admin::registrations::end_sessions(e, a, &id)
            .map(changed)
            .map_err(Refusal::from)
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Audit log and keys
// ---------------------------------------------------------------------------------------

/// Audit events, newest first, filtered.
#[utoipa::path(get, path = "/admin/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Page<AuditView>), (status = 400, body = ApiError),
              (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = ["cardinal:admin"])))]
pub async fn list_audit(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let q: Result<AuditQuery, Refusal> = query(&req);
    run(&state, &req, StatusCode::OK, move |e, _| {
        Ok(admin::audit::list(e, &q?)?)
    })
    .await
}

/// Every audit event matching the filters (limit and cursor ignored) as CSV.
#[utoipa::path(get, path = "/admin/api/v1/audit.csv", tag = "audit", params(AuditQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ApiError),
              (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = ["cardinal:admin"])))]
pub async fn export_audit(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let q: Result<AuditQuery, Refusal> = query(&req);
    let token = match bearer(&req) {
        Ok(t) => t,
        Err(r) => return refusal_response(r),
    };
    let engine = state.engine.clone();
    let ip = state.browser(&req).ip;
    let result = web::block(move || {
        let actor = authenticate(&engine, &token, ip)?;
        let csv = admin::audit::csv(&engine, &q?)?;
        let audit = actor.event(
            engine.now(),
            AuditKind::AuditExport,
            "success",
            None,
            None,
            None,
        );
        engine
            .store()
            .append_audit(&audit)
            .map_err(|e| Refusal::Admin(e.into()))?;
        Ok::<_, Refusal>(csv)
    })
    .await;
    match result {
        Ok(Ok(csv)) => csv_response(csv),
        Ok(Err(r)) => refusal_response(r),
        Err(e) => refusal_response(Refusal::Admin(AdminError::Internal(anyhow::anyhow!("{e}")))),
    }
}

/// A CSV download.
pub fn csv_response(csv: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"cardinal-audit.csv\"",
        ))
        .content_type("text/csv; charset=utf-8")
        .body(csv)
}

/// Signing keys with their state (next, active, retired, expired).
#[utoipa::path(get, path = "/admin/api/v1/keys", tag = "keys",
    responses((status = 200, body = Vec<KeyView>), (status = 401, body = ApiError), (status = 403, body = ApiError)),
    security(("bearer" = ["cardinal:admin"])))]
pub async fn list_keys(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    run(&state, &req, StatusCode::OK, move |e, _| {
        Ok(admin::keys::list(e)?)
    })
    .await
}

/// Rotate: publish new keys that sign after keys.prepublish_secs (or at once with `now`).
#[utoipa::path(post, path = "/admin/api/v1/keys/rotate", tag = "keys", request_body(content = RotateRequest, description = "optional"),
    responses((status = 200, body = Vec<RotatedKey>), (status = 400, body = ApiError),
              (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = ["cardinal:admin"])))]
pub async fn rotate_keys(
    state: web::Data<AppState>,
    req: HttpRequest,
    bytes: web::Bytes,
) -> HttpResponse {
    let input: Result<RotateRequest, Refusal> = body(&req, &bytes, true);
    run(&state, &req, StatusCode::OK, move |e, a| {
        Ok(admin::keys::rotate(e, a, &input?)?)
    })
    .await
}

/// This document.
#[utoipa::path(get, path = "/admin/api/v1/openapi.json", tag = "meta",
    responses((status = 200, content_type = "application/json", description = "The OpenAPI document")))]
pub async fn get_openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(ApiDoc::openapi().to_pretty_json().unwrap_or_default())
}

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from POST /token with grant_type=client_credentials and scope=cardinal:admin",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Cardinal admin API", version = "1",
         description = "Clients, registrations, the audit log and signing keys of a Cardinal identity provider. Bearer tokens: client_credentials with the cardinal:admin scope."),
    paths(list_clients, create_client, get_client, update_client, delete_client, rotate_client_secret,
          search_registrations, get_registration, delete_registration, deactivate_registration,
          reactivate_registration, unlock_registration, end_sessions,
          list_audit, export_audit, list_keys, rotate_keys, get_openapi),
    components(schemas(ApiError, ClientView, ClientInput, ClientWithSecret, RotatedSecret,
                       RegistrationView, RegistrationDetailView, CardView, DeactivateRequest,
                       AuditView, KeyView, RotateRequest, RotatedKey)),
    modifiers(&BearerScheme),
    tags((name = "clients"), (name = "registrations"), (name = "audit"), (name = "keys"), (name = "meta"))
)]
pub struct ApiDoc;

/// The API's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE)
            .route("/openapi.json", web::get().to(get_openapi))
            .route("/clients", web::get().to(list_clients))
            .route("/clients", web::post().to(create_client))
            .route("/clients/{client_id}", web::get().to(get_client))
            .route("/clients/{client_id}", web::patch().to(update_client))
            .route("/clients/{client_id}", web::delete().to(delete_client))
            .route(
                "/clients/{client_id}/secret",
                web::post().to(rotate_client_secret),
            )
            .route("/registrations", web::get().to(search_registrations))
            .route(
                "/registrations/{person_id}",
                web::get().to(get_registration),
            )
            .route(
                "/registrations/{person_id}",
                web::delete().to(delete_registration),
            )
            .route(
                "/registrations/{person_id}/deactivate",
                web::post().to(deactivate_registration),
            )
            .route(
                "/registrations/{person_id}/reactivate",
                web::post().to(reactivate_registration),
            )
            .route(
                "/registrations/{person_id}/unlock",
                web::post().to(unlock_registration),
            )
            .route(
                "/registrations/{person_id}/end-sessions",
                web::post().to(end_sessions),
            )
            .route("/audit", web::get().to(list_audit))
            .route("/audit.csv", web::get().to(export_audit))
            .route("/keys", web::get().to(list_keys))
            .route("/keys/rotate", web::post().to(rotate_keys))
            .default_service(web::to(|| async {
                refusal_response(Refusal::Admin(AdminError::NotFound(
                    "no such admin API route; see /admin/api/v1/openapi.json".into(),
                )))
            })),
    );
}
