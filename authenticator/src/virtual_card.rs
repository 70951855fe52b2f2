//! The virtual card: docs/card-protocol.md §1 for both card kinds, over a [`CardFile`].
//!
//! Behaviour beyond the profile's table, chosen here:
//! - An NHI-kind card answers VERIFY with `6D 00` (it has no PIN).
//! - VERIFY with no data (`00 20 00 01`) asks the state: `90 00` when verified,
//!   `63 Cx` otherwise, `69 83` when blocked (ISO 7816-4).
//! - The PIN try counter lives as long as the `VirtualCard` (the process), not in the
//!   file: restarting `cardinal-virtual-card` unblocks it, like a fresh card.
//! - `6A 82` answers a SELECT of an unknown AID or file; READ BASIC DATA before the
//!   applet is selected gets `69 85`, READ BINARY before the certificate file is
//!   selected gets `69 86`; a CLA other than `00` gets `6E 00`.
//! - READ BINARY returns at most Le bytes (Le `00` = 256); a short final chunk ends the
//!   file; an offset at or past the end gets `6B 00`.

use std::fmt;

use p256::ecdsa::signature::hazmat::PrehashSigner as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey as _;

use crate::apdu::{
    self, BasicData, Command, Response, StatusWord, CERTIFICATE_FILE_ID, HASH_LEN, NHI_AID,
};
use crate::card_file::{CardFile, CardKind};
use crate::error::Error;

/// The ATR of the virtual card (T=1).
pub const ATR: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];
/// Wrong PINs before the card blocks.
pub const PIN_TRIES: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selected {
    Nothing,
    NhiApplet,
    CertificateFile,
}

/// An emulated card.
pub struct VirtualCard {
    kind: CardKind,
    card_number: String,
    basic_data: Vec<u8>,
    certificate_der: Vec<u8>,
    key: SigningKey,
    pin: Option<Vec<u8>>,
    tries_left: u8,
    pin_verified: bool,
    selected: Selected,
}

impl fmt::Debug for VirtualCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtualCard")
            .field("kind", &self.kind)
            .field("card_number", &self.card_number)
            .field("tries_left", &self.tries_left)
            .finish_non_exhaustive()
    }
}

impl VirtualCard {
    pub fn from_file(file: CardFile) -> Result<Self, Error> {
        file.check().map_err(Error::Config)?;
        let basic = BasicData {
            card_number: file.card_number.clone(),
            name: file.name.clone(),
            national_id: file.national_id.clone(),
            birth_date: file.birth_date.clone(),
            sex: file.sex.clone(),
            issue_date: file.issue_date.clone(),
        };
        let basic_data = basic
            .encode()
            .map_err(|e| Error::Config(format!("card file basic data: {e}")))?;
        let (_, pem) = x509_parser::pem::parse_x509_pem(file.certificate_pem.as_bytes())
            .map_err(|e| Error::Config(format!("card file certificate_pem is not PEM: {e}")))?;
        if pem.label != "CERTIFICATE" {
            return Err(Error::Config(format!(
                "card file certificate_pem holds a {:?}, not a CERTIFICATE",
                pem.label
            )));
        }
        let key = SigningKey::from_pkcs8_pem(&file.private_key_pem).map_err(|e| {
            Error::Config(format!(
                "card file private_key_pem is not a PKCS#8 P-256 key: {e}"
            ))
        })?;
        Ok(Self {
            kind: file.kind,
            card_number: file.card_number,
            basic_data,
            certificate_der: pem.contents,
            key,
            pin: file.pin.map(String::into_bytes),
            tries_left: PIN_TRIES,
            pin_verified: false,
            selected: Selected::Nothing,
        })
    }

    pub fn kind(&self) -> CardKind {
        self.kind
    }

    pub fn card_number(&self) -> &str {
        &self.card_number
    }

    /// The certificate DER the card serves from file `C0 01`.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// `3B 80 80 01 01`.
    pub fn atr(&self) -> Vec<u8> {
        ATR.to_vec()
    }

    /// Power off, power on or reset: forget the selection and the verified PIN.
    pub fn reset(&mut self) {
        self.pin_verified = false;
        self.selected = Selected::Nothing;
    }

    /// Processes one command APDU and returns the response APDU.
    pub fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        let (data, sw) = match Command::parse(command) {
            Ok(c) => self.process(&c),
            Err(_) => (Vec::new(), StatusWord::WRONG_LENGTH),
        };
        Response::encode(&data, sw)
    }

    fn process(&mut self, c: &Command) -> (Vec<u8>, StatusWord) {
        if c.cla != 0x00 {
            return status(StatusWord::CLASS_NOT_SUPPORTED);
        }
        match c.ins {
            apdu::INS_SELECT => self.select(c),
            apdu::INS_GET_DATA => self.read_basic_data(c),
            apdu::INS_READ_BINARY => self.read_binary(c),
            apdu::INS_VERIFY if self.kind.needs_pin() => self.verify(c),
            apdu::INS_PSO => self.sign(c),
            _ => status(StatusWord::UNKNOWN_INSTRUCTION),
        }
    }

    fn select(&mut self, c: &Command) -> (Vec<u8>, StatusWord) {
        match (c.p1, c.p2) {
            (0x04, 0x00) => {
                if c.data.len() != NHI_AID.len() {
                    return status(StatusWord::WRONG_LENGTH);
                }
                if c.data != NHI_AID {
                    return status(StatusWord::FILE_NOT_FOUND);
                }
                self.selected = Selected::NhiApplet;
            }
            (0x02, 0x0C) => {
                if c.data.len() != 2 {
                    return status(StatusWord::WRONG_LENGTH);
                }
                if c.data != CERTIFICATE_FILE_ID {
                    return status(StatusWord::FILE_NOT_FOUND);
                }
                self.selected = Selected::CertificateFile;
            }
            _ => return status(StatusWord::WRONG_PARAMETERS),
        }
        status(StatusWord::OK)
    }

    fn read_basic_data(&mut self, c: &Command) -> (Vec<u8>, StatusWord) {
        if (c.p1, c.p2) != (0x11, 0x00) {
            return status(StatusWord::WRONG_PARAMETERS);
        }
        if c.data != [0x00, 0x00] {
            return status(StatusWord::WRONG_LENGTH);
        }
        if self.selected != Selected::NhiApplet {
            return status(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        (self.basic_data.clone(), StatusWord::OK)
    }

    fn read_binary(&mut self, c: &Command) -> (Vec<u8>, StatusWord) {
        if c.p1 & 0x80 != 0 {
            return status(StatusWord::WRONG_PARAMETERS);
        }
        let Some(le) = c.le_len().filter(|_| c.data.is_empty()) else {
            return status(StatusWord::WRONG_LENGTH);
        };
        if self.selected != Selected::CertificateFile {
            return status(StatusWord::NO_CURRENT_EF);
        }
        let offset = usize::from(u16::from_be_bytes([c.p1, c.p2]));
        match self.certificate_der.get(offset..) {
            Some(rest) if !rest.is_empty() => {
                let chunk = rest.get(..le.min(rest.len())).unwrap_or(rest);
                (chunk.to_vec(), StatusWord::OK)
            }
            _ => status(StatusWord::WRONG_OFFSET),
        }
    }

    fn verify(&mut self, c: &Command) -> (Vec<u8>, StatusWord) {
        if (c.p1, c.p2) != (0x00, 0x01) {
            return status(StatusWord::WRONG_PARAMETERS);
        }
        if self.tries_left == 0 {
            return status(StatusWord::PIN_BLOCKED);
        }
        if c.data.is_empty() {
            return if self.pin_verified {
                status(StatusWord::OK)
            } else {
                status(StatusWord::pin_tries_left(self.tries_left))
            };
        }
        let matches = self
            .pin
            .as_deref()
            .is_some_and(|pin| constant_time_eq(pin, &c.data));
        if matches {
            self.tries_left = PIN_TRIES;
            self.pin_verified = true;
            return status(StatusWord::OK);
        }
        self.pin_verified = false;
        self.tries_left = self.tries_left.saturating_sub(1);
        if self.tries_left == 0 {
            status(StatusWord::PIN_BLOCKED)
        } else {
            status(StatusWord::pin_tries_left(self.tries_left))
        }
    }

    fn sign(&mut self, c: &Command) -> (Vec<u8>, StatusWord) {
        if (c.p1, c.p2) != (0x9E, 0x9A) {
            return status(StatusWord::WRONG_PARAMETERS);
        }
        if c.data.len() != HASH_LEN {
            return status(StatusWord::WRONG_LENGTH);
        }
        if self.kind.needs_pin() && !self.pin_verified {
            return status(StatusWord::SECURITY_NOT_SATISFIED);
        }
        let signed: Result<Signature, _> = self.key.sign_prehash(&c.data);
        match signed {
            Ok(signature) => (signature.to_bytes().to_vec(), StatusWord::OK),
            Err(_) => status(StatusWord(0x6F, 0x00)),
        }
    }
}

fn status(sw: StatusWord) -> (Vec<u8>, StatusWord) {
    (Vec::new(), sw)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
