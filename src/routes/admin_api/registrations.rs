//! `/admin/api/v1/registrations`: search, show and delete registrations; deactivate,
//! reactivate, unlock and end the sessions of a person.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use serde::Deserialize;

use super::{body, query, ApiError, Caller, Reply};
use crate::admin::registrations::{
    self as registrations, DeactivateRequest, RegistrationDetailView, RegistrationView,
};
use crate::admin::Page;

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

/// Search registrations by card number, national ID or part of the name (national IDs
/// are returned masked).
#[utoipa::path(get, path = "/admin/api/v1/registrations", tag = "registrations", params(SearchQuery),
    responses((status = 200, body = Page<RegistrationView>), (status = 400, body = ApiError),
              (status = 422, body = ApiError)))]
pub async fn search_registrations(api: Caller, req: HttpRequest) -> Reply {
    let q: SearchQuery = query(&req)?;
    api.json(StatusCode::OK, move |e, _| {
        registrations::search(e, q.q.as_deref(), q.limit, q.cursor.as_deref())
    })
    .await
}

/// A registration with its status and audit trail.
#[utoipa::path(get, path = "/admin/api/v1/registrations/{person_id}", tag = "registrations",
    params(("person_id" = String, Path)),
    responses((status = 200, body = RegistrationDetailView), (status = 404, body = ApiError)))]
pub async fn get_registration(api: Caller, id: web::Path<String>) -> Reply {
    api.json(StatusCode::OK, move |e, _| registrations::detail(e, &id))
        .await
}

/// Delete a pending application (刪除註冊申請); 409 for any other state.
#[utoipa::path(delete, path = "/admin/api/v1/registrations/{person_id}", tag = "registrations",
    params(("person_id" = String, Path)),
    responses((status = 204), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn delete_registration(api: Caller, id: web::Path<String>) -> Reply {
    api.no_content(move |e, a| registrations::delete_pending(e, a, &id))
        .await
}

/// Deactivate at the counter (reason required): the person can no longer sign in, every
/// session ends (back-channel logout) and every grant is revoked.
#[utoipa::path(post, path = "/admin/api/v1/registrations/{person_id}/deactivate", tag = "registrations",
    params(("person_id" = String, Path)), request_body = DeactivateRequest,
    responses((status = 200, body = RegistrationDetailView), (status = 400, body = ApiError),
              (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
pub async fn deactivate_registration(
    api: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    bytes: web::Bytes,
) -> Reply {
    let input: DeactivateRequest = body(&req, &bytes, false)?;
    api.changed(move |e, a| registrations::deactivate(e, a, &id, &input.reason))
        .await
}

/// Reactivate a deactivated registration.
#[utoipa::path(post, path = "/admin/api/v1/registrations/{person_id}/reactivate", tag = "registrations",
    params(("person_id" = String, Path)),
    responses((status = 200, body = RegistrationDetailView), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn reactivate_registration(api: Caller, id: web::Path<String>) -> Reply {
    api.changed(move |e, a| registrations::reactivate(e, a, &id))
        .await
}

/// Unlock a registration locked by wrong passwords.
#[utoipa::path(post, path = "/admin/api/v1/registrations/{person_id}/unlock", tag = "registrations",
    params(("person_id" = String, Path)),
    responses((status = 200, body = RegistrationDetailView), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn unlock_registration(api: Caller, id: web::Path<String>) -> Reply {
    api.changed(move |e, a| registrations::unlock(e, a, &id))
        .await
}

/// End every session of the person (back-channel logout to their clients) and revoke every
/// grant, offline ones included.
#[utoipa::path(post, path = "/admin/api/v1/registrations/{person_id}/end-sessions", tag = "registrations",
    params(("person_id" = String, Path)),
    responses((status = 200, body = RegistrationDetailView), (status = 404, body = ApiError)))]
pub async fn end_sessions(api: Caller, id: web::Path<String>) -> Reply {
    api.changed(move |e, a| registrations::end_sessions(e, a, &id))
        .await
}
