//! `/admin/api/v1/clients`: list, register, show, change and delete clients, and rotate
//! their secrets.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};

use super::{body, query, ApiError, Caller, ListQuery, Reply};
use crate::admin::clients::{self, ClientInput, ClientView, ClientWithSecret, RotatedSecret};
use crate::admin::Page;

/// List clients, ordered by client_id.
#[utoipa::path(get, path = "/admin/api/v1/clients", tag = "clients", params(ListQuery),
    responses((status = 200, body = Page<ClientView>), (status = 400, body = ApiError),
              (status = 422, body = ApiError)))]
pub async fn list_clients(api: Caller, req: HttpRequest) -> Reply {
    let q: ListQuery = query(&req)?;
    api.json(StatusCode::OK, move |e, _| {
        clients::list(e, q.limit, q.cursor.as_deref())
    })
    .await
}

/// Register a client. The response carries the secret, once.
#[utoipa::path(post, path = "/admin/api/v1/clients", tag = "clients", request_body = ClientInput,
    responses((status = 201, body = ClientWithSecret), (status = 400, body = ApiError),
              (status = 409, body = ApiError), (status = 422, body = ApiError)))]
pub async fn create_client(api: Caller, req: HttpRequest, bytes: web::Bytes) -> Reply {
    let input: ClientInput = body(&req, &bytes, false)?;
    api.json(StatusCode::CREATED, move |e, a| {
        clients::create(e, a, input)
    })
    .await
}

/// One client.
#[utoipa::path(get, path = "/admin/api/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = ClientView), (status = 404, body = ApiError)))]
pub async fn get_client(api: Caller, id: web::Path<String>) -> Reply {
    api.json(StatusCode::OK, move |e, _| clients::show(e, &id))
        .await
}

/// Change a client: fields given replace the current values (`null` removes
/// backchannel_logout_uri or min_acr). A switch to a secret-based auth method returns a
/// new secret, once.
#[utoipa::path(patch, path = "/admin/api/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)), request_body = ClientInput,
    responses((status = 200, body = ClientWithSecret), (status = 400, body = ApiError),
              (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn update_client(
    api: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    bytes: web::Bytes,
) -> Reply {
    let input: ClientInput = body(&req, &bytes, false)?;
    api.json(StatusCode::OK, move |e, a| {
        clients::update(e, a, &id, input)
    })
    .await
}

/// Delete a client and every token issued to it.
#[utoipa::path(delete, path = "/admin/api/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 204), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn delete_client(api: Caller, id: web::Path<String>) -> Reply {
    api.no_content(move |e, a| clients::delete(e, a, &id)).await
}

/// Make a new secret (shown once); the old one stops working.
#[utoipa::path(post, path = "/admin/api/v1/clients/{client_id}/secret", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = RotatedSecret), (status = 404, body = ApiError),
              (status = 422, body = ApiError)))]
pub async fn rotate_client_secret(api: Caller, id: web::Path<String>) -> Reply {
    api.json(StatusCode::OK, move |e, a| {
        clients::rotate_secret(e, a, &id)
    })
    .await
}
