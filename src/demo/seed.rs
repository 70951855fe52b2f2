//! What the demo puts in Cardinal's database at every start: the demo residents and the
//! two portals as clients, with fresh secrets.

use anyhow::anyhow;

use super::Origins;
use crate::admin::clients::records as clients;
use crate::admin::clients::{ClientDraft, ClientError};
use crate::oidc::Engine;

/// The demo residents (also `examples/demo/residents.csv`).
const RESIDENTS: &str = include_str!("../../examples/demo/residents.csv");

/// The portals' client secrets.
pub(super) struct Secrets {
    pub ecpa: String,
    pub webhr: String,
}

/// Imports the demo residents and registers (or updates) the eCPA and WebHR clients.
pub(super) async fn seed(engine: &Engine, origins: &Origins) -> anyhow::Result<Secrets> {
    {
        let engine = engine.clone();
        tokio::task::spawn_blocking(move || {
            crate::registry::import(
                engine.store(),
                engine.ring(),
                RESIDENTS.as_bytes(),
                engine.now(),
            )
        })
        .await??;
    }
    let ecpa = register_client(engine, "ecpa", "人事服務網 eCPA", &origins.ecpa, true).await?;
    let webhr = register_client(
        engine,
        "webhr",
        "人力資源管理資訊系統 WebHR",
        &origins.webhr,
        false,
    )
    .await?;
    Ok(Secrets { ecpa, webhr })
}

/// Registers (or updates) a portal's client; returns a fresh secret.
async fn register_client(
    engine: &Engine,
    client_id: &str,
    name: &str,
    url: &str,
    first_party: bool,
) -> anyhow::Result<String> {
    let draft = ClientDraft {
        client_id: Some(client_id.into()),
        name: Some(name.into()),
        redirect_uris: Some(vec![format!("{url}/callback")]),
        post_logout_redirect_uris: Some(vec![format!("{url}/")]),
        backchannel_logout_uri: Some(Some(format!("{url}/backchannel-logout"))),
        grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
        auth_method: Some("client_secret_basic".into()),
        scopes: Some(vec![
            "openid".into(),
            "profile".into(),
            "email".into(),
            "offline_access".into(),
        ]),
        skip_consent: Some(first_party),
        ..ClientDraft::default()
    };
    let engine = engine.clone();
    let id = client_id.to_string();
    tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        match clients::create(&engine, &draft) {
            Ok((_, Some(secret))) => Ok(secret),
            Ok((_, None)) => Err(anyhow!("client {id} got no secret")),
            Err(ClientError::Taken(_)) => {
                clients::update(&engine, &id, &draft)?;
                Ok(clients::rotate_secret(&engine, &id)?)
            }
            Err(e) => Err(e.into()),
        }
    })
    .await?
}
