//! Garbage collection (issue 10): expired codes, interactions, card challenges, tokens,
//! grants, sessions, mail tokens, sent mail, used `jti`s and old rate-limit windows are
//! deleted every `maintenance.purge_interval_secs`, `maintenance.purge_grace_secs` after
//! they expired or ended (see [`crate::store::Maintenance::purge_expired`]), so that
//! tables stay bounded however many requests come in.
//!
//! With several instances on one database, the one that first counts a hit on the
//! `maintenance:purge` rate-limit bucket in an interval's window does the purge; the
//! others skip it. Two purges at once would be harmless too (each delete is idempotent).

use std::time::Duration;

use actix_web::web;

use crate::context::Context;
use crate::store::StoreResult;

/// The rate-limit bucket that hands out the purge of each interval.
pub const PURGE_TURN: &str = "maintenance:purge";

/// Purges unless another instance already did in this interval; the rows removed, or
/// `None` when it was another instance's turn.
pub fn purge_once(ctx: &Context) -> StoreResult<Option<u64>> {
    let settings = &ctx.settings().maintenance;
    let interval = i64::try_from(settings.purge_interval_secs).unwrap_or(i64::MAX);
    let now = ctx.now();
    if ctx.store().hit(PURGE_TURN, interval, now)? > 1 {
        return Ok(None);
    }
    ctx.store()
        .purge_expired(now, settings.purge_grace_secs)
        .map(Some)
}

/// Starts the purge task (first run at once, then every interval).
pub fn spawn_purger(ctx: Context) {
    let every = Duration::from_secs(ctx.settings().maintenance.purge_interval_secs.max(1));
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let e = ctx.clone();
            match web::block(move || purge_once(&e)).await {
                Ok(Ok(Some(n))) if n > 0 => tracing::info!(rows = n, "purged expired state"),
                Ok(Ok(_)) => {}
                Ok(Err(err)) => tracing::warn!(error = ?err, "purge failed"),
                Err(err) => tracing::warn!(error = %err, "purge task failed"),
            }
        }
    });
}
