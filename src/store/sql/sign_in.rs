//! Sign-in state over diesel: SSO sessions and the clients they signed in to, interactions
//! (sign-ins in progress) and consents.

use diesel::prelude::*;

use super::Database;
use crate::clock::UnixTime;
use crate::store::models::*;
use crate::store::schema::*;
use crate::store::*;

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
