//! Administration over diesel: the admin role, console sessions, registration searches and
//! counter changes, audit queries, client changes with their audit event.

use diesel::prelude::*;

use super::registration_rows::status_of;
use super::{AnyConnection, Database};
use crate::clock::UnixTime;
use crate::store::admin::*;
use crate::store::models::{AuditRow, ClientRow, NewAuditRow};
use crate::store::schema::*;
use crate::store::{
    AuditEvent, MailTokenPurpose, PersonStore, RegistrationStatus, RegistrationStore, StoreError,
    StoreResult,
};

/// Writes an audit event inside the caller's transaction.
pub(super) fn insert_audit(c: &mut AnyConnection, e: &AuditEvent) -> QueryResult<usize> {
    diesel::insert_into(audit_events::table)
        .values(NewAuditRow {
            at: e.at,
            event: &e.event,
            outcome: &e.outcome,
            actor: e.actor.as_deref(),
            person_id: e.person_id.as_deref(),
            client_id: e.client_id.as_deref(),
            ip: e.ip.as_deref(),
            detail: e.detail.as_deref(),
        })
        .execute(c)
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = admin_sessions)]
struct AdminSessionRow {
    id_hash: String,
    person_id: String,
    sid: String,
    acr: String,
    created_at: i64,
    expires_at: i64,
    ended_at: Option<i64>,
}

impl From<&AdminSessionRecord> for AdminSessionRow {
    fn from(s: &AdminSessionRecord) -> Self {
        AdminSessionRow {
            id_hash: s.id_hash.clone(),
            person_id: s.person_id.clone(),
            sid: s.sid.clone(),
            acr: s.acr.clone(),
            created_at: s.created_at,
            expires_at: s.expires_at,
            ended_at: s.ended_at,
        }
    }
}

impl From<AdminSessionRow> for AdminSessionRecord {
    fn from(s: AdminSessionRow) -> Self {
        AdminSessionRecord {
            id_hash: s.id_hash,
            person_id: s.person_id,
            sid: s.sid,
            acr: s.acr,
            created_at: s.created_at,
            expires_at: s.expires_at,
            ended_at: s.ended_at,
        }
    }
}

/// Takes away everything a person's past sign-ins and links still grant, inside the
/// caller's transaction: ends their SSO and console sessions, revokes every grant (offline
/// ones too, with their access and refresh tokens), burns every authorization code not yet
/// redeemed, closes sign-ins in progress and kills outstanding reset links. Returns the
/// ended `sid`s (for back-channel logout).
pub(super) fn end_sessions_rows(
    c: &mut AnyConnection,
    person_id: &str,
    now: UnixTime,
) -> QueryResult<Vec<String>> {
    let sids: Vec<String> = sessions::table
        .filter(sessions::person_id.eq(person_id))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select(sessions::sid)
        .load(c)?;
    diesel::update(
        sessions::table
            .filter(sessions::person_id.eq(person_id))
            .filter(sessions::ended_at.is_null()),
    )
    .set(sessions::ended_at.eq(Some(now)))
    .execute(c)?;
    diesel::update(
        admin_sessions::table
            .filter(admin_sessions::person_id.eq(person_id))
            .filter(admin_sessions::ended_at.is_null()),
    )
    .set(admin_sessions::ended_at.eq(Some(now)))
    .execute(c)?;
    let grant_ids: Vec<String> = grants::table
        .filter(grants::person_id.eq(person_id))
        .filter(grants::revoked_at.is_null())
        .select(grants::id)
        .load(c)?;
    for id in &grant_ids {
        super::tokens::revoke_grant_rows(c, id, now)?;
    }
    diesel::update(
        authorization_codes::table
            .filter(authorization_codes::person_id.eq(person_id))
            .filter(authorization_codes::consumed_at.is_null()),
    )
    .set(authorization_codes::consumed_at.eq(Some(now)))
    .execute(c)?;
    diesel::update(
        interactions::table
            .filter(interactions::person_id.eq(person_id))
            .filter(interactions::consumed_at.is_null()),
    )
    .set(interactions::consumed_at.eq(Some(now)))
    .execute(c)?;
    diesel::update(
        mail_tokens::table
            .filter(mail_tokens::person_id.eq(person_id))
            .filter(mail_tokens::purpose.eq(MailTokenPurpose::Reset.as_str()))
            .filter(mail_tokens::consumed_at.is_null()),
    )
    .set(mail_tokens::consumed_at.eq(Some(now)))
    .execute(c)?;
    Ok(sids)
}

impl AdminStore for Database {
    fn grant_admin(
        &self,
        person_id: &str,
        granted_by: &str,
        now: UnixTime,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        self.write_tx(|c| {
            let exists: i64 = admins::table
                .filter(admins::person_id.eq(person_id))
                .count()
                .get_result(c)?;
            if exists > 0 {
                return Ok(false);
            }
            diesel::insert_into(admins::table)
                .values((
                    admins::person_id.eq(person_id),
                    admins::granted_at.eq(now),
                    admins::granted_by.eq(granted_by),
                ))
                .execute(c)?;
            insert_audit(c, audit)?;
            Ok(true)
        })
    }

    fn revoke_admin(
        &self,
        person_id: &str,
        now: UnixTime,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        self.write_tx(|c| {
            let n = diesel::delete(admins::table.find(person_id)).execute(c)?;
            if n != 1 {
                return Ok(false);
            }
            diesel::update(
                admin_sessions::table
                    .filter(admin_sessions::person_id.eq(person_id))
                    .filter(admin_sessions::ended_at.is_null()),
            )
            .set(admin_sessions::ended_at.eq(Some(now)))
            .execute(c)?;
            insert_audit(c, audit)?;
            Ok(true)
        })
    }

    fn list_admins(&self) -> StoreResult<Vec<AdminRecord>> {
        let rows: Vec<(String, String, i64, String)> = self.with(|c| {
            admins::table
                .inner_join(persons::table)
                .order((persons::name.asc(), admins::person_id.asc()))
                .select((
                    admins::person_id,
                    persons::name,
                    admins::granted_at,
                    admins::granted_by,
                ))
                .load(c)
        })?;
        Ok(rows
            .into_iter()
            .map(|(person_id, name, granted_at, granted_by)| AdminRecord {
                person_id,
                name,
                granted_at,
                granted_by,
            })
            .collect())
    }

    fn is_admin(&self, person_id: &str) -> StoreResult<bool> {
        let n: i64 = self.with(|c| {
            admins::table
                .filter(admins::person_id.eq(person_id))
                .count()
                .get_result(c)
        })?;
        Ok(n > 0)
    }

    fn create_admin_session(
        &self,
        session: &AdminSessionRecord,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let row = AdminSessionRow::from(session);
        self.write_tx(|c| {
            diesel::insert_into(admin_sessions::table)
                .values(&row)
                .execute(c)?;
            insert_audit(c, audit)?;
            Ok(())
        })
    }

    fn find_admin_session(&self, id_hash: &str) -> StoreResult<Option<AdminSessionRecord>> {
        let row = self.with(|c| {
            admin_sessions::table
                .find(id_hash)
                .select(AdminSessionRow::as_select())
                .first(c)
                .optional()
        })?;
        Ok(row.map(AdminSessionRecord::from))
    }

    fn end_admin_session(
        &self,
        id_hash: &str,
        now: UnixTime,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        self.write_tx(|c| {
            let n = diesel::update(
                admin_sessions::table
                    .find(id_hash)
                    .filter(admin_sessions::ended_at.is_null()),
            )
            .set(admin_sessions::ended_at.eq(Some(now)))
            .execute(c)?;
            if n == 1 {
                insert_audit(c, audit)?;
            }
            Ok(n == 1)
        })
    }

    fn search_registrations(
        &self,
        query: &RegistrationQuery,
        after: Option<(&str, &str)>,
        limit: i64,
    ) -> StoreResult<Vec<RegistrationSummary>> {
        type Row = (String, String, Option<String>, String, i64, i64);
        let rows: Vec<Row> = self.with(|c| {
            let mut q = registrations::table
                .inner_join(persons::table)
                .select((
                    persons::id,
                    persons::name,
                    persons::national_id_sealed,
                    registrations::status,
                    registrations::created_at,
                    registrations::updated_at,
                ))
                .order((persons::name.asc(), persons::id.asc()))
                .limit(limit)
                .into_boxed();
            match query {
                RegistrationQuery::All => {}
                RegistrationQuery::Card(number) => {
                    let owner = person_cards::table
                        .filter(person_cards::card_number.eq(number.clone()))
                        .select(person_cards::person_id);
                    q = q.filter(persons::id.eq_any(owner));
                }
                RegistrationQuery::NationalIdHash(hash) => {
                    q = q.filter(persons::national_id_hash.eq(hash.clone()));
                }
                RegistrationQuery::Name(text) => {
                    let escaped = text
                        .replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_");
                    q = q.filter(persons::name.like(format!("%{escaped}%")).escape('\\'));
                }
            }
            if let Some((name, id)) = after {
                q = q.filter(
                    persons::name.gt(name.to_string()).or(persons::name
                        .eq(name.to_string())
                        .and(persons::id.gt(id.to_string()))),
                );
            }
            q.load(c)
        })?;
        let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        let cards: Vec<(String, String)> = self.with(|c| {
            person_cards::table
                .filter(person_cards::person_id.eq_any(&ids))
                .order(person_cards::card_number.asc())
                .select((person_cards::person_id, person_cards::card_number))
                .load(c)
        })?;
        rows.into_iter()
            .map(
                |(person_id, name, sealed, status, created_at, updated_at)| {
                    Ok(RegistrationSummary {
                        cards: cards
                            .iter()
                            .filter(|(p, _)| *p == person_id)
                            .map(|(_, n)| n.clone())
                            .collect(),
                        person_id,
                        name,
                        national_id_sealed: sealed,
                        status: status_of(&status)?,
                        created_at,
                        updated_at,
                    })
                },
            )
            .collect()
    }

    fn registration_detail(
        &self,
        person_id: &str,
        now: UnixTime,
    ) -> StoreResult<Option<RegistrationDetail>> {
        let Some(person) = self.find_person(person_id)? else {
            return Ok(None);
        };
        let Some(registration) = self.find_registration(person_id)? else {
            return Ok(None);
        };
        let national_id_sealed = self.sealed_national_id(person_id)?;
        let cards: Vec<(String, String)> = self.with(|c| {
            person_cards::table
                .filter(person_cards::person_id.eq(person_id))
                .order(person_cards::card_number.asc())
                .select((person_cards::card_number, person_cards::kind))
                .load(c)
        })?;
        let is_admin = self.is_admin(person_id)?;
        let active_sessions: i64 = self.with(|c| {
            sessions::table
                .filter(sessions::person_id.eq(person_id))
                .filter(sessions::ended_at.is_null())
                .filter(sessions::expires_at.gt(now))
                .count()
                .get_result(c)
        })?;
        Ok(Some(RegistrationDetail {
            person,
            registration,
            national_id_sealed,
            cards,
            is_admin,
            active_sessions,
        }))
    }

    fn change_registration(
        &self,
        person_id: &str,
        from: &[RegistrationStatus],
        change: &StatusChange,
        now: UnixTime,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Vec<String>>> {
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        self.write_tx(|c| {
            let target = registrations::table
                .find(person_id)
                .filter(registrations::status.eq_any(&from));
            let n = match change {
                StatusChange::Deactivate { reason } => diesel::update(target)
                    .set((
                        registrations::status.eq(RegistrationStatus::Deactivated.as_str()),
                        registrations::deactivated_at.eq(Some(now)),
                        registrations::deactivation_reason.eq(Some(reason)),
                        registrations::updated_at.eq(now),
                    ))
                    .execute(c)?,
                StatusChange::Reactivate => diesel::update(target)
                    .set((
                        registrations::status.eq(RegistrationStatus::Active.as_str()),
                        registrations::deactivated_at.eq(None::<i64>),
                        registrations::deactivation_reason.eq(None::<String>),
                        registrations::failed_attempts.eq(0),
                        registrations::locked_at.eq(None::<i64>),
                        registrations::updated_at.eq(now),
                    ))
                    .execute(c)?,
                StatusChange::Unlock => diesel::update(target)
                    .set((
                        registrations::status.eq(RegistrationStatus::Active.as_str()),
                        registrations::failed_attempts.eq(0),
                        registrations::locked_at.eq(None::<i64>),
                        registrations::updated_at.eq(now),
                    ))
                    .execute(c)?,
            };
            if n != 1 {
                return Ok(None);
            }
            let ended = match change {
                StatusChange::Deactivate { .. } => end_sessions_rows(c, person_id, now)?,
                _ => Vec::new(),
            };
            insert_audit(c, audit)?;
            Ok(Some(ended))
        })
    }

    fn end_person_sessions(
        &self,
        person_id: &str,
        now: UnixTime,
        audit: &AuditEvent,
    ) -> StoreResult<Vec<String>> {
        self.write_tx(|c| {
            let ended = end_sessions_rows(c, person_id, now)?;
            insert_audit(c, audit)?;
            Ok(ended)
        })
    }

    fn query_audit(
        &self,
        filter: &AuditFilter,
        before_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEntry>> {
        let rows = self.with(|c| {
            let mut q = audit_events::table
                .select(AuditRow::as_select())
                .order(audit_events::id.desc())
                .limit(limit)
                .into_boxed();
            if let Some(from) = filter.from {
                q = q.filter(audit_events::at.ge(from));
            }
            if let Some(to) = filter.to {
                q = q.filter(audit_events::at.lt(to));
            }
            if let Some(p) = &filter.person_id {
                q = q.filter(audit_events::person_id.eq(p.clone()));
            }
            if let Some(v) = &filter.client_id {
                q = q.filter(audit_events::client_id.eq(v.clone()));
            }
            if let Some(v) = &filter.event {
                q = q.filter(audit_events::event.eq(v.clone()));
            }
            if let Some(v) = &filter.outcome {
                q = q.filter(audit_events::outcome.eq(v.clone()));
            }
            if let Some(v) = &filter.actor {
                q = q.filter(audit_events::actor.eq(v.clone()));
            }
            if let Some(id) = before_id {
                q = q.filter(audit_events::id.lt(id));
            }
            q.load(c)
        })?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                event: AuditEvent::from(r),
            })
            .collect())
    }

    fn write_client(&self, change: &ClientChange<'_>, audit: &AuditEvent) -> StoreResult<bool> {
        /// What the transaction found; `Stale` rolls nothing back (nothing was written).
        enum Written {
            Done,
            Missing,
            Stale,
        }
        let written = self.write_tx(|c| {
            let n = match change {
                ClientChange::Create(client) => diesel::insert_into(clients::table)
                    .values(ClientRow::from(*client))
                    .execute(c)?,
                ClientChange::Update(client) | ClientChange::UpdateWithSecret(client) => {
                    let mut row = ClientRow::from(*client);
                    let stored: Option<(Option<String>, i64)> = clients::table
                        .find(&row.client_id)
                        .select((clients::secret_hash, clients::version))
                        .first(c)
                        .optional()?;
                    let Some((stored_secret, version)) = stored else {
                        return Ok(Written::Missing);
                    };
                    if version != client.version {
                        return Ok(Written::Stale);
                    }
                    if matches!(change, ClientChange::Update(_)) {
                        row.secret_hash = stored_secret;
                    }
                    row.version = version + 1;
                    diesel::update(
                        clients::table
                            .find(&row.client_id)
                            .filter(clients::version.eq(version)),
                    )
                    .set(&row)
                    .execute(c)?
                }
                ClientChange::RotateSecret(client) => {
                    let id = client.client_id.as_ref();
                    let n = diesel::update(
                        clients::table
                            .find(id)
                            .filter(clients::version.eq(client.version)),
                    )
                    .set((
                        clients::secret_hash.eq(client.secret_hash.clone()),
                        clients::updated_at.eq(client.updated_at),
                        clients::version.eq(client.version + 1),
                    ))
                    .execute(c)?;
                    if n == 0 {
                        let exists: Option<String> = clients::table
                            .find(id)
                            .select(clients::client_id)
                            .first(c)
                            .optional()?;
                        return match exists {
                            Some(_) => Ok(Written::Stale),
                            None => Ok(Written::Missing),
                        };
                    }
                    diesel::update(
                        access_tokens::table
                            .filter(access_tokens::client_id.eq(id))
                            .filter(access_tokens::person_id.is_null())
                            .filter(access_tokens::revoked_at.is_null()),
                    )
                    .set(access_tokens::revoked_at.eq(Some(client.updated_at)))
                    .execute(c)?;
                    n
                }
                ClientChange::Delete(id) => {
                    // Tokens are looked up by hash, not joined to clients: remove them.
                    diesel::delete(refresh_tokens::table.filter(refresh_tokens::client_id.eq(*id)))
                        .execute(c)?;
                    diesel::delete(access_tokens::table.filter(access_tokens::client_id.eq(*id)))
                        .execute(c)?;
                    diesel::delete(clients::table.find(*id)).execute(c)?
                }
            };
            if n != 1 {
                return Ok(Written::Missing);
            }
            insert_audit(c, audit)?;
            Ok(Written::Done)
        })?;
        match written {
            Written::Done => Ok(true),
            Written::Missing => Ok(false),
            Written::Stale => Err(StoreError::Stale),
        }
    }
}
