//! Service notices (服務公告): the record an admin writes and the role trait that keeps them
//! (docs/notices.md). The rules a notice must follow are checked by the service
//! (`admin::notices`) before anything is written.

use super::{AuditEvent, StoreResult};
use crate::clock::UnixTime;

/// Where a notice is shown: the registration site, the sign-in pages, the public feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoticePlaces {
    pub register: bool,
    pub signin: bool,
    pub feed: bool,
}

impl NoticePlaces {
    pub fn any(&self) -> bool {
        self.register || self.signin || self.feed
    }
}

/// While it lasts, applying and resetting answer the maintenance page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaintenanceWindow {
    pub from: UnixTime,
    /// Exclusive: at `until` the services are back.
    pub until: UnixTime,
}

impl MaintenanceWindow {
    pub fn contains(&self, now: UnixTime) -> bool {
        self.from <= now && now < self.until
    }
}

/// A service notice as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRecord {
    pub id: String,
    pub text_zh_tw: String,
    pub text_en: String,
    pub shown_from: UnixTime,
    /// Exclusive; `None`: until the notice is removed.
    pub shown_until: Option<UnixTime>,
    pub places: NoticePlaces,
    pub maintenance: Option<MaintenanceWindow>,
    pub created_at: UnixTime,
    /// The audit actor who made it (`person:ID`, `client:ID`, `cli:USER`).
    pub created_by: String,
    pub updated_at: UnixTime,
    pub updated_by: String,
}

impl NoticeRecord {
    /// Shown at `now`.
    pub fn is_shown(&self, now: UnixTime) -> bool {
        self.shown_from <= now && self.shown_until.is_none_or(|until| now < until)
    }
}

/// A change to the notices.
#[derive(Debug, Clone, Copy)]
pub enum NoticeChange<'a> {
    Create(&'a NoticeRecord),
    Update(&'a NoticeRecord),
    /// By id.
    Delete(&'a str),
}

pub trait NoticeStore {
    /// Every notice, the latest `shown_from` first.
    fn list_notices(&self) -> StoreResult<Vec<NoticeRecord>>;
    fn find_notice(&self, id: &str) -> StoreResult<Option<NoticeRecord>>;
    /// The notices not ended at `now` (no `shown_until`, or a later one), the earliest
    /// `shown_from` first: what the pages, the feed and the maintenance check choose from
    /// (a maintenance window always lies inside its notice's shown period). One range scan.
    fn live_notices(&self, now: UnixTime) -> StoreResult<Vec<NoticeRecord>>;
    /// Writes `change` and `audit` in one transaction. False (and nothing written) when
    /// the notice of an update or delete does not exist; [`super::StoreError::Duplicate`]
    /// when a created id is taken.
    fn write_notice(&self, change: &NoticeChange<'_>, audit: &AuditEvent) -> StoreResult<bool>;
}
