//! Card certificates fail closed (issue 10): every CA needs a current CRL unless revocation
//! checking is explicitly off; a stale CRL refuses its CA's cards; a card certificate must
//! be an end entity that may sign, from a CA whose own certificate is valid; and revoking a
//! card that signed someone in ends that person's sessions and grants at once.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cardinal::card::{ca, CardKind, CardService, CardTrust};
use cardinal::configuration::RevocationCheck;
use cardinal::startup::{Application, Options};
use cardinal::store::AuditFilter;
use serde_json::json;

use crate::card::{challenge, check, sign_token, Issuers};
use crate::card_login::{card_app, register, submit, PASSWORD};
use crate::helpers::*;

const DAY: i64 = 24 * 3600;

#[allow(clippy::disallowed_methods)]
fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

async fn get_json(app: &TestApp, path: &str) -> (u16, serde_json::Value) {
    let r = app.api.get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn metrics(app: &TestApp) -> String {
    app.metrics_text().await
}

/// The name the IdP gives the development CA in `dir` (its subject, RFC 4514).
fn ca_name(dir: &Path) -> String {
    let pem = std::fs::read(dir.join("ca.pem")).unwrap();
    let der = x509_parser::pem::parse_x509_pem(&pem).unwrap().1.contents;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    cert.subject().to_string()
}

/// A card certificate from the development CA in `ca_dir`, as `ca::issue` makes it, then
/// changed by `odd`; returned as a card file's JSON (what `sign_token` needs).
fn odd_card(ca_dir: &Path, odd: impl FnOnce(&mut rcgen::CertificateParams)) -> serde_json::Value {
    let ca_key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(ca_dir.join("ca.key.pem")).unwrap())
            .unwrap();
    let ca_cert = rcgen::CertificateParams::from_ca_cert_pem(
        &std::fs::read_to_string(ca_dir.join("ca.pem")).unwrap(),
    )
    .unwrap()
    .self_signed(&ca_key)
    .unwrap();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CountryName, "TW");
    dn.push(rcgen::DnType::CommonName, "王小明");
    dn.push(
        rcgen::DnType::CustomDnType(vec![2, 5, 4, 5]),
        "000012345678",
    );
    params.distinguished_name = dn;
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.not_before = now() - time::Duration::minutes(5);
    params.not_after = now() + time::Duration::days(365);
    params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
        &[2, 5, 29, 32],
        CardKind::Nhi.certificate_policies_der(),
    )];
    odd(&mut params);
    let cert = params.signed_by(&key, &ca_cert, &ca_key).unwrap();
    json!({
        "kind": "nhi",
        "certificate_pem": cert.pem(),
        "private_key_pem": key.serialize_pem(),
    })
}

#[tokio::test]
async fn startup_refuses_a_card_ca_without_a_crl() {
    let issuers = Issuers::new();
    let db = TestDb::new();
    let data = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut settings = test_settings(&db, data.path());
    settings.issuer = format!("http://{}", listener.local_addr().unwrap());
    issuers.configure(&mut settings);
    // The MOICA CA's CRL only: the NHI CA has none.
    settings.card.crl_files = vec![issuers.ca("moica").join("crl.pem")];
    let options = Options {
        listener: Some(Arc::new(listener)),
        ..Options::default()
    };
    let Err(e) = Application::build_with(settings, options).await else {
        panic!("Cardinal started with a card CA that has no CRL");
    };
    let message = format!("{e:#}");
    assert!(
        message.contains(&format!("card CA \"{}\"", ca_name(&issuers.ca("nhi")))),
        "{message}"
    );
    assert!(
        message.contains("has no CRL in card.crl_files")
            && message.contains("card.revocation_check = \"off\""),
        "the message says what to set: {message}"
    );
}

#[tokio::test]
async fn with_revocation_checking_off_cardinal_starts_warns_and_readyz_says_so() {
    let issuers = Issuers::new();
    let app = spawn_app_with(|s| {
        issuers.configure(s);
        s.card.crl_files.clear();
        s.card.revocation_check = RevocationCheck::Off;
    })
    .await;
    let (status, ready) = get_json(&app, "/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["card"]["revocation_check"], "off");
    assert_eq!(
        ready["card"]["warning"],
        "card revocation checking is off: a revoked card can sign in"
    );
    assert!(
        logs().contains("card.revocation_check = \\\"off\\\": card certificates are not checked"),
        "a warning at start"
    );
    // What "off" means: a revoked card is accepted.
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    ca::revoke(&issuers.ca("nhi"), Some("000012345678"), None, now()).unwrap();
    let c = challenge(&app).await;
    let (status, body) = check(&app, &c, &sign_token(&card, &app.address, &c)).await;
    assert_eq!(status, 200, "{body}");

    // With checking on (the default), /readyz says so and names no refused CA.
    let app = spawn_app_with(|s| issuers.configure(s)).await;
    let (status, ready) = get_json(&app, "/readyz").await;
    assert_eq!(status, 200);
    assert_eq!(ready["card"]["revocation_check"], "crl");
    assert_eq!(ready["card"]["issuers"], 2);
    assert_eq!(ready["card"]["revocation_unknown"], json!([]));
    assert!(ready["card"].get("warning").is_none());
}

#[tokio::test]
async fn a_crl_past_its_next_update_refuses_its_cards_until_a_fresh_one_is_dropped_in() {
    let issuers = Issuers::new();
    let app = spawn_app_with(|s| issuers.configure(s)).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let c = challenge(&app).await;
    assert_eq!(
        check(&app, &c, &sign_token(&card, &app.address, &c))
            .await
            .0,
        200
    );

    // The development CA's CRLs are current for 30 days.
    app.clock.advance(31 * DAY);
    let c = challenge(&app).await;
    let (status, body) = check(&app, &c, &sign_token(&card, &app.address, &c)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("revocation_status_unknown")),
        "{body}"
    );
    let text = metrics(&app).await;
    assert!(
        text.contains("cardinal_card_refusals_total{reason=\"revocation_status_unknown\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("cardinal_card_issuers_revocation_unknown 2"),
        "both CAs' CRLs are stale: {text}"
    );
    let nhi = ca_name(&issuers.ca("nhi"));
    let (_, ready) = get_json(&app, "/readyz").await;
    assert_eq!(ready["status"], "ready", "other sign-ins still work");
    assert!(
        ready["card"]["revocation_unknown"]
            .as_array()
            .unwrap()
            .contains(&json!(nhi)),
        "{ready}"
    );
    assert!(
        logs().lines().any(|l| l.contains("past its nextUpdate")
            && l.contains("card refused")
            && l.contains(&nhi)),
        "a warning names the CA and the CRL's nextUpdate"
    );

    // The issuer publishes a fresh CRL; it is read without a restart.
    ca::reissue_crl(
        &issuers.ca("nhi"),
        now() + time::Duration::seconds(31 * DAY),
    )
    .unwrap();
    let c = challenge(&app).await;
    let (status, body) = check(&app, &c, &sign_token(&card, &app.address, &c)).await;
    assert_eq!(status, 200, "{body}");
    let text = metrics(&app).await;
    assert!(
        text.contains("cardinal_card_issuers_revocation_unknown 1"),
        "only the MOICA CA's CRL is stale now: {text}"
    );
    assert!(
        text.contains("cardinal_card_refusals_total{reason=\"revocation_status_unknown\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn a_card_certificate_that_is_a_ca_or_may_not_sign_is_refused() {
    let issuers = Issuers::new();
    let app = spawn_app_with(|s| issuers.configure(s)).await;
    let nhi = issuers.ca("nhi");

    let control = odd_card(&nhi, |_| {});
    let c = challenge(&app).await;
    let (status, body) = check(&app, &c, &sign_token(&control, &app.address, &c)).await;
    assert_eq!(status, 200, "the helper makes good cards: {body}");

    let ca_leaf = odd_card(&nhi, |p| {
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyCertSign,
        ];
    });
    let c = challenge(&app).await;
    let (status, body) = check(&app, &c, &sign_token(&ca_leaf, &app.address, &c)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("not_end_entity"))
    );

    let no_signing = odd_card(&nhi, |p| {
        p.key_usages = vec![rcgen::KeyUsagePurpose::KeyEncipherment];
    });
    let c = challenge(&app).await;
    let (status, body) = check(&app, &c, &sign_token(&no_signing, &app.address, &c)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("wrong_key_usage"))
    );
}

#[tokio::test]
async fn cards_of_a_ca_whose_own_certificate_is_not_valid_now_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("old-nhi");
    // A CA made almost ten years ago: its certificate expires a day from now.
    ca::init(
        &ca_dir,
        CardKind::Nhi,
        now() - time::Duration::days(365 * 10 - 1),
    )
    .unwrap();
    ca::reissue_crl(&ca_dir, now()).unwrap();
    let app = spawn_app_with(|s| {
        s.card.nhi_ca_files = vec![ca_dir.join("ca.pem")];
        s.card.crl_files = vec![ca_dir.join("crl.pem")];
    })
    .await;
    let card = odd_card(&ca_dir, |_| {});
    let c = challenge(&app).await;
    assert_eq!(
        check(&app, &c, &sign_token(&card, &app.address, &c))
            .await
            .0,
        200
    );
    app.clock.advance(2 * DAY);
    let c = challenge(&app).await;
    let (status, body) = check(&app, &c, &sign_token(&card, &app.address, &c)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("issuer_not_valid")),
        "the card itself is valid for a year"
    );
    let (_, ready) = get_json(&app, "/readyz").await;
    assert_eq!(ready["card"]["issuer_not_valid"], json!([ca_name(&ca_dir)]));
}

async fn refresh(app: &TestApp, client: &TestClient, rt: &str) -> (u16, serde_json::Value) {
    let r = app.refresh(client, rt).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

fn card_revoked_events(app: &TestApp, person_id: &str) -> Vec<cardinal::store::AuditEvent> {
    let filter = AuditFilter {
        event: Some("card_revoked".into()),
        person_id: Some(person_id.into()),
        ..AuditFilter::default()
    };
    app.engine
        .store()
        .query_audit(&filter, None, 50)
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

#[tokio::test]
async fn revoking_a_card_ends_its_holders_sessions_and_grants_once() {
    let issuers = Issuers::new();
    let receiver = spawn_receiver().await;
    let app = card_app(&issuers, |s| s.card.crl_check_interval = 1).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let person_id = register(&app, &card, false);
    let client = app.add_client(|d| {
        d.backchannel_logout_uri = Some(Some(receiver.uri.clone()));
    });

    // Sign in with the card, with a refresh token.
    let (verifier, pkce_challenge) = pkce();
    let params = auth_params(
        &client,
        &pkce_challenge,
        &[("scope", "openid offline_access")],
    );
    let interaction = location(&app.authorize(&params).await);
    let r = submit(&app, &interaction, &card, PASSWORD).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let r = app.approve_consent(&interaction).await;
    let url = url::Url::parse(&location(&r)).unwrap();
    let tokens: serde_json::Value = app
        .redeem(&client, &query_param(&url, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let rt = tokens["refresh_token"].as_str().expect("refresh token");
    let sid = jwt_claims(tokens["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_string();

    // The sign-in recorded which certificate the card used.
    let pem = card["certificate_pem"].as_str().unwrap();
    let der = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .unwrap()
        .1
        .contents;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let issuer = cardinal::card::verify::issuer_id(cert.issuer().as_raw());
    let serial = cardinal::card::verify::serial_hex(cert.raw_serial());
    assert_eq!(
        app.engine
            .store()
            .unrevoked_card_certificates(&issuer, std::slice::from_ref(&serial))
            .unwrap(),
        vec![serial.clone()]
    );
    // SSO works before the revocation; this code is not redeemed before it.
    let (v2, c2) = pkce();
    let r = app
        .authorize(&auth_params(
            &client,
            &c2,
            &[("prompt", "none"), ("scope", "openid")],
        ))
        .await;
    let url = url::Url::parse(&location(&r)).unwrap();
    let outstanding = query_param(&url, "code").expect("a code by SSO");

    // The card issuer revokes the card; the IdP sees the new CRL within a second or so.
    ca::revoke(&issuers.ca("nhi"), Some("000012345678"), None, now()).unwrap();
    let mut active = true;
    for _ in 0..100 {
        active = app.introspect(&client, rt).await["active"] == true;
        if !active {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!active, "the refresh token was revoked");
    let (status, body) = refresh(&app, &client, rt).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let r = app.redeem(&client, &outstanding, &v2).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant",
        "the code issued before the revocation is gone too"
    );
    let (_, c3) = pkce();
    let r = app
        .authorize(&auth_params(
            &client,
            &c3,
            &[("prompt", "none"), ("scope", "openid")],
        ))
        .await;
    let url = url::Url::parse(&location(&r)).unwrap();
    assert_eq!(
        query_param(&url, "error").as_deref(),
        Some("login_required"),
        "the SSO session ended"
    );
    let logout_tokens = wait_for(&receiver.tokens, 1).await;
    assert_eq!(logout_tokens.len(), 1, "one back-channel logout");
    let claims = jwt_claims(&logout_tokens[0]);
    assert_eq!(claims["sid"], sid.as_str());
    assert_eq!(claims["aud"], client.client_id.as_str());
    let events = card_revoked_events(&app, &person_id);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].actor.as_deref(), Some("system"));
    assert_eq!(events[0].outcome, "success");

    // Another instance on the same database acting on the same CRL finds nothing left.
    let other = spawn_on(app.db.clone(), |s| issuers.configure(s)).await;
    let mut settings = cardinal::configuration::CardSettings::default();
    issuers.configure_card(&mut settings);
    let trust = CardTrust::load(&settings, other.engine.now()).unwrap();
    let service = CardService::new(other.engine.clone(), trust).unwrap();
    let deliveries = tokio::task::spawn_blocking(move || service.sync_revocations())
        .await
        .unwrap();
    assert!(deliveries.is_empty());
    assert_eq!(card_revoked_events(&app, &person_id).len(), 1);

    // And the revoked card no longer signs in.
    let (_, c4) = pkce();
    let interaction = location(&app.authorize(&auth_params(&client, &c4, &[])).await);
    let r = submit(&app, &interaction, &card, PASSWORD).await;
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("data-error=\"certificate_revoked\""));
}
