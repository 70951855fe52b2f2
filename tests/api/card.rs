//! Card token validation at the IdP (docs/card-protocol.md §4,
//! docs/requirements.md R-CARD-2…4): every refusal.

use std::path::{Path, PathBuf};

use cardinal::card::ca;
use cardinal::card::issue::CardIssue;
use cardinal::card::token::signing_hash;
use cardinal::card::{CardService, CardToken, CardTrust};
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::pkcs8::DecodePrivateKey;
use serde_json::json;

use crate::helpers::*;

#[allow(clippy::disallowed_methods)]
fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

pub struct Issuers {
    pub dir: tempfile::TempDir,
}

impl Default for Issuers {
    fn default() -> Self {
        Self::new()
    }
}

impl Issuers {
    pub fn new() -> Issuers {
        let dir = tempfile::tempdir().unwrap();
        ca::init(
            &dir.path().join("nhi"),
            cardinal::card::CardKind::Nhi,
            now(),
        )
        .unwrap();
        ca::init(
            &dir.path().join("moica"),
            cardinal::card::CardKind::Moica,
            now(),
        )
        .unwrap();
        ca::init(
            &dir.path().join("rogue"),
            cardinal::card::CardKind::Nhi,
            now(),
        )
        .unwrap();
        Issuers { dir }
    }

    pub fn ca(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Trusts the NHI and MOICA CAs, with their CRLs (revocation is checked by default).
    pub fn configure(&self, s: &mut cardinal::configuration::Settings) {
        self.configure_card(&mut s.card);
    }

    pub fn configure_card(&self, card: &mut cardinal::configuration::CardSettings) {
        card.nhi_ca_files = vec![self.ca("nhi").join("ca.pem")];
        card.moica_ca_files = vec![self.ca("moica").join("ca.pem")];
        card.crl_files = vec![
            self.ca("nhi").join("crl.pem"),
            self.ca("moica").join("crl.pem"),
        ];
    }

    /// Issues a card from CA `ca_name` and returns its file's JSON.
    pub fn issue(
        &self,
        ca_name: &str,
        kind: &str,
        card_number: &str,
        name: &str,
        valid_days: i64,
    ) -> serde_json::Value {
        self.issue_to(ca_name, kind, card_number, name, "A123456789", valid_days)
    }

    /// [`Self::issue`] for the holder of `national_id`.
    pub fn issue_to(
        &self,
        ca_name: &str,
        kind: &str,
        card_number: &str,
        name: &str,
        national_id: &str,
        valid_days: i64,
    ) -> serde_json::Value {
        let out = self
            .dir
            .path()
            .join(format!("{ca_name}-{card_number}.json"));
        let args = CardIssue {
            ca: self.ca(ca_name),
            kind: kind.into(),
            card_number: card_number.into(),
            name: name.into(),
            national_id: national_id.into(),
            birth_date: "1980-01-02".into(),
            sex: "M".into(),
            pin: (kind == "moica").then(|| "1234".to_string()),
            valid_days,
            out: out.clone(),
        };
        cardinal::card::issue::issue_card_file(&args, now()).unwrap();
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
    }
}

/// What the card (through the authenticator) would return: a token over
/// signing_hash(origin, challenge) with the card file's key.
pub fn sign_token(card: &serde_json::Value, origin: &str, challenge: &str) -> CardToken {
    let key =
        p256::ecdsa::SigningKey::from_pkcs8_pem(card["private_key_pem"].as_str().unwrap()).unwrap();
    let sig: p256::ecdsa::Signature = key.sign_prehash(&signing_hash(origin, challenge)).unwrap();
    let der =
        x509_parser::pem::parse_x509_pem(card["certificate_pem"].as_str().unwrap().as_bytes())
            .unwrap()
            .1
            .contents;
    use base64::Engine as _;
    CardToken {
        format: "cardinal-card/1".into(),
        card_kind: card["kind"].as_str().unwrap().into(),
        certificate: base64::engine::general_purpose::STANDARD.encode(der),
        algorithm: "ES256".into(),
        signature: cardinal::crypto::b64url(&sig.to_bytes()),
        app_version: "test".into(),
    }
}

pub async fn challenge(app: &TestApp) -> String {
    let r = app
        .browser
        .post(app.url("/card/challenge"))
        .header("origin", &app.address)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["expires_in"], 300);
    let c = body["challenge"].as_str().unwrap().to_string();
    assert_eq!(
        cardinal::crypto::b64url_decode(&c).unwrap().len(),
        32,
        "32 random bytes"
    );
    c
}

pub async fn check(app: &TestApp, challenge: &str, token: &CardToken) -> (u16, serde_json::Value) {
    let r = app
        .browser
        .post(app.url("/card/check"))
        .header("origin", &app.address)
        .json(&json!({ "challenge": challenge, "token": token }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn app_with(issuers: &Issuers) -> TestApp {
    spawn_app_with(|s| issuers.configure(s)).await
}

#[tokio::test]
async fn a_good_card_is_accepted_once() {
    let issuers = Issuers::new();
    let app = app_with(&issuers).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let c = challenge(&app).await;
    let token = sign_token(&card, &app.address, &c);
    let (status, body) = check(&app, &c, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "王小明");
    assert_eq!(body["card_number"], "0000****5678");
    assert_eq!(body["card_kind"], "nhi");
    let (status, body) = check(&app, &c, &token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("bad_challenge")),
        "a challenge works once"
    );
}

#[tokio::test]
async fn signature_for_another_origin_is_refused_and_the_challenge_is_spent() {
    let issuers = Issuers::new();
    let app = app_with(&issuers).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let c = challenge(&app).await;
    let phished = sign_token(&card, "https://evil.example", &c);
    assert_eq!(check(&app, &c, &phished).await.1["error"], "bad_signature");
    let good = sign_token(&card, &app.address, &c);
    assert_eq!(
        check(&app, &c, &good).await.1["error"],
        "bad_challenge",
        "consumed on first use, successful or not"
    );
}

#[tokio::test]
async fn unknown_expired_and_foreign_browser_challenges_are_refused() {
    let issuers = Issuers::new();
    let app = app_with(&issuers).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let made_up = cardinal::crypto::random_token(32);
    assert_eq!(
        check(&app, &made_up, &sign_token(&card, &app.address, &made_up))
            .await
            .1["error"],
        "bad_challenge"
    );

    let c = challenge(&app).await;
    app.clock.advance(301);
    assert_eq!(
        check(&app, &c, &sign_token(&card, &app.address, &c))
            .await
            .1["error"],
        "bad_challenge",
        "expired after 5 minutes"
    );

    let c = challenge(&app).await;
    let other_browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    other_browser
        .post(app.url("/card/challenge"))
        .header("origin", &app.address)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let r = other_browser
        .post(app.url("/card/check"))
        .header("origin", &app.address)
        .json(&json!({ "challenge": c, "token": sign_token(&card, &app.address, &c) }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "bad_challenge",
        "bound to the browser that asked"
    );
}

#[tokio::test]
async fn certificates_that_must_not_be_trusted_are_refused() {
    let issuers = Issuers::new();
    let app = app_with(&issuers).await;
    let good = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let rogue = issuers.issue("rogue", "nhi", "000087654321", "冒名者", 365);
    let c = challenge(&app).await;
    assert_eq!(
        check(&app, &c, &sign_token(&rogue, &app.address, &c))
            .await
            .1["error"],
        "untrusted_issuer"
    );

    // Swapped certificate: another card's certificate with this card's signature.
    let other = issuers.issue("nhi", "nhi", "000011112222", "李小華", 365);
    let c = challenge(&app).await;
    let mut swapped = sign_token(&good, &app.address, &c);
    swapped.certificate = sign_token(&other, &app.address, &c).certificate;
    assert_eq!(check(&app, &c, &swapped).await.1["error"], "bad_signature");

    // Garbage signature.
    let c = challenge(&app).await;
    let mut bad = sign_token(&good, &app.address, &c);
    bad.signature = cardinal::crypto::random_token(64);
    assert_eq!(check(&app, &c, &bad).await.1["error"], "bad_signature");

    // Wrong kind: an NHI card claiming to be a citizen certificate.
    let c = challenge(&app).await;
    let mut claimed = sign_token(&good, &app.address, &c);
    claimed.card_kind = "moica".into();
    assert_eq!(check(&app, &c, &claimed).await.1["error"], "wrong_kind");

    // Unknown format.
    let c = challenge(&app).await;
    let mut old = sign_token(&good, &app.address, &c);
    old.format = "cardinal-card/0".into();
    assert_eq!(check(&app, &c, &old).await.1["error"], "unknown_format");
}

#[tokio::test]
async fn expired_and_revoked_certificates_are_refused() {
    let issuers = Issuers::new();
    let app = app_with(&issuers).await;
    let short = issuers.issue("nhi", "nhi", "000012345678", "王小明", 1);
    app.clock.advance(2 * 24 * 3600);
    let c = challenge(&app).await;
    assert_eq!(
        check(&app, &c, &sign_token(&short, &app.address, &c))
            .await
            .1["error"],
        "certificate_expired"
    );

    let app = app_with(&issuers).await;
    let card = issuers.issue("moica", "moica", "000099998888", "陳大文", 365);
    let c = challenge(&app).await;
    assert_eq!(
        check(&app, &c, &sign_token(&card, &app.address, &c))
            .await
            .0,
        200,
        "a MOICA card from its CA works"
    );
    let revoked = ca::revoke(&issuers.ca("moica"), Some("000099998888"), None, now()).unwrap();
    assert_eq!(revoked.len(), 1);
    let c = challenge(&app).await;
    assert_eq!(
        check(&app, &c, &sign_token(&card, &app.address, &c))
            .await
            .1["error"],
        "certificate_revoked",
        "the new CRL is read without a restart"
    );
}

#[tokio::test]
async fn a_card_other_than_the_one_the_flow_started_with_is_refused() {
    let issuers = Issuers::new();
    let app = app_with(&issuers).await;
    let first = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let second = issuers.issue("nhi", "nhi", "000011112222", "李小華", 365);
    let mut settings = cardinal::configuration::CardSettings::default();
    settings.nhi_ca_files = vec![issuers.ca("nhi").join("ca.pem")];
    settings.crl_files = vec![issuers.ca("nhi").join("crl.pem")];
    let trust = CardTrust::load(&settings, app.engine.now()).unwrap();
    let service = CardService::new(app.engine.clone(), trust).unwrap();
    let origin = service.origin().to_string();
    let run = move || {
        let c = service
            .issue_challenge("flow-1", Some("000012345678"))
            .unwrap()
            .challenge;
        let wrong = service
            .authenticate("flow-1", &c, &sign_token(&second, &origin, &c))
            .unwrap_err();
        let c = service
            .issue_challenge("flow-1", Some("000012345678"))
            .unwrap()
            .challenge;
        let right = service
            .authenticate("flow-1", &c, &sign_token(&first, &origin, &c))
            .unwrap();
        let c = service.issue_challenge("flow-1", None).unwrap().challenge;
        let other_flow = service
            .authenticate("flow-2", &c, &sign_token(&first, &origin, &c))
            .unwrap_err();
        (wrong, right, other_flow)
    };
    let (wrong, right, other_flow) = tokio::task::spawn_blocking(run).await.unwrap();
    assert_eq!(wrong.code(), "wrong_card");
    assert_eq!(right.card_number, "000012345678");
    assert_eq!(
        right.national_id.as_deref(),
        Some("A123456789"),
        "the issuer put the holder's ID in the certificate"
    );
    assert_eq!(right.birth_date.as_deref(), Some("1980-01-02"));
    assert_eq!(other_flow.code(), "bad_challenge");
}

#[tokio::test]
async fn card_endpoints_refuse_cross_site_requests() {
    let issuers = Issuers::new();
    let app = app_with(&issuers).await;
    let r = app
        .browser
        .post(app.url("/card/challenge"))
        .header("origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .browser
        .post(app.url("/card/challenge"))
        .header("origin", &app.address)
        .form(&[("a", "b")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a form post (no preflight) is refused");
}

#[test]
fn the_card_signature_verifies_with_an_independent_ecdsa_implementation() {
    // The card signs with RustCrypto's p256; ring checks it over the same hash input.
    let issuers = Issuers::new();
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let (origin, challenge) = ("https://idp.example.gov.tw", "c2FtcGxlLWNoYWxsZW5nZQ");
    let token = sign_token(&card, origin, challenge);
    let der =
        x509_parser::pem::parse_x509_pem(card["certificate_pem"].as_str().unwrap().as_bytes())
            .unwrap()
            .1
            .contents;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let public = cert.public_key().subject_public_key.data.to_vec();
    // ECDSA-SHA256 over M hashes M once: M = SHA-256(origin) ‖ SHA-256(challenge).
    let mut message = ring::digest::digest(&ring::digest::SHA256, origin.as_bytes())
        .as_ref()
        .to_vec();
    message.extend_from_slice(
        ring::digest::digest(&ring::digest::SHA256, challenge.as_bytes()).as_ref(),
    );
    let key =
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, public);
    let signature = cardinal::crypto::b64url_decode(&token.signature).unwrap();
    assert!(key.verify(&message, &signature).is_ok());
    let mut tampered = message.clone();
    tampered[0] ^= 1;
    assert!(key.verify(&tampered, &signature).is_err());
}

#[test]
fn card_cli_makes_a_ca_issues_and_revokes() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_cardinal");
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let ca_dir = dir.path().join("ca");
    let out = run(&[
        "card",
        "ca",
        "init",
        "--out",
        ca_dir.to_str().unwrap(),
        "--kind",
        "moica",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let card_path = dir.path().join("card.json");
    let base = [
        "card",
        "issue",
        "--ca",
        ca_dir.to_str().unwrap(),
        "--kind",
        "moica",
        "--card-number",
        "000012345678",
        "--name",
        "王小明",
        "--national-id",
        "A123456789",
        "--birth-date",
        "1980-01-02",
        "--sex",
        "M",
        "--out",
        card_path.to_str().unwrap(),
    ];
    let out = run(&base);
    assert!(!out.status.success(), "MOICA without a PIN is refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--pin"));
    let mut with_pin = base.to_vec();
    with_pin.extend(["--pin", "1234"]);
    let out = run(&with_pin);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&card_path).unwrap()).unwrap();
    assert_eq!(file["format"], "cardinal-virtual-card/1");
    assert_eq!(file["kind"], "moica");
    assert_eq!(file["pin"], "1234");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&card_path).unwrap().permissions().mode() & 0o077,
            0,
            "card file is private"
        );
    }
    let mut bad_id = base.to_vec();
    bad_id[11] = "A123456788";
    bad_id.extend(["--pin", "1234"]);
    let out = run(&bad_id);
    assert!(String::from_utf8_lossy(&out.stderr).contains("check digit"));
    let out = run(&[
        "card",
        "revoke",
        "--ca",
        ca_dir.to_str().unwrap(),
        "--card-number",
        "000012345678",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let crl = std::fs::read(Path::new(&ca_dir).join("crl.pem")).unwrap();
    let der = x509_parser::pem::parse_x509_pem(&crl).unwrap().1.contents;
    let (_, parsed) = x509_parser::parse_x509_crl(&der).unwrap();
    assert_eq!(parsed.iter_revoked_certificates().count(), 1);
}

#[tokio::test]
async fn environment_page_offers_the_authenticator_with_its_sha256_and_both_checks() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("cardinal-authenticator");
    std::fs::write(&program, b"pretend authenticator build").unwrap();
    let expected: String =
        ring::digest::digest(&ring::digest::SHA256, b"pretend authenticator build")
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
    let app = spawn_app_with(|s| s.card.authenticator_download = Some(program.clone())).await;
    let r = app.get("/help/environment").await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("connect-src 'self' http://127.0.0.1:7777"),
        "{csp}"
    );
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = r.text().await.unwrap();
    for text in [
        "電腦環境說明",
        "檢測環境",
        "檢測健保卡認證",
        "SHA-256",
        expected.as_str(),
        "data-authenticator=\"http://127.0.0.1:7777\"",
    ] {
        assert!(html.contains(text), "page lacks {text}");
    }
    assert!(!html.contains("MD5"), "SHA-256, not MD5");
    let d = app.get("/download/cardinal-authenticator").await;
    assert_eq!(d.headers()["x-content-sha256"], expected.as_str());
    assert_eq!(
        d.bytes().await.unwrap().as_ref(),
        b"pretend authenticator build"
    );
    let js = app.get("/static/environment.js").await;
    assert_eq!(js.status(), 200);
    assert!(js.text().await.unwrap().contains("/v1/card/authenticate"));
}
