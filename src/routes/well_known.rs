//! Discovery and JWKS.

use actix_web::{web, HttpResponse};

use super::responses::oauth_json_error;
use super::AppState;
use crate::oidc::OAuthError;

pub async fn get_openid_configuration(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "public, max-age=300"))
        .json(state.engine.discovery())
}

pub async fn get_jwks(state: web::Data<AppState>) -> HttpResponse {
    let engine = state.engine.clone();
    match web::block(move || engine.keys().jwks(engine.now())).await {
        Ok(Ok(jwks)) => HttpResponse::Ok()
            .insert_header(("cache-control", "public, max-age=300"))
            .content_type("application/jwk-set+json")
            .json(jwks),
        Ok(Err(e)) => oauth_json_error(&OAuthError::server(e), false),
        Err(e) => oauth_json_error(&super::responses::blocking_failed(e), false),
    }
}
