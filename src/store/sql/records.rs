//! Clients, people, keys, sessions, interactions, consents, audit events, maintenance.

use anyhow::Context;
use diesel::prelude::*;

use super::{map_err, Database};
use crate::clock::UnixTime;
use crate::domain::Client;
use crate::store::models::*;
use crate::store::schema::*;
use crate::store::*;

impl ClientStore for Database {
    fn find_client(&self, id: &str) -> StoreResult<Option<Client>> {
        let row = self.with(|c| {
            clients::table
                .find(id)
                .select(ClientRow::as_select())
                .first(c)
                .optional()
        })?;
        row.map(Client::try_from)
            .transpose()
            .map_err(StoreError::Db)
    }

    fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let rows = self.with(|c| {
            clients::table
                .order(clients::name.asc())
                .select(ClientRow::as_select())
                .load(c)
        })?;
        rows.into_iter()
            .map(Client::try_from)
            .collect::<anyhow::Result<_>>()
            .map_err(StoreError::Db)
    }

    fn create_client(&self, client: &Client) -> StoreResult<()> {
        let row = ClientRow::from(client);
        self.with(|c| diesel::insert_into(clients::table).values(&row).execute(c))
            .map(|_| ())
    }

    fn update_client(&self, client: &Client) -> StoreResult<bool> {
        let mut row = ClientRow::from(client);
        row.version += 1;
        let n = self.with(|c| {
            diesel::update(clients::table.find(&row.client_id))
                .set(&row)
                .execute(c)
        })?;
        Ok(n == 1)
    }

    fn delete_client(&self, id: &str) -> StoreResult<bool> {
        let n = self.write_tx(|c| {
            // Tokens are looked up by hash, not joined to clients: remove them explicitly.
            diesel::delete(refresh_tokens::table.filter(refresh_tokens::client_id.eq(id)))
                .execute(c)?;
            diesel::delete(access_tokens::table.filter(access_tokens::client_id.eq(id)))
                .execute(c)?;
            diesel::delete(clients::table.find(id)).execute(c)
        })?;
        Ok(n == 1)
    }
}

impl PersonStore for Database {
    fn find_person(&self, id: &str) -> StoreResult<Option<Person>> {
        let row = self.with(|c| {
            persons::table
                .find(id)
                .select(PersonRow::as_select())
                .first(c)
                .optional()
        })?;
        Ok(row.map(Person::from))
    }

    fn create_person(&self, person: &Person) -> StoreResult<()> {
        let row = PersonRow::from(person);
        self.with(|c| diesel::insert_into(persons::table).values(&row).execute(c))
            .map(|_| ())
    }
}

impl KeyStore for Database {
    fn list_keys(&self) -> StoreResult<Vec<KeyRecord>> {
        let rows = self.with(|c| {
            signing_keys::table
                .order(signing_keys::active_from.asc())
                .select(KeyRow::as_select())
                .load(c)
        })?;
        Ok(rows.into_iter().map(KeyRecord::from).collect())
    }

    fn insert_key(&self, key: &KeyRecord, audit: Option<&AuditEvent>) -> StoreResult<()> {
        let row = KeyRow::from(key);
        self.write_tx(|c| {
            diesel::insert_into(signing_keys::table)
                .values(&row)
                .execute(c)?;
            if let Some(audit) = audit {
                super::admin::insert_audit(c, audit)?;
            }
            Ok(())
        })
    }
}

impl SessionStore for Database {
    fn create_session(&self, session: &SessionRecord) -> StoreResult<()> {
        let row = SessionRow::from(session);
        self.with(|c| diesel::insert_into(sessions::table).values(&row).execute(c))
            .map(|_| ())
    }

    fn find_session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let row = self.with(|c| {
            sessions::table
                .find(id_hash)
                .select(SessionRow::as_select())
                .first(c)
                .optional()
        })?;
        row.map(SessionRecord::try_from)
            .transpose()
            .map_err(StoreError::Db)
    }

    fn reauthenticate(&self, old_id_hash: &str, renewed: &SessionRecord) -> StoreResult<bool> {
        let n = self.with(|c| {
            diesel::update(
                sessions::table
                    .find(old_id_hash)
                    .filter(sessions::ended_at.is_null())
                    .filter(sessions::person_id.eq(&renewed.person_id)),
            )
            .set((
                sessions::id_hash.eq(&renewed.id_hash),
                sessions::auth_time.eq(renewed.auth_time),
                sessions::acr.eq(&renewed.acr),
                sessions::amr.eq(to_json_list(&renewed.amr)),
                sessions::expires_at.eq(renewed.expires_at),
                sessions::last_seen_at.eq(renewed.last_seen_at),
            ))
            .execute(c)
        })?;
        Ok(n == 1)
    }

    fn touch_session(
        &self,
        id_hash: &str,
        now: UnixTime,
        idle_since: UnixTime,
    ) -> StoreResult<bool> {
        let n = self.with(|c| {
            diesel::update(
                sessions::table
                    .find(id_hash)
                    .filter(sessions::ended_at.is_null())
                    .filter(sessions::expires_at.gt(now))
                    .filter(sessions::last_seen_at.gt(idle_since)),
            )
            .set(sessions::last_seen_at.eq(now))
            .execute(c)
        })?;
        Ok(n == 1)
    }

    fn person_sessions(&self, person_id: &str, now: UnixTime) -> StoreResult<Vec<SessionRecord>> {
        let rows = self.with(|c| {
            sessions::table
                .filter(sessions::person_id.eq(person_id))
                .filter(sessions::ended_at.is_null())
                .filter(sessions::expires_at.gt(now))
                .select(SessionRow::as_select())
                .load(c)
        })?;
        rows.into_iter()
            .map(SessionRecord::try_from)
            .collect::<anyhow::Result<_>>()
            .map_err(StoreError::Db)
    }

    fn find_session_by_sid(&self, sid: &str) -> StoreResult<Option<SessionRecord>> {
        let row = self.with(|c| {
            sessions::table
                .filter(sessions::sid.eq(sid))
                .select(SessionRow::as_select())
                .first(c)
                .optional()
        })?;
        row.map(SessionRecord::try_from)
            .transpose()
            .map_err(StoreError::Db)
    }

    fn end_session(&self, sid: &str, now: UnixTime) -> StoreResult<bool> {
        let n = self.with(|c| {
            diesel::update(
                sessions::table
                    .filter(sessions::sid.eq(sid))
                    .filter(sessions::ended_at.is_null()),
            )
            .set(sessions::ended_at.eq(Some(now)))
            .execute(c)
        })?;
        Ok(n == 1)
    }

    fn add_session_client(&self, sid: &str, client_id: &str, now: UnixTime) -> StoreResult<()> {
        let result = self.with(|c| {
            diesel::insert_into(session_clients::table)
                .values((
                    session_clients::sid.eq(sid),
                    session_clients::client_id.eq(client_id),
                    session_clients::created_at.eq(now),
                ))
                .execute(c)
        });
        match result {
            Ok(_) | Err(StoreError::Duplicate) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn session_clients(&self, sid: &str) -> StoreResult<Vec<String>> {
        self.with(|c| {
            session_clients::table
                .filter(session_clients::sid.eq(sid))
                .order(session_clients::created_at.asc())
                .select(session_clients::client_id)
                .load(c)
        })
    }

    fn revoke_session_grants(&self, sid: &str, now: UnixTime) -> StoreResult<u64> {
        let n = self.write_tx(|c| {
            let ids: Vec<String> = grants::table
                .filter(grants::sid.eq(sid))
                .filter(grants::revoked_at.is_null())
                .filter(grants::scope.not_like("%offline_access%"))
                .select(grants::id)
                .load(c)?;
            for id in &ids {
                super::tokens::revoke_grant_rows(c, id, now)?;
            }
            Ok(ids.len() as u64)
        })?;
        Ok(n)
    }
}

impl InteractionStore for Database {
    fn create_interaction(&self, interaction: &InteractionRecord) -> StoreResult<()> {
        let row = InteractionRow::from(interaction);
        self.with(|c| {
            diesel::insert_into(interactions::table)
                .values(&row)
                .execute(c)
        })
        .map(|_| ())
    }

    fn find_interaction(&self, id: &str) -> StoreResult<Option<InteractionRecord>> {
        let row = self.with(|c| {
            interactions::table
                .find(id)
                .select(InteractionRow::as_select())
                .first(c)
                .optional()
        })?;
        row.map(InteractionRecord::try_from)
            .transpose()
            .map_err(StoreError::Db)
    }

    fn record_login(&self, id: &str, login: &LoginRecord, now: UnixTime) -> StoreResult<bool> {
        let n = self.with(|c| {
            diesel::update(
                interactions::table
                    .find(id)
                    .filter(interactions::consumed_at.is_null())
                    .filter(interactions::expires_at.gt(now)),
            )
            .set((
                interactions::person_id.eq(Some(&login.person_id)),
                interactions::auth_time.eq(Some(login.auth_time)),
                interactions::acr.eq(Some(&login.acr)),
                interactions::amr.eq(Some(to_json_list(&login.amr))),
                interactions::consent_given.eq(false),
            ))
            .execute(c)
        })?;
        Ok(n == 1)
    }

    fn record_consent(&self, id: &str, now: UnixTime) -> StoreResult<bool> {
        let n = self.with(|c| {
            diesel::update(
                interactions::table
                    .find(id)
                    .filter(interactions::consumed_at.is_null())
                    .filter(interactions::expires_at.gt(now)),
            )
            .set(interactions::consent_given.eq(true))
            .execute(c)
        })?;
        Ok(n == 1)
    }

    fn consume_interaction(&self, id: &str, now: UnixTime) -> StoreResult<bool> {
        let n = self.with(|c| {
            diesel::update(
                interactions::table
                    .find(id)
                    .filter(interactions::consumed_at.is_null())
                    .filter(interactions::expires_at.gt(now)),
            )
            .set(interactions::consumed_at.eq(Some(now)))
            .execute(c)
        })?;
        Ok(n == 1)
    }
}

impl ConsentStore for Database {
    fn find_consent(&self, person_id: &str, client_id: &str) -> StoreResult<Option<String>> {
        self.with(|c| {
            consents::table
                .find((person_id, client_id))
                .select(consents::scopes)
                .first(c)
                .optional()
        })
    }

    fn save_consent(
        &self,
        person_id: &str,
        client_id: &str,
        scopes: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        self.write_tx(|c| {
            let updated = diesel::update(consents::table.find((person_id, client_id)))
                .set((consents::scopes.eq(scopes), consents::updated_at.eq(now)))
                .execute(c)?;
            if updated == 0 {
                diesel::insert_into(consents::table)
                    .values((
                        consents::person_id.eq(person_id),
                        consents::client_id.eq(client_id),
                        consents::scopes.eq(scopes),
                        consents::created_at.eq(now),
                        consents::updated_at.eq(now),
                    ))
                    .execute(c)?;
            }
            Ok(())
        })
    }
}

impl ChallengeStore for Database {
    fn create_challenge(&self, challenge: &ChallengeRecord) -> StoreResult<()> {
        let row = ChallengeRow::from(challenge);
        self.with(|c| {
            diesel::insert_into(card_challenges::table)
                .values(&row)
                .execute(c)
        })
        .map(|_| ())
    }

    fn consume_challenge(
        &self,
        challenge_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<ChallengeRecord>> {
        let row = self.write_tx(|c| {
            let n = diesel::update(
                card_challenges::table
                    .find(challenge_hash)
                    .filter(card_challenges::consumed_at.is_null())
                    .filter(card_challenges::expires_at.gt(now)),
            )
            .set(card_challenges::consumed_at.eq(Some(now)))
            .execute(c)?;
            if n != 1 {
                return Ok(None);
            }
            card_challenges::table
                .find(challenge_hash)
                .select(ChallengeRow::as_select())
                .first(c)
                .optional()
        })?;
        Ok(row.map(ChallengeRecord::from))
    }
}

/// Writes an outbox message inside the caller's transaction.
pub(crate) fn insert_outbox(
    c: &mut super::AnyConnection,
    message: &OutboxMessage,
) -> QueryResult<usize> {
    diesel::insert_into(mail_outbox::table)
        .values(OutboxRow::from(message))
        .execute(c)
}

impl MailStore for Database {
    fn enqueue_mail(&self, message: &OutboxMessage) -> StoreResult<()> {
        self.with(|c| insert_outbox(c, message)).map(|_| ())
    }

    fn claim_due_mail(
        &self,
        now: UnixTime,
        lease: i64,
        limit: i64,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let candidates: Vec<String> = self.with(|c| {
            mail_outbox::table
                .filter(mail_outbox::sent_at.is_null())
                .filter(mail_outbox::next_attempt_at.le(now))
                .filter(
                    mail_outbox::claimed_until
                        .is_null()
                        .or(mail_outbox::claimed_until.lt(now)),
                )
                .order(mail_outbox::next_attempt_at.asc())
                .limit(limit)
                .select(mail_outbox::id)
                .load(c)
        })?;
        let mut claimed = Vec::new();
        for id in candidates {
            let row = self.write_tx(|c| {
                let n = diesel::update(
                    mail_outbox::table
                        .find(&id)
                        .filter(mail_outbox::sent_at.is_null())
                        .filter(
                            mail_outbox::claimed_until
                                .is_null()
                                .or(mail_outbox::claimed_until.lt(now)),
                        ),
                )
                .set(mail_outbox::claimed_until.eq(Some(now + lease)))
                .execute(c)?;
                if n != 1 {
                    return Ok(None);
                }
                mail_outbox::table
                    .find(&id)
                    .select(OutboxRow::as_select())
                    .first(c)
                    .optional()
            })?;
            claimed.extend(row.map(OutboxMessage::from));
        }
        Ok(claimed)
    }

    fn mark_mail_sent(&self, id: &str, now: UnixTime) -> StoreResult<()> {
        self.with(|c| {
            diesel::update(mail_outbox::table.find(id))
                .set((
                    mail_outbox::sent_at.eq(Some(now)),
                    mail_outbox::payload.eq(""),
                    mail_outbox::claimed_until.eq(None::<i64>),
                    mail_outbox::last_error.eq(None::<String>),
                ))
                .execute(c)
        })
        .map(|_| ())
    }

    fn mark_mail_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: UnixTime,
    ) -> StoreResult<()> {
        self.with(|c| {
            diesel::update(mail_outbox::table.find(id))
                .set((
                    mail_outbox::attempts.eq(mail_outbox::attempts + 1),
                    mail_outbox::next_attempt_at.eq(next_attempt_at),
                    mail_outbox::claimed_until.eq(None::<i64>),
                    mail_outbox::last_error.eq(Some(error)),
                ))
                .execute(c)
        })
        .map(|_| ())
    }

    fn pending_mail_count(&self) -> StoreResult<i64> {
        self.with(|c| {
            mail_outbox::table
                .filter(mail_outbox::sent_at.is_null())
                .count()
                .get_result(c)
        })
    }
}

impl AuditStore for Database {
    fn append_audit(&self, e: &AuditEvent) -> StoreResult<()> {
        let row = NewAuditRow {
            at: e.at,
            event: &e.event,
            outcome: &e.outcome,
            actor: e.actor.as_deref(),
            person_id: e.person_id.as_deref(),
            client_id: e.client_id.as_deref(),
            ip: e.ip.as_deref(),
            detail: e.detail.as_deref(),
        };
        self.with(|c| {
            diesel::insert_into(audit_events::table)
                .values(&row)
                .execute(c)
        })
        .map(|_| ())
    }

    fn list_audit(&self, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        let rows = self.with(|c| {
            audit_events::table
                .order(audit_events::id.desc())
                .limit(limit)
                .select(AuditRow::as_select())
                .load(c)
        })?;
        Ok(rows.into_iter().map(AuditEvent::from).collect())
    }
}

/// How long a rate-limit row is kept after its window started (seconds).
const RATE_LIMIT_KEEP: i64 = 3600;

impl Maintenance for Database {
    fn ping(&self) -> StoreResult<()> {
        let mut conn = self.conn()?;
        diesel::connection::SimpleConnection::batch_execute(&mut *conn, "SELECT 1")
            .context("Database ping failed")
            .map_err(StoreError::Db)
    }

    fn purge_expired(&self, now: UnixTime, grace: i64) -> StoreResult<u64> {
        // Rows are kept `grace` seconds after they expired or ended, so that a late replay
        // of a code is still recognised as one (and revokes what the code issued). Each
        // table is its own short transaction: a purge never holds the write lock long, and
        // a purge running on two instances at once only finds fewer rows.
        let cutoff = now - grace.max(0);
        let mut n: usize = 0;
        n += self.write_tx(|c| {
            diesel::delete(
                authorization_codes::table.filter(authorization_codes::expires_at.lt(cutoff)),
            )
            .execute(c)
        })?;
        n += self.write_tx(|c| {
            diesel::delete(interactions::table.filter(interactions::expires_at.lt(cutoff)))
                .execute(c)
        })?;
        n += self.write_tx(|c| {
            diesel::delete(card_challenges::table.filter(card_challenges::expires_at.lt(cutoff)))
                .execute(c)
        })?;
        // A jti only has to be remembered while an assertion carrying it could be accepted.
        n += self.write_tx(|c| {
            diesel::delete(used_jtis::table.filter(used_jtis::expires_at.lt(now))).execute(c)
        })?;
        n += self.write_tx(|c| {
            diesel::delete(access_tokens::table.filter(access_tokens::expires_at.lt(cutoff)))
                .execute(c)
        })?;
        // A refresh token never outlives its grant (same absolute expiry): both go only
        // once the family has expired.
        n += self.write_tx(|c| {
            diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.lt(cutoff)))
                .execute(c)
        })?;
        n += self.write_tx(|c| {
            diesel::delete(grants::table.filter(grants::expires_at.lt(cutoff))).execute(c)
        })?;
        n += self.write_tx(|c| {
            let gone = sessions::table
                .filter(
                    sessions::expires_at
                        .lt(cutoff)
                        .or(sessions::ended_at.lt(cutoff)),
                )
                .select(sessions::sid);
            let mut n =
                diesel::delete(session_clients::table.filter(session_clients::sid.eq_any(gone)))
                    .execute(c)?;
            n += diesel::delete(
                sessions::table.filter(
                    sessions::expires_at
                        .lt(cutoff)
                        .or(sessions::ended_at.lt(cutoff)),
                ),
            )
            .execute(c)?;
            Ok(n)
        })?;
        n += self.write_tx(|c| {
            diesel::delete(
                admin_sessions::table.filter(
                    admin_sessions::expires_at
                        .lt(cutoff)
                        .or(admin_sessions::ended_at.lt(cutoff)),
                ),
            )
            .execute(c)
        })?;
        n += self.write_tx(|c| {
            diesel::delete(mail_tokens::table.filter(mail_tokens::expires_at.lt(cutoff))).execute(c)
        })?;
        // Sent mail has had its payload erased already; what is left is bookkeeping.
        n += self.write_tx(|c| {
            diesel::delete(mail_outbox::table.filter(mail_outbox::sent_at.lt(cutoff))).execute(c)
        })?;
        // No rate-limit window is longer than 5 minutes: an hour-old one counts nothing.
        n += self.write_tx(|c| {
            diesel::delete(
                rate_limits::table.filter(rate_limits::window_start.lt(now - RATE_LIMIT_KEEP)),
            )
            .execute(c)
        })?;
        Ok(n as u64)
    }

    fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (
            state.connections - state.idle_connections,
            state.idle_connections,
        )
    }
}

#[allow(dead_code)]
fn _assert_map_err_used() -> fn(diesel::result::Error) -> StoreError {
    map_err
}
