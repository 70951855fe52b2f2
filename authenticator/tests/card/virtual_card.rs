use cardinal_authenticator::apdu::{self, BasicData};
use cardinal_authenticator::card_file::{CardFile, CardKind};
use cardinal_authenticator::token::signing_hash;
use cardinal_authenticator::virtual_card::VirtualCard;

use crate::support::{self, send, CARD_NUMBER, NAME, ORIGIN, PIN};

const OK: [u8; 2] = [0x90, 0x00];

fn read_certificate(card: &mut VirtualCard, chunk: u8) -> Vec<u8> {
    assert_eq!(send(card, &apdu::select_certificate_file()).1, OK);
    let mut der = Vec::new();
    loop {
        let (data, sw) = send(card, &apdu::read_binary(der.len(), chunk).unwrap());
        if sw == [0x6B, 0x00] {
            break;
        }
        assert_eq!(sw, OK);
        der.extend_from_slice(&data);
        if data.len() < usize::from(chunk) {
            break;
        }
    }
    der
}

#[test]
fn nhi_card_answers_select_and_read_basic_data() {
    let mut card = support::virtual_card(CardKind::Nhi);
    assert_eq!(send(&mut card, &apdu::select_nhi_applet()), (vec![], OK));
    let (data, sw) = send(&mut card, &apdu::read_basic_data());
    assert_eq!(sw, OK);
    assert_eq!(data.len(), 57);
    // The name is Big5 at offset 12.
    assert_eq!(&data[12..18], &[0xA4, 0xFD, 0xA4, 0x70, 0xA9, 0xFA]);
    let basic = BasicData::parse(&data).unwrap();
    assert_eq!(basic.card_number, CARD_NUMBER);
    assert_eq!(basic.name, NAME);
    assert_eq!(basic.national_id, "A123456789");
    assert_eq!(basic.birth_date, "1980-01-02");
    assert_eq!(basic.sex, "M");
    assert_eq!(basic.issue_date, "2024-05-06");
}

#[test]
fn read_basic_data_before_select_is_refused() {
    let mut card = support::virtual_card(CardKind::Nhi);
    assert_eq!(send(&mut card, &apdu::read_basic_data()).1, [0x69, 0x85]);
}

#[test]
fn certificate_read_in_chunks_equals_the_files_certificate() {
    let file = support::card_file(CardKind::Nhi);
    let expected = support::certificate_der(&file);
    let mut card = VirtualCard::from_file(file).unwrap();
    for chunk in [0x10, 0x80, 0xF0, 0x00] {
        assert_eq!(
            read_certificate(&mut card, chunk),
            expected,
            "chunk {chunk}"
        );
    }
    // Past the end: 6B 00.
    let (_, sw) = send(&mut card, &apdu::read_binary(expected.len(), 0x10).unwrap());
    assert_eq!(sw, [0x6B, 0x00]);
}

#[test]
fn nhi_sign_output_verifies_with_the_certificate_key() {
    let mut card = support::virtual_card(CardKind::Nhi);
    let der = card.certificate_der().to_vec();
    let hash = signing_hash(ORIGIN, "Y2hhbGxlbmdl");
    let (signature, sw) = send(&mut card, &apdu::sign(&hash));
    assert_eq!(sw, OK);
    assert_eq!(signature.len(), 64);
    assert!(support::verify(&der, &hash, &signature));
    assert!(!support::verify(
        &der,
        &signing_hash("https://evil.example", "Y2hhbGxlbmdl"),
        &signature
    ));
}

#[test]
fn nhi_card_answers_verify_with_unknown_instruction() {
    let mut card = support::virtual_card(CardKind::Nhi);
    assert_eq!(
        send(&mut card, &apdu::verify_pin(b"1234").unwrap()).1,
        [0x6D, 0x00]
    );
}

#[test]
fn moica_sign_without_pin_is_security_status_not_satisfied() {
    let mut card = support::virtual_card(CardKind::Moica);
    assert_eq!(
        send(&mut card, &apdu::sign(&[7; 32])),
        (vec![], [0x69, 0x82])
    );
}

#[test]
fn moica_sign_after_correct_pin_verifies_and_reset_forgets_the_pin() {
    let mut card = support::virtual_card(CardKind::Moica);
    let der = card.certificate_der().to_vec();
    assert_eq!(
        send(&mut card, &apdu::verify_pin(PIN.as_bytes()).unwrap()).1,
        OK
    );
    let hash = [0x42; 32];
    let (signature, sw) = send(&mut card, &apdu::sign(&hash));
    assert_eq!(sw, OK);
    assert!(support::verify(&der, &hash, &signature));
    card.reset();
    assert_eq!(send(&mut card, &apdu::sign(&hash)).1, [0x69, 0x82]);
}

#[test]
fn moica_wrong_pins_count_down_then_block_even_the_right_pin() {
    let mut card = support::virtual_card(CardKind::Moica);
    let wrong = apdu::verify_pin(b"000000").unwrap();
    assert_eq!(send(&mut card, &wrong).1, [0x63, 0xC2]);
    assert_eq!(send(&mut card, &wrong).1, [0x63, 0xC1]);
    assert_eq!(send(&mut card, &wrong).1, [0x69, 0x83]);
    assert_eq!(
        send(&mut card, &apdu::verify_pin(PIN.as_bytes()).unwrap()).1,
        [0x69, 0x83]
    );
    assert_eq!(send(&mut card, &apdu::sign(&[1; 32])).1, [0x69, 0x82]);
}

#[test]
fn moica_correct_pin_resets_the_try_counter() {
    let mut card = support::virtual_card(CardKind::Moica);
    let wrong = apdu::verify_pin(b"000000").unwrap();
    let right = apdu::verify_pin(PIN.as_bytes()).unwrap();
    assert_eq!(send(&mut card, &wrong).1, [0x63, 0xC2]);
    assert_eq!(send(&mut card, &wrong).1, [0x63, 0xC1]);
    assert_eq!(send(&mut card, &right).1, OK);
    assert_eq!(send(&mut card, &wrong).1, [0x63, 0xC2]);
    // VERIFY without data asks the state.
    assert_eq!(send(&mut card, &[0x00, 0x20, 0x00, 0x01]).1, [0x63, 0xC2]);
}

#[test]
fn malformed_commands_get_the_profiles_status_words() {
    let mut card = support::virtual_card(CardKind::Moica);
    // Unknown instruction.
    assert_eq!(send(&mut card, &[0x00, 0x88, 0x00, 0x00]).1, [0x6D, 0x00]);
    // Wrong parameters: SIGN with P1-P2 other than 9E 9A; SELECT with P1 01.
    let mut sign = apdu::sign(&[0; 32]);
    sign[3] = 0x00;
    assert_eq!(send(&mut card, &sign).1, [0x6A, 0x86]);
    assert_eq!(
        send(&mut card, &[0x00, 0xA4, 0x01, 0x00, 0x02, 0xC0, 0x01]).1,
        [0x6A, 0x86]
    );
    // Wrong length: a 31-byte hash; Lc not matching the data; a 3-byte APDU.
    let mut short = vec![0x00, 0x2A, 0x9E, 0x9A, 0x1F];
    short.extend([0; 31]);
    assert_eq!(send(&mut card, &short).1, [0x67, 0x00]);
    assert_eq!(
        send(&mut card, &[0x00, 0xA4, 0x02, 0x0C, 0x05, 0xC0]).1,
        [0x67, 0x00]
    );
    assert_eq!(send(&mut card, &[0x00, 0xA4, 0x02]).1, [0x67, 0x00]);
    // Unknown file and unknown AID.
    assert_eq!(
        send(&mut card, &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0xC0, 0x02]).1,
        [0x6A, 0x82]
    );
    // READ BINARY before SELECT.
    assert_eq!(
        send(&mut card, &apdu::read_binary(0, 0x10).unwrap()).1,
        [0x69, 0x86]
    );
}

#[test]
fn atr_is_t1() {
    assert_eq!(
        support::virtual_card(CardKind::Nhi).atr(),
        [0x3B, 0x80, 0x80, 0x01, 0x01]
    );
}

#[test]
fn card_file_round_trips_with_mode_0600_and_redacted_debug() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    let file = support::card_file(CardKind::Moica);
    file.save(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(json["format"], "cardinal-virtual-card/1");
    assert_eq!(json["kind"], "moica");
    let loaded = CardFile::load(&path).unwrap();
    assert_eq!(loaded.certificate_pem, file.certificate_pem);
    let shown = format!("{loaded:?}");
    assert!(
        !shown.contains(PIN) && !shown.contains("PRIVATE KEY"),
        "{shown}"
    );
}

#[test]
fn card_file_with_a_bad_format_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    let mut file = support::card_file(CardKind::Nhi);
    file.format = "something/2".into();
    file.save(&path).unwrap();
    let err = CardFile::load(&path).unwrap_err();
    assert!(err.to_string().contains("cardinal-virtual-card/1"), "{err}");
}
