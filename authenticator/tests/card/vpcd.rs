use cardinal_authenticator::apdu;
use cardinal_authenticator::card_file::CardKind;
use cardinal_authenticator::vpcd::{self, handle_message, read_frame, write_frame};

use crate::support::{self, PIN};

#[test]
fn control_codes_reset_or_answer_the_atr() {
    let mut card = support::virtual_card(CardKind::Moica);
    assert_eq!(
        handle_message(&mut card, &[0x04]),
        Some(vec![0x3B, 0x80, 0x80, 0x01, 0x01])
    );
    assert_eq!(handle_message(&mut card, &[0x01]), None);
    let verify = apdu::verify_pin(PIN.as_bytes()).unwrap();
    assert_eq!(handle_message(&mut card, &verify), Some(vec![0x90, 0x00]));
    // Reset (02) and power off (00) forget the verified PIN.
    for code in [0x02, 0x00] {
        assert_eq!(handle_message(&mut card, &verify), Some(vec![0x90, 0x00]));
        assert_eq!(handle_message(&mut card, &[code]), None);
        assert_eq!(
            handle_message(&mut card, &apdu::sign(&[0; 32])),
            Some(vec![0x69, 0x82])
        );
    }
}

#[tokio::test]
async fn serve_speaks_length_prefixed_frames() {
    let mut card = support::virtual_card(CardKind::Nhi);
    let (mut reader_side, mut card_side) = tokio::io::duplex(4096);
    let server = tokio::spawn(async move { vpcd::serve(&mut card, &mut card_side).await });

    // Power on: no reply. Then get ATR, then an APDU.
    write_frame(&mut reader_side, &[0x01]).await.unwrap();
    write_frame(&mut reader_side, &[0x04]).await.unwrap();
    let atr = read_frame(&mut reader_side).await.unwrap().unwrap();
    assert_eq!(atr, [0x3B, 0x80, 0x80, 0x01, 0x01]);
    write_frame(&mut reader_side, &apdu::select_nhi_applet())
        .await
        .unwrap();
    assert_eq!(
        read_frame(&mut reader_side).await.unwrap().unwrap(),
        [0x90, 0x00]
    );
    write_frame(&mut reader_side, &apdu::read_basic_data())
        .await
        .unwrap();
    let basic = read_frame(&mut reader_side).await.unwrap().unwrap();
    assert_eq!(basic.len(), 59);

    // The raw bytes on the wire: 00 02 | 90 00 for a SELECT.
    write_frame(&mut reader_side, &apdu::select_certificate_file())
        .await
        .unwrap();
    let mut raw = [0u8; 4];
    tokio::io::AsyncReadExt::read_exact(&mut reader_side, &mut raw)
        .await
        .unwrap();
    assert_eq!(raw, [0x00, 0x02, 0x90, 0x00]);

    drop(reader_side);
    server.await.unwrap().unwrap();
}
