//! Clients, people, signing keys, card challenges and audit events over diesel.

use diesel::prelude::*;

use super::Database;
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
