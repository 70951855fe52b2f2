//! `cargo run --release -p cardinal-bench -- [--quick] [--only sqlite|postgres]
//! [--skip-peer] [--skip-scale]`: Cardinal (release build, default configuration) on
//! SQLite and PostgreSQL side by side with node-oidc-provider, with the limits of the
//! machine, printed as a markdown table and written into docs/benchmarks.md.

mod backend;
mod limits;
mod peer;
mod report;
mod scale;
mod seed;
mod server;
mod signin;
mod wrk;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Only {
    Sqlite,
    Postgres,
}

/// Cardinal side by side with node-oidc-provider, and the limits of this machine.
#[derive(Debug, Parser)]
#[command(name = "cardinal-bench")]
struct Args {
    /// 3 s per figure instead of 10, no scale figures: a few minutes.
    #[arg(long)]
    quick: bool,
    /// Measure one database only.
    #[arg(long, value_enum)]
    only: Option<Only>,
    /// Do not install or measure node-oidc-provider.
    #[arg(long)]
    skip_peer: bool,
    /// Skip the million registrations and the two instances behind haproxy.
    #[arg(long)]
    skip_scale: bool,
    /// Seconds per figure and connection count (default 10, or 3 with --quick).
    #[arg(long, value_name = "SECONDS")]
    duration: Option<u64>,
    /// Registered cards that take turns signing in.
    #[arg(long, default_value_t = 1000)]
    cards: usize,
    /// Registrations loaded for the scale figures.
    #[arg(long, default_value_t = 1_000_000)]
    registrations: usize,
    /// The PostgreSQL server (the database `cardinal_bench` is dropped and made anew).
    #[arg(
        long,
        env = "BENCH_POSTGRES",
        default_value = "postgres://postgres@127.0.0.1:5432"
    )]
    postgres: String,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// `cargo build --release -p cardinal --bin cardinal` (no demo feature); its path.
fn build_cardinal(root: &Path) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    println!("building Cardinal (release) …");
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "-p", "cardinal", "--bin", "cardinal"])
        .current_dir(root);
    // `cargo run` gave this program the variables of its own package; build scripts that
    // watch them (ring: CARGO_MANIFEST_DIR) would rebuild what a plain `cargo build` made.
    for (key, _) in std::env::vars() {
        let set_by_cargo_run = key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || matches!(
                key.as_str(),
                "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE"
            );
        if set_by_cargo_run {
            cmd.env_remove(key);
        }
    }
    let status = cmd.status().context("cannot run cargo")?;
    if !status.success() {
        bail!("the release build of cardinal failed");
    }
    let binary = target_dir(root).join("release/cardinal");
    if !binary.exists() {
        bail!("no binary at {} after the build", binary.display());
    }
    Ok(binary)
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cmd = "cargo run --release -p cardinal-bench".to_string();
    if !args.is_empty() {
        cmd.push_str(" -- ");
        cmd.push_str(&args.join(" "));
    }
    cmd
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("interrupted: stopping the servers");
            server::kill_all();
            std::process::exit(130);
        }
    });
    let args = Args::parse();
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let load_at_start = report::load_average();
    let root = repo_root().canonicalize()?;
    let duration = Duration::from_secs(args.duration.unwrap_or(if args.quick { 3 } else { 10 }));
    let scratch = target_dir(&root).join("bench");
    let run_dir = scratch.join("run");
    if run_dir.exists() {
        std::fs::remove_dir_all(&run_dir)
            .with_context(|| format!("cannot clear {}", run_dir.display()))?;
    }
    std::fs::create_dir_all(&run_dir)?;
    let binary = build_cardinal(&root)?;

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("measuring the limits (signatures, argon2id) on 1 and {threads} threads …");
    let limit_time = if args.quick {
        Duration::from_millis(700)
    } else {
        Duration::from_secs(2)
    };
    let limits = tokio::task::block_in_place(|| limits::measure(threads, limit_time))?;

    println!("issuing {} cards …", args.cards);
    let ca_dir = run_dir.join("ca");
    let cards = tokio::task::block_in_place(|| seed::make_cards(&ca_dir, args.cards))?;
    let ctx = backend::Ctx {
        binary,
        run_dir: run_dir.clone(),
        duration,
        connections: [32, 64],
        ca_dir,
        cards: Arc::new(cards),
        cursor: Arc::new(AtomicUsize::new(0)),
        refused_last: AtomicBool::new(false),
        limits,
    };

    let mut backends = Vec::new();
    let mut postgres = None;
    if args.only != Some(Only::Postgres) {
        println!("SQLite:");
        let dep = tokio::task::block_in_place(|| backend::prepare(&ctx, "SQLite", None))?;
        backends.push(backend::measure(&ctx, &dep).await?);
    }
    if args.only != Some(Only::Sqlite) {
        println!("PostgreSQL:");
        let dep = tokio::task::block_in_place(|| {
            backend::prepare(&ctx, "PostgreSQL", Some(&args.postgres))
        })?;
        let measured = backend::measure(&ctx, &dep).await?;
        backends.push(measured.clone());
        postgres = Some((dep, measured));
    }

    let peer = if args.skip_peer {
        report::PeerFacts {
            version: peer::VERSION.into(),
            missing: Some("--skip-peer".into()),
            ..Default::default()
        }
    } else {
        println!("node-oidc-provider {}:", peer::VERSION);
        peer::measure(
            &ctx,
            &root.join("tests/bench/peer/provider.mjs"),
            &scratch.join("peer"),
        )
        .await
    };

    let scale = match (&postgres, args.quick || args.skip_scale) {
        (Some((dep, small)), false) => {
            println!("scale (PostgreSQL):");
            Some(scale::run(&ctx, dep, small, args.registrations).await?)
        }
        _ => None,
    };

    let machine = report::machine(&root, &load_at_start);
    let report = report::Report {
        machine,
        command: command_line(),
        connections: ctx.connections,
        duration_secs: duration.as_secs(),
        limits: ctx.limits.clone(),
        backends,
        peer,
        scale,
    };
    let markdown = report.markdown();
    println!("\n{markdown}");
    std::fs::write(scratch.join("last.md"), &markdown)?;
    let doc = root.join("docs/benchmarks.md");
    report::write_doc(&doc, &markdown)?;
    println!(
        "written to {} (and target/bench/last.md) in {:.1} min",
        doc.display(),
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}
