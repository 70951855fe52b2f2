//! The `cardinal` binary: serve on a new database, clients, keys, config check.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::*;

fn cardinal(db: &TestDb, data: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cardinal"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CARDINAL_DATABASE_URL", db.url())
        .env("CARDINAL_DATA_DIR", data)
        .env("CARDINAL_KEYS__SECRET_KEY", SECRET_KEY)
        .current_dir(data);
    c
}

fn run_json(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test]
async fn serve_creates_and_migrates_a_new_database_and_becomes_ready() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("fresh").join("cardinal.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cardinal"))
        .arg("serve")
        .env_clear()
        .env("CARDINAL_DATABASE_URL", &db_path)
        .env("CARDINAL_LISTEN", format!("127.0.0.1:{port}"))
        .env("CARDINAL_ISSUER", format!("http://127.0.0.1:{port}"))
        .env(
            "CARDINAL_METRICS__LISTEN",
            format!("127.0.0.1:{metrics_port}"),
        )
        .env("CARDINAL_DATA_DIR", dir.path().join("data"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let mut ready = false;
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if r.status() == 200 {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    println!(
        "cardinal serve on a new SQLite file: /readyz answered 200 after {} ms",
        elapsed.as_millis()
    );
    // Metrics on their own listener only.
    let public = http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404, "no metrics on the public port");
    let metrics = http
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            "cardinal_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"}"
        ),
        "{text}"
    );
    // SIGTERM: graceful shutdown.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let status = child.wait().unwrap();
    assert!(ready, "never became ready");
    assert!(db_path.exists(), "the database file was created");
    assert!(
        dir.path().join("data").join("secret.key").exists(),
        "a secret key was generated"
    );
    assert!(status.success(), "exits cleanly on SIGTERM: {status:?}");
}

#[test]
fn client_commands_create_list_show_rotate_update_delete() {
    let db = TestDb::new();
    let data = tempfile::tempdir().unwrap();
    let created = run_json(cardinal(&db, data.path()).args([
        "client",
        "create",
        "--name",
        "eCPA",
        "--redirect-uri",
        "https://ecpa.example.gov.tw/cb",
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--auth-method",
        "client_secret_basic",
        "--scope",
        "openid",
        "--scope",
        "profile email",
        "--post-logout-redirect-uri",
        "https://ecpa.example.gov.tw/",
        "--backchannel-logout-uri",
        "https://ecpa.example.gov.tw/bc",
        "--min-acr",
        "card",
        "--skip-consent",
        "--subject-type",
        "pairwise",
        "--json",
    ]));
    let id = created["client_id"].as_str().unwrap().to_string();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    assert!(
        cardinal::crypto::b64url_decode(&secret).unwrap().len() >= 32,
        "≥ 256-bit secret"
    );
    assert_eq!(created["min_acr"], "urn:cardinal:acr:card");
    assert_eq!(created["subject_type"], "pairwise");

    let list = run_json(cardinal(&db, data.path()).args(["client", "list", "--json"]));
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["client_id"] == id.as_str()));
    assert!(
        !list.to_string().contains(&secret),
        "the secret is shown once only"
    );

    let rotated =
        run_json(cardinal(&db, data.path()).args(["client", "rotate-secret", &id, "--json"]));
    assert_ne!(rotated["client_secret"], secret.as_str());

    let updated = run_json(cardinal(&db, data.path()).args([
        "client",
        "update",
        &id,
        "--name",
        "eCPA 2",
        "--no-min-acr",
        "--json",
    ]));
    assert_eq!(updated["name"], "eCPA 2");
    assert!(updated["min_acr"].is_null());
    assert_eq!(
        updated["redirect_uris"],
        serde_json::json!(["https://ecpa.example.gov.tw/cb"]),
        "unmentioned values stay"
    );

    let out = cardinal(&db, data.path())
        .args(["client", "delete", &id])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = cardinal(&db, data.path())
        .args(["client", "show", &id])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no client"));
}

#[test]
fn client_create_refuses_what_rfc9700_forbids_with_a_clear_message() {
    let db = TestDb::new();
    let data = tempfile::tempdir().unwrap();
    for (uri, hint) in [
        ("http://ecpa.example.gov.tw/cb", "https"),
        ("https://ecpa.example.gov.tw/cb#x", "fragment"),
        ("https://*.example.gov.tw/cb", "wildcard"),
        ("javascript:alert(1)", "not allowed"),
    ] {
        let out = cardinal(&db, data.path())
            .args(["client", "create", "--name", "x", "--redirect-uri", uri])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{uri} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(hint), "{uri}: {err}");
    }
}

#[test]
fn keys_rotate_publishes_a_next_key() {
    let db = TestDb::new();
    let data = tempfile::tempdir().unwrap();
    let before = run_json(cardinal(&db, data.path()).args(["keys", "list", "--json"]));
    assert_eq!(
        before
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["state"] == "active")
            .count(),
        3
    );
    let out = cardinal(&db, data.path())
        .args(["keys", "rotate", "--alg", "ES256"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = run_json(cardinal(&db, data.path()).args(["keys", "list", "--json"]));
    let next: Vec<_> = after
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["state"] == "next")
        .collect();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0]["alg"], "ES256");
    let out = cardinal(&db, data.path())
        .args(["keys", "rotate", "--alg", "HS256"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn config_check_prints_the_effective_config_without_secrets() {
    let db = TestDb::new();
    let data = tempfile::tempdir().unwrap();
    let out = cardinal(&db, data.path())
        .args(["config", "check"])
        .env("CARDINAL_ISSUER", "https://idp.example.gov.tw")
        .env("CARDINAL_TOKENS__CODE_TTL", "30")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("issuer = \"https://idp.example.gov.tw\""),
        "{text}"
    );
    assert!(text.contains("code_ttl = 30"), "{text}");
    assert!(!text.contains(SECRET_KEY), "secret printed: {text}");
    assert!(text.contains("secret_key = \"[redacted]\""));
    let bad = cardinal(&db, data.path())
        .args(["config", "check"])
        .env("CARDINAL_ISSUER", "https://idp.example.gov.tw/")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("must not end with '/'"));
}

#[test]
fn migrate_applies_the_schema_and_a_wrong_secret_key_is_a_clear_error() {
    let db = TestDb::new();
    let data = tempfile::tempdir().unwrap();
    let out = cardinal(&db, data.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));
    let other_key = "b3RoZXItc2VjcmV0LWtleS1vZi0zMi1ieXRlcy1sZW5ndGg=";
    let out = cardinal(&db, data.path())
        .args(["keys", "list"])
        .env("CARDINAL_KEYS__SECRET_KEY", other_key)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "keys encrypted under another secret must not load"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("keys.secret_key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn client_with_an_algorithm_the_deployment_does_not_sign_with_is_refused() {
    let db = TestDb::new();
    let data = tempfile::tempdir().unwrap();
    let out = cardinal(&db, data.path())
        .args([
            "client",
            "create",
            "--name",
            "x",
            "--redirect-uri",
            "https://rp.example/cb",
            "--id-token-alg",
            "EdDSA",
        ])
        .env("CARDINAL_KEYS__ALGORITHMS", "[\"RS256\"]")
        .env("CARDINAL_KEYS__DEFAULT_ALGORITHM", "RS256")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("keys.algorithms"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_example_config_is_valid_and_complete() {
    let data = tempfile::tempdir().unwrap();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cardinal.example.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_cardinal"))
        .args(["--config", example.to_str().unwrap(), "config", "check"])
        .env_clear()
        .env("CARDINAL_DATA_DIR", data.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every effective option appears in the example (documented where its default lives).
    let effective = String::from_utf8_lossy(&out.stdout).to_string();
    let example_text = std::fs::read_to_string(&example).unwrap();
    for line in effective.lines().filter(|l| l.contains(" = ")) {
        let key = line.split(" = ").next().unwrap();
        assert!(
            example_text.contains(&format!("{key} =")),
            "cardinal.example.toml does not document {key}"
        );
    }
}

#[tokio::test]
async fn serve_speaks_https_directly_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cardinal"))
        .arg("serve")
        .env_clear()
        .env("CARDINAL_DATABASE_URL", dir.path().join("c.db"))
        .env("CARDINAL_DATA_DIR", dir.path())
        .env("CARDINAL_LISTEN", format!("127.0.0.1:{port}"))
        .env("CARDINAL_ISSUER", format!("https://localhost:{port}"))
        .env(
            "CARDINAL_HTTP__TLS__CERTIFICATE",
            dir.path().join("cert.pem"),
        )
        .env(
            "CARDINAL_HTTP__TLS__PRIVATE_KEY",
            dir.path().join("key.pem"),
        )
        .env("CARDINAL_METRICS__LISTEN", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let trust = reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(trust)
        .resolve(
            "localhost",
            std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        )
        .build()
        .unwrap();
    let started = Instant::now();
    let mut answer = None;
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(r) = http
            .get(format!(
                "https://localhost:{port}/.well-known/openid-configuration"
            ))
            .send()
            .await
        {
            answer = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let r = answer.expect("no HTTPS answer");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=31536000"),
        "HSTS over TLS"
    );
    let d: serde_json::Value = r.json().await.unwrap();
    assert_eq!(d["issuer"], format!("https://localhost:{port}"));
}
