//! The web error layer of the admin surfaces: [`AdminError`] becomes an HTTP status here and
//! nowhere else ([`admin_status`]), and [`ApiFailure`] is the admin API's `ResponseError`,
//! the JSON `{error, error_description, field?}` with its challenge headers. The console
//! renders its HTML error page with the same status (`admin_console::Console::failed`).

use std::fmt;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::admin::AdminError;
use crate::domain::scope::ADMIN_SCOPE;

/// The HTTP status of an administrative failure.
pub fn admin_status(e: &AdminError) -> StatusCode {
    match e {
        AdminError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        AdminError::NotFound(_) => StatusCode::NOT_FOUND,
        AdminError::Conflict(_) => StatusCode::CONFLICT,
        AdminError::Store(_) | AdminError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// [`admin_status`], answering a request: a server-side failure is logged.
pub fn reported_status(e: &AdminError) -> StatusCode {
    let status = admin_status(e);
    if status.is_server_error() {
        tracing::error!(error = ?e, "admin request failed");
    }
    status
}

/// An `AdminError` for a blocking task that did not finish.
pub fn blocking_failed(e: impl fmt::Display) -> AdminError {
    AdminError::Internal(anyhow::anyhow!("blocking task failed: {e}"))
}

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
    /// The rule a validation error broke, a stable code (`redirect_uri_required`,
    /// `uri_invalid`, `reason_required`, …; `invalid` when none is more precise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl ApiError {
    fn new(error: &str, description: &str, field: Option<&str>) -> Self {
        ApiError {
            error: error.into(),
            error_description: description.into(),
            field: field.map(str::to_string),
            code: None,
        }
    }
}

/// Why an admin API request failed.
#[derive(Debug)]
pub enum ApiFailure {
    /// 401: no token (`error` in the challenge only when a token was sent).
    Unauthorized {
        token_sent: bool,
        description: String,
    },
    /// 403 insufficient_scope.
    Forbidden(String),
    /// 400: malformed request.
    BadRequest(String),
    /// The operation refused (422, 404, 409, 500).
    Admin(AdminError),
}

impl From<AdminError> for ApiFailure {
    fn from(e: AdminError) -> Self {
        ApiFailure::Admin(e)
    }
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiFailure::Unauthorized { description, .. }
            | ApiFailure::Forbidden(description)
            | ApiFailure::BadRequest(description) => f.write_str(description),
            ApiFailure::Admin(e) => write!(f, "{e}"),
        }
    }
}

impl ResponseError for ApiFailure {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiFailure::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiFailure::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiFailure::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiFailure::Admin(e) => admin_status(e),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let realm = "Bearer realm=\"cardinal-admin\"";
        let (status, challenge, body) = match self {
            ApiFailure::Unauthorized {
                token_sent,
                description,
            } => {
                let challenge = if *token_sent {
                    format!(
                        "{realm}, error=\"invalid_token\", error_description=\"{}\"",
                        description.replace('"', "'")
                    )
                } else {
                    realm.to_string()
                };
                let body = ApiError::new("invalid_token", description, None);
                (StatusCode::UNAUTHORIZED, Some(challenge), body)
            }
            ApiFailure::Forbidden(description) => (
                StatusCode::FORBIDDEN,
                Some(format!(
                    "{realm}, error=\"insufficient_scope\", scope=\"{ADMIN_SCOPE}\""
                )),
                ApiError::new("insufficient_scope", description, None),
            ),
            ApiFailure::BadRequest(description) => (
                StatusCode::BAD_REQUEST,
                None,
                ApiError::new("invalid_request", description, None),
            ),
            ApiFailure::Admin(e) => (
                reported_status(e),
                None,
                ApiError {
                    code: e.rule().map(str::to_string),
                    ..ApiError::new(e.code(), &e.public_message(), e.field())
                },
            ),
        };
        let mut resp = HttpResponse::build(status);
        if let Some(challenge) = challenge {
            resp.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        resp.insert_header((header::CACHE_CONTROL, "no-store"))
            .json(body)
    }
}
