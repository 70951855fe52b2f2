//! Fixed-window rate-limit counters over diesel, atomic across instances.

use diesel::prelude::*;

use super::Database;
use crate::clock::UnixTime;
use crate::store::enrollment::RateLimitStore;
use crate::store::schema::*;
use crate::store::{StoreError, StoreResult};

impl RateLimitStore for Database {
    fn hit(&self, bucket: &str, window: i64, now: UnixTime) -> StoreResult<i32> {
        let start = now - now.rem_euclid(window.max(1));
        let attempt = || {
            self.write_tx(|c| {
                let n = diesel::update(
                    rate_limits::table
                        .find(bucket)
                        .filter(rate_limits::window_start.eq(start)),
                )
                .set(rate_limits::hits.eq(rate_limits::hits + 1))
                .execute(c)?;
                if n == 0 {
                    // Only an older window is restarted: a row of this window made by another
                    // transaction after this one's first statement must be counted, not reset
                    // (PostgreSQL gives each statement a new snapshot). Then the insert fails as
                    // a duplicate and the attempt runs again.
                    let moved = diesel::update(
                        rate_limits::table
                            .find(bucket)
                            .filter(rate_limits::window_start.lt(start)),
                    )
                    .set((rate_limits::window_start.eq(start), rate_limits::hits.eq(1)))
                    .execute(c)?;
                    if moved == 0 {
                        diesel::insert_into(rate_limits::table)
                            .values((
                                rate_limits::bucket.eq(bucket),
                                rate_limits::window_start.eq(start),
                                rate_limits::hits.eq(1),
                            ))
                            .execute(c)?;
                    }
                    return Ok(1);
                }
                rate_limits::table
                    .find(bucket)
                    .select(rate_limits::hits)
                    .first(c)
            })
        };
        match attempt() {
            // Two instances created the bucket at once: the row exists now; count again.
            Err(StoreError::Duplicate) => attempt(),
            other => other,
        }
    }

    fn hits(&self, bucket: &str, window: i64, now: UnixTime) -> StoreResult<i32> {
        let start = now - now.rem_euclid(window.max(1));
        let hits = self.with(|c| {
            rate_limits::table
                .find(bucket)
                .filter(rate_limits::window_start.eq(start))
                .select(rate_limits::hits)
                .first::<i32>(c)
                .optional()
        })?;
        Ok(hits.unwrap_or(0))
    }

    fn refund(&self, bucket: &str, window: i64, now: UnixTime, n: i32) -> StoreResult<()> {
        if n <= 0 {
            return Ok(());
        }
        let start = now - now.rem_euclid(window.max(1));
        let this_window = rate_limits::table
            .find(bucket)
            .filter(rate_limits::window_start.eq(start));
        self.with(|c| {
            // Each statement is one atomic conditional write: the first takes `n` off a
            // count that holds them, the second empties a smaller one.
            let n_taken = diesel::update(this_window.filter(rate_limits::hits.ge(n)))
                .set(rate_limits::hits.eq(rate_limits::hits - n))
                .execute(c)?;
            if n_taken == 0 {
                diesel::update(this_window.filter(rate_limits::hits.gt(0)))
                    .set(rate_limits::hits.eq(0))
                    .execute(c)?;
            }
            Ok(())
        })
    }
}
