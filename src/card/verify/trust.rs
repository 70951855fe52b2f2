//! The trusted card CAs: their certificates, loaded per card kind, and the [`CardTrust`]
//! store that holds them with the revocation settings.

use std::path::PathBuf;
use std::sync::RwLock;

use anyhow::anyhow;

use super::anchors::{load_anchors, Anchor};
use super::crl::Crls;
use crate::clock::format_rfc3339;
use crate::configuration::{CardSettings, RevocationCheck};

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
