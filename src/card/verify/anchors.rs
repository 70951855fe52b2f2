//! The CA certificates trusted for cards ([`Anchor`]), read from PEM or DER files.

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use x509_parser::prelude::*;

use crate::card::token::CardKind;

/// A CA certificate trusted for the cards of one kind.
pub(super) struct Anchor {
    pub(super) kind: CardKind,
    der: Vec<u8>,
    /// Subject name, DER (what a card certificate or a CRL names as its issuer).
    pub(super) subject: Vec<u8>,
    /// Subject name for people and logs.
    pub(super) name: String,
    pub(super) file: PathBuf,
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

pub(super) fn load_anchors(nhi: &[PathBuf], moica: &[PathBuf]) -> anyhow::Result<Vec<Anchor>> {
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
