//! The real PC/SC stack end to end: pcscd + vsmartcard-vpcd + the
//! `cardinal-virtual-card` binary + `PcscTransport`.
//!
//! One test function only: there is one pcscd per machine.
#![cfg(feature = "pcsc")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/mod.rs"]
mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use cardinal_authenticator::card::{self, Pin};
use cardinal_authenticator::card_file::CardKind;
use cardinal_authenticator::error::Error;
use cardinal_authenticator::token::signing_hash;
use cardinal_authenticator::transport::{CardTransport, PcscTransport};
use secrecy::SecretString;

use support::{CARD_NUMBER, NAME, ORIGIN, PIN};

const READER: &str = "Virtual PCD 00 00";
const VPCD_PORT: u16 = 35963;

/// Kills what this test started, also when it fails.
struct Started(Vec<(&'static str, Child)>);

impl Drop for Started {
    fn drop(&mut self) {
        for (name, child) in self.0.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
            eprintln!("stopped {name}");
        }
    }
}

fn pcscd_is_running() -> bool {
    pcsc::Context::establish(pcsc::Scope::User).is_ok()
}

/// Whether something listens on TCP `port` (read from /proc, so that checking
/// does not connect: a connection to vpcd inserts a card).
fn listening(port: u16) -> bool {
    let needle = format!(":{port:04X} ");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|path| {
        std::fs::read_to_string(path).is_ok_and(|table| {
            table.lines().skip(1).any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.len() > 3
                    && format!("{} ", fields[1]).ends_with(&needle)
                    && fields[3] == "0A"
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

#[tokio::test(flavor = "multi_thread")]
async fn pcsc_stack_reads_and_authenticates_a_virtual_card() {
    let mut started = Started(Vec::new());

    if !pcscd_is_running() {
        // Without pcscd the transport reports a typed error that says what to do.
        let err = PcscTransport::new().readers().unwrap_err();
        assert_eq!(err.code(), "no_reader");
        assert!(err.to_string().contains("pcscd -f"), "{err}");

        let pcscd = Command::new("pcscd")
            .arg("-f")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start pcscd ({e}): install it with \
                     `apt-get install -y pcscd vsmartcard-vpcd libpcsclite-dev`"
                )
            });
        started.0.push(("pcscd", pcscd));
        wait_until("pcscd", Duration::from_secs(20), pcscd_is_running).await;
    }
    wait_until(
        "vpcd to listen on TCP 35963 (is vsmartcard-vpcd installed?)",
        Duration::from_secs(20),
        || listening(VPCD_PORT),
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let card_path = dir.path().join("moica.json");
    let file = support::card_file(CardKind::Moica);
    let der = support::certificate_der(&file);
    file.save(&card_path).unwrap();
    let virtual_card = Command::new(env!("CARGO_BIN_EXE_cardinal-virtual-card"))
        .arg("--card")
        .arg(&card_path)
        .arg("--vpcd")
        .arg(format!("127.0.0.1:{VPCD_PORT}"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    started.0.push(("cardinal-virtual-card", virtual_card));

    let result = tokio::task::spawn_blocking(move || {
        let mut pcsc = PcscTransport::new();
        let reader = pcsc
            .wait_for_card(Some(READER), Duration::from_secs(30))
            .unwrap();
        assert_eq!(reader, READER);
        let readers = pcsc.readers().unwrap();
        assert!(
            readers.iter().any(|r| r.name == READER && r.card_present),
            "{readers:?}"
        );

        let info = card::read(&mut pcsc, Some(READER)).unwrap();
        assert_eq!(info.card_number, CARD_NUMBER);
        assert_eq!(info.name, NAME);
        assert_eq!(info.card_kind, "moica");

        let pin = |p: &str| Pin::parse(SecretString::from(p.to_owned())).unwrap();
        let challenge = "dGVzdC1jaGFsbGVuZ2U";
        let err = card::authenticate(&mut pcsc, Some(READER), ORIGIN, challenge, None).unwrap_err();
        assert_eq!(err.code(), "pin_required");
        let err = card::authenticate(
            &mut pcsc,
            Some(READER),
            ORIGIN,
            challenge,
            Some(&pin("0000")),
        )
        .unwrap_err();
        assert!(matches!(err, Error::PinWrong { tries_left: 2 }), "{err:?}");

        let token = card::authenticate(&mut pcsc, Some(READER), ORIGIN, challenge, Some(&pin(PIN)))
            .unwrap();
        assert_eq!(token.card_kind, "moica");
        assert_eq!(STANDARD.decode(&token.certificate).unwrap(), der);
        let signature = URL_SAFE_NO_PAD.decode(&token.signature).unwrap();
        assert!(support::verify(
            &der,
            &signing_hash(ORIGIN, challenge),
            &signature
        ));

        // Each operation resets the card: the PIN verified above is gone.
        let err = card::authenticate(&mut pcsc, Some(READER), ORIGIN, challenge, None).unwrap_err();
        assert_eq!(err.code(), "pin_required");
    })
    .await;
    drop(started);
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
