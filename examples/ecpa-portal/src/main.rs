//! `ecpa-portal`: runs the example relying party on its own.

use std::net::TcpListener;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use clap::Parser;
use ecpa_portal::{PortalConfig, PortalKind};
use url::Url;

#[derive(Debug, Parser)]
#[command(
    name = "ecpa-portal",
    about = "The eCPA portal (人事服務網) as an OpenID Connect relying party of Cardinal"
)]
struct Args {
    /// Issuer of the OpenID provider (Cardinal).
    #[arg(long, env = "ECPA_ISSUER", default_value = "http://127.0.0.1:8080")]
    issuer: Url,
    /// The client id registered at the provider.
    #[arg(long, env = "ECPA_CLIENT_ID")]
    client_id: String,
    /// The client secret (client_secret_basic); omit for a public client.
    #[arg(long, env = "ECPA_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "ECPA_LISTEN", default_value = "127.0.0.1:8081")]
    listen: String,
    /// URL browsers use to reach the portal (default: http://{listen}/).
    #[arg(long, env = "ECPA_PUBLIC_URL")]
    public_url: Option<Url>,
    /// Page title (default by kind).
    #[arg(long, env = "ECPA_TITLE", default_value = "")]
    title: String,
    /// ecpa (人事服務網) or webhr (人力資源管理資訊系統).
    #[arg(long, env = "ECPA_KIND", default_value = "ecpa", value_parser = parse_kind)]
    kind: PortalKind,
    /// On eCPA: the WebHR portal, linked from 應用系統.
    #[arg(long, env = "ECPA_WEBHR_URL")]
    webhr_url: Option<Url>,
    /// On WebHR: the eCPA portal, linked back.
    #[arg(long, env = "ECPA_ECPA_URL")]
    ecpa_url: Option<Url>,
    /// 電腦環境說明 (default: {issuer}/help/environment).
    #[arg(long, env = "ECPA_CARDINAL_HELP_URL")]
    cardinal_help_url: Option<Url>,
    /// 健保卡網路服務註冊 (default: {issuer}/register).
    #[arg(long, env = "ECPA_CARDINAL_REGISTER_URL")]
    cardinal_register_url: Option<Url>,
    /// 使用手冊 (default: {issuer}/help/manual).
    #[arg(long, env = "ECPA_CARDINAL_MANUAL_URL")]
    cardinal_manual_url: Option<Url>,
}

fn parse_kind(value: &str) -> Result<PortalKind, String> {
    PortalKind::parse(value).ok_or_else(|| format!("unknown kind {value:?}: use ecpa or webhr"))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&args.listen)
        .with_context(|| format!("Failed to listen on {}", args.listen))?;
    let public_url = match args.public_url {
        Some(u) => u,
        None => {
            let addr = listener.local_addr()?;
            Url::parse(&format!("http://{addr}/"))?
        }
    };
    let config = PortalConfig {
        issuer: args.issuer,
        client_id: args.client_id,
        client_secret: args.client_secret.filter(|s| !s.is_empty()),
        public_url,
        title: args.title,
        kind: args.kind,
        webhr_url: args.webhr_url,
        ecpa_url: args.ecpa_url,
        help_url: args.cardinal_help_url,
        register_url: args.cardinal_register_url,
        manual_url: args.cardinal_manual_url,
    };
    println!("{} on {}", config.effective_title(), config.public_url);
    println!("  redirect URI:             {}", config.redirect_uri()?);
    println!(
        "  back-channel logout URI:  {}",
        config.backchannel_logout_uri()?
    );
    println!(
        "  post-logout redirect URI: {}",
        config.post_logout_redirect_uri()
    );
    let server = ecpa_portal::build(config, listener).await?;
    server.await.map_err(|e| anyhow!(e))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
