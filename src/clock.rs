//! Time as a parameter: every decision that depends on "now" asks a [`Clock`].

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Seconds since the Unix epoch, as stored in the database.
pub type UnixTime = i64;

pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time in whole seconds since the Unix epoch.
    fn now(&self) -> UnixTime;
}

/// The wall clock. The only place that reads system time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> UnixTime {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }
}

/// The wall clock shifted by an offset that tests can move forward.
#[derive(Debug, Default, Clone)]
pub struct OffsetClock {
    offset: Arc<AtomicI64>,
}

impl OffsetClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves this clock (and every clone of it) forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> UnixTime {
        SystemClock.now() + self.offset.load(Ordering::SeqCst)
    }
}

/// Formats a Unix time as RFC 3339 for people (CLI output, pages).
pub fn format_rfc3339(t: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

/// A time as people in Taiwan read it, the zone named: `2026-12-03 22:15 (UTC+8)`
/// (Asia/Taipei has had no daylight saving since 1979). For pages; APIs keep RFC 3339.
pub fn format_taipei(t: UnixTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::UtcOffset::from_hms(8, 0, 0)
        .ok()
        .and_then(|offset| {
            time::OffsetDateTime::from_unix_timestamp(t)
                .ok()
                .and_then(|d| d.checked_to_offset(offset))
        })
        .and_then(|d| d.format(&format).ok())
        .map(|s| format!("{s} (UTC+8)"))
        .unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taipei_time_is_utc_plus_eight_and_says_so() {
        // 2026-12-03T14:15:00Z
        assert_eq!(format_taipei(1_796_307_300), "2026-12-03 22:15 (UTC+8)");
        assert_eq!(format_taipei(0), "1970-01-01 08:00 (UTC+8)");
    }

    #[test]
    fn offset_clock_moves_forward_for_every_clone() {
        let clock = OffsetClock::new();
        let other = clock.clone();
        let before = other.now();
        clock.advance(3600);
        assert!(other.now() >= before + 3600);
    }
}
