//! `/admin/api/v1/keys`: the signing keys, and their rotation.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};

use super::{body, ApiError, Caller, Reply};
use crate::admin::keys::{self, KeyView, RotateRequest, RotatedKey};

/// Signing keys with their state (next, active, retired, expired).
#[utoipa::path(get, path = "/admin/api/v1/keys", tag = "keys",
    responses((status = 200, body = Vec<KeyView>)))]
pub async fn list_keys(api: Caller) -> Reply {
    api.json(StatusCode::OK, |e, _| keys::list(e)).await
}

/// Rotate: publish new keys that sign after keys.prepublish_secs (or at once with `now`).
#[utoipa::path(post, path = "/admin/api/v1/keys/rotate", tag = "keys", request_body(content = RotateRequest, description = "optional"),
    responses((status = 200, body = Vec<RotatedKey>), (status = 400, body = ApiError),
              (status = 422, body = ApiError)))]
pub async fn rotate_keys(api: Caller, req: HttpRequest, bytes: web::Bytes) -> Reply {
    let input: RotateRequest = body(&req, &bytes, true)?;
    api.json(StatusCode::OK, move |e, a| keys::rotate(e, a, &input))
        .await
}
