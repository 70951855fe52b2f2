//! Persistence behind role traits. This module is the only place that imports diesel.
//!
//! Every piece of single-use state (codes, refresh tokens, interactions, client-assertion
//! `jti`s) is consumed by one conditional write whose affected-row count decides the
//! winner, so that any number of instances on one database agree (docs/security.md §0.5).

pub mod admin;
pub mod cards;
pub mod enrollment;
pub mod models;
pub mod notices;
pub mod schema;
pub mod sql;

use crate::clock::UnixTime;
use crate::domain::Client;

pub use admin::{
    AdminRecord, AdminSessionRecord, AdminStore, AuditEntry, AuditFilter, ClientChange,
    RegistrationDetail, RegistrationQuery, RegistrationSummary, StatusChange,
};
pub use cards::{CardCertificateStore, CardCertificateUse, RevokedHolder};
pub use enrollment::{
    FailedLogin, MailTokenPurpose, MailTokenRecord, NewApplication, PasswordChange, RateLimitStore,
    Registration, RegistrationStatus, RegistrationStore, RegistryStore, Resident,
};
pub use notices::{MaintenanceWindow, NoticeChange, NoticePlaces, NoticeRecord, NoticeStore};
pub use sql::Database;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a record with this key already exists")]
    Duplicate,
    /// The record changed since it was read (optimistic locking).
    #[error("the record was changed meanwhile")]
    Stale,
    #[error(transparent)]
    Db(#[from] anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A person who can sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub phone_number: Option<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// A signing key as stored: public JWK in the clear, private JWK encrypted (JWE).
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub kid: String,
    pub alg: String,
    pub public_jwk: String,
    pub private_jwe: String,
    pub created_at: UnixTime,
    pub active_from: UnixTime,
}

/// An SSO session. The cookie holds a random value; only its hash is stored.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id_hash: String,
    /// Public session id (the `sid` claim).
    pub sid: String,
    pub person_id: String,
    pub auth_time: UnixTime,
    pub acr: String,
    pub amr: Vec<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub ended_at: Option<UnixTime>,
    /// When the session was last used (the idle timeout counts from here).
    pub last_seen_at: UnixTime,
}

impl SessionRecord {
    /// Not ended, within its absolute lifetime, and used within the last `idle_ttl` seconds.
    pub fn is_active(&self, now: UnixTime, idle_ttl: i64) -> bool {
        self.ended_at.is_none() && self.expires_at > now && self.last_seen_at + idle_ttl > now
    }
}

/// A pending authorization request while the user signs in and consents.
#[derive(Debug, Clone)]
pub struct InteractionRecord {
    pub id: String,
    /// Hash of the browser-binding cookie set when the interaction started.
    pub browser_hash: String,
    pub client_id: String,
    /// The validated authorization request, JSON.
    pub request: String,
    pub csrf_token: String,
    pub login: Option<LoginRecord>,
    pub consent_given: bool,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub consumed_at: Option<UnixTime>,
}

/// Who signed in during an interaction, how and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRecord {
    pub person_id: String,
    pub auth_time: UnixTime,
    pub acr: String,
    pub amr: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct CodeRecord {
    pub code_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub person_id: String,
    pub sid: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub claims: Option<String>,
    pub auth_time: UnixTime,
    pub acr: String,
    pub amr: Vec<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub consumed_at: Option<UnixTime>,
}

/// What one authorization (or client_credentials request) granted; tokens hang off it and
/// revoking it revokes them all.
#[derive(Debug, Clone)]
pub struct GrantRecord {
    pub id: String,
    pub client_id: String,
    pub person_id: Option<String>,
    pub sid: Option<String>,
    pub scope: String,
    pub claims: Option<String>,
    pub auth_time: Option<UnixTime>,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

#[derive(Debug, Clone)]
pub struct AccessTokenRecord {
    pub jti_hash: String,
    pub grant_id: Option<String>,
    pub client_id: String,
    pub person_id: Option<String>,
    pub scope: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

#[derive(Debug, Clone)]
pub struct RefreshTokenRecord {
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub consumed_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
}

/// Rows written together when tokens are issued.
#[derive(Debug, Clone)]
pub struct IssueBundle {
    /// A new grant to create (code exchange, client credentials); `None` when refreshing.
    pub new_grant: Option<GrantRecord>,
    pub access_token: AccessTokenRecord,
    pub refresh_token: Option<RefreshTokenRecord>,
}

pub use crate::audit::AuditEvent;

pub trait ClientStore {
    fn find_client(&self, client_id: &str) -> StoreResult<Option<Client>>;
    fn list_clients(&self) -> StoreResult<Vec<Client>>;
    /// Fails with [`StoreError::Duplicate`] when the id is taken.
    fn create_client(&self, client: &Client) -> StoreResult<()>;
    /// Returns false when no such client exists.
    fn update_client(&self, client: &Client) -> StoreResult<bool>;
    fn delete_client(&self, client_id: &str) -> StoreResult<bool>;
}

pub trait PersonStore {
    fn find_person(&self, id: &str) -> StoreResult<Option<Person>>;
    fn create_person(&self, person: &Person) -> StoreResult<()>;
}

pub trait KeyStore {
    fn list_keys(&self) -> StoreResult<Vec<KeyRecord>>;
    /// Stores a key, and its audit event (when given) in the same transaction.
    fn insert_key(&self, key: &KeyRecord, audit: Option<&AuditEvent>) -> StoreResult<()>;
}

pub trait SessionStore {
    fn create_session(&self, session: &SessionRecord) -> StoreResult<()>;
    fn find_session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>>;
    /// A new sign-in by the same person: the session keeps its `sid` but gets a new
    /// cookie value (no fixation), auth time, acr and amr. False when it has ended.
    fn reauthenticate(&self, old_id_hash: &str, renewed: &SessionRecord) -> StoreResult<bool>;
    /// Marks an active session used at `now`: only when it has not ended, has not expired
    /// and was last used after `idle_since`. False when it is no longer active.
    fn touch_session(
        &self,
        id_hash: &str,
        now: UnixTime,
        idle_since: UnixTime,
    ) -> StoreResult<bool>;
    /// Active sessions of a person (for "end all sessions").
    fn person_sessions(&self, person_id: &str, now: UnixTime) -> StoreResult<Vec<SessionRecord>>;
    fn find_session_by_sid(&self, sid: &str) -> StoreResult<Option<SessionRecord>>;
    /// Ends an active session; false when it was already ended.
    fn end_session(&self, sid: &str, now: UnixTime) -> StoreResult<bool>;
    fn add_session_client(&self, sid: &str, client_id: &str, now: UnixTime) -> StoreResult<()>;
    fn session_clients(&self, sid: &str) -> StoreResult<Vec<String>>;
    /// Revokes the grants made in a session, except those with `offline_access`.
    fn revoke_session_grants(&self, sid: &str, now: UnixTime) -> StoreResult<u64>;
}

pub trait InteractionStore {
    fn create_interaction(&self, interaction: &InteractionRecord) -> StoreResult<()>;
    fn find_interaction(&self, id: &str) -> StoreResult<Option<InteractionRecord>>;
    /// Records the sign-in of an open interaction; false when it is consumed or expired.
    fn record_login(&self, id: &str, login: &LoginRecord, now: UnixTime) -> StoreResult<bool>;
    fn record_consent(&self, id: &str, now: UnixTime) -> StoreResult<bool>;
    /// Single use: true for exactly one caller.
    fn consume_interaction(&self, id: &str, now: UnixTime) -> StoreResult<bool>;
}

pub trait ConsentStore {
    fn find_consent(&self, person_id: &str, client_id: &str) -> StoreResult<Option<String>>;
    fn save_consent(
        &self,
        person_id: &str,
        client_id: &str,
        scopes: &str,
        now: UnixTime,
    ) -> StoreResult<()>;
}

pub trait CodeStore {
    fn create_code(&self, code: &CodeRecord) -> StoreResult<()>;
    fn find_code(&self, code_hash: &str) -> StoreResult<Option<CodeRecord>>;
    /// Marks an unused code used without issuing anything (a failed redemption); false when
    /// it was already used.
    fn burn_code(&self, code_hash: &str, now: UnixTime) -> StoreResult<bool>;
    /// Single use: consumes the code (only before expiry) and writes the tokens issued
    /// from it in one transaction. True for exactly one caller; the others write nothing.
    fn redeem_code(
        &self,
        code_hash: &str,
        now: UnixTime,
        bundle: &IssueBundle,
    ) -> StoreResult<bool>;
}

pub trait TokenStore {
    /// Writes a grant (if new) and its tokens in one transaction.
    fn issue_tokens(&self, bundle: &IssueBundle) -> StoreResult<()>;
    /// Consumes `old_hash` and writes the new tokens in one transaction; false (and
    /// nothing written) when the old token was already used, revoked or expired.
    fn rotate_refresh_token(
        &self,
        old_hash: &str,
        now: UnixTime,
        bundle: &IssueBundle,
    ) -> StoreResult<bool>;
    fn find_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshTokenRecord>>;
    fn find_grant(&self, id: &str) -> StoreResult<Option<GrantRecord>>;
    fn find_access_token(&self, jti_hash: &str) -> StoreResult<Option<AccessTokenRecord>>;
    /// Revokes a grant and every token issued under it.
    fn revoke_grant(&self, id: &str, now: UnixTime) -> StoreResult<()>;
    fn revoke_access_token(&self, jti_hash: &str, now: UnixTime) -> StoreResult<()>;
    /// Remembers a client-assertion `jti` until it expires; false when it was seen before.
    fn record_jti(
        &self,
        jti_hash: &str,
        client_id: &str,
        expires_at: UnixTime,
    ) -> StoreResult<bool>;
}

/// A card challenge as stored (the challenge itself only as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRecord {
    pub challenge_hash: String,
    /// What the challenge is bound to (browser transaction and purpose).
    pub binding: String,
    /// The card number the flow already knows, if any.
    pub expected_card: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub consumed_at: Option<UnixTime>,
}

pub trait ChallengeStore {
    fn create_challenge(&self, challenge: &ChallengeRecord) -> StoreResult<()>;
    /// Single use: marks the challenge used and returns it, for exactly one caller and only
    /// before expiry; `None` when it is unknown, used or expired.
    fn consume_challenge(
        &self,
        challenge_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<ChallengeRecord>>;
}

/// A queued mail; `payload` is sealed (recipient, subject, bodies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: String,
    pub payload: String,
    /// What the mail is for (`confirm`, `reset`, …), for metrics; never personal data.
    pub purpose: String,
    pub created_at: UnixTime,
    pub next_attempt_at: UnixTime,
    pub attempts: i32,
    pub sent_at: Option<UnixTime>,
    pub last_error: Option<String>,
}

pub trait MailStore {
    fn enqueue_mail(&self, message: &OutboxMessage) -> StoreResult<()>;
    /// Leases up to `limit` due messages for `lease` seconds; each message is leased to one
    /// caller at a time across instances.
    fn claim_due_mail(
        &self,
        now: UnixTime,
        lease: i64,
        limit: i64,
    ) -> StoreResult<Vec<OutboxMessage>>;
    /// Marks a message sent and erases its payload.
    fn mark_mail_sent(&self, id: &str, now: UnixTime) -> StoreResult<()>;
    /// Records a failed attempt and when to try again.
    fn mark_mail_failed(&self, id: &str, error: &str, next_attempt_at: UnixTime)
        -> StoreResult<()>;
    /// Messages not sent yet (for `/readyz`-style checks and tests).
    fn pending_mail_count(&self) -> StoreResult<i64>;
}

pub trait AuditStore {
    fn append_audit(&self, event: &AuditEvent) -> StoreResult<()>;
    fn list_audit(&self, limit: i64) -> StoreResult<Vec<AuditEvent>>;
}

pub trait Maintenance {
    /// A cheap round trip to the database.
    fn ping(&self) -> StoreResult<()>;
    /// Deletes state that expired or ended more than `grace` seconds ago (codes,
    /// interactions, card challenges, access and refresh tokens, grants, sessions, console
    /// sessions, mail tokens, sent mail), `jti`s past their expiry and old rate-limit
    /// windows; returns the number of rows removed. Registrations, persons, clients, keys,
    /// consents and the audit log are never touched.
    fn purge_expired(&self, now: UnixTime, grace: i64) -> StoreResult<u64>;
    /// Connections (in use, idle) for metrics.
    fn pool_state(&self) -> (u32, u32);
}

/// Everything the engine needs.
pub trait Storage:
    ClientStore
    + PersonStore
    + KeyStore
    + SessionStore
    + InteractionStore
    + ConsentStore
    + CodeStore
    + TokenStore
    + AuditStore
    + ChallengeStore
    + MailStore
    + RegistryStore
    + RegistrationStore
    + RateLimitStore
    + AdminStore
    + CardCertificateStore
    + NoticeStore
    + Maintenance
    + Send
    + Sync
{
}

impl<T> Storage for T where
    T: ClientStore
        + PersonStore
        + KeyStore
        + SessionStore
        + InteractionStore
        + ConsentStore
        + CodeStore
        + TokenStore
        + AuditStore
        + ChallengeStore
        + MailStore
        + RegistryStore
        + RegistrationStore
        + RateLimitStore
        + AdminStore
        + CardCertificateStore
        + NoticeStore
        + Maintenance
        + Send
        + Sync
{
}
