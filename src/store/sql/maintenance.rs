//! Maintenance over diesel: the database ping, the purge of expired rows and the pool state.

use anyhow::Context;
use diesel::prelude::*;

use super::Database;
use crate::clock::UnixTime;
use crate::store::schema::*;
use crate::store::*;

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
