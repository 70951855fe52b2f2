//! Validation of a `cardinal-card/1` token (CARD-PROFILE.md §4): the certificate chains to
//! a CA configured for the card kind, is valid now, may sign, carries the kind's policy
//! and is not revoked; the signature covers SHA-256(SHA-256(origin) ‖ SHA-256(challenge))
//! with this IdP's own origin.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use anyhow::{anyhow, Context};
use base64::Engine as _;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use x509_parser::prelude::*;

use super::token::{signing_hash, CardKind, CardToken, ALGORITHM_ES256, TOKEN_FORMAT};

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
    /// Certificate serial number, hex.
    pub serial: String,
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

struct Anchor {
    kind: CardKind,
    der: Vec<u8>,
}

#[derive(Default)]
struct Crls {
    /// (path, modified) of what was loaded.
    stamps: Vec<(PathBuf, Option<SystemTime>)>,
    /// Revoked serials (raw bytes) by issuer DER.
    revoked: BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>>,
}

/// The configured card issuers and their revocation lists.
pub struct CardTrust {
    anchors: Vec<Anchor>,
    crl_files: Vec<PathBuf>,
    crls: RwLock<Crls>,
}

impl std::fmt::Debug for CardTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardTrust")
            .field("anchors", &self.anchors.len())
            .finish_non_exhaustive()
    }
}

fn pem_or_der_blocks(bytes: &[u8], label: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    if bytes.starts_with(b"-----BEGIN") {
        let mut out = Vec::new();
        for pem in Pem::iter_from_buffer(bytes) {
            let pem = pem.map_err(|e| anyhow!("not PEM: {e}"))?;
            if pem.label == label {
                out.push(pem.contents);
            }
        }
        Ok(out)
    } else {
        Ok(vec![bytes.to_vec()])
    }
}

impl CardTrust {
    /// Loads the CA certificates for each kind and the CRLs.
    pub fn load(
        nhi: &[PathBuf],
        moica: &[PathBuf],
        crl_files: &[PathBuf],
    ) -> anyhow::Result<CardTrust> {
        let mut anchors = Vec::new();
        for (kind, files) in [(CardKind::Nhi, nhi), (CardKind::Moica, moica)] {
            for path in files {
                let bytes = std::fs::read(path)
                    .with_context(|| format!("Failed to read card CA {}", path.display()))?;
                for der in pem_or_der_blocks(&bytes, "CERTIFICATE")? {
                    let (_, cert) = parse_x509_certificate(&der).map_err(|e| {
                        anyhow!("{} is not an X.509 certificate: {e}", path.display())
                    })?;
                    if !cert.is_ca() {
                        anyhow::bail!("{} is not a CA certificate", path.display());
                    }
                    anchors.push(Anchor {
                        kind,
                        der: der.clone(),
                    });
                }
            }
        }
        let trust = CardTrust {
            anchors,
            crl_files: crl_files.to_vec(),
            crls: RwLock::new(Crls::default()),
        };
        trust.refresh_crls(true)?;
        Ok(trust)
    }

    /// A trust store with no issuers: every card is refused.
    pub fn empty() -> CardTrust {
        CardTrust {
            anchors: Vec::new(),
            crl_files: Vec::new(),
            crls: RwLock::new(Crls::default()),
        }
    }

    pub fn has_issuers(&self) -> bool {
        !self.anchors.is_empty()
    }

    fn stamps(&self) -> Vec<(PathBuf, Option<SystemTime>)> {
        self.crl_files
            .iter()
            .map(|p| {
                (
                    p.clone(),
                    std::fs::metadata(p).and_then(|m| m.modified()).ok(),
                )
            })
            .collect()
    }

    /// Re-reads the CRL files when they changed. A CRL that does not verify against a
    /// configured CA is an error (fail closed).
    fn refresh_crls(&self, force: bool) -> anyhow::Result<()> {
        let stamps = self.stamps();
        if !force {
            let current = self.crls.read().map_err(|_| anyhow!("CRL lock poisoned"))?;
            if current.stamps == stamps {
                return Ok(());
            }
        }
        let mut revoked: BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>> = BTreeMap::new();
        for path in &self.crl_files {
            let bytes = std::fs::read(path)
                .with_context(|| format!("Failed to read CRL {}", path.display()))?;
            for der in pem_or_der_blocks(&bytes, "X509 CRL")? {
                let (_, crl) = parse_x509_crl(&der)
                    .map_err(|e| anyhow!("{} is not a CRL: {e}", path.display()))?;
                let issuer = self
                    .anchors
                    .iter()
                    .filter_map(|a| parse_x509_certificate(&a.der).ok().map(|(_, c)| c))
                    .find(|ca| ca.subject().as_raw() == crl.issuer().as_raw())
                    .ok_or_else(|| {
                        anyhow!(
                            "CRL {} is from an issuer that is not configured",
                            path.display()
                        )
                    })?;
                crl.verify_signature(issuer.public_key())
                    .map_err(|_| anyhow!("CRL {} is not signed by its issuer", path.display()))?;
                let set = revoked.entry(crl.issuer().as_raw().to_vec()).or_default();
                for r in crl.iter_revoked_certificates() {
                    set.insert(r.raw_serial().to_vec());
                }
            }
        }
        let mut current = self
            .crls
            .write()
            .map_err(|_| anyhow!("CRL lock poisoned"))?;
        *current = Crls { stamps, revoked };
        Ok(())
    }

    fn is_revoked(&self, issuer: &[u8], serial: &[u8]) -> Result<bool, CardError> {
        if let Err(e) = self.refresh_crls(false) {
            tracing::error!(error = ?e, "cannot read the card CRLs; refusing cards until fixed");
            return Err(CardError::Internal);
        }
        let crls = self.crls.read().map_err(|_| CardError::Internal)?;
        Ok(crls.revoked.get(issuer).is_some_and(|s| s.contains(serial)))
    }

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
        let issued_by_trusted = self.anchors.iter().filter(|a| a.kind == kind).any(|a| {
            parse_x509_certificate(&a.der).is_ok_and(|(_, ca)| {
                ca.subject().as_raw() == cert.issuer().as_raw()
                    && cert.verify_signature(Some(ca.public_key())).is_ok()
            })
        });
        if !issued_by_trusted {
            return Err(
                if self.anchors.iter().any(|a| a.kind != kind)
                    && self.signed_by_other_kind(&cert, kind)
                {
                    CardError::WrongKind
                } else {
                    CardError::UntrustedIssuer
                },
            );
        }
        let validity = cert.validity();
        if now < validity.not_before.timestamp() || now > validity.not_after.timestamp() {
            return Err(CardError::Expired);
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
        if self.is_revoked(cert.issuer().as_raw(), cert.raw_serial())? {
            return Err(CardError::Revoked);
        }
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
            serial: cert.raw_serial_as_string(),
            not_after: validity.not_after.timestamp(),
            national_id: holder_attribute(&cert, super::ca::OID_NATIONAL_ID),
            birth_date: holder_attribute(&cert, super::ca::OID_BIRTH_DATE),
        })
    }

    fn signed_by_other_kind(&self, cert: &X509Certificate<'_>, kind: CardKind) -> bool {
        self.anchors.iter().filter(|a| a.kind != kind).any(|a| {
            parse_x509_certificate(&a.der).is_ok_and(|(_, ca)| {
                ca.subject().as_raw() == cert.issuer().as_raw()
                    && cert.verify_signature(Some(ca.public_key())).is_ok()
            })
        })
    }
}

/// Paths of the CA certificate of a development CA folder (for tests and the demo).
pub fn ca_certificate_path(dir: &Path) -> PathBuf {
    dir.join("ca.pem")
}
