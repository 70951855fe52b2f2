//! `GET` and `POST /userinfo`. The access token is accepted only in the Authorization
//! header (FAPI 2.0 §5.3.4), never in the query or body.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::responses::{bearer_error, bearer_token, blocking_failed, no_store_json};
use super::AppState;
use crate::oidc::OAuthError;

pub async fn userinfo(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if req
        .query_string()
        .split('&')
        .any(|p| p.starts_with("access_token="))
    {
        return bearer_error(&OAuthError::invalid_request(
            "send the access token in the Authorization header, not the URL",
        ));
    }
    let Some(token) = bearer_token(&req) else {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"cardinal\""))
            .json(serde_json::json!({"error": "invalid_request", "error_description": "an access token is required (Authorization: Bearer …)"}));
    };
    let engine = state.engine.clone();
    match web::block(move || engine.userinfo(&token)).await {
        Ok(Ok(info)) => no_store_json(&info),
        Ok(Err(e)) => bearer_error(&e),
        Err(e) => bearer_error(&blocking_failed(e)),
    }
}
