//! Rows of the mail outbox and of the audit log.

use diesel::prelude::*;

use crate::store::schema::*;
use crate::store::{AuditEvent, OutboxMessage};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = mail_outbox)]
pub struct OutboxRow {
    pub id: String,
    pub payload: String,
    pub purpose: String,
    pub created_at: i64,
    pub next_attempt_at: i64,
    pub attempts: i32,
    pub claimed_until: Option<i64>,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

impl From<OutboxRow> for OutboxMessage {
    fn from(r: OutboxRow) -> Self {
        OutboxMessage {
            id: r.id,
            payload: r.payload,
            purpose: r.purpose,
            created_at: r.created_at,
            next_attempt_at: r.next_attempt_at,
            attempts: r.attempts,
            sent_at: r.sent_at,
            last_error: r.last_error,
        }
    }
}

impl From<&OutboxMessage> for OutboxRow {
    fn from(m: &OutboxMessage) -> Self {
        OutboxRow {
            id: m.id.clone(),
            payload: m.payload.clone(),
            purpose: m.purpose.clone(),
            created_at: m.created_at,
            next_attempt_at: m.next_attempt_at,
            attempts: m.attempts,
            claimed_until: None,
            sent_at: m.sent_at,
            last_error: m.last_error.clone(),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditRow<'a> {
    pub at: i64,
    pub event: &'a str,
    pub outcome: &'a str,
    pub actor: Option<&'a str>,
    pub person_id: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: Option<&'a str>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub event: String,
    pub outcome: String,
    pub actor: Option<String>,
    pub person_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

impl From<AuditRow> for AuditEvent {
    fn from(r: AuditRow) -> Self {
        AuditEvent {
            at: r.at,
            event: r.event,
            outcome: r.outcome,
            actor: r.actor,
            person_id: r.person_id,
            client_id: r.client_id,
            ip: r.ip,
            detail: r.detail,
        }
    }
}
