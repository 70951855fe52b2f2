//! The real card stack end to end (issue 3): pcscd + vsmartcard-vpcd + the virtual card
//! (over the vpcd protocol) + the card authenticator in PC/SC mode + the IdP's validation.
//! One test only: there is one pcscd per machine.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cardinal_authenticator::card_file::CardFile;
use cardinal_authenticator::server::{self, ServerConfig};
use cardinal_authenticator::transport::{CardTransport, PcscTransport};
use cardinal_authenticator::virtual_card::VirtualCard;
use serde_json::json;

use crate::card::Issuers;
use crate::helpers::*;

struct Pcscd(Option<Child>);

impl Drop for Pcscd {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether TCP `port` is listening, read from /proc (connecting to vpcd would insert a card).
fn listening(port: u16) -> bool {
    let needle = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|path| {
        std::fs::read_to_string(path).is_ok_and(|t| {
            t.lines().skip(1).any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() > 3 && f[1].ends_with(&needle) && f[3] == "0A"
            })
        })
    })
}

async fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ensure_pcscd() -> Pcscd {
    if PcscTransport::new().readers().is_ok() {
        return Pcscd(None);
    }
    let child = Command::new("pcscd")
        .arg("-f")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "pcscd must be installed (apt-get install pcscd vsmartcard-vpcd); .ci/test does it",
        );
    Pcscd(Some(child))
}

#[tokio::test(flavor = "multi_thread")]
async fn real_pcsc_stack_reads_the_card_and_the_idp_accepts_its_token_once() {
    let _pcscd = ensure_pcscd();
    wait_until(
        "pcscd with the vpcd reader (TCP 35963)",
        Duration::from_secs(15),
        || listening(35963),
    )
    .await;

    let issuers = Issuers::new();
    let issued = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let file: CardFile = serde_json::from_value(issued).unwrap();
    let card = VirtualCard::from_file(file).unwrap();
    let vpcd = tokio::spawn(cardinal_authenticator::vpcd::run(card, "127.0.0.1:35963"));

    let app = spawn_app_with(|s| issuers.configure(s)).await;
    let config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), vec![app.address.clone()]);
    let local = server::build(config, Box::new(PcscTransport::new())).unwrap();
    let authenticator = format!("http://{}", local.local_addr());
    tokio::spawn(local.into_server());

    let http = reqwest::Client::new();
    // The card appears in the reader once the virtual card has connected to vpcd.
    let mut read = serde_json::Value::Null;
    for _ in 0..100 {
        let r = http
            .post(format!("{authenticator}/v1/card/read"))
            .header("origin", &app.address)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            read = r.json().await.unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        read,
        json!({ "card_number": "000012345678", "name": "王小明", "card_kind": "nhi" }),
        "read through PC/SC"
    );
    let status: serde_json::Value = http
        .get(format!("{authenticator}/v1/status"))
        .header("origin", &app.address)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        status["readers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"].as_str().unwrap().starts_with("Virtual PCD")
                && r["card_present"] == true),
        "{status}"
    );

    // A page of another site gets nothing from the authenticator.
    let r = http
        .post(format!("{authenticator}/v1/card/read"))
        .header("origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Challenge from the IdP → card signature through the authenticator → IdP check.
    let c: serde_json::Value = app
        .browser
        .post(app.url("/card/challenge"))
        .header("origin", &app.address)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let challenge = c["challenge"].as_str().unwrap();
    let token: serde_json::Value = http
        .post(format!("{authenticator}/v1/card/authenticate"))
        .header("origin", &app.address)
        .json(&json!({ "challenge": challenge, "origin": "https://evil.example" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token["format"], "cardinal-card/1");
    let check = |token: serde_json::Value| {
        let browser = app.browser.clone();
        let url = app.url("/card/check");
        let origin = app.address.clone();
        let challenge = challenge.to_string();
        async move {
            let r = browser
                .post(url)
                .header("origin", origin)
                .json(&json!({ "challenge": challenge, "token": token }))
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let (status, body) = check(token.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "王小明");
    let (status, body) = check(token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("bad_challenge")),
        "the same token is refused the second time"
    );

    vpcd.abort();
}
