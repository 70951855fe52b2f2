//! Unit tests of card token verification: trust loading, CRL freshness and reloads,
//! revoked serials and CA validity.

use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::pkcs8::DecodePrivateKey;

use super::super::ca::{self, CardHolder, IssuedCredentials};
use super::*;
use crate::configuration::{CardSettings, RevocationCheck};

const T0: i64 = 1_800_000_000;
const DAY: i64 = 24 * 3600;
const ORIGIN: &str = "https://idp.example.gov.tw";

fn at(t: i64) -> ::time::OffsetDateTime {
    ::time::OffsetDateTime::from_unix_timestamp(t).unwrap()
}

fn holder() -> CardHolder {
    CardHolder {
        card_number: "000012345678".into(),
        name: "王小明".into(),
        national_id: "A123456789".into(),
        birth_date: "1980-01-02".into(),
        sex: "M".into(),
        pin: None,
    }
}

/// An NHI CA in `dir/nhi` with one card; settings trusting it with its CRL.
fn setup(dir: &Path) -> (CardSettings, IssuedCredentials) {
    let ca_dir = dir.join("nhi");
    ca::init(&ca_dir, CardKind::Nhi, at(T0)).unwrap();
    let card = ca::issue(&ca_dir, CardKind::Nhi, &holder(), 365, at(T0)).unwrap();
    let settings = CardSettings {
        nhi_ca_files: vec![ca_dir.join("ca.pem")],
        crl_files: vec![ca_dir.join("crl.pem")],
        ..CardSettings::default()
    };
    (settings, card)
}

fn token(card: &IssuedCredentials, challenge: &str) -> CardToken {
    let key = p256::ecdsa::SigningKey::from_pkcs8_pem(&card.private_key_pem).unwrap();
    let sig: p256::ecdsa::Signature = key.sign_prehash(&signing_hash(ORIGIN, challenge)).unwrap();
    let der = parse_x509_pem(card.certificate_pem.as_bytes())
        .unwrap()
        .1
        .contents;
    CardToken {
        format: TOKEN_FORMAT.into(),
        card_kind: "nhi".into(),
        certificate: base64::engine::general_purpose::STANDARD.encode(der),
        algorithm: ALGORITHM_ES256.into(),
        signature: crate::crypto::b64url(&sig.to_bytes()),
        app_version: "test".into(),
    }
}

#[test]
fn every_ca_needs_a_crl_unless_revocation_checking_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let (mut settings, card) = setup(dir.path());
    settings.crl_files.clear();
    let e = format!("{:#}", CardTrust::load(&settings, T0).unwrap_err());
    assert!(
        e.contains("Cardinal NHI card CA (development)")
            && e.contains("card.crl_files")
            && e.contains("card.revocation_check = \"off\""),
        "{e}"
    );

    settings.revocation_check = RevocationCheck::Off;
    let trust = CardTrust::load(&settings, T0).unwrap();
    assert!(trust.verify(&token(&card, "c1"), ORIGIN, "c1", T0).is_ok());
    assert!(trust.issuer_status(T0)[0].revocation_known);
    // Off means off: even a listed CRL is not read.
    ca::revoke(&dir.path().join("nhi"), Some("000012345678"), None, at(T0)).unwrap();
    settings.crl_files = vec![dir.path().join("nhi/crl.pem")];
    let trust = CardTrust::load(&settings, T0).unwrap();
    assert!(trust.verify(&token(&card, "c2"), ORIGIN, "c2", T0).is_ok());
}

#[test]
fn a_crl_past_its_next_update_leaves_revocation_unknown_until_a_fresh_one_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let (settings, card) = setup(dir.path());
    let trust = CardTrust::load(&settings, T0).unwrap();
    let next_update = T0 + ca::CRL_VALIDITY_DAYS * DAY;
    assert!(trust
        .verify(&token(&card, "a"), ORIGIN, "a", next_update)
        .is_ok());
    let later = next_update + 1;
    assert_eq!(
        trust.verify(&token(&card, "b"), ORIGIN, "b", later),
        Err(CardError::RevocationUnknown)
    );
    let status = trust.issuer_status(later);
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].crl_next_update, Some(next_update));
    assert!(!status[0].revocation_known);
    assert!(status[0].valid);

    let generation = trust.generation();
    ca::reissue_crl(&dir.path().join("nhi"), at(later)).unwrap();
    assert!(trust.verify(&token(&card, "c"), ORIGIN, "c", later).is_ok());
    assert_eq!(trust.generation(), generation + 1, "re-read once");
    assert!(trust.issuer_status(later)[0].revocation_known);
}

#[test]
fn an_unreadable_crl_refuses_every_card_until_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let (settings, card) = setup(dir.path());
    let trust = CardTrust::load(&settings, T0).unwrap();
    let crl = dir.path().join("nhi/crl.pem");
    let good = std::fs::read(&crl).unwrap();
    std::fs::write(
        &crl,
        b"-----BEGIN X509 CRL-----\nbroken\n-----END X509 CRL-----\n",
    )
    .unwrap();
    assert_eq!(
        trust.verify(&token(&card, "a"), ORIGIN, "a", T0),
        Err(CardError::RevocationUnknown)
    );
    std::fs::write(&crl, good).unwrap();
    assert!(trust.verify(&token(&card, "b"), ORIGIN, "b", T0).is_ok());
}

#[test]
fn revoked_serials_name_certificates_as_verified_cards_do() {
    let dir = tempfile::tempdir().unwrap();
    let (settings, card) = setup(dir.path());
    let trust = CardTrust::load(&settings, T0).unwrap();
    let verified = trust.verify(&token(&card, "a"), ORIGIN, "a", T0).unwrap();
    assert_eq!(verified.serial, card.serial, "as `card issue` prints it");
    assert_eq!(verified.issuer.len(), 64);
    assert!(verified.issuer_name.contains("Cardinal NHI card CA"));
    assert!(!trust.is_revoked(&verified.issuer, &verified.serial));
    assert!(trust.revoked_serials()[0].serials.is_empty());

    ca::revoke(&dir.path().join("nhi"), None, Some(&card.serial), at(T0)).unwrap();
    assert!(trust.reload_if_changed());
    assert!(
        !trust.reload_if_changed(),
        "unchanged files are not re-read"
    );
    assert!(trust.is_revoked(&verified.issuer, &verified.serial));
    let lists = trust.revoked_serials();
    assert_eq!(
        lists,
        vec![RevokedSerials {
            issuer: verified.issuer.clone(),
            issuer_name: verified.issuer_name.clone(),
            serials: vec![verified.serial.clone()],
        }]
    );
    assert_eq!(
        trust.verify(&token(&card, "b"), ORIGIN, "b", T0),
        Err(CardError::Revoked)
    );
}

#[test]
fn cards_of_a_ca_that_is_not_valid_now_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (settings, card) = setup(dir.path());
    let trust = CardTrust::load(&settings, T0).unwrap();
    // The development CA is valid from a day before it was made.
    let before = T0 - 2 * DAY;
    assert_eq!(
        trust.verify(&token(&card, "a"), ORIGIN, "a", before),
        Err(CardError::IssuerNotValid)
    );
    assert!(!trust.issuer_status(before)[0].valid);
}

#[test]
fn serials_are_hex_bytes_with_colons() {
    assert_eq!(serial_hex(&[0x01, 0xab, 0x00]), "01:ab:00");
    assert_eq!(serial_hex(&[]), "");
    assert_eq!(issuer_id(b"x").len(), 64);
}
