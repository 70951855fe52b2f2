//! Service notices (服務公告) as the public sees them (docs/notices.md): the notices shown
//! now on the registration site or the sign-in pages, the feed relying parties read
//! (`/notices.json`), and the maintenance window during which applying and resetting
//! answer a maintenance page. Admins write notices through `admin::notices`.
//!
//! Everything here is computed from one read of the database ([`Live::load`]: the notices
//! not ended yet, one range scan of an index) and the clock, so that every instance
//! answers the same at the same moment: nothing is kept in memory between requests.

use serde::Serialize;

use crate::clock::{format_rfc3339, UnixTime};
use crate::context::Context;
use crate::store::{MaintenanceWindow, NoticeRecord, StoreResult};

/// Where a notice is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Place {
    /// The registration site (健保卡網路服務註冊): its home, applying, 忘記註冊密碼, …
    Register,
    /// The sign-in pages of relying parties' authorization requests.
    Signin,
    /// The public feed `/notices.json` (eCPA's 重要訊息).
    Feed,
}

impl Place {
    pub const ALL: [Place; 3] = [Place::Register, Place::Signin, Place::Feed];

    pub fn as_str(self) -> &'static str {
        match self {
            Place::Register => "register",
            Place::Signin => "signin",
            Place::Feed => "feed",
        }
    }

    pub fn parse(value: &str) -> Option<Place> {
        Place::ALL
            .into_iter()
            .find(|p| p.as_str() == value.trim().to_ascii_lowercase())
    }

    /// Whether `notice` is meant for this place.
    pub fn has(self, notice: &NoticeRecord) -> bool {
        match self {
            Place::Register => notice.places.register,
            Place::Signin => notice.places.signin,
            Place::Feed => notice.places.feed,
        }
    }
}

/// The places of a notice, in the order of [`Place::ALL`].
pub fn places_of(notice: &NoticeRecord) -> Vec<Place> {
    Place::ALL.into_iter().filter(|p| p.has(notice)).collect()
}

/// A maintenance window in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maintenance {
    /// When applying and resetting are back: the end of the window in force, or of the
    /// windows that follow it without a gap.
    pub until: UnixTime,
    /// The notices whose window is in force now.
    pub notices: Vec<NoticeRecord>,
}

impl Maintenance {
    /// Seconds until it ends (at least 1), for `Retry-After`.
    pub fn retry_after(&self, now: UnixTime) -> i64 {
        (self.until - now).max(1)
    }
}

/// The notices not ended at `now`, as read once for a request.
#[derive(Debug, Clone)]
pub struct Live {
    pub now: UnixTime,
    notices: Vec<NoticeRecord>,
}

impl Live {
    pub fn load(ctx: &Context) -> StoreResult<Live> {
        let now = ctx.now();
        Ok(Live::new(now, ctx.store().live_notices(now)?))
    }

    pub fn new(now: UnixTime, notices: Vec<NoticeRecord>) -> Live {
        Live { now, notices }
    }

    /// The notices shown now at `place`, the earliest first.
    pub fn shown(&self, place: Place) -> Vec<&NoticeRecord> {
        self.notices
            .iter()
            .filter(|n| place.has(n) && n.is_shown(self.now))
            .collect()
    }

    /// The maintenance window in force now, if any (whichever places its notice has).
    pub fn maintenance(&self) -> Option<Maintenance> {
        let mut windows: Vec<MaintenanceWindow> =
            self.notices.iter().filter_map(|n| n.maintenance).collect();
        let notices: Vec<NoticeRecord> = self
            .notices
            .iter()
            .filter(|n| n.maintenance.is_some_and(|w| w.contains(self.now)))
            .cloned()
            .collect();
        let mut until = notices
            .iter()
            .filter_map(|n| n.maintenance.map(|w| w.until))
            .max()?;
        // A window that starts before (or as) this one ends extends it.
        windows.sort_by_key(|w| w.from);
        for w in windows {
            if w.from <= until && w.until > until {
                until = w.until;
            }
        }
        Some(Maintenance { until, notices })
    }

    /// What the public feed lists: the notices meant for it that are shown now or later.
    pub fn feed(&self) -> Feed {
        Feed {
            generated_at: format_rfc3339(self.now),
            notices: self
                .notices
                .iter()
                .filter(|n| Place::Feed.has(n))
                .map(|n| FeedNotice::of(n, self.now))
                .collect(),
        }
    }
}

/// `GET /notices.json` (docs/notices.md).
#[derive(Debug, Clone, Serialize)]
pub struct Feed {
    /// When this answer was made (RFC 3339, UTC).
    pub generated_at: String,
    /// Current and upcoming notices, the earliest `shown_from` first.
    pub notices: Vec<FeedNotice>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedNotice {
    pub id: String,
    pub text: FeedText,
    pub shown_from: String,
    /// Absent: until it is removed.
    pub shown_until: Option<String>,
    /// Shown now (false: upcoming).
    pub current: bool,
    pub maintenance: Option<FeedWindow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedText {
    #[serde(rename = "zh-TW")]
    pub zh_tw: String,
    pub en: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedWindow {
    pub from: String,
    pub until: String,
    /// In force now.
    pub active: bool,
}

impl FeedNotice {
    fn of(n: &NoticeRecord, now: UnixTime) -> FeedNotice {
        FeedNotice {
            id: n.id.clone(),
            text: FeedText {
                zh_tw: n.text_zh_tw.clone(),
                en: n.text_en.clone(),
            },
            shown_from: format_rfc3339(n.shown_from),
            shown_until: n.shown_until.map(format_rfc3339),
            current: n.is_shown(now),
            maintenance: n.maintenance.map(|w| FeedWindow {
                from: format_rfc3339(w.from),
                until: format_rfc3339(w.until),
                active: w.contains(now),
            }),
        }
    }
}

/// The text of `notice` in `lang` (zh-TW, else English).
pub fn text_in<'a>(notice: &'a NoticeRecord, lang: &str) -> &'a str {
    if lang == "en" {
        &notice.text_en
    } else {
        &notice.text_zh_tw
    }
}

/// Taiwan's time zone (Asia/Taipei: UTC+8, no daylight saving time since 1979).
pub const TAIPEI: time::UtcOffset = time::macros::offset!(+8);

/// `t` in Taiwan time for people: `2026年3月6日 04:00` (zh-TW) or `6 March 2026, 04:00`.
pub fn taipei_time(t: UnixTime, lang: &str) -> String {
    let Ok(d) = time::OffsetDateTime::from_unix_timestamp(t) else {
        return t.to_string();
    };
    let d = d.checked_to_offset(TAIPEI).unwrap_or(d);
    if lang == "en" {
        format!(
            "{} {} {}, {:02}:{:02}",
            d.day(),
            d.month(),
            d.year(),
            d.hour(),
            d.minute()
        )
    } else {
        format!(
            "{}年{}月{}日 {:02}:{:02}",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute()
        )
    }
}

/// `t` as the value of an `<input type="datetime-local">` in Taiwan time.
pub fn taipei_input(t: UnixTime) -> String {
    let Ok(d) = time::OffsetDateTime::from_unix_timestamp(t) else {
        return String::new();
    };
    let d = d.checked_to_offset(TAIPEI).unwrap_or(d);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NoticePlaces;

    fn notice(id: &str, shown: (i64, Option<i64>), window: Option<(i64, i64)>) -> NoticeRecord {
        NoticeRecord {
            id: id.into(),
            text_zh_tw: "3月6日4時將暫停註冊服務，敬請見諒".into(),
            text_en: "Registration pauses on 6 March at 04:00.".into(),
            shown_from: shown.0,
            shown_until: shown.1,
            places: NoticePlaces {
                register: true,
                signin: false,
                feed: id != "quiet",
            },
            maintenance: window.map(|(from, until)| MaintenanceWindow { from, until }),
            created_at: 0,
            created_by: "cli:test".into(),
            updated_at: 0,
            updated_by: "cli:test".into(),
        }
    }

    #[test]
    fn notices_are_shown_from_their_start_until_their_end_at_their_places() {
        let live = Live::new(
            100,
            vec![
                notice("now", (50, Some(150)), None),
                notice("later", (120, None), None),
                notice("quiet", (0, None), None),
            ],
        );
        let ids = |v: Vec<&NoticeRecord>| v.iter().map(|n| n.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(live.shown(Place::Register)), ["now", "quiet"]);
        assert!(live.shown(Place::Signin).is_empty());
        let feed = live.feed();
        let listed: Vec<(&str, bool)> = feed
            .notices
            .iter()
            .map(|n| (n.id.as_str(), n.current))
            .collect();
        assert_eq!(listed, [("now", true), ("later", false)]);
        // The end is exclusive.
        assert!(Live::new(150, vec![notice("now", (50, Some(150)), None)])
            .shown(Place::Register)
            .is_empty());
    }

    #[test]
    fn the_maintenance_window_in_force_runs_to_the_end_of_the_windows_that_follow_it() {
        let notices = vec![
            notice("a", (0, None), Some((100, 200))),
            notice("b", (0, None), Some((200, 300))),
            notice("c", (0, None), Some((400, 500))),
        ];
        assert_eq!(Live::new(99, notices.clone()).maintenance(), None);
        let m = Live::new(150, notices.clone()).maintenance().unwrap();
        assert_eq!(m.until, 300, "b follows a without a gap");
        assert_eq!(m.retry_after(150), 150);
        assert_eq!(m.notices.len(), 1);
        assert_eq!(Live::new(300, notices.clone()).maintenance(), None);
        assert_eq!(Live::new(450, notices).maintenance().unwrap().until, 500);
    }

    #[test]
    fn times_are_written_in_taiwan_time() {
        // 2026-03-05T20:00:00Z is 6 March, 04:00 in Taipei.
        let t = 1_772_740_800;
        assert_eq!(taipei_time(t, "zh-TW"), "2026年3月6日 04:00");
        assert_eq!(taipei_time(t, "en"), "6 March 2026, 04:00");
        assert_eq!(taipei_input(t), "2026-03-06T04:00");
    }

    #[test]
    fn places_are_read_by_name() {
        assert_eq!(Place::parse(" SignIn "), Some(Place::Signin));
        assert_eq!(Place::parse("portal"), None);
    }
}
