//! The core context: what every service of Cardinal shares — settings, the store, the key
//! manager and key ring, the clock and the metrics. Administration, enrollment, the card
//! service, clients and the OpenID Provider (`oidc::Engine`) are built on it; it depends on
//! none of them (docs/architecture.md).

use std::sync::Arc;

use crate::audit::{AuditEvent, AuditKind};
use crate::clock::{Clock, UnixTime};
use crate::configuration::Settings;
use crate::crypto::{KeyPurpose, KeyRing};
use crate::keys::KeyManager;
use crate::metrics::Metrics;
use crate::store::{RegistrationStatus, Storage, StoreResult};

/// Shared by all requests; cheap to clone.
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    store: Arc<dyn Storage>,
    keys: KeyManager,
    clock: Arc<dyn Clock>,
    ring: KeyRing,
    metrics: Metrics,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("issuer", &self.inner.settings.issuer)
            .finish_non_exhaustive()
    }
}

impl Context {
    pub fn new(
        settings: Settings,
        store: Arc<dyn Storage>,
        keys: KeyManager,
        clock: Arc<dyn Clock>,
        ring: KeyRing,
        metrics: Metrics,
    ) -> Context {
        Context {
            inner: Arc::new(Inner {
                settings,
                store,
                keys,
                clock,
                ring,
                metrics,
            }),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn issuer(&self) -> &str {
        &self.inner.settings.issuer
    }

    pub fn store(&self) -> &dyn Storage {
        self.inner.store.as_ref()
    }

    pub fn store_arc(&self) -> Arc<dyn Storage> {
        self.inner.store.clone()
    }

    pub fn keys(&self) -> &KeyManager {
        &self.inner.keys
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn now(&self) -> UnixTime {
        self.inner.clock.now()
    }

    pub fn ring(&self) -> &KeyRing {
        &self.inner.ring
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer(), path)
    }

    /// The keyed hash stored for a client secret (never argon2: it is checked per token
    /// request).
    pub fn hash_client_secret(&self, secret: &str) -> String {
        self.ring()
            .keyed_hash(KeyPurpose::ClientSecret, secret.as_bytes())
    }

    /// Whether `person_id` may still use what they were granted: false once the person is
    /// gone or their registration is anything but active (locked, deactivated). Every later
    /// use re-checks — code redemption, refresh, userinfo, introspection, SSO — so that a
    /// change at the counter takes effect at once. A person without any registration (made
    /// by other means than 健保卡網路服務註冊) is not restricted here.
    pub fn in_good_standing(&self, person_id: &str) -> StoreResult<bool> {
        Ok(match self.store().person_standing(person_id)? {
            None => false,
            Some(None) => true,
            Some(Some(status)) => status == RegistrationStatus::Active,
        })
    }

    /// Appends an audit event; a failure is logged, never fatal to the request.
    pub fn audit(
        &self,
        event: AuditKind,
        outcome: &str,
        person_id: Option<&str>,
        client_id: Option<&str>,
        detail: Option<String>,
    ) {
        self.audit_from(None, event, outcome, person_id, client_id, detail);
    }

    /// Appends an audit event that records the client's address.
    pub fn audit_from(
        &self,
        ip: Option<&str>,
        event: AuditKind,
        outcome: &str,
        person_id: Option<&str>,
        client_id: Option<&str>,
        detail: Option<String>,
    ) {
        let e = AuditEvent {
            at: self.now(),
            event: event.as_str().into(),
            outcome: outcome.into(),
            actor: None,
            person_id: person_id.map(str::to_string),
            client_id: client_id.map(str::to_string),
            ip: ip.map(str::to_string),
            detail,
        };
        if let Err(err) = self.store().append_audit(&e) {
            tracing::error!(error = ?err, event = event.as_str(), "Failed to write an audit event");
        }
    }
}
