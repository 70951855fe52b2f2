//! The trusted card CAs: their certificates, loaded per card kind, and the [`CardTrust`]
//! store that holds them with the revocation settings.

use std::path::PathBuf;
use std::sync::RwLock;

use anyhow::{anyhow, Context};
use x509_parser::prelude::*;

use super::crl::Crls;
use crate::card::token::CardKind;
use crate::clock::format_rfc3339;
use crate::configuration::{CardSettings, RevocationCheck};

/// A CA certificate trusted for the cards of one kind.
pub(super) struct Anchor {
    pub(super) kind: CardKind,
    der: Vec<u8>,
    /// Subject name, DER (what a card certificate or a CRL names as its issuer).
    pub(super) subject: Vec<u8>,
    /// Subject name for people and logs.
    pub(super) name: String,
    file: PathBuf,
    pub(super) not_before: i64,
    pub(super) not_after: i64,
}

impl Anchor {
    pub(super) fn valid_at(&self, now: i64) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    /// Whether this CA's key made `verify` succeed on something it signed.
    pub(super) fn signed(&self, check: impl Fn(&SubjectPublicKeyInfo<'_>) -> bool) -> bool {
        parse_x509_certificate(&self.der).is_ok_and(|(_, ca)| check(ca.public_key()))
    }
}

/// The configured card issuers and their revocation lists.
pub struct CardTrust {
    pub(super) anchors: Vec<Anchor>,
    pub(super) crl_files: Vec<PathBuf>,
    pub(super) check: RevocationCheck,
    pub(super) crls: RwLock<Crls>,
}

impl std::fmt::Debug for CardTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardTrust")
            .field("anchors", &self.anchors.len())
            .field("revocation_check", &self.check)
            .finish_non_exhaustive()
    }
}

pub(super) fn pem_or_der_blocks(bytes: &[u8], label: &str) -> anyhow::Result<Vec<Vec<u8>>> {
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
}
