//! `POST /token`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::responses::{blocking_failed, no_store_json, oauth_json_error};
use super::AppState;
use crate::oidc::client_auth::ClientAuthInput;
use crate::oidc::grants::TokenRequest;
use crate::oidc::request::RawParams;
use crate::oidc::OAuthError;

/// Parses an `application/x-www-form-urlencoded` body into parameters.
pub fn form_params(req: &HttpRequest, body: &[u8]) -> Result<RawParams, OAuthError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| OAuthError::invalid_request("the form body is malformed"))?;
    Ok(RawParams::new(pairs))
}

pub fn auth_input(req: &HttpRequest, params: RawParams) -> ClientAuthInput {
    ClientAuthInput {
        authorization_header: req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        params,
    }
}

pub async fn post_token(
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
        let request = TokenRequest::parse(&input.params)?;
        engine.token(&client, request)
    })
    .await;
    match result {
        Ok(Ok(resp)) => no_store_json(&resp),
        Ok(Err(e)) => oauth_json_error(&e, basic),
        Err(e) => oauth_json_error(&blocking_failed(e), false),
    }
}
