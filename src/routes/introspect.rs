//! `POST /introspect` (RFC 7662) and `POST /revoke` (RFC 7009).

use actix_web::{web, HttpRequest, HttpResponse};

use super::responses::{blocking_failed, no_store_json, oauth_json_error};
use super::token::{auth_input, form_params};
use super::AppState;
use crate::oidc::OAuthError;

pub async fn post_introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let params = match form_params(&req, &body) {
        Ok(p) => p,
        Err(e) => return oauth_json_error(&e, false),
    };
    let input = auth_input(&req, params);
    let basic = input.used_basic();
    let engine = state.engine.clone();
    let result = web::block(move || {
        let client = engine.authenticate_client(&input)?;
        let token = input
            .params
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        engine.introspect(&client, token)
    })
    .await;
    match result {
        Ok(Ok(r)) => no_store_json(&r),
        Ok(Err(e)) => oauth_json_error(&e, basic),
        Err(e) => oauth_json_error(&blocking_failed(e), false),
    }
}

pub async fn post_revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let params = match form_params(&req, &body) {
        Ok(p) => p,
        Err(e) => return oauth_json_error(&e, false),
    };
    let input = auth_input(&req, params);
    let basic = input.used_basic();
    let engine = state.engine.clone();
    let result = web::block(move || {
        let client = engine.authenticate_client(&input)?;
        let token = input
            .params
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        engine.revoke(&client, token)
    })
    .await;
    match result {
        Ok(Ok(())) => HttpResponse::Ok()
            .insert_header(("cache-control", "no-store"))
            .finish(),
        Ok(Err(e)) => oauth_json_error(&e, basic),
        Err(e) => oauth_json_error(&blocking_failed(e), false),
    }
}
