//! Scale on PostgreSQL: a million registrations loaded in bulk (COPY through psql), sign-in
//! and userinfo measured again; then one and two instances behind haproxy.

use std::io::{BufWriter, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use cardinal::domain::password::Password;

use crate::backend::{self, psql, signin_note, Ctx, Deployment};
use crate::report::{BackendReport, Row, ScaleReport, Stat};
use crate::server::{free_port, wait_ready, Proc};
use crate::wrk::Load;

/// Streams CSV rows made by `row(i)` for `0..n` into `COPY table (columns) FROM STDIN`.
fn copy_rows(
    url: &str,
    table: &str,
    columns: &str,
    n: usize,
    mut row: impl FnMut(usize, &mut dyn std::io::Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let sql = format!("COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)");
    let mut child = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", &sql])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run psql (Debian package postgresql-client)")?;
    {
        let stdin = child.stdin.take().context("psql has no stdin")?;
        let mut w = BufWriter::with_capacity(1 << 20, stdin);
        for i in 0..n {
            row(i, &mut w)?;
        }
        w.flush()?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "COPY into {table} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Adds `n` active registrations (persons, person_cards, registrations) with one shared
/// password hash, national IDs `B1…` and card numbers `1…` (the bench's own cards are
/// `A1…` and `9…`).
pub fn bulk_register(dep: &Deployment, n: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let engine = &dep.engine;
    let now = engine.now();
    let hasher = cardinal::auth::PasswordHasher::new(&engine.settings().password)?;
    let hash = hasher.hash(&Password::new(crate::seed::PASSWORD))?;
    let person = |i: usize| format!("00000000-0000-4000-8000-{i:012}");
    let url = &dep.database_url;
    copy_rows(
        url,
        "persons",
        "id, name, email, email_verified, phone_number, created_at, updated_at, national_id_hash, national_id_sealed, birth_date",
        n,
        |i, w| {
            let id = crate::seed::national_id('B', u32::try_from(i)?)?;
            let hash = cardinal::registry::national_id_hash(engine.ring(), &id);
            let sealed = engine.ring().seal("persons.national_id", id.expose().as_bytes())?;
            writeln!(
                w,
                "{},\"大量{i}\",bulk{i}@example.gov.tw,t,0912345678,{now},{now},{hash},{sealed},1980-01-02",
                person(i)
            )?;
            Ok(())
        },
    )?;
    copy_rows(
        url,
        "person_cards",
        "card_number, person_id, kind, created_at",
        n,
        |i, w| {
            writeln!(w, "1{i:011},{},nhi,{now}", person(i))?;
            Ok(())
        },
    )?;
    copy_rows(
        url,
        "registrations",
        "person_id, status, password_hash, failed_attempts, mobile, created_at, confirmed_at, password_changed_at, updated_at",
        n,
        |i, w| {
            writeln!(
                w,
                "{},active,\"{hash}\",0,0912345678,{now},{now},{now},{now}",
                person(i)
            )?;
            Ok(())
        },
    )?;
    psql(
        url,
        "ANALYZE persons; ANALYZE person_cards; ANALYZE registrations",
    )?;
    Ok(started.elapsed())
}

fn haproxy_config(port: u16, backends: &[u16]) -> String {
    let mut cfg = format!(
        "global\n    maxconn 8192\n\n\
         defaults\n    mode http\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n    option http-keep-alive\n\n\
         frontend bench\n    bind 127.0.0.1:{port}\n    default_backend cardinal\n\n\
         backend cardinal\n    balance roundrobin\n"
    );
    for (i, p) in backends.iter().enumerate() {
        cfg.push_str(&format!("    server c{i} 127.0.0.1:{p}\n"));
    }
    cfg
}

async fn start_haproxy(ctx: &Ctx, port: u16, backends: &[u16]) -> anyhow::Result<Proc> {
    let path = ctx.run_dir.join(format!("haproxy-{}.cfg", backends.len()));
    std::fs::write(&path, haproxy_config(port, backends))?;
    let mut cmd = Command::new("haproxy");
    cmd.arg("-db").arg("-f").arg(&path);
    let mut proc = Proc::spawn(
        "haproxy (Debian package haproxy)",
        cmd,
        &ctx.run_dir.join("haproxy.log"),
    )?;
    wait_ready(
        &mut proc,
        &format!("http://127.0.0.1:{port}/readyz"),
        Instant::now(),
        Duration::from_secs(20),
    )
    .await?;
    Ok(proc)
}

/// Client credentials and sign-in through haproxy at `base`.
async fn through_proxy(
    ctx: &Ctx,
    dep: &Deployment,
    base: &str,
    label: &str,
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<(String, u32, Stat)>> {
    let slug = label.replace(' ', "-");
    let mut out = Vec::new();
    for conns in ctx.connections {
        let cc = Load::Post {
            path: "/token",
            headers: vec![("Authorization", dep.rp.basic())],
            body: "grant_type=client_credentials".into(),
        };
        let s = backend::load(ctx, None, base, &cc, conns, &format!("{slug}-cc-c{conns}"))?;
        out.push(("client_credentials, RS256 JWT".to_string(), conns, s));
    }
    for conns in ctx.connections {
        let setup = dep.signin_setup(ctx, base);
        let s = backend::sign_ins(ctx, setup, conns, &format!("{slug}-signin-c{conns}")).await?;
        notes.push(signin_note(&format!("Sign-in, {label}"), conns, &s));
        out.push(("card sign-ins completed".to_string(), conns, Stat::from(&s)));
    }
    Ok(out)
}

/// The million-registration and two-instance comparisons, after `small` was measured on
/// the same PostgreSQL database.
pub async fn run(
    ctx: &Ctx,
    dep: &Deployment,
    small: &BackendReport,
    registrations: usize,
) -> anyhow::Result<ScaleReport> {
    println!("  loading {registrations} registrations into PostgreSQL …");
    let took = tokio::task::block_in_place(|| bulk_register(dep, registrations))?;
    println!("  loaded in {:.0} s", took.as_secs_f64());
    let mut report = ScaleReport {
        registrations,
        load_secs: took.as_secs_f64(),
        ..Default::default()
    };
    let many = format!("Sign-in with {registrations} more registrations");
    let server = dep.start(ctx, "million", None, &[]).await?;
    let setup = dep.signin_setup(ctx, &server.url);
    let small_row = |key: &str| small.rows.iter().find(|r| r.key == key);
    for conns in ctx.connections {
        let s = backend::sign_ins(
            ctx,
            setup.clone(),
            conns,
            &format!("million-signin-c{conns}"),
        )
        .await?;
        report.notes.push(signin_note(&many, conns, &s));
        if let Some(before) = small_row("signin").and_then(|r| Row::at(&r.cardinal, conns)) {
            report.size.push((
                "card sign-ins completed".into(),
                conns,
                before,
                Stat::from(&s),
            ));
        }
    }
    let token = dep.access_token(&server.url).await?;
    for conns in ctx.connections {
        let u = Load::Get {
            path: "/userinfo",
            headers: vec![("Authorization", format!("Bearer {token}"))],
        };
        let s = backend::load(
            ctx,
            Some(&server.proc),
            &server.url,
            &u,
            conns,
            &format!("million-userinfo-c{conns}"),
        )?;
        if let Some(before) = small_row("userinfo").and_then(|r| Row::at(&r.cardinal, conns)) {
            report.size.push(("userinfo".into(), conns, before, s));
        }
    }
    drop(server);

    let proxy_port = free_port()?;
    let issuer = format!("http://127.0.0.1:{proxy_port}");
    let a = dep.start(ctx, "instance-a", Some(&issuer), &[]).await?;
    let a_port = port_of(&a.url)?;
    let one = {
        let _proxy = start_haproxy(ctx, proxy_port, &[a_port]).await?;
        through_proxy(ctx, dep, &issuer, "one instance", &mut report.notes).await?
    };
    let b = dep.start(ctx, "instance-b", Some(&issuer), &[]).await?;
    let b_port = port_of(&b.url)?;
    let two = {
        let _proxy = start_haproxy(ctx, proxy_port, &[a_port, b_port]).await?;
        through_proxy(ctx, dep, &issuer, "two instances", &mut report.notes).await?
    };
    drop((a, b));
    for ((figure, conns, one), (_, _, two)) in one.into_iter().zip(two) {
        report.instances.push((figure, conns, one, two));
    }
    report.notes.push(format!(
        "Both instances, haproxy, PostgreSQL and the load generator share this machine's {} cores: the second instance adds no CPU, so this machine cannot show the 1.7× that two instances on their own cores would need to show.",
        ctx.limits.threads
    ));
    Ok(report)
}

fn port_of(url: &str) -> anyhow::Result<u16> {
    url.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .with_context(|| format!("no port in {url}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haproxy_balances_over_every_instance() {
        let cfg = haproxy_config(8000, &[8001, 8002]);
        assert!(cfg.contains("bind 127.0.0.1:8000"));
        assert!(cfg.contains("server c0 127.0.0.1:8001"));
        assert!(cfg.contains("server c1 127.0.0.1:8002"));
        assert_eq!(port_of("http://127.0.0.1:8001").unwrap(), 8001);
    }
}
