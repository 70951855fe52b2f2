//! Load benchmark of the token endpoint: `cargo run --release --example token_bench [-- REQUESTS CONCURRENCY]`.
//!
//! Starts Cardinal in-process on a fresh SQLite file (or `TEST_POSTGRES`-style server
//! given as `BENCH_DATABASE_URL`), registers a confidential client, and sends
//! `client_credentials` requests with HTTP Basic authentication, then introspects one
//! token per request. Prints requests per second and latency percentiles; asserts nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::field_reassign_with_default
)]

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cardinal::admin::clients::records as clients;
use cardinal::admin::clients::ClientDraft;
use cardinal::configuration::{SecretString, Settings};
use cardinal::startup::{Application, Options};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let total: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(4000);
    let concurrency: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(32);
    let dir = tempfile::tempdir()?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let mut settings = Settings::default();
    settings.issuer = format!("http://127.0.0.1:{port}");
    settings.listen = format!("127.0.0.1:{port}");
    settings.database_url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| dir.path().join("bench.db").to_string_lossy().into_owned());
    settings.data_dir = dir.path().to_path_buf();
    settings.keys.secret_key = Some(SecretString::from(
        "YmVuY2htYXJrLXNlY3JldC1rZXktMzItYnl0ZXMtbG9uZyE=",
    ));
    settings.database.pool_size = 16;
    settings.log.level = "warn".into();
    let started = Instant::now();
    let app = Application::build_with(
        settings,
        Options {
            listener: Some(Arc::new(listener)),
            ..Options::default()
        },
    )
    .await?;
    println!(
        "startup (migrate + keys) took {} ms",
        started.elapsed().as_millis()
    );
    let engine = app.engine();
    tokio::spawn(app.run_until_stopped());
    let draft = ClientDraft {
        name: Some("bench".into()),
        redirect_uris: Some(vec!["https://rp.example/cb".into()]),
        grant_types: Some(vec!["client_credentials".into()]),
        ..Default::default()
    };
    let (client, secret) = clients::create(&engine, &draft)?;
    let (id, secret) = (client.client_id.to_string(), secret.expect("secret"));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let url = format!("http://127.0.0.1:{port}");

    for (label, introspect) in [
        ("client_credentials", false),
        ("client_credentials + introspect", true),
    ] {
        let begin = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        let per_task = total / concurrency;
        for _ in 0..concurrency {
            let (http, url, id, secret) = (http.clone(), url.clone(), id.clone(), secret.clone());
            tasks.spawn(async move {
                let mut latencies = Vec::with_capacity(per_task);
                for _ in 0..per_task {
                    let t = Instant::now();
                    let r = http
                        .post(format!("{url}/token"))
                        .basic_auth(&id, Some(&secret))
                        .form(&[("grant_type", "client_credentials")])
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                    let body: serde_json::Value = r.json().await.unwrap();
                    if introspect {
                        let token = body["access_token"].as_str().unwrap().to_string();
                        let r = http
                            .post(format!("{url}/introspect"))
                            .basic_auth(&id, Some(&secret))
                            .form(&[("token", token.as_str())])
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), 200);
                    }
                    latencies.push(t.elapsed());
                }
                latencies
            });
        }
        let mut all: Vec<Duration> = tasks.join_all().await.into_iter().flatten().collect();
        let elapsed = begin.elapsed();
        all.sort();
        let pct = |p: f64| {
            all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0
        };
        println!(
            "{label}: {} requests, concurrency {concurrency}: {:.0} req/s; latency p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms",
            all.len(),
            all.len() as f64 / elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.95),
            pct(0.99)
        );
    }
    Ok(())
}
