//! The one place the portal reads the wall clock; everything else takes `now` as a
//! parameter, so the token checks are testable at any instant.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    pub fn now(self) -> DateTime<Utc> {
        Utc::now()
    }
}
