//! The example portals eCPA and WebHR, started as clients of the demo's Cardinal.

use std::net::TcpListener;

use anyhow::Context;
use ecpa_portal::PortalKind;

use super::seed::Secrets;
use super::{Origins, Tasks};

/// Builds both portals on their listeners and adds their servers to `tasks`.
pub(super) async fn start(
    tasks: &mut Tasks,
    origins: &Origins,
    ecpa: TcpListener,
    webhr: TcpListener,
    secrets: Secrets,
) -> anyhow::Result<()> {
    let (ecpa_url, webhr_url) = (origins.ecpa.as_str(), origins.webhr.as_str());
    let issuer = url::Url::parse(&origins.cardinal)?;
    let help = issuer.join("/help/environment")?;
    let portal = |kind, id: &str, secret, url: &str, title: &str| ecpa_portal::PortalConfig {
        issuer: issuer.clone(),
        client_id: id.to_string(),
        client_secret: Some(secret),
        public_url: url::Url::parse(&format!("{url}/")).unwrap_or_else(|_| issuer.clone()),
        title: title.to_string(),
        kind,
        webhr_url: url::Url::parse(&format!("{webhr_url}/")).ok(),
        ecpa_url: url::Url::parse(&format!("{ecpa_url}/")).ok(),
        help_url: Some(help.clone()),
        register_url: None,
        manual_url: None,
    };
    let portals = [
        (
            PortalKind::Ecpa,
            "ecpa",
            secrets.ecpa,
            ecpa_url,
            "人事服務網 eCPA",
            ecpa,
            "eCPA portal",
        ),
        (
            PortalKind::WebHr,
            "webhr",
            secrets.webhr,
            webhr_url,
            "人力資源管理資訊系統",
            webhr,
            "WebHR portal",
        ),
    ];
    for (kind, id, secret, url, title, listener, what) in portals {
        let server = ecpa_portal::build(portal(kind, id, secret, url, title), listener)
            .await
            .context(what)?;
        tasks.push(tokio::spawn(server));
    }
    Ok(())
}
