//! `/admin/api/v1/openapi.json`: the API's OpenAPI document, generated from the handlers.

use actix_web::HttpResponse;
use utoipa::OpenApi;

use super::audit::*;
use super::clients::*;
use super::keys::*;
use super::notices::*;
use super::registrations::*;
use super::ApiError;
use crate::admin::audit::AuditView;
use crate::admin::clients::{ClientInput, ClientView, ClientWithSecret, RotatedSecret};
use crate::admin::keys::{KeyView, RotateRequest, RotatedKey};
use crate::admin::notices::{NoticeInput, NoticeView};
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

/// What every protected route shares, declared once: the bearer scheme, the security
/// requirement (`cardinal:admin`) and the refusals 401 (no or bad token) and 403 (no admin
/// scope), both with the [`ApiError`] body. Only this document itself is public.
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        for (path, item) in openapi.paths.paths.iter_mut() {
            if path.ends_with("/openapi.json") {
                continue;
            }
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ];
            for op in operations.into_iter().flatten() {
                op.security = Some(vec![SecurityRequirement::new("bearer", ["cardinal:admin"])]);
                for (status, why) in [
                    (
                        "401",
                        "No token, or one that is expired, revoked or not from this server",
                    ),
                    ("403", "The token lacks the cardinal:admin scope"),
                ] {
                    let body = ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ApiError")))
                        .build();
                    op.responses.responses.insert(
                        status.into(),
                        ResponseBuilder::new()
                            .description(why)
                            .content("application/json", body)
                            .build()
                            .into(),
                    );
                }
            }
        }
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
         description = "Clients, registrations, the audit log, signing keys and service notices of a Cardinal identity provider. Bearer tokens: client_credentials with the cardinal:admin scope."),
    paths(list_clients, create_client, get_client, update_client, delete_client, rotate_client_secret,
          search_registrations, get_registration, delete_registration, deactivate_registration,
          reactivate_registration, unlock_registration, end_sessions,
          list_audit, export_audit, list_keys, rotate_keys,
          list_notices, create_notice, get_notice, update_notice, delete_notice, get_openapi),
    components(schemas(ApiError, ClientView, ClientInput, ClientWithSecret, RotatedSecret,
                       RegistrationView, RegistrationDetailView, CardView, DeactivateRequest,
                       AuditView, KeyView, RotateRequest, RotatedKey, NoticeView, NoticeInput)),
    modifiers(&BearerScheme),
    tags((name = "clients"), (name = "registrations"), (name = "audit"), (name = "keys"), (name = "notices"), (name = "meta"))
)]
pub struct ApiDoc;
