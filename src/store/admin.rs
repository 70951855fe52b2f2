//! Records and the role trait of administration (docs/requirements.md R-ADM): the admin
//! role, console sessions, registration searches and changes made at the counter, audit
//! queries.

use super::{AuditEvent, Person, Registration, RegistrationStatus, StoreResult};
use crate::clock::UnixTime;
use crate::domain::Client;

/// A person who holds the admin role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRecord {
    pub person_id: String,
    pub name: String,
    pub granted_at: UnixTime,
    /// Who granted it (an audit actor, e.g. `cli`).
    pub granted_by: String,
}

/// A session of the admin console; the cookie value is stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSessionRecord {
    pub id_hash: String,
    pub person_id: String,
    /// The SSO session the console session was made from; it ends with it.
    pub sid: String,
    pub acr: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub ended_at: Option<UnixTime>,
}

/// What a registration search looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationQuery {
    /// Every registration.
    All,
    /// The holder of this card number.
    Card(String),
    /// The person with this national ID (its keyed hash).
    NationalIdHash(String),
    /// Names containing this text.
    Name(String),
}

/// One row of a registration search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationSummary {
    pub person_id: String,
    pub name: String,
    /// The sealed national ID (shown masked only).
    pub national_id_sealed: Option<String>,
    pub cards: Vec<String>,
    pub status: RegistrationStatus,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// Everything an operator sees about one registration.
#[derive(Debug, Clone)]
pub struct RegistrationDetail {
    pub person: Person,
    pub registration: Registration,
    pub national_id_sealed: Option<String>,
    /// (card number, kind).
    pub cards: Vec<(String, String)>,
    pub is_admin: bool,
    pub active_sessions: i64,
}

/// A change of state made at the counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChange {
    /// → deactivated, with the reason; ends every session and revokes every grant.
    Deactivate { reason: String },
    /// deactivated → active.
    Reactivate,
    /// locked → active, the counter cleared.
    Unlock,
}

/// A client change, written with its audit event.
#[derive(Debug, Clone)]
pub enum ClientChange<'a> {
    Create(&'a Client),
    /// Everything but the secret, which keeps its stored value (a rotation committed
    /// between the caller's read and this write is not undone).
    Update(&'a Client),
    /// Everything including the secret (the authentication method changed).
    UpdateWithSecret(&'a Client),
    /// A new secret; the client's own access tokens (client_credentials, issued with the
    /// old secret) are revoked at the same time.
    RotateSecret(&'a Client),
    Delete(&'a str),
}

/// Filters of the audit log; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events at or after this time.
    pub from: Option<UnixTime>,
    /// Events before this time.
    pub to: Option<UnixTime>,
    pub person_id: Option<String>,
    pub client_id: Option<String>,
    pub event: Option<String>,
    pub outcome: Option<String>,
    pub actor: Option<String>,
}

/// An audit event with its position in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub event: AuditEvent,
}

pub trait AdminStore {
    /// Grants the admin role; false when the person already holds it.
    fn grant_admin(
        &self,
        person_id: &str,
        granted_by: &str,
        now: UnixTime,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Revokes the admin role and ends the person's console sessions; false when the person
    /// did not hold it.
    fn revoke_admin(&self, person_id: &str, now: UnixTime, audit: &AuditEvent)
        -> StoreResult<bool>;
    fn list_admins(&self) -> StoreResult<Vec<AdminRecord>>;
    fn is_admin(&self, person_id: &str) -> StoreResult<bool>;

    /// Opens a console session together with its audit event (one transaction).
    fn create_admin_session(
        &self,
        session: &AdminSessionRecord,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    fn find_admin_session(&self, id_hash: &str) -> StoreResult<Option<AdminSessionRecord>>;
    /// Ends a console session; its audit event is written in the same transaction.
    fn end_admin_session(
        &self,
        id_hash: &str,
        now: UnixTime,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;

    /// Registrations matching `query`, ordered by (name, person id), after `after`.
    fn search_registrations(
        &self,
        query: &RegistrationQuery,
        after: Option<(&str, &str)>,
        limit: i64,
    ) -> StoreResult<Vec<RegistrationSummary>>;
    fn registration_detail(
        &self,
        person_id: &str,
        now: UnixTime,
    ) -> StoreResult<Option<RegistrationDetail>>;
    /// Changes the state of a registration whose state is one of `from`, with its audit
    /// event, in one transaction. `None` (nothing written) when the state was not one of
    /// `from`; otherwise the `sid`s of the sessions the change ended.
    fn change_registration(
        &self,
        person_id: &str,
        from: &[RegistrationStatus],
        change: &StatusChange,
        now: UnixTime,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Vec<String>>>;
    /// Ends every session of a person (SSO and console) and revokes every grant, offline
    /// ones included, with the audit event; returns the `sid`s that were ended.
    fn end_person_sessions(
        &self,
        person_id: &str,
        now: UnixTime,
        audit: &AuditEvent,
    ) -> StoreResult<Vec<String>>;

    /// Events matching `filter`, newest first, with ids below `before_id`.
    fn query_audit(
        &self,
        filter: &AuditFilter,
        before_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEntry>>;

    /// Writes a client change and its audit event in one transaction; false when the
    /// client to update or delete does not exist. A create of a taken id fails with
    /// `Duplicate`.
    fn write_client(&self, change: &ClientChange<'_>, audit: &AuditEvent) -> StoreResult<bool>;
}
