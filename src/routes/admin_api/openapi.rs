//! `/admin/api/v1/openapi.json`: the API's OpenAPI document, generated from the handlers.

use actix_web::HttpResponse;
use utoipa::OpenApi;

use super::audit::*;
use super::clients::*;
use super::keys::*;
use super::registrations::*;
use super::ApiError;
use crate::admin::audit::AuditView;
use crate::admin::clients::{ClientInput, ClientView, ClientWithSecret, RotatedSecret};
use crate::admin::keys::{KeyView, RotateRequest, RotatedKey};
use crate::admin::registrations::{
    CardView, DeactivateRequest, RegistrationDetailView, RegistrationView,
};

/// This document.
#[utoipa::path(get, path = "/admin/api/v1/openapi.json", tag = "meta",
    responses((status = 200, content_type = "application/json", description = "The OpenAPI document")))]
pub async fn get_openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(ApiDoc::openapi().to_pretty_json().unwrap_or_default())
}

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from POST /token with grant_type=client_credentials and scope=cardinal:admin",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Cardinal admin API", version = "1",
         description = "Clients, registrations, the audit log and signing keys of a Cardinal identity provider. Bearer tokens: client_credentials with the cardinal:admin scope."),
    paths(list_clients, create_client, get_client, update_client, delete_client, rotate_client_secret,
          search_registrations, get_registration, delete_registration, deactivate_registration,
          reactivate_registration, unlock_registration, end_sessions,
          list_audit, export_audit, list_keys, rotate_keys, get_openapi),
    components(schemas(ApiError, ClientView, ClientInput, ClientWithSecret, RotatedSecret,
                       RegistrationView, RegistrationDetailView, CardView, DeactivateRequest,
                       AuditView, KeyView, RotateRequest, RotatedKey)),
    modifiers(&BearerScheme),
    tags((name = "clients"), (name = "registrations"), (name = "audit"), (name = "keys"), (name = "meta"))
)]
pub struct ApiDoc;
