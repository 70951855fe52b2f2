//! The mail outbox over diesel: queueing (also inside another transaction), claiming due
//! messages with a lease, and marking them sent or failed.

use diesel::prelude::*;

use super::Database;
use crate::clock::UnixTime;
use crate::store::models::*;
use crate::store::schema::*;
use crate::store::*;

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
