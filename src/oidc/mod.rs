//! The OpenID Provider engine: typed requests in, typed responses out. No HTTP framework
//! here; routes translate. Storage comes in through the role traits of `store`, time
//! through a [`Clock`].

pub mod authorize;
pub mod claims;
pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod grants;
pub mod interaction;
pub mod introspect;
pub mod keys;
pub mod logout;
pub mod request;
pub mod tokens;
pub mod userinfo;

use std::sync::Arc;

use crate::clock::{Clock, UnixTime};
use crate::configuration::Settings;
use crate::crypto::{KeyPurpose, KeyRing};
use crate::domain::{Client, Scope, SubjectType};
use crate::metrics::Metrics;
use crate::store::{AuditEvent, Person, Storage};

pub use error::{ErrorCode, OAuthError, OAuthResult};
pub use keys::{KeyManager, SigningAlg};

/// Everything the engine needs, shared by all requests.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    store: Arc<dyn Storage>,
    keys: KeyManager,
    clock: Arc<dyn Clock>,
    ring: KeyRing,
    metrics: Metrics,
    default_alg: SigningAlg,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("issuer", &self.inner.settings.issuer)
            .finish_non_exhaustive()
    }
}

/// Who the user is, how they proved it and when: what an authentication method hands
/// to the engine when a sign-in succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResult {
    pub person_id: String,
    pub acr: crate::domain::Acr,
    /// RFC 8176 method references, e.g. `["sc", "pwd", "mfa"]`.
    pub amr: Vec<String>,
    /// The name of the method, for metrics and audit (e.g. `card`).
    pub method: String,
}

impl Engine {
    pub fn new(
        settings: Settings,
        store: Arc<dyn Storage>,
        keys: KeyManager,
        clock: Arc<dyn Clock>,
        ring: KeyRing,
        metrics: Metrics,
    ) -> anyhow::Result<Engine> {
        let default_alg =
            SigningAlg::parse(&settings.keys.default_algorithm).map_err(anyhow::Error::msg)?;
        Ok(Engine {
            inner: Arc::new(Inner {
                settings,
                store,
                keys,
                clock,
                ring,
                metrics,
                default_alg,
            }),
        })
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

    /// The `sub` of `person_id` as `client` sees it.
    pub fn subject_for(&self, client: &Client, person_id: &str) -> String {
        match client.subject_type {
            SubjectType::Public => person_id.to_string(),
            SubjectType::Pairwise => {
                let input = format!("{}|{}", client.sector_identifier(), person_id);
                self.inner
                    .ring
                    .keyed_hash(KeyPurpose::Pairwise, input.as_bytes())
            }
        }
    }

    /// Signing algorithm for `client`'s ID tokens.
    pub fn id_token_alg(&self, client: &Client) -> SigningAlg {
        client
            .id_token_alg
            .as_deref()
            .and_then(|a| SigningAlg::parse(a).ok())
            .unwrap_or(self.inner.default_alg)
    }

    pub fn access_token_alg(&self) -> SigningAlg {
        self.inner.default_alg
    }

    /// Claims about `person` released for `scope` (OIDC Core §5.4). Claims asked for
    /// with the `claims` parameter were turned into their covering scopes at authorization.
    pub fn user_claims(&self, person: &Person, scope: &Scope) -> claims::UserClaims {
        let email = scope.contains("email");
        claims::UserClaims {
            name: scope.contains("profile").then(|| person.name.clone()),
            email: if email { person.email.clone() } else { None },
            email_verified: (email && person.email.is_some()).then_some(person.email_verified),
            phone_number: if scope.contains("phone") {
                person.phone_number.clone()
            } else {
                None
            },
        }
    }

    /// Whether `person_id` may still use what they were granted: false once the person is
    /// gone or their registration is anything but active (locked, deactivated). Every later
    /// use re-checks — code redemption, refresh, userinfo, introspection, SSO — so that a
    /// change at the counter takes effect at once. A person without any registration (made
    /// by other means than 健保卡網路服務註冊) is not restricted here.
    pub fn in_good_standing(&self, person_id: &str) -> OAuthResult<bool> {
        Ok(match self.store().person_standing(person_id)? {
            None => false,
            Some(None) => true,
            Some(Some(status)) => status == crate::store::RegistrationStatus::Active,
        })
    }

    /// Appends an audit event; a failure is logged, never fatal to the request.
    pub fn audit(
        &self,
        event: &str,
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
        event: &str,
        outcome: &str,
        person_id: Option<&str>,
        client_id: Option<&str>,
        detail: Option<String>,
    ) {
        let e = AuditEvent {
            at: self.now(),
            event: event.into(),
            outcome: outcome.into(),
            actor: None,
            person_id: person_id.map(str::to_string),
            client_id: client_id.map(str::to_string),
            ip: ip.map(str::to_string),
            detail,
        };
        if let Err(err) = self.store().append_audit(&e) {
            tracing::error!(error = ?err, event, "Failed to write an audit event");
        }
    }
}
