//! The peer: the npm package `oidc-provider` installed into `target/bench/peer` (once per
//! version) and started with `tests/bench/peer/provider.mjs`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use crate::report::{PeerFacts, Stat};
use crate::server::{free_port, wait_ready, Proc};
use crate::wrk::Load;

/// The version measured (the one issue 13's figures were taken with).
pub const VERSION: &str = "9.13.3";
pub const CLIENT_ID: &str = "bench";

/// The installed version of oidc-provider in `dir`, if any.
fn installed(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("node_modules/oidc-provider/package.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("version")
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// Installs oidc-provider [`VERSION`] into `dir` with npm unless it is there already, and
/// copies the provider script next to it (ES modules resolve imports from the script's
/// folder).
pub fn install(dir: &Path, script: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    if installed(dir).as_deref() != Some(VERSION) {
        let package = serde_json::json!({
            "name": "cardinal-bench-peer",
            "private": true,
            "type": "module",
            "dependencies": { "oidc-provider": VERSION }
        });
        std::fs::write(
            dir.join("package.json"),
            serde_json::to_string_pretty(&package)?,
        )?;
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--omit=dev"])
            .arg("--loglevel=error")
            .current_dir(dir)
            .status()
            .context("cannot run npm (Node 20 and npm are needed for the peer)")?;
        if !status.success() || installed(dir).as_deref() != Some(VERSION) {
            bail!(
                "npm could not install oidc-provider {VERSION} into {} (is the npm registry reachable?)",
                dir.display()
            );
        }
    }
    let target = dir.join("provider.mjs");
    std::fs::copy(script, &target)
        .with_context(|| format!("cannot copy {} into {}", script.display(), dir.display()))?;
    Ok(target)
}

/// A running peer.
pub struct Peer {
    pub url: String,
    pub proc: Proc,
    pub ready_after: Duration,
    pub secret: String,
}

impl Peer {
    /// `Authorization: Basic …` of the peer's client.
    pub fn basic(&self) -> String {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{CLIENT_ID}:{}", self.secret))
        )
    }
}

/// Starts `node provider.mjs PORT` and waits until discovery answers.
pub async fn start(script: &Path, log: &Path) -> anyhow::Result<Peer> {
    let port = free_port()?;
    let secret = cardinal::crypto::random_token(24);
    let mut cmd = Command::new("node");
    cmd.arg(script)
        .arg(port.to_string())
        .env("NODE_ENV", "production")
        .env("PEER_CLIENT_ID", CLIENT_ID)
        .env("PEER_CLIENT_SECRET", &secret);
    if let Some(dir) = script.parent() {
        cmd.current_dir(dir);
    }
    let started = Instant::now();
    let mut proc = Proc::spawn("oidc-provider", cmd, log)?;
    let url = format!("http://127.0.0.1:{port}");
    let ready_after = wait_ready(
        &mut proc,
        &format!("{url}/.well-known/openid-configuration"),
        started,
        Duration::from_secs(60),
    )
    .await?;
    Ok(Peer {
        url,
        proc,
        ready_after,
        secret,
    })
}

/// Installs and starts the peer, and measures discovery, JWKS and client_credentials (RS256
/// and ES256 JWT access tokens) at each connection count. When npm or node fails, the
/// table says so instead of failing the run.
pub async fn measure(ctx: &crate::backend::Ctx, source: &Path, dir: &Path) -> PeerFacts {
    match try_measure(ctx, source, dir).await {
        Ok(facts) => facts,
        Err(e) => {
            eprintln!("  the peer could not be measured: {e:#}");
            PeerFacts {
                version: VERSION.into(),
                missing: Some(
                    format!("{e:#}")
                        .lines()
                        .next()
                        .unwrap_or("failed")
                        .to_string(),
                ),
                ..Default::default()
            }
        }
    }
}

async fn try_measure(
    ctx: &crate::backend::Ctx,
    source: &Path,
    dir: &Path,
) -> anyhow::Result<PeerFacts> {
    let script = tokio::task::block_in_place(|| install(dir, source))?;
    let peer = start(&script, &ctx.run_dir.join("peer.log")).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss_idle, _) = peer.proc.memory_kib()?;
    let mut rows: Vec<(&'static str, Vec<(u32, Stat)>)> = Vec::new();
    let token = |resource: &str| Load::Post {
        path: "/token",
        headers: vec![("Authorization", peer.basic())],
        body: format!("grant_type=client_credentials&scope=api&resource={resource}"),
    };
    let figures: [(&'static str, Load<'_>); 4] = [
        (
            "discovery",
            Load::Get {
                path: "/.well-known/openid-configuration",
                headers: vec![],
            },
        ),
        (
            "jwks",
            Load::Get {
                path: "/jwks",
                headers: vec![],
            },
        ),
        ("cc_rs256", token("urn%3Abench%3Ars256")),
        ("cc_es256", token("urn%3Abench%3Aes256")),
    ];
    for (key, l) in &figures {
        let mut list = Vec::new();
        for conns in ctx.connections {
            let mut s = crate::backend::load(
                ctx,
                None,
                &peer.url,
                l,
                conns,
                &format!("peer-{key}-c{conns}"),
            )?;
            s.cpu_ms = None;
            list.push((conns, s));
        }
        rows.push((key, list));
    }
    let (_, rss_peak) = peer.proc.memory_kib()?;
    Ok(PeerFacts {
        version: VERSION.into(),
        ready_ms: peer.ready_after.as_secs_f64() * 1000.0,
        rss_idle_mib: rss_idle as f64 / 1024.0,
        rss_peak_mib: rss_peak as f64 / 1024.0,
        rows,
        missing: None,
    })
}
