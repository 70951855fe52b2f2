//! The eCPA personnel portal (人事服務網) as an OpenID Connect relying party of Cardinal —
//! an example of using the `openidconnect` crate against it: discovery, code flow with
//! PKCE and nonce, ID-token validation, userinfo, step-up with `acr_values`, RP-initiated
//! and back-channel logout. Run twice (eCPA and WebHR) it shows single sign-on and
//! single logout (docs/requirements.md R-RP).

pub mod catalog;
pub mod claims;
pub mod clock;
pub mod config;
pub mod i18n;
pub mod logout_token;
pub mod notices;
pub mod portal;
pub mod provider;
mod routes;
pub mod sessions;
pub mod verify;
pub mod views;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

pub use config::{PortalConfig, PortalKind};

/// Discovers the provider (which must already be listening) and returns the portal's
/// server on `listener`, ready to be spawned or awaited.
pub async fn build(config: PortalConfig, listener: TcpListener) -> anyhow::Result<Server> {
    let issuer_origin = config.issuer.origin().ascii_serialization();
    let kind = config.kind;
    let portal = web::Data::new(portal::Portal::new(config).await?);
    let address = listener.local_addr().ok();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(portal.clone())
            .wrap(routes::security_headers(&issuer_origin))
            .configure(routes::configure)
    })
    // An example portal; one worker is plenty and keeps `cardinal demo` light.
    .workers(1)
    .listen(listener)
    .context("Failed to listen")?
    .run();
    tracing::info!(%kind, address = ?address, "portal ready");
    Ok(server)
}
