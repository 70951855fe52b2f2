//! High-level card operations over a [`CardTransport`]: read and authenticate.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use secrecy::zeroize::Zeroize as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Serialize;
use x509_parser::prelude::{FromDer as _, ParsedExtension, X509Certificate};

use crate::apdu::{self, BasicData, Response, StatusWord, SIGNATURE_LEN};
use crate::card_file::{is_valid_pin, CardKind};
use crate::error::Error;
use crate::token::{app_version, signing_hash, CardToken, ALGORITHM_ES256, TOKEN_FORMAT};
use crate::transport::{with_card, CardChannel, CardTransport};

/// `card_kind` of a card that has the NHI public applet but no signing applet: it
/// can be read, never used to sign in (docs/card-protocol.md §6).
pub const KIND_NHI_READONLY: &str = "nhi-readonly";
/// READ BINARY chunk size.
pub const READ_CHUNK: u8 = 0xF0;
/// Largest certificate the authenticator reads.
pub const MAX_CERTIFICATE_LEN: usize = 8192;
/// Largest challenge, in base64url characters.
pub const MAX_CHALLENGE_LEN: usize = 128;

/// What `POST /v1/card/read` answers: these three fields and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardInfo {
    pub card_number: String,
    pub name: String,
    /// `nhi`, `moica` or `nhi-readonly`.
    pub card_kind: String,
}

/// A card PIN: 4–12 digits, held as a secret, never logged.
pub struct Pin(SecretString);

impl Pin {
    pub fn parse(pin: SecretString) -> Result<Self, Error> {
        if is_valid_pin(pin.expose_secret()) {
            Ok(Self(pin))
        } else {
            Err(Error::bad_request("the PIN must be 4 to 12 digits"))
        }
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin([redacted])")
    }
}

/// Checks a challenge: 1–128 base64url characters.
pub fn check_challenge(challenge: &str) -> Result<(), Error> {
    let ok = (1..=MAX_CHALLENGE_LEN).contains(&challenge.len())
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(
            "the challenge must be 1 to 128 base64url characters (A-Z a-z 0-9 - _)",
        ))
    }
}

/// Reads card number, name and kind.
pub fn read(transport: &mut dyn CardTransport, reader: Option<&str>) -> Result<CardInfo, Error> {
    with_card(transport, reader, |channel| {
        let basic = read_basic_data(channel)?;
        let card_kind = if select_certificate(channel)? {
            certificate_kind(&read_certificate(channel)?)?
                .as_str()
                .to_owned()
        } else {
            KIND_NHI_READONLY.to_owned()
        };
        Ok(CardInfo {
            card_number: basic.card_number,
            name: basic.name,
            card_kind,
        })
    })
}

/// Signs `signing_hash(origin, challenge)` with the card and returns the token.
///
/// `origin` must be the request's `Origin` header. A moica card needs `pin`.
pub fn authenticate(
    transport: &mut dyn CardTransport,
    reader: Option<&str>,
    origin: &str,
    challenge: &str,
    pin: Option<&Pin>,
) -> Result<CardToken, Error> {
    check_challenge(challenge)?;
    let hash = signing_hash(origin, challenge);
    with_card(transport, reader, |channel| {
        if !select_certificate(channel)? {
            return Err(Error::CardUnsupported {
                message: "this card has no signing applet (a real NHI card can be read but \
                          not used to sign in): use a MOICA card or a Cardinal card"
                    .into(),
            });
        }
        let der = read_certificate(channel)?;
        let kind = certificate_kind(&der)?;
        if kind.needs_pin() {
            verify_pin(channel, pin.ok_or(Error::PinRequired)?)?;
        }
        let response = transmit(channel, &apdu::sign(&hash))?;
        match response.status() {
            StatusWord::OK if response.data.len() == SIGNATURE_LEN => {}
            StatusWord::OK => {
                return Err(Error::card(format!(
                    "SIGN returned {} bytes, expected 64",
                    response.data.len()
                )))
            }
            StatusWord::SECURITY_NOT_SATISFIED => return Err(Error::PinRequired),
            sw => return Err(unexpected("SIGN", sw)),
        }
        check_signature(&der, &hash, &response.data)?;
        Ok(CardToken {
            format: TOKEN_FORMAT.to_owned(),
            card_kind: kind.as_str().to_owned(),
            certificate: STANDARD.encode(&der),
            algorithm: ALGORITHM_ES256.to_owned(),
            signature: URL_SAFE_NO_PAD.encode(&response.data),
            app_version: app_version(),
        })
    })
}

/// The card kind named by a certificate's policy OID.
pub fn certificate_kind(der: &[u8]) -> Result<CardKind, Error> {
    let cert = parse_certificate(der)?;
    let unsupported = || Error::CardUnsupported {
        message: "the card certificate names no Cardinal card profile (cardinal-nhi/1 or \
                  cardinal-moica/1): this card cannot sign in"
            .into(),
    };
    cert.extensions()
        .iter()
        .filter_map(|ext| match ext.parsed_extension() {
            ParsedExtension::CertificatePolicies(policies) => Some(policies),
            _ => None,
        })
        .flatten()
        .find_map(|p| CardKind::from_policy_oid_der(p.policy_id.as_bytes()))
        .ok_or_else(unsupported)
}

fn parse_certificate(der: &[u8]) -> Result<X509Certificate<'_>, Error> {
    X509Certificate::from_der(der)
        .map(|(_, cert)| cert)
        .map_err(|e| Error::card(format!("the card certificate is not valid X.509: {e}")))
}

fn check_signature(der: &[u8], hash: &[u8; 32], signature: &[u8]) -> Result<(), Error> {
    let cert = parse_certificate(der)?;
    let key = VerifyingKey::from_sec1_bytes(&cert.public_key().subject_public_key.data)
        .map_err(|_| Error::card("the card certificate's key is not an ECDSA P-256 key"))?;
    let signature = Signature::from_slice(signature)
        .map_err(|_| Error::card("the card returned a malformed signature"))?;
    key.verify_prehash(hash, &signature).map_err(|_| {
        Error::card("the card's signature does not match its certificate: the card is faulty")
    })
}

fn transmit(channel: &mut dyn CardChannel, command: &[u8]) -> Result<Response, Error> {
    let bytes = channel.transmit(command)?;
    Response::parse(&bytes).map_err(|e| Error::card(format!("bad answer from the card: {e}")))
}

fn unexpected(step: &str, sw: StatusWord) -> Error {
    Error::card(format!("the card answered {step} with {sw}"))
}

fn read_basic_data(channel: &mut dyn CardChannel) -> Result<BasicData, Error> {
    let selected = transmit(channel, &apdu::select_nhi_applet())?;
    if !selected.is_ok() {
        return Err(Error::CardUnsupported {
            message: format!(
                "the card has no NHI applet (SELECT answered {}): use an NHI, MOICA or Cardinal card",
                selected.status()
            ),
        });
    }
    let response = transmit(channel, &apdu::read_basic_data())?;
    if !response.is_ok() {
        return Err(unexpected("READ BASIC DATA", response.status()));
    }
    BasicData::parse(&response.data).map_err(|e| Error::card(format!("basic data: {e}")))
}

/// SELECT the certificate file: `false` when the card has no signing applet.
fn select_certificate(channel: &mut dyn CardChannel) -> Result<bool, Error> {
    Ok(transmit(channel, &apdu::select_certificate_file())?.is_ok())
}

fn read_certificate(channel: &mut dyn CardChannel) -> Result<Vec<u8>, Error> {
    let mut der = Vec::new();
    let mut le = READ_CHUNK;
    loop {
        let command = apdu::read_binary(der.len(), le)
            .ok_or_else(|| Error::card("the card certificate is too large"))?;
        let response = transmit(channel, &command)?;
        let asked = if le == 0 { 256 } else { usize::from(le) };
        match response.status() {
            StatusWord::OK | StatusWord(0x62, 0x82) => {
                let short = response.data.len() < asked || response.status() != StatusWord::OK;
                der.extend_from_slice(&response.data);
                if short || response.data.is_empty() {
                    break;
                }
            }
            StatusWord::WRONG_OFFSET if !der.is_empty() => break,
            // 6C xx: wrong Le, xx is the right one.
            StatusWord(0x6C, exact) if exact != le => le = exact,
            sw => return Err(unexpected("READ BINARY", sw)),
        }
        if der.len() > MAX_CERTIFICATE_LEN {
            return Err(Error::card("the card certificate is larger than 8 KiB"));
        }
    }
    if der.is_empty() {
        return Err(Error::card("the card's certificate file is empty"));
    }
    Ok(der)
}

fn verify_pin(channel: &mut dyn CardChannel, pin: &Pin) -> Result<(), Error> {
    let mut command = apdu::verify_pin(pin.0.expose_secret().as_bytes())
        .ok_or_else(|| Error::bad_request("the PIN is too long"))?;
    let result = transmit(channel, &command);
    command.zeroize();
    let response = result?;
    let sw = response.status();
    match (sw, sw.tries_left()) {
        (StatusWord::OK, _) => Ok(()),
        (StatusWord::PIN_BLOCKED, _) | (_, Some(0)) => Err(Error::PinBlocked),
        (_, Some(tries_left)) => Err(Error::PinWrong { tries_left }),
        _ => Err(unexpected("VERIFY", sw)),
    }
}
