//! One database (SQLite or PostgreSQL): its configuration, seeding, server starts and the
//! endpoint measurements.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use cardinal::clock::SystemClock;
use cardinal::configuration::Settings;
use cardinal::oidc::Engine;
use cardinal::startup::Services;

use crate::report::{BackendReport, Row, Stat};
use crate::seed::{self, Card, Rp};
use crate::server::{free_port, Cardinal};
use crate::signin::{self, SignIns};
use crate::wrk::{self, Load};

/// What every measurement of a run shares.
pub struct Ctx {
    pub binary: PathBuf,
    pub run_dir: PathBuf,
    pub duration: Duration,
    pub connections: [u32; 2],
    pub ca_dir: PathBuf,
    pub cards: Arc<Vec<Card>>,
    /// The next card to sign in with, across every sign-in run.
    pub cursor: Arc<AtomicUsize>,
    /// The last sign-in run met 429 (the next one waits for a fresh limit window).
    pub refused_last: AtomicBool,
    pub limits: crate::limits::Limits,
}

/// A seeded database and what the bench holds of it.
pub struct Deployment {
    pub name: String,
    pub dir: PathBuf,
    pub database_url: String,
    pub engine: Engine,
    pub rp: Rp,
    pub people: Vec<String>,
}

/// Runs psql on `url` with one command; fails with its message.
pub fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
        .context("cannot run psql (Debian package postgresql-client)")?;
    if !out.status.success() {
        bail!(
            "psql {sql:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// The configuration of one instance: the defaults, except where it listens, its
/// database and data folder, the bench card CA, and the metrics port.
pub fn write_config(
    path: &Path,
    issuer: &str,
    port: u16,
    database_url: &str,
    data_dir: &Path,
    ca_dir: &Path,
) -> anyhow::Result<()> {
    let metrics = free_port()?;
    let q = |p: &Path| toml_string(&p.to_string_lossy());
    let text = format!(
        "# Written by cardinal-bench: the defaults but for these.\n\
         issuer = {}\nlisten = {}\ndatabase_url = {}\ndata_dir = {}\n\n\
         [metrics]\nlisten = {}\n\n\
         [card]\nnhi_ca_files = [{}]\ncrl_files = [{}]\n",
        toml_string(issuer),
        toml_string(&format!("127.0.0.1:{port}")),
        toml_string(database_url),
        q(data_dir),
        toml_string(&format!("127.0.0.1:{metrics}")),
        q(&ca_dir.join("ca.pem")),
        q(&ca_dir.join("crl.pem")),
    );
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Creates the database (a fresh SQLite file, or PostgreSQL database `cardinal_bench`
/// on `postgres`), migrates it, creates the keys and secret as the server would, and
/// seeds the relying party and one registration per card.
pub fn prepare(ctx: &Ctx, name: &str, postgres: Option<&str>) -> anyhow::Result<Deployment> {
    let dir = ctx.run_dir.join(name.to_lowercase());
    std::fs::create_dir_all(&dir)?;
    let database_url = match postgres {
        None => dir.join("cardinal.db").to_string_lossy().into_owned(),
        Some(server) => {
            let server = server.trim_end_matches('/');
            let admin = format!("{server}/postgres");
            psql(
                &admin,
                "DROP DATABASE IF EXISTS cardinal_bench WITH (FORCE)",
            )
            .with_context(|| format!("is PostgreSQL running at {server}? (--postgres)"))?;
            psql(&admin, "CREATE DATABASE cardinal_bench")?;
            format!("{server}/cardinal_bench")
        }
    };
    let config = dir.join("seed.toml");
    write_config(
        &config,
        "http://127.0.0.1:1",
        1,
        &database_url,
        &dir.join("data"),
        &ctx.ca_dir,
    )?;
    let settings = Settings::load(Some(&config))?;
    let services = Services::build(settings, Arc::new(SystemClock))
        .with_context(|| format!("cannot prepare the {name} database"))?;
    let engine = services.engine;
    let rp = seed::add_client(&engine)?;
    let started = Instant::now();
    let people = seed::register(&engine, &ctx.cards)?;
    println!(
        "  {name}: {} registrations in {:.1} s",
        people.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(Deployment {
        name: name.to_string(),
        dir,
        database_url,
        engine,
        rp,
        people,
    })
}

impl Deployment {
    /// Starts an instance on this database; `issuer` defaults to its own address.
    pub async fn start(
        &self,
        ctx: &Ctx,
        label: &str,
        issuer: Option<&str>,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Cardinal> {
        let port = free_port()?;
        let own = format!("http://127.0.0.1:{port}");
        let config = self.dir.join(format!("{label}.toml"));
        write_config(
            &config,
            issuer.unwrap_or(&own),
            port,
            &self.database_url,
            &self.dir.join("data"),
            &ctx.ca_dir,
        )?;
        let log = self.dir.join(format!("{label}.log"));
        Cardinal::start(
            &format!("cardinal ({} {label})", self.name),
            &ctx.binary,
            &config,
            port,
            env,
            &log,
        )
        .await
    }

    /// A real access token (openid profile email) for userinfo and introspection: one
    /// pre-issued code redeemed at `base`.
    pub async fn access_token(&self, base: &str) -> anyhow::Result<String> {
        let body = seed::issue_codes(&self.engine, &self.rp, &self.people, 1)?;
        let body = body.first().context("no code issued")?;
        let r = reqwest::Client::new()
            .post(format!("{base}/token"))
            .header("authorization", self.rp.basic())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await?;
        let status = r.status();
        let json: serde_json::Value = r.json().await?;
        json.get("access_token")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .with_context(|| format!("no access token from the code exchange ({status}): {json}"))
    }

    pub fn signin_setup(&self, ctx: &Ctx, base: &str) -> Arc<signin::Setup> {
        Arc::new(signin::Setup {
            base: base.to_string(),
            rp: self.rp.clone(),
            cards: ctx.cards.clone(),
            cursor: ctx.cursor.clone(),
        })
    }
}

/// Runs wrk for one figure at `conns` and notes the server's CPU time per request.
pub fn load(
    ctx: &Ctx,
    server: Option<&crate::server::Proc>,
    base: &str,
    load: &Load<'_>,
    conns: u32,
    name: &str,
) -> anyhow::Result<Stat> {
    let cpu_before = server.map(|p| p.cpu_seconds()).transpose()?;
    let m = tokio::task::block_in_place(|| {
        wrk::run(
            base,
            load,
            conns,
            ctx.duration,
            &ctx.run_dir.join("wrk"),
            name,
        )
    })?;
    let mut stat = Stat::from(m);
    if let (Some(p), Some(before)) = (server, cpu_before) {
        if m.done > 0 {
            stat.cpu_ms = Some((p.cpu_seconds()? - before) * 1000.0 / m.done as f64);
        }
    }
    println!(
        "  {name:<28} c{conns:<3} {:>9.1}/s  p50 {:>7.2} ms  p99 {:>7.2} ms{}",
        stat.rate,
        stat.p50_ms,
        stat.p99_ms,
        if m.failed > 0 {
            format!("  ({} not 2xx/3xx or failed)", m.failed)
        } else {
            String::new()
        }
    );
    Ok(stat)
}

/// Waits for the next one-minute window of the per-address limits (plus a second) when
/// the last sign-in run was refused, so that every run starts with the same allowance.
async fn fresh_limit_window(ctx: &Ctx) {
    if !ctx.refused_last.load(Ordering::Relaxed) {
        return;
    }
    use cardinal::clock::Clock as _;
    let into_minute = SystemClock.now().rem_euclid(60);
    let wait = u64::try_from(61 - into_minute).unwrap_or(1);
    println!("  (the last sign-in run met 429: waiting {wait} s for a fresh rate-limit window)");
    tokio::time::sleep(Duration::from_secs(wait)).await;
}

/// A sign-in run, printed.
pub async fn sign_ins(
    ctx: &Ctx,
    setup: Arc<signin::Setup>,
    conns: u32,
    name: &str,
) -> anyhow::Result<SignIns> {
    fresh_limit_window(ctx).await;
    let s = signin::run(setup, conns as usize, ctx.duration).await?;
    ctx.refused_last
        .store(s.refused_total() > 0, Ordering::Relaxed);
    println!(
        "  {name:<28} c{conns:<3} {:>9.1}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ({} of {} attempts completed, {} refused 429, {} failed)",
        s.rate,
        s.p50_ms,
        s.p99_ms,
        s.completed,
        s.attempts,
        s.refused_total(),
        s.failed
    );
    Ok(s)
}

/// What a sign-in run says beyond its rate.
pub fn signin_note(label: &str, conns: u32, s: &SignIns) -> String {
    let refused: Vec<String> = s
        .refused
        .iter()
        .map(|(step, n)| format!("{n} at {step}"))
        .collect();
    let mut note = format!(
        "{label}, {conns} users: {} sign-ins completed of {} attempts in {:.0} s; refused with 429: {}",
        s.completed,
        s.attempts,
        s.secs,
        if refused.is_empty() {
            "none".to_string()
        } else {
            refused.join(", ")
        }
    );
    if s.failed > 0 {
        note.push_str(&format!(
            "; {} failed otherwise (first: {})",
            s.failed,
            s.first_failure.as_deref().unwrap_or("?")
        ));
    }
    note
}

/// How many single-use credentials a run of `secs` at `rate` may spend, with room.
fn enough(rate: f64, secs: f64) -> usize {
    ((rate * secs * 1.3) as usize + 200).max(500)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Every endpoint figure and the sign-in on this database.
pub async fn measure(ctx: &Ctx, dep: &Deployment) -> anyhow::Result<BackendReport> {
    let secs = ctx.duration.as_secs_f64();
    let lim = &ctx.limits;
    let server = dep.start(ctx, "rs256", None, &[]).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss_idle, _) = server.proc.memory_kib()?;
    let base = server.url.clone();
    let p = Some(&server.proc);
    let basic = dep.rp.basic();
    let tag = dep.name.to_lowercase();
    let mut rows = Vec::new();

    let mut discovery = Row::new("discovery", "discovery");
    let mut jwks = Row::new("jwks", "JWKS");
    let mut cc = Row::new("cc_rs256", "client_credentials, RS256 JWT");
    cc.limit = Some(lim.rs256.all);
    let mut code = Row::new(
        "code",
        "authorization_code (pre-issued codes, RS256 ID + access token)",
    );
    code.limit = Some(lim.rs256.all / 2.0);
    let mut refresh = Row::new(
        "refresh",
        "refresh_token (rotation, RS256 ID + access token)",
    );
    refresh.limit = Some(lim.rs256.all / 2.0);
    let mut userinfo = Row::new("userinfo", "userinfo");
    let mut introspect = Row::new("introspect", "introspection");
    for conns in ctx.connections {
        let get = |path| Load::Get {
            path,
            headers: vec![],
        };
        let s = load(
            ctx,
            p,
            &base,
            &get("/.well-known/openid-configuration"),
            conns,
            &format!("{tag}-discovery-c{conns}"),
        )?;
        discovery.cardinal.push((conns, s));
        let s = load(
            ctx,
            p,
            &base,
            &get("/jwks"),
            conns,
            &format!("{tag}-jwks-c{conns}"),
        )?;
        jwks.cardinal.push((conns, s));
    }
    for conns in ctx.connections {
        let cc_load = Load::Post {
            path: "/token",
            headers: vec![("Authorization", basic.clone())],
            body: "grant_type=client_credentials".into(),
        };
        let s = load(
            ctx,
            p,
            &base,
            &cc_load,
            conns,
            &format!("{tag}-cc-rs256-c{conns}"),
        )?;
        cc.cardinal.push((conns, s));
        let bodies = seed::issue_codes(&dep.engine, &dep.rp, &dep.people, enough(s.rate, secs))?;
        let each = Load::PostEach {
            path: "/token",
            headers: vec![("Authorization", basic.clone())],
            bodies: &bodies,
        };
        let c = load(ctx, p, &base, &each, conns, &format!("{tag}-code-c{conns}"))?;
        code.cardinal.push((conns, c));
        let bodies =
            seed::issue_refresh_tokens(&dep.engine, &dep.rp, &dep.people, enough(s.rate, secs))?;
        let each = Load::PostEach {
            path: "/token",
            headers: vec![("Authorization", basic.clone())],
            bodies: &bodies,
        };
        let r = load(
            ctx,
            p,
            &base,
            &each,
            conns,
            &format!("{tag}-refresh-c{conns}"),
        )?;
        refresh.cardinal.push((conns, r));
    }
    let token = dep.access_token(&base).await?;
    for conns in ctx.connections {
        let u = Load::Get {
            path: "/userinfo",
            headers: vec![("Authorization", format!("Bearer {token}"))],
        };
        let s = load(
            ctx,
            p,
            &base,
            &u,
            conns,
            &format!("{tag}-userinfo-c{conns}"),
        )?;
        userinfo.cardinal.push((conns, s));
        let i = Load::Post {
            path: "/introspect",
            headers: vec![("Authorization", basic.clone())],
            body: format!("token={token}"),
        };
        let s = load(
            ctx,
            p,
            &base,
            &i,
            conns,
            &format!("{tag}-introspect-c{conns}"),
        )?;
        introspect.cardinal.push((conns, s));
    }
    let mut signin_row = Row::new("signin", "card sign-ins completed (authorize → token)");
    signin_row.limit = Some(lim.argon2id.all);
    let mut notes = Vec::new();
    let setup = dep.signin_setup(ctx, &base);
    for conns in ctx.connections {
        let s = sign_ins(ctx, setup.clone(), conns, &format!("{tag}-signin-c{conns}")).await?;
        signin_row.cardinal.push((conns, Stat::from(&s)));
        notes.push(signin_note(
            &format!("Card sign-in on {}", dep.name),
            conns,
            &s,
        ));
    }
    let (_, rss_peak) = server.proc.memory_kib()?;
    let ready_ms = server.ready_after.as_secs_f64() * 1000.0;
    drop(server);

    // Access tokens are signed with keys.default_algorithm (clients do not choose it):
    // the ES256 figure is a second start with that setting.
    let es = dep
        .start(
            ctx,
            "es256",
            None,
            &[("CARDINAL_KEYS__DEFAULT_ALGORITHM", "ES256")],
        )
        .await?;
    let mut cc_es = Row::new("cc_es256", "client_credentials, ES256 JWT");
    cc_es.limit = Some(lim.es256.all);
    for conns in ctx.connections {
        let cc_load = Load::Post {
            path: "/token",
            headers: vec![("Authorization", basic.clone())],
            body: "grant_type=client_credentials".into(),
        };
        let s = load(
            ctx,
            Some(&es.proc),
            &es.url,
            &cc_load,
            conns,
            &format!("{tag}-cc-es256-c{conns}"),
        )?;
        cc_es.cardinal.push((conns, s));
    }
    drop(es);
    rows.extend([
        discovery, jwks, cc, cc_es, code, refresh, userinfo, introspect, signin_row,
    ]);
    notes.push(
        "Access tokens are signed with `keys.default_algorithm` (RS256 by default); the ES256 row is a second start of the same database with `CARDINAL_KEYS__DEFAULT_ALGORITHM=ES256`.".into(),
    );
    Ok(BackendReport {
        name: dep.name.clone(),
        rows,
        ready_ms,
        rss_idle_mib: mib(rss_idle),
        rss_peak_mib: mib(rss_peak),
        notes,
    })
}
