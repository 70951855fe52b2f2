//! `/admin/api/v1/notices`: list, create, show, change and remove service notices
//! (服務公告) and their maintenance windows.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};

use super::{body, query, ApiError, Caller, ListQuery, Reply};
use crate::admin::notices::{self, NoticeInput, NoticeView};
use crate::admin::Page;

/// List notices, the latest `shown_from` first (ended ones too).
#[utoipa::path(get, path = "/admin/api/v1/notices", tag = "notices", params(ListQuery),
    responses((status = 200, body = Page<NoticeView>), (status = 400, body = ApiError),
              (status = 422, body = ApiError)))]
pub async fn list_notices(api: Caller, req: HttpRequest) -> Reply {
    let q: ListQuery = query(&req)?;
    api.json(StatusCode::OK, move |e, _| {
        notices::list(e, q.limit, q.cursor.as_deref())
    })
    .await
}

/// Create a notice: both texts and at least one place are required; shown from now unless
/// `shown_from` says otherwise. Times without an offset are Taiwan time.
#[utoipa::path(post, path = "/admin/api/v1/notices", tag = "notices", request_body = NoticeInput,
    responses((status = 201, body = NoticeView), (status = 400, body = ApiError),
              (status = 422, body = ApiError)))]
pub async fn create_notice(api: Caller, req: HttpRequest, bytes: web::Bytes) -> Reply {
    let input: NoticeInput = body(&req, &bytes, false)?;
    api.json(StatusCode::CREATED, move |e, a| {
        notices::create(e, a, &input)
    })
    .await
}

/// One notice.
#[utoipa::path(get, path = "/admin/api/v1/notices/{notice_id}", tag = "notices",
    params(("notice_id" = String, Path)),
    responses((status = 200, body = NoticeView), (status = 404, body = ApiError)))]
pub async fn get_notice(api: Caller, id: web::Path<String>) -> Reply {
    api.json(StatusCode::OK, move |e, _| notices::show(e, &id))
        .await
}

/// Change a notice: fields given replace the current values (`null` removes `shown_until`
/// or the maintenance window).
#[utoipa::path(patch, path = "/admin/api/v1/notices/{notice_id}", tag = "notices",
    params(("notice_id" = String, Path)), request_body = NoticeInput,
    responses((status = 200, body = NoticeView), (status = 400, body = ApiError),
              (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn update_notice(
    api: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    bytes: web::Bytes,
) -> Reply {
    let input: NoticeInput = body(&req, &bytes, false)?;
    api.json(StatusCode::OK, move |e, a| {
        notices::update(e, a, &id, &input)
    })
    .await
}

/// Remove a notice (its maintenance window ends with it).
#[utoipa::path(delete, path = "/admin/api/v1/notices/{notice_id}", tag = "notices",
    params(("notice_id" = String, Path)),
    responses((status = 204), (status = 404, body = ApiError)))]
pub async fn delete_notice(api: Caller, id: web::Path<String>) -> Reply {
    api.no_content(move |e, a| notices::delete(e, a, &id)).await
}
