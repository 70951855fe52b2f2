//! Validation of a `cardinal-card/1` token (docs/card-protocol.md §4): the certificate
//! chains to a CA configured for the card kind whose own certificate is valid now, is valid
//! now, is not a CA, may sign, carries the kind's policy and is not revoked according to a
//! current CRL of its CA (fail closed: no CRL, a CRL past its nextUpdate or an unreadable
//! CRL refuses the card, unless `card.revocation_check = "off"`); the signature covers
//! SHA-256(SHA-256(origin) ‖ SHA-256(challenge)) with this IdP's own origin.
//! docs/card-trust.md describes the settings.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use anyhow::{anyhow, Context};
use base64::Engine as _;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use x509_parser::prelude::*;

use super::token::{signing_hash, CardKind, CardToken, ALGORITHM_ES256, TOKEN_FORMAT};
use crate::clock::format_rfc3339;
use crate::configuration::{CardSettings, RevocationCheck};

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

struct Anchor {
    kind: CardKind,
    der: Vec<u8>,
    /// Subject name, DER (what a card certificate or a CRL names as its issuer).
    subject: Vec<u8>,
    /// Subject name for people and logs.
    name: String,
    file: PathBuf,
    not_before: i64,
    not_after: i64,
}

impl Anchor {
    fn valid_at(&self, now: i64) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    /// Whether this CA's key made `verify` succeed on something it signed.
    fn signed(&self, check: impl Fn(&SubjectPublicKeyInfo<'_>) -> bool) -> bool {
        parse_x509_certificate(&self.der).is_ok_and(|(_, ca)| check(ca.public_key()))
    }
}

/// What the CRLs of one issuer say.
#[derive(Debug, Clone, Default)]
struct IssuerCrl {
    /// Revoked serials (raw bytes).
    revoked: BTreeSet<Vec<u8>>,
    /// The latest nextUpdate among this issuer's CRLs (Unix seconds).
    next_update: i64,
}

/// What tells that a CRL file changed: its modification time and length.
type Stamp = (PathBuf, Option<(Option<SystemTime>, u64)>);

#[derive(Default)]
struct Crls {
    /// (path, (modified, length)) of what was loaded.
    stamps: Vec<Stamp>,
    /// By issuer name (DER).
    by_issuer: BTreeMap<Vec<u8>, IssuerCrl>,
    /// Why the last reload failed: until the files change, no card's revocation status is
    /// known and every card is refused.
    failure: Option<String>,
    /// Counts the (re)loads, so that watchers see that the lists changed.
    generation: u64,
}

/// Why the revocation status of a CA's cards is not known now.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Unknown {
    /// The CRL files could not be used (read, parsed or verified).
    Unreadable,
    /// No CRL of this CA among the files.
    NoCrl,
    /// Its CRL is past its nextUpdate (Unix seconds).
    Stale(i64),
}

/// What `/readyz` and the metrics show about one trusted CA.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IssuerStatus {
    /// The CA's subject name.
    pub name: String,
    /// The card kind it is trusted for.
    pub kind: &'static str,
    /// Its own certificate is valid now (else its cards are refused).
    pub valid: bool,
    /// nextUpdate of its CRL (Unix seconds), when one is loaded.
    pub crl_next_update: Option<i64>,
    /// Whether its cards can be checked for revocation now (false: they are refused).
    /// Always true when revocation checking is off.
    pub revocation_known: bool,
}

/// The revoked serials of one issuer, named as the store names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedSerials {
    /// [`issuer_id`] of the issuer.
    pub issuer: String,
    pub issuer_name: String,
    /// [`serial_hex`] of each revoked certificate.
    pub serials: Vec<String>,
}

/// The configured card issuers and their revocation lists.
pub struct CardTrust {
    anchors: Vec<Anchor>,
    crl_files: Vec<PathBuf>,
    check: RevocationCheck,
    crls: RwLock<Crls>,
}

impl std::fmt::Debug for CardTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardTrust")
            .field("anchors", &self.anchors.len())
            .field("revocation_check", &self.check)
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

fn load_anchors(nhi: &[PathBuf], moica: &[PathBuf]) -> anyhow::Result<Vec<Anchor>> {
    let mut anchors = Vec::new();
    for (kind, files) in [(CardKind::Nhi, nhi), (CardKind::Moica, moica)] {
        for path in files {
            let bytes = std::fs::read(path)
                .with_context(|| format!("Failed to read card CA {}", path.display()))?;
            for der in pem_or_der_blocks(&bytes, "CERTIFICATE")? {
                let (_, cert) = parse_x509_certificate(&der)
                    .map_err(|e| anyhow!("{} is not an X.509 certificate: {e}", path.display()))?;
                if !cert.is_ca() {
                    anyhow::bail!("{} is not a CA certificate", path.display());
                }
                let validity = cert.validity();
                anchors.push(Anchor {
                    kind,
                    subject: cert.subject().as_raw().to_vec(),
                    name: cert.subject().to_string(),
                    file: path.clone(),
                    not_before: validity.not_before.timestamp(),
                    not_after: validity.not_after.timestamp(),
                    der: der.clone(),
                });
            }
        }
    }
    Ok(anchors)
}

impl CardTrust {
    /// Loads the CA certificates for each kind and, when revocation is checked, the CRLs:
    /// every CA must then have a CRL that verifies against it and has a nextUpdate, or the
    /// load fails (naming the CA and what to set). `now` is only used for warnings.
    pub fn load(settings: &CardSettings, now: i64) -> anyhow::Result<CardTrust> {
        let anchors = load_anchors(&settings.nhi_ca_files, &settings.moica_ca_files)?;
        for a in anchors.iter().filter(|a| !a.valid_at(now)) {
            tracing::warn!(
                ca = %a.name,
                file = %a.file.display(),
                not_before = %format_rfc3339(a.not_before),
                not_after = %format_rfc3339(a.not_after),
                "a card CA certificate is not valid now: its cards are refused"
            );
        }
        let check = settings.revocation_check;
        let crl_files = match check {
            RevocationCheck::Crl => settings.crl_files.clone(),
            RevocationCheck::Off => {
                tracing::warn!(
                    "card.revocation_check = \"off\": card certificates are not checked for \
                     revocation, so a revoked card can sign in. For production set \
                     card.revocation_check = \"crl\" and list every card CA's CRL in card.crl_files"
                );
                if !settings.crl_files.is_empty() {
                    tracing::warn!(
                        files = settings.crl_files.len(),
                        "card.crl_files are ignored while card.revocation_check = \"off\""
                    );
                }
                Vec::new()
            }
        };
        let trust = CardTrust {
            anchors,
            crl_files,
            check,
            crls: RwLock::new(Crls::default()),
        };
        if check == RevocationCheck::Crl {
            let by_issuer = trust.read_crls()?;
            for a in &trust.anchors {
                match by_issuer.get(&a.subject) {
                    None => anyhow::bail!(
                        "card CA \"{}\" ({}) has no CRL in card.crl_files: add the file of its \
                         current CRL to card.crl_files, or set card.revocation_check = \"off\" to \
                         accept its cards without any revocation check (not for production)",
                        a.name,
                        a.file.display()
                    ),
                    Some(crl) if crl.next_update < now => tracing::warn!(
                        ca = %a.name,
                        crl_next_update = %format_rfc3339(crl.next_update),
                        "the CRL of a card CA is past its nextUpdate: its cards are refused until \
                         a fresh CRL is put in card.crl_files"
                    ),
                    Some(_) => {}
                }
            }
            let mut current = trust
                .crls
                .write()
                .map_err(|_| anyhow!("CRL lock poisoned"))?;
            *current = Crls {
                stamps: trust.stamps(),
                by_issuer,
                failure: None,
                generation: 1,
            };
        }
        Ok(trust)
    }

    /// A trust store with no issuers: every card is refused.
    pub fn empty() -> CardTrust {
        CardTrust {
            anchors: Vec::new(),
            crl_files: Vec::new(),
            check: RevocationCheck::Crl,
            crls: RwLock::new(Crls::default()),
        }
    }

    pub fn has_issuers(&self) -> bool {
        !self.anchors.is_empty()
    }

    pub fn revocation_check(&self) -> RevocationCheck {
        self.check
    }

    fn stamps(&self) -> Vec<Stamp> {
        self.crl_files
            .iter()
            .map(|p| {
                let meta = std::fs::metadata(p).ok();
                (p.clone(), meta.map(|m| (m.modified().ok(), m.len())))
            })
            .collect()
    }

    /// Reads every CRL file. A CRL that is not from a configured CA, does not verify
    /// against it or has no nextUpdate (RFC 5280 §5.1.2.5 requires one) is an error.
    fn read_crls(&self) -> anyhow::Result<BTreeMap<Vec<u8>, IssuerCrl>> {
        let mut by_issuer: BTreeMap<Vec<u8>, IssuerCrl> = BTreeMap::new();
        for path in &self.crl_files {
            let bytes = std::fs::read(path)
                .with_context(|| format!("Failed to read CRL {}", path.display()))?;
            for der in pem_or_der_blocks(&bytes, "X509 CRL")? {
                let (_, crl) = parse_x509_crl(&der)
                    .map_err(|e| anyhow!("{} is not a CRL: {e}", path.display()))?;
                let issuer = crl.issuer().as_raw();
                let from_us: Vec<&Anchor> = self
                    .anchors
                    .iter()
                    .filter(|a| a.subject == issuer)
                    .collect();
                if from_us.is_empty() {
                    anyhow::bail!(
                        "CRL {} is from an issuer that is not configured ({})",
                        path.display(),
                        crl.issuer()
                    );
                }
                if !from_us
                    .iter()
                    .any(|a| a.signed(|key| crl.verify_signature(key).is_ok()))
                {
                    anyhow::bail!("CRL {} is not signed by its issuer", path.display());
                }
                let next_update = crl.next_update().ok_or_else(|| {
                    anyhow!(
                        "CRL {} has no nextUpdate, so it is never known to be current; \
                         have its issuer publish CRLs with a nextUpdate",
                        path.display()
                    )
                })?;
                let entry = by_issuer.entry(issuer.to_vec()).or_default();
                entry.next_update = entry.next_update.max(next_update.timestamp());
                for r in crl.iter_revoked_certificates() {
                    entry.revoked.insert(r.raw_serial().to_vec());
                }
            }
        }
        Ok(by_issuer)
    }

    /// Re-reads the CRL files when they changed on disk; true when they were re-read. A
    /// failure is logged and refuses every card until the files change again (fail closed).
    pub fn reload_if_changed(&self) -> bool {
        if self.check == RevocationCheck::Off {
            return false;
        }
        let stamps = self.stamps();
        match self.crls.read() {
            Ok(current) if current.stamps == stamps => return false,
            Ok(_) => {}
            Err(_) => return false,
        }
        let loaded = self.read_crls();
        let Ok(mut current) = self.crls.write() else {
            return false;
        };
        if current.stamps == stamps {
            return false; // another thread re-read them meanwhile
        }
        let generation = current.generation + 1;
        *current = match loaded {
            Ok(by_issuer) => {
                for a in &self.anchors {
                    if !by_issuer.contains_key(&a.subject) {
                        tracing::warn!(ca = %a.name, "the card CRLs have no CRL of this card CA any more: its cards are refused");
                    }
                }
                tracing::info!(files = self.crl_files.len(), "card CRLs re-read");
                Crls {
                    stamps,
                    by_issuer,
                    failure: None,
                    generation,
                }
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot use the card CRLs: every card is refused (revocation status unknown) until the files are fixed");
                Crls {
                    stamps,
                    by_issuer: BTreeMap::new(),
                    failure: Some(format!("{e:#}")),
                    generation,
                }
            }
        };
        true
    }

    /// Counts the CRL (re)loads: changes when the lists may say something new.
    pub fn generation(&self) -> u64 {
        self.crls.read().map(|c| c.generation).unwrap_or(0)
    }

    fn revocation_state<'a>(
        crls: &'a Crls,
        anchor: &Anchor,
        now: i64,
    ) -> Result<&'a IssuerCrl, Unknown> {
        if crls.failure.is_some() {
            return Err(Unknown::Unreadable);
        }
        let crl = crls.by_issuer.get(&anchor.subject).ok_or(Unknown::NoCrl)?;
        if crl.next_update < now {
            return Err(Unknown::Stale(crl.next_update));
        }
        Ok(crl)
    }

    /// Whether `serial` of a card from `anchor` is revoked, by a current CRL.
    fn check_revocation(&self, anchor: &Anchor, serial: &[u8], now: i64) -> Result<(), CardError> {
        if self.check == RevocationCheck::Off {
            return Ok(());
        }
        self.reload_if_changed();
        let crls = self.crls.read().map_err(|_| CardError::Internal)?;
        match Self::revocation_state(&crls, anchor, now) {
            Ok(crl) if crl.revoked.contains(serial) => Err(CardError::Revoked),
            Ok(_) => Ok(()),
            Err(Unknown::Unreadable) => {
                tracing::warn!(ca = %anchor.name, "card refused: the card CRLs cannot be used (see the error logged when they were read)");
                Err(CardError::RevocationUnknown)
            }
            Err(Unknown::NoCrl) => {
                tracing::warn!(ca = %anchor.name, "card refused: there is no CRL of its CA in card.crl_files, so its revocation cannot be checked");
                Err(CardError::RevocationUnknown)
            }
            Err(Unknown::Stale(next_update)) => {
                tracing::warn!(
                    ca = %anchor.name,
                    crl_next_update = %format_rfc3339(next_update),
                    "card refused: the CRL of its CA is past its nextUpdate, so its revocation cannot be checked; put a fresh CRL in card.crl_files"
                );
                Err(CardError::RevocationUnknown)
            }
        }
    }

    /// Each trusted CA: whether its certificate is valid and its cards' revocation can be
    /// checked at `now` (for `/readyz` and the metrics).
    pub fn issuer_status(&self, now: i64) -> Vec<IssuerStatus> {
        let crls = self.crls.read().ok();
        self.anchors
            .iter()
            .map(|a| {
                let (next, known) = match (self.check, crls.as_deref()) {
                    (RevocationCheck::Off, _) => (None, true),
                    (RevocationCheck::Crl, None) => (None, false),
                    (RevocationCheck::Crl, Some(c)) => (
                        c.by_issuer.get(&a.subject).map(|crl| crl.next_update),
                        Self::revocation_state(c, a, now).is_ok(),
                    ),
                };
                IssuerStatus {
                    name: a.name.clone(),
                    kind: a.kind.as_str(),
                    valid: a.valid_at(now),
                    crl_next_update: next,
                    revocation_known: known,
                }
            })
            .collect()
    }

    /// Whether the loaded CRLs list the certificate `serial` ([`serial_hex`]) of `issuer`
    /// ([`issuer_id`]).
    pub fn is_revoked(&self, issuer: &str, serial: &str) -> bool {
        let Ok(raw) = serial
            .split(':')
            .map(|h| u8::from_str_radix(h, 16))
            .collect::<Result<Vec<u8>, _>>()
        else {
            return false;
        };
        let Ok(crls) = self.crls.read() else {
            return false;
        };
        crls.by_issuer
            .iter()
            .any(|(name, crl)| issuer_id(name) == issuer && crl.revoked.contains(&raw))
    }

    /// Every serial on the loaded CRLs, by issuer.
    pub fn revoked_serials(&self) -> Vec<RevokedSerials> {
        let Ok(crls) = self.crls.read() else {
            return Vec::new();
        };
        crls.by_issuer
            .iter()
            .map(|(issuer, crl)| RevokedSerials {
                issuer: issuer_id(issuer),
                issuer_name: self
                    .anchors
                    .iter()
                    .find(|a| &a.subject == issuer)
                    .map(|a| a.name.clone())
                    .unwrap_or_default(),
                serials: crl.revoked.iter().map(|s| serial_hex(s)).collect(),
            })
            .collect()
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

#[cfg(test)]
mod tests {
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    use p256::pkcs8::DecodePrivateKey;

    use super::super::ca::{self, CardHolder, IssuedCredentials};
    use super::*;

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
        let sig: p256::ecdsa::Signature =
            key.sign_prehash(&signing_hash(ORIGIN, challenge)).unwrap();
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
}
