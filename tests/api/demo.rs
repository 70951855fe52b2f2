//! The demo stays a demo (issue 10, item 9): `cardinal demo` listens on loopback only, and
//! its dev page (PINs, mail links, the admin role) answers only this computer.

use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::process::Command;
use std::sync::Arc;

use cardinal::clock::OffsetClock;
use cardinal::demo::DemoSetup;

use crate::helpers::*;

#[test]
fn cardinal_demo_refuses_a_non_loopback_listen_address() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo-data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("keep"), "x").unwrap();
    for flags in [
        vec!["--listen", "0.0.0.0:8080"],
        vec!["--listen", "[::]:8080"],
        vec!["--ecpa-listen", "0.0.0.0:8081"],
        vec!["--authenticator-listen", "192.0.2.1:7777"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_cardinal"))
            .arg("demo")
            .args(["--reset", "--data-dir", data.to_str().unwrap()])
            .args(&flags)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flags:?}: {stderr}");
        assert!(
            stderr.contains(&format!("refusing {} {}", flags[0], flags[1]))
                && stderr.contains("this computer only"),
            "{flags:?}: {stderr}"
        );
        assert!(
            data.join("keep").exists(),
            "{flags:?}: refused before --reset deleted anything"
        );
    }
}

/// An address of this machine that is not loopback, if it has one (the source address of
/// a route to a documentation address; a UDP connect sends nothing).
fn non_loopback_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn the_dev_page_refuses_a_peer_that_is_not_this_computer() {
    let Some(external) = non_loopback_address() else {
        // The check itself is unit-tested in src/demo.rs (`is_this_computer`).
        eprintln!("skipped: this machine has no non-loopback address to connect from");
        return;
    };
    let db = TestDb::new();
    let data_dir = tempfile::tempdir().unwrap();
    let settings = test_settings(&db, data_dir.path());
    // A listener on every address, as a careless `start` caller might make: the dev page
    // still answers only loopback peers.
    let cardinal = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = cardinal.local_addr().unwrap().port();
    let bind = || TcpListener::bind("127.0.0.1:0").unwrap();
    let _demo = cardinal::demo::start(DemoSetup {
        settings,
        cardinal,
        ecpa: bind(),
        webhr: bind(),
        authenticator: "127.0.0.1:0".parse().unwrap(),
        clock: Arc::new(OffsetClock::new()),
    })
    .await
    .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let from_here = format!("http://127.0.0.1:{port}");
    let from_outside = format!("http://{}", SocketAddr::new(external, port));
    let r = http.get(format!("{from_here}/dev")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the dev page from this computer");
    for (method, path) in [
        ("GET", "/dev"),
        ("GET", "/dev/mail/x.eml"),
        ("POST", "/dev/reader"),
        ("POST", "/dev/admin"),
    ] {
        let req = match method {
            "GET" => http.get(format!("{from_outside}{path}")),
            _ => http
                .post(format!("{from_outside}{path}"))
                .header("sec-fetch-site", "same-origin")
                .header("host", format!("0.0.0.0:{port}"))
                .form(&[("card", "nhi")]),
        };
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 403, "{method} {path} from {external}");
        assert!(r.text().await.unwrap().contains("only this computer"));
    }
    // The rest of Cardinal is not the dev page's business.
    let r = http
        .get(format!("{from_outside}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
