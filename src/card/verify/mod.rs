//! Validation of a `cardinal-card/1` token (docs/card-protocol.md §4): the certificate
//! chains to a CA configured for the card kind whose own certificate is valid now, is valid
//! now, is not a CA, may sign, carries the kind's policy and is not revoked according to a
//! current CRL of its CA (fail closed: no CRL, a CRL past its nextUpdate or an unreadable
//! CRL refuses the card, unless `card.revocation_check = "off"`); the signature covers
//! SHA-256(SHA-256(origin) ‖ SHA-256(challenge)) with this IdP's own origin.
//! docs/card-trust.md describes the settings.

mod anchors;
mod crl;
#[cfg(test)]
mod tests;
mod trust;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use x509_parser::prelude::*;

use super::token::{signing_hash, CardKind, CardToken, ALGORITHM_ES256, TOKEN_FORMAT};
use crate::clock::format_rfc3339;
pub use crl::{IssuerStatus, RevokedSerials};
pub use trust::CardTrust;

/// Why a card token was refused. `code()` is stable for pages and logs; nothing here
/// carries the signature or the certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("the token format is not cardinal-card/1")]
    UnknownFormat,
    #[error("the card kind is not known")]
    UnknownKind,
    #[error("the card certificate cannot be read")]
    BadCertificate,
    #[error("the card certificate was not issued by a trusted card issuer")]
    UntrustedIssuer,
    #[error("the card certificate is not valid yet or has expired")]
    Expired,
    #[error("the card certificate may not be used for signing")]
    WrongKeyUsage,
    #[error("the card is not of the kind it claims")]
    WrongKind,
    #[error("the card certificate has been revoked")]
    Revoked,
    #[error("the card certificate is a CA certificate, not a card's")]
    NotEndEntity,
    #[error("the certificate of the card's issuer is not valid now")]
    IssuerNotValid,
    #[error("the card's revocation status cannot be checked now (no current CRL of its issuer)")]
    RevocationUnknown,
    #[error("the card signature is not valid")]
    BadSignature,
    #[error("the challenge is unknown, expired or already used")]
    BadChallenge,
    #[error("this is not the card the flow started with")]
    WrongCard,
    #[error("the card check failed; try again")]
    Internal,
}

impl CardError {
    /// Every refusal (for the tests that check each has its words and its help section).
    pub const ALL: [CardError; 15] = [
        CardError::UnknownFormat,
        CardError::UnknownKind,
        CardError::BadCertificate,
        CardError::UntrustedIssuer,
        CardError::Expired,
        CardError::WrongKeyUsage,
        CardError::WrongKind,
        CardError::Revoked,
        CardError::NotEndEntity,
        CardError::IssuerNotValid,
        CardError::RevocationUnknown,
        CardError::BadSignature,
        CardError::BadChallenge,
        CardError::WrongCard,
        CardError::Internal,
    ];

    pub fn code(&self) -> &'static str {
        match self {
            CardError::UnknownFormat => "unknown_format",
            CardError::UnknownKind => "unknown_kind",
            CardError::BadCertificate => "bad_certificate",
            CardError::UntrustedIssuer => "untrusted_issuer",
            CardError::Expired => "certificate_expired",
            CardError::WrongKeyUsage => "wrong_key_usage",
            CardError::WrongKind => "wrong_kind",
            CardError::Revoked => "certificate_revoked",
            CardError::NotEndEntity => "not_end_entity",
            CardError::IssuerNotValid => "issuer_not_valid",
            CardError::RevocationUnknown => "revocation_status_unknown",
            CardError::BadSignature => "bad_signature",
            CardError::BadChallenge => "bad_challenge",
            CardError::WrongCard => "wrong_card",
            CardError::Internal => "internal_error",
        }
    }
}

/// What a verified token proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCard {
    pub card_number: String,
    pub name: String,
    pub kind: CardKind,
    /// Certificate serial number, hex bytes with colons.
    pub serial: String,
    /// The issuer, as [`issuer_id`] names it: with `serial`, names the certificate.
    pub issuer: String,
    /// The issuer's name for people (RFC 4514).
    pub issuer_name: String,
    /// Certificate expiry (Unix seconds).
    pub not_after: i64,
    /// The holder's national ID and birth date from the certificate (subjectAltName
    /// otherNames), when the issuer put them there.
    pub national_id: Option<String>,
    pub birth_date: Option<String>,
}

/// The UTF8String inside an otherName value (`[0] EXPLICIT UTF8String`).
fn other_name_utf8(rest: &[u8]) -> Option<String> {
    let (&tag, rest) = rest.split_first()?;
    let (&len, rest) = rest.split_first()?;
    if tag != 0xA0 || len >= 0x80 {
        return None;
    }
    let inner = rest.get(..usize::from(len))?;
    let (&t, inner) = inner.split_first()?;
    let (&l, value) = inner.split_first()?;
    if t != 0x0C || l >= 0x80 {
        return None;
    }
    String::from_utf8(value.get(..usize::from(l))?.to_vec()).ok()
}

fn holder_attribute(cert: &X509Certificate<'_>, oid: &str) -> Option<String> {
    let wanted = cardinal_authenticator::card_file::oid_der_content(oid)?;
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                san.general_names.iter().find_map(|g| match g {
                    GeneralName::OtherName(o, rest) if o.as_bytes() == wanted.as_slice() => {
                        other_name_utf8(rest)
                    }
                    _ => None,
                })
            }
            _ => None,
        })
}

/// The identifier of a certificate issuer in the store: SHA-256 (hex) of its name (DER).
pub fn issuer_id(name_der: &[u8]) -> String {
    crate::crypto::sha256(name_der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A certificate serial as stored and shown: hex bytes with colons (as `card issue` prints).
pub fn serial_hex(raw: &[u8]) -> String {
    raw.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl CardTrust {
    /// Verifies `token` as a signature over `challenge` for `origin` at time `now`.
    pub fn verify(
        &self,
        token: &CardToken,
        origin: &str,
        challenge: &str,
        now: i64,
    ) -> Result<VerifiedCard, CardError> {
        if token.format != TOKEN_FORMAT || token.algorithm != ALGORITHM_ES256 {
            return Err(CardError::UnknownFormat);
        }
        let kind = CardKind::parse(&token.card_kind).ok_or(CardError::UnknownKind)?;
        let der = base64::engine::general_purpose::STANDARD
            .decode(token.certificate.trim())
            .map_err(|_| CardError::BadCertificate)?;
        let (rest, cert) = parse_x509_certificate(&der).map_err(|_| CardError::BadCertificate)?;
        if !rest.is_empty() {
            return Err(CardError::BadCertificate);
        }
        // Chain: signed by a CA configured for this kind.
        let issuer = cert.issuer().as_raw();
        let anchor = self.anchors.iter().find(|a| {
            a.kind == kind
                && a.subject == issuer
                && a.signed(|key| cert.verify_signature(Some(key)).is_ok())
        });
        let Some(anchor) = anchor else {
            return Err(
                if self.anchors.iter().any(|a| a.kind != kind)
                    && self.signed_by_other_kind(&cert, kind)
                {
                    CardError::WrongKind
                } else {
                    CardError::UntrustedIssuer
                },
            );
        };
        if !anchor.valid_at(now) {
            tracing::warn!(
                ca = %anchor.name,
                not_before = %format_rfc3339(anchor.not_before),
                not_after = %format_rfc3339(anchor.not_after),
                "card refused: the certificate of its CA is not valid now"
            );
            return Err(CardError::IssuerNotValid);
        }
        let validity = cert.validity();
        if now < validity.not_before.timestamp() || now > validity.not_after.timestamp() {
            return Err(CardError::Expired);
        }
        // A card's certificate is an end entity: a CA certificate (even one issued by a
        // trusted CA) never signs in.
        match cert.basic_constraints() {
            Ok(Some(bc)) if bc.value.ca => return Err(CardError::NotEndEntity),
            Ok(_) => {}
            Err(_) => return Err(CardError::BadCertificate),
        }
        match cert.key_usage() {
            Ok(Some(ku)) if ku.value.digital_signature() => {}
            _ => return Err(CardError::WrongKeyUsage),
        }
        // Policy OIDs are compared as DER: their UUID arc does not fit 64 bits.
        let has_policy = cert
            .extensions()
            .iter()
            .any(|ext| match ext.parsed_extension() {
                ParsedExtension::CertificatePolicies(ps) => ps
                    .iter()
                    .any(|p| CardKind::from_policy_oid_der(p.policy_id.as_bytes()) == Some(kind)),
                _ => false,
            });
        if !has_policy {
            return Err(CardError::WrongKind);
        }
        self.check_revocation(anchor, cert.raw_serial(), now)?;
        let sig_bytes =
            crate::crypto::b64url_decode(token.signature.trim()).ok_or(CardError::BadSignature)?;
        let signature =
            p256::ecdsa::Signature::from_slice(&sig_bytes).map_err(|_| CardError::BadSignature)?;
        let key =
            p256::ecdsa::VerifyingKey::from_sec1_bytes(&cert.public_key().subject_public_key.data)
                .map_err(|_| CardError::BadCertificate)?;
        key.verify_prehash(&signing_hash(origin, challenge), &signature)
            .map_err(|_| CardError::BadSignature)?;
        let attr = |oid: &x509_parser::der_parser::Oid| {
            cert.subject()
                .iter_by_oid(oid)
                .next()
                .and_then(|a| a.as_str().ok())
                .map(str::to_string)
        };
        let card_number = attr(&x509_parser::oid_registry::OID_X509_SERIALNUMBER)
            .ok_or(CardError::BadCertificate)?;
        let name = attr(&x509_parser::oid_registry::OID_X509_COMMON_NAME)
            .ok_or(CardError::BadCertificate)?;
        Ok(VerifiedCard {
            card_number,
            name,
            kind,
            serial: serial_hex(cert.raw_serial()),
            issuer: issuer_id(issuer),
            issuer_name: anchor.name.clone(),
            not_after: validity.not_after.timestamp(),
            national_id: holder_attribute(&cert, super::ca::OID_NATIONAL_ID),
            birth_date: holder_attribute(&cert, super::ca::OID_BIRTH_DATE),
        })
    }

    fn signed_by_other_kind(&self, cert: &X509Certificate<'_>, kind: CardKind) -> bool {
        self.anchors.iter().filter(|a| a.kind != kind).any(|a| {
            a.subject == cert.issuer().as_raw()
                && a.signed(|key| cert.verify_signature(Some(key)).is_ok())
        })
    }
}

/// Paths of the CA certificate of a development CA folder (for tests and the demo).
pub fn ca_certificate_path(dir: &Path) -> PathBuf {
    dir.join("ca.pem")
}
