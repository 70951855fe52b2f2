//! Card sign-in on the IdP side (docs/requirements.md R-CARD): challenges bound to a
//! browser transaction and kept in the database, and validation of the authenticator's
//! signed token.

pub mod ca;
pub mod issue;
pub mod token;
pub mod verify;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::audit::AuditKind;
use crate::configuration::RevocationCheck;
use crate::crypto::{ct_eq, random_token, token_hash};
use crate::oidc::logout::LogoutDelivery;
use crate::oidc::Engine;
use crate::store::{AuditEvent, CardCertificateUse, ChallengeRecord};
pub use token::{CardKind, CardToken};
pub use verify::{CardError, CardTrust, IssuerStatus, VerifiedCard};

/// How many serials are looked up in the store at once.
const SERIAL_BATCH: usize = 200;

/// A challenge handed to the browser.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedChallenge {
    pub challenge: String,
    pub expires_in: i64,
}

/// Issues challenges and checks card tokens against them.
#[derive(Clone, Debug)]
pub struct CardService {
    engine: Engine,
    trust: Arc<CardTrust>,
    origin: String,
    revocations: Arc<RevocationWatch>,
}

/// What this instance has done about the CRLs' revocations.
#[derive(Debug, Default)]
struct RevocationWatch {
    /// The CRL generation whose revocations were all acted on.
    synced: AtomicU64,
    /// (issuer, serial) already looked up in the store.
    done: Mutex<BTreeSet<(String, String)>>,
    /// Wakes the watcher when a card check saw the CRLs change.
    wake: tokio::sync::Notify,
}

impl CardService {
    pub fn new(engine: Engine, trust: CardTrust) -> anyhow::Result<CardService> {
        let origin = url::Url::parse(engine.issuer())?
            .origin()
            .ascii_serialization();
        Ok(CardService {
            engine,
            trust: Arc::new(trust),
            origin,
            revocations: Arc::default(),
        })
    }

    /// The web origin the card must have signed (this IdP's).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn trust(&self) -> &CardTrust {
        &self.trust
    }

    /// A new 32-byte challenge bound to `binding` (the browser transaction), valid
    /// `card.challenge_ttl` seconds; `expected_card` when the flow already knows the card.
    pub fn issue_challenge(
        &self,
        binding: &str,
        expected_card: Option<&str>,
    ) -> anyhow::Result<IssuedChallenge> {
        let now = self.engine.now();
        let ttl = self.engine.settings().card.challenge_ttl;
        let challenge = random_token(32);
        self.engine.store().create_challenge(&ChallengeRecord {
            challenge_hash: token_hash(&challenge),
            binding: binding.to_string(),
            expected_card: expected_card.map(str::to_string),
            created_at: now,
            expires_at: now + ttl,
            consumed_at: None,
        })?;
        Ok(IssuedChallenge {
            challenge,
            expires_in: ttl,
        })
    }

    /// Consumes `challenge` (on first use, whatever the outcome) and verifies `token` over
    /// it. The challenge must belong to `binding`; a card other than the expected one fails.
    /// Every refusal is counted (`cardinal_card_refusals_total`).
    pub fn authenticate(
        &self,
        binding: &str,
        challenge: &str,
        token: &CardToken,
    ) -> Result<VerifiedCard, CardError> {
        self.authenticate_inner(binding, challenge, token)
            .map_err(|e| self.refused(e))
    }

    fn authenticate_inner(
        &self,
        binding: &str,
        challenge: &str,
        token: &CardToken,
    ) -> Result<VerifiedCard, CardError> {
        let now = self.engine.now();
        let record = match self
            .engine
            .store()
            .consume_challenge(&token_hash(challenge), now)
        {
            Ok(Some(r)) => r,
            Ok(None) => return Err(CardError::BadChallenge),
            Err(e) => {
                tracing::error!(error = ?e, "cannot consume a card challenge");
                return Err(CardError::Internal);
            }
        };
        if !ct_eq(&record.binding, binding) {
            return Err(CardError::BadChallenge);
        }
        let card = self.trust.verify(token, &self.origin, challenge, now);
        if self.trust.generation() != self.revocations.synced.load(Ordering::SeqCst) {
            // The check re-read changed CRLs: act on their revocations now.
            self.revocations.wake.notify_one();
        }
        let card = card?;
        if record
            .expected_card
            .as_deref()
            .is_some_and(|expected| expected != card.card_number)
        {
            return Err(CardError::WrongCard);
        }
        Ok(card)
    }

    /// Remembers that `person_id` signed in with `card`'s certificate, so that a later
    /// revocation ends what this sign-in opens. Refuses a certificate already known to be
    /// revoked (by the store, or by a CRL re-read since the card was checked).
    pub fn record_sign_in(&self, card: &VerifiedCard, person_id: &str) -> Result<(), CardError> {
        let used = CardCertificateUse {
            issuer: card.issuer.clone(),
            issuer_name: card.issuer_name.clone(),
            serial: card.serial.clone(),
            person_id: person_id.to_string(),
            card_number: card.card_number.clone(),
            kind: card.kind.as_str().to_string(),
            not_after: card.not_after,
            at: self.engine.now(),
        };
        match self.engine.store().record_card_certificate(&used) {
            Ok(true) => {}
            Ok(false) => return Err(self.refused(CardError::Revoked)),
            Err(e) => {
                tracing::error!(error = ?e, "cannot record the card certificate of a sign-in");
                return Err(self.refused(CardError::Internal));
            }
        }
        if self.trust.is_revoked(&card.issuer, &card.serial) {
            return Err(self.refused(CardError::Revoked));
        }
        Ok(())
    }

    /// Counts a refusal in the metrics and hands the error back.
    pub fn refused(&self, e: CardError) -> CardError {
        self.engine.metrics().card_refused(e.code());
        e
    }

    /// Each trusted CA and whether its cards can be checked now (`/readyz`, `/metrics`).
    pub fn issuer_status(&self) -> Vec<IssuerStatus> {
        self.trust.issuer_status(self.engine.now())
    }

    /// Resolves when a card check saw the CRLs change (the watcher's wake-up).
    pub async fn revocations_changed(&self) {
        self.revocations.wake.notified().await;
    }

    /// Re-reads changed CRLs and acts on every revocation not acted on yet: a revoked
    /// certificate that signed someone in ends that person's sessions and grants at once
    /// (audit `card_revoked`, actor `system`). Returns the back-channel logout tokens to
    /// send. Blocking (files, database). Safe on any number of instances: the store lets
    /// one act on each certificate.
    pub fn sync_revocations(&self) -> Vec<LogoutDelivery> {
        if self.trust.revocation_check() == RevocationCheck::Off {
            return Vec::new();
        }
        self.trust.reload_if_changed();
        let generation = self.trust.generation();
        if generation == self.revocations.synced.load(Ordering::SeqCst) {
            return Vec::new();
        }
        let Ok(mut done) = self.revocations.done.lock() else {
            return Vec::new();
        };
        let store = self.engine.store();
        let mut deliveries = Vec::new();
        let mut complete = true;
        for list in self.trust.revoked_serials() {
            let new: Vec<String> = list
                .serials
                .into_iter()
                .filter(|s| !done.contains(&(list.issuer.clone(), s.clone())))
                .collect();
            for batch in new.chunks(SERIAL_BATCH) {
                let found = match store.unrevoked_card_certificates(&list.issuer, batch) {
                    Ok(found) => found,
                    Err(e) => {
                        tracing::warn!(error = ?e, "cannot look up revoked card certificates; will try again");
                        complete = false;
                        continue;
                    }
                };
                let mut failed = BTreeSet::new();
                for serial in found {
                    let now = self.engine.now();
                    let audit = AuditEvent {
                        at: now,
                        event: AuditKind::CardRevoked.as_str().into(),
                        outcome: "success".into(),
                        actor: Some("system".into()),
                        person_id: None,
                        client_id: None,
                        ip: None,
                        detail: Some(format!("issuer={} serial={serial}", list.issuer_name)),
                    };
                    match store.revoke_card_certificate(&list.issuer, &serial, now, &audit) {
                        Ok(Some(holder)) => {
                            tracing::info!(
                                person_id = %holder.person_id,
                                serial = %serial,
                                ca = %list.issuer_name,
                                sessions = holder.ended_sids.len(),
                                "a card certificate that signed in was revoked: its holder's sessions and grants are ended"
                            );
                            for sid in &holder.ended_sids {
                                match self.engine.logout_deliveries(&holder.person_id, sid, now) {
                                    Ok(d) => deliveries.extend(d),
                                    Err(e) => {
                                        tracing::warn!(error = ?e, "cannot make back-channel logout tokens")
                                    }
                                }
                            }
                        }
                        Ok(None) => {} // acted on already (another instance)
                        Err(e) => {
                            tracing::warn!(error = ?e, serial = %serial, "cannot end the sessions of a revoked card; will try again");
                            failed.insert(serial);
                            complete = false;
                        }
                    }
                }
                done.extend(
                    batch
                        .iter()
                        .filter(|s| !failed.contains(*s))
                        .map(|s| (list.issuer.clone(), s.clone())),
                );
            }
        }
        if complete {
            self.revocations.synced.store(generation, Ordering::SeqCst);
        }
        deliveries
    }
}
