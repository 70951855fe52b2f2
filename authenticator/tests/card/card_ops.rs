use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use cardinal_authenticator::card::{self, Pin, KIND_NHI_READONLY};
use cardinal_authenticator::card_file::CardKind;
use cardinal_authenticator::error::Error;
use cardinal_authenticator::token::signing_hash;
use cardinal_authenticator::transport::{
    CardChannel, CardTransport, InProcessTransport, ReaderStatus, SessionOp, IN_PROCESS_READER,
};
use cardinal_authenticator::virtual_card::VirtualCard;
use secrecy::SecretString;

use crate::support::{self, CARD_NUMBER, NAME, ORIGIN, PIN};

fn transport(kind: CardKind) -> InProcessTransport {
    InProcessTransport::new(support::virtual_card(kind))
}

fn pin(p: &str) -> Pin {
    Pin::parse(SecretString::from(p.to_owned())).unwrap()
}

/// A real NHI card: the public applet only; SELECT of the certificate file fails.
struct ReadOnlyNhiCard(VirtualCard);

impl CardTransport for ReadOnlyNhiCard {
    fn readers(&mut self) -> Result<Vec<ReaderStatus>, Error> {
        Ok(vec![ReaderStatus {
            name: "NHI".into(),
            card_present: true,
        }])
    }
    fn wait_for_card(&mut self, _: Option<&str>, _: Duration) -> Result<String, Error> {
        Ok("NHI".into())
    }
    fn session(&mut self, _: Option<&str>, op: &mut SessionOp<'_>) -> Result<(), Error> {
        struct Channel<'a>(&'a mut VirtualCard);
        impl CardChannel for Channel<'_> {
            fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error> {
                if apdu.get(1..3) == Some(&[0xA4, 0x02]) {
                    return Ok(vec![0x6A, 0x82]);
                }
                Ok(self.0.transmit(apdu))
            }
        }
        op(&mut Channel(&mut self.0))
    }
}

#[test]
fn read_returns_number_chinese_name_and_kind() {
    for kind in [CardKind::Nhi, CardKind::Moica] {
        let info = card::read(&mut transport(kind), None).unwrap();
        assert_eq!(info.card_number, CARD_NUMBER);
        assert_eq!(info.name, NAME);
        assert_eq!(info.card_kind, kind.as_str());
    }
}

#[test]
fn real_nhi_card_reads_as_readonly_and_cannot_authenticate() {
    let mut t = ReadOnlyNhiCard(support::virtual_card(CardKind::Nhi));
    let info = card::read(&mut t, None).unwrap();
    assert_eq!(info.card_kind, KIND_NHI_READONLY);
    assert_eq!(info.name, NAME);
    let err = card::authenticate(&mut t, None, ORIGIN, "abc", None).unwrap_err();
    assert_eq!(err.code(), "card_unsupported");
}

#[test]
fn nhi_authenticate_returns_a_token_that_verifies() {
    let file = support::card_file(CardKind::Nhi);
    let der = support::certificate_der(&file);
    let mut t = InProcessTransport::new(VirtualCard::from_file(file).unwrap());
    let token =
        card::authenticate(&mut t, Some(IN_PROCESS_READER), ORIGIN, "c2lnbi1tZQ", None).unwrap();
    assert_eq!(token.format, "cardinal-card/1");
    assert_eq!(token.card_kind, "nhi");
    assert_eq!(token.algorithm, "ES256");
    assert_eq!(token.app_version, "cardinal-authenticator/0.1.0");
    assert_eq!(STANDARD.decode(&token.certificate).unwrap(), der);
    let signature = URL_SAFE_NO_PAD.decode(&token.signature).unwrap();
    assert!(support::verify(
        &der,
        &signing_hash(ORIGIN, "c2lnbi1tZQ"),
        &signature
    ));
}

#[test]
fn moica_authenticate_needs_the_pin_and_counts_wrong_ones() {
    let mut t = transport(CardKind::Moica);
    let err = card::authenticate(&mut t, None, ORIGIN, "abc", None).unwrap_err();
    assert_eq!(err.code(), "pin_required");
    let err = card::authenticate(&mut t, None, ORIGIN, "abc", Some(&pin("9999"))).unwrap_err();
    assert!(matches!(err, Error::PinWrong { tries_left: 2 }), "{err:?}");
    let token = card::authenticate(&mut t, None, ORIGIN, "abc", Some(&pin(PIN))).unwrap();
    assert_eq!(token.card_kind, "moica");
    for expected in ["pin_wrong", "pin_wrong", "pin_blocked", "pin_blocked"] {
        let err = card::authenticate(&mut t, None, ORIGIN, "abc", Some(&pin("9999"))).unwrap_err();
        assert_eq!(err.code(), expected);
    }
    let err = card::authenticate(&mut t, None, ORIGIN, "abc", Some(&pin(PIN))).unwrap_err();
    assert_eq!(err.code(), "pin_blocked");
}

#[test]
fn certificate_without_a_cardinal_policy_is_unsupported() {
    let file = support::card_file_with(CardKind::Nhi, "1.2.3.4");
    let mut t = InProcessTransport::new(VirtualCard::from_file(file).unwrap());
    let err = card::authenticate(&mut t, None, ORIGIN, "abc", None).unwrap_err();
    assert_eq!(err.code(), "card_unsupported");
}

#[test]
fn bad_challenges_and_pins_are_bad_requests() {
    let mut t = transport(CardKind::Nhi);
    for challenge in ["", "has space", "plus+slash/", &"a".repeat(129)] {
        let err = card::authenticate(&mut t, None, ORIGIN, challenge, None).unwrap_err();
        assert_eq!(err.code(), "bad_request", "{challenge:?}");
    }
    assert!(card::authenticate(&mut t, None, ORIGIN, &"a".repeat(128), None).is_ok());
    for bad in ["123", "1234567890123", "12a4"] {
        let err = Pin::parse(SecretString::from(bad.to_owned())).unwrap_err();
        assert_eq!(err.code(), "bad_request");
    }
    assert_eq!(format!("{:?}", pin(PIN)), "Pin([redacted])");
}

#[test]
fn missing_card_and_unknown_reader_are_typed_errors() {
    let mut empty = InProcessTransport::empty();
    assert_eq!(card::read(&mut empty, None).unwrap_err().code(), "no_card");
    assert_eq!(
        empty
            .wait_for_card(None, Duration::from_millis(10))
            .unwrap_err()
            .code(),
        "no_card"
    );
    let mut t = transport(CardKind::Nhi);
    assert_eq!(
        card::read(&mut t, Some("Other Reader")).unwrap_err().code(),
        "no_reader"
    );
    assert_eq!(
        t.readers().unwrap(),
        [ReaderStatus {
            name: IN_PROCESS_READER.into(),
            card_present: true
        }]
    );
}
