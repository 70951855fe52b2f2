//! Revocation of card certificates by their CAs' CRLs: reading and re-reading the CRL files,
//! checking a card against a current CRL, and what `/readyz` and the metrics report of it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{anyhow, Context};
use x509_parser::prelude::*;

use super::anchors::{pem_or_der_blocks, Anchor};
use super::{issuer_id, serial_hex, CardError, CardTrust};
use crate::clock::format_rfc3339;
use crate::configuration::RevocationCheck;

/// What the CRLs of one issuer say.
#[derive(Debug, Clone, Default)]
pub(super) struct IssuerCrl {
    /// Revoked serials (raw bytes).
    revoked: BTreeSet<Vec<u8>>,
    /// The latest nextUpdate among this issuer's CRLs (Unix seconds).
    pub(super) next_update: i64,
}

/// What tells that a CRL file changed: its modification time and length.
pub(super) type Stamp = (PathBuf, Option<(Option<SystemTime>, u64)>);

#[derive(Default)]
pub(super) struct Crls {
    /// (path, (modified, length)) of what was loaded.
    pub(super) stamps: Vec<Stamp>,
    /// By issuer name (DER).
    pub(super) by_issuer: BTreeMap<Vec<u8>, IssuerCrl>,
    /// Why the last reload failed: until the files change, no card's revocation status is
    /// known and every card is refused.
    pub(super) failure: Option<String>,
    /// Counts the (re)loads, so that watchers see that the lists changed.
    pub(super) generation: u64,
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

impl CardTrust {
    pub(super) fn stamps(&self) -> Vec<Stamp> {
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
    pub(super) fn read_crls(&self) -> anyhow::Result<BTreeMap<Vec<u8>, IssuerCrl>> {
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
    pub(super) fn check_revocation(
        &self,
        anchor: &Anchor,
        serial: &[u8],
        now: i64,
    ) -> Result<(), CardError> {
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
}
