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
//! which has its own session. Every operation takes the [`Caller`] extractor, which checks
//! the token before anything else of the request is read.
//!
//! **Errors** are `{error, error_description}` (+ `field` for validation), see
//! [`ApiFailure`]: 401 with `WWW-Authenticate: Bearer` for a missing or invalid token, 403
//! `insufficient_scope`, 400 `invalid_request` for malformed JSON or parameters, 422
//! `invalid_request` with the field for values that break a rule, 404 `not_found`, 409
//! `conflict`.
//!
//! **Paging**: `?limit=` (1–200, default 50) and `?cursor=` (the `next_cursor` of the
//! previous page).

mod audit;
mod clients;
mod keys;
mod notices;
mod openapi;
mod registrations;

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::blocking_failed;
pub use super::error::{ApiError, ApiFailure};
use super::AppState;
pub use audit::{csv_response, export as csv_export};
pub use openapi::ApiDoc;

use crate::admin::registrations::Changed;
use crate::admin::{Actor, AdminError, AdminResult};
use crate::domain::scope::ADMIN_SCOPE;
use crate::domain::Scope;
use crate::oidc::Engine;

pub const BASE: &str = "/admin/api/v1";

/// The answer of an operation.
type Reply = Result<HttpResponse, ApiFailure>;

/// The authenticated caller of the API: the client its bearer token was issued to.
pub struct Caller {
    state: web::Data<AppState>,
    actor: Actor,
}

impl FromRequest for Caller {
    type Error = ApiFailure;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiFailure>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        let ip = state.as_ref().and_then(|s| s.browser(req).ip);
        Box::pin(async move {
            let state = state.ok_or_else(|| blocking_failed("no application state"))?;
            let token = token?;
            let engine = state.engine.clone();
            let actor = web::block(move || authenticate(&engine, &token, ip))
                .await
                .map_err(blocking_failed)??;
            Ok(Caller { state, actor })
        })
    }
}

impl Caller {
    /// Runs `op` off the executor, as this caller.
    async fn call<T, F>(&self, op: F) -> Result<T, ApiFailure>
    where
        T: Send + 'static,
        F: FnOnce(&Engine, &Actor) -> AdminResult<T> + Send + 'static,
    {
        let engine = self.state.engine.clone();
        let actor = self.actor.clone();
        Ok(web::block(move || op(&engine, &actor))
            .await
            .map_err(blocking_failed)??)
    }

    /// `status` with the JSON of what `op` returns.
    async fn json<T, F>(&self, status: StatusCode, op: F) -> Reply
    where
        T: Serialize + Send + 'static,
        F: FnOnce(&Engine, &Actor) -> AdminResult<T> + Send + 'static,
    {
        let body = self.call(op).await?;
        Ok(no_store(status).json(body))
    }

    /// 204 once `op` is done.
    async fn no_content<F>(&self, op: F) -> Reply
    where
        F: FnOnce(&Engine, &Actor) -> AdminResult<()> + Send + 'static,
    {
        self.call(op).await?;
        Ok(no_store(StatusCode::NO_CONTENT).finish())
    }

    /// The registration `op` changed; the back-channel logout tokens of the sessions it
    /// ended are sent.
    async fn changed<F>(&self, op: F) -> Reply
    where
        F: FnOnce(&Engine, &Actor) -> AdminResult<Changed> + Send + 'static,
    {
        let changed = self.call(op).await?;
        self.state.backchannel.spawn(changed.deliveries);
        Ok(no_store(StatusCode::OK).json(changed.registration))
    }
}

fn no_store(status: StatusCode) -> actix_web::HttpResponseBuilder {
    let mut resp = HttpResponse::build(status);
    resp.insert_header((header::CACHE_CONTROL, "no-store"));
    resp
}

/// The bearer token of the request (RFC 6750 §2.1; never a query parameter).
fn bearer(req: &HttpRequest) -> Result<String, ApiFailure> {
    let missing = || {
        ApiFailure::Unauthorized {
        token_sent: false,
        description: "an access token is required: Authorization: Bearer TOKEN (client_credentials with the cardinal:admin scope)".into(),
    }
    };
    crate::routes::responses::bearer_token(req).ok_or_else(missing)
}

/// Checks the token; the actor is the client it was issued to.
fn authenticate(engine: &Engine, token: &str, ip: Option<String>) -> Result<Actor, ApiFailure> {
    let invalid = |description: &str| ApiFailure::Unauthorized {
        token_sent: true,
        description: description.into(),
    };
    let (claims, record) = engine
        .check_access_token(token)
        .map_err(|_| invalid("the access token is invalid, expired or revoked"))?;
    let scope = Scope::parse(&record.scope).unwrap_or_default();
    if record.person_id.is_some() {
        return Err(ApiFailure::Forbidden(
            "a person's access token cannot use the admin API; use a client_credentials token with the cardinal:admin scope".into(),
        ));
    }
    if !scope.contains(ADMIN_SCOPE) {
        return Err(ApiFailure::Forbidden(format!(
            "the access token lacks the {ADMIN_SCOPE} scope"
        )));
    }
    let client = engine
        .store()
        .find_client(&claims.client_id)
        .map_err(AdminError::from)?;
    match client {
        Some(c) if c.scopes.contains(ADMIN_SCOPE) => Ok(Actor::client(c.client_id.as_ref(), ip)),
        Some(_) => Err(ApiFailure::Forbidden(format!(
            "the client no longer holds the {ADMIN_SCOPE} scope"
        ))),
        None => Err(invalid("the client of this access token no longer exists")),
    }
}

/// Query parameters, with a 400 that names the bad one.
/// (Read after the token: a caller without one learns nothing about its input.)
fn query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiFailure> {
    serde_urlencoded::from_str(req.query_string())
        .map_err(|e| ApiFailure::BadRequest(format!("bad query parameter: {e}")))
}

/// A JSON body, with a 400 that says what is wrong; an empty body is `{}` when allowed.
fn body<T: DeserializeOwned>(
    req: &HttpRequest,
    bytes: &[u8],
    empty_ok: bool,
) -> Result<T, ApiFailure> {
    let bad = ApiFailure::BadRequest;
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

/// The API's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use clients as c;
    use registrations as r;
    cfg.service(
        web::scope(BASE)
            .route("/openapi.json", web::get().to(openapi::get_openapi))
            .route("/clients", web::get().to(c::list_clients))
            .route("/clients", web::post().to(c::create_client))
            .route("/clients/{client_id}", web::get().to(c::get_client))
            .route("/clients/{client_id}", web::patch().to(c::update_client))
            .route("/clients/{client_id}", web::delete().to(c::delete_client))
            .route(
                "/clients/{client_id}/secret",
                web::post().to(c::rotate_client_secret),
            )
            .route("/registrations", web::get().to(r::search_registrations))
            .route(
                "/registrations/{person_id}",
                web::get().to(r::get_registration),
            )
            .route(
                "/registrations/{person_id}",
                web::delete().to(r::delete_registration),
            )
            .route(
                "/registrations/{person_id}/deactivate",
                web::post().to(r::deactivate_registration),
            )
            .route(
                "/registrations/{person_id}/reactivate",
                web::post().to(r::reactivate_registration),
            )
            .route(
                "/registrations/{person_id}/unlock",
                web::post().to(r::unlock_registration),
            )
            .route(
                "/registrations/{person_id}/end-sessions",
                web::post().to(r::end_sessions),
            )
            .route("/audit", web::get().to(audit::list_audit))
            .route("/audit.csv", web::get().to(audit::export_audit))
            .route("/keys", web::get().to(keys::list_keys))
            .route("/keys/rotate", web::post().to(keys::rotate_keys))
            .route("/notices", web::get().to(notices::list_notices))
            .route("/notices", web::post().to(notices::create_notice))
            .route("/notices/{notice_id}", web::get().to(notices::get_notice))
            .route(
                "/notices/{notice_id}",
                web::patch().to(notices::update_notice),
            )
            .route(
                "/notices/{notice_id}",
                web::delete().to(notices::delete_notice),
            )
            .default_service(web::to(|| async {
                ApiFailure::Admin(AdminError::NotFound(
                    "no such admin API route; see /admin/api/v1/openapi.json".into(),
                ))
                .error_response()
            })),
    );
}
