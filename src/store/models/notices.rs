//! Rows of the service notices.

use diesel::prelude::*;

use crate::store::notices::{MaintenanceWindow, NoticePlaces, NoticeRecord};
use crate::store::schema::service_notices;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = service_notices)]
pub struct NoticeRow {
    pub id: String,
    pub text_zh_tw: String,
    pub text_en: String,
    pub shown_from: i64,
    pub shown_until: Option<i64>,
    pub on_register: bool,
    pub on_signin: bool,
    pub on_feed: bool,
    pub maintenance_from: Option<i64>,
    pub maintenance_until: Option<i64>,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
    pub updated_by: String,
}

impl From<NoticeRow> for NoticeRecord {
    fn from(r: NoticeRow) -> Self {
        NoticeRecord {
            id: r.id,
            text_zh_tw: r.text_zh_tw,
            text_en: r.text_en,
            shown_from: r.shown_from,
            shown_until: r.shown_until,
            places: NoticePlaces {
                register: r.on_register,
                signin: r.on_signin,
                feed: r.on_feed,
            },
            // The table's check keeps both or neither.
            maintenance: match (r.maintenance_from, r.maintenance_until) {
                (Some(from), Some(until)) => Some(MaintenanceWindow { from, until }),
                _ => None,
            },
            created_at: r.created_at,
            created_by: r.created_by,
            updated_at: r.updated_at,
            updated_by: r.updated_by,
        }
    }
}

impl From<&NoticeRecord> for NoticeRow {
    fn from(n: &NoticeRecord) -> Self {
        NoticeRow {
            id: n.id.clone(),
            text_zh_tw: n.text_zh_tw.clone(),
            text_en: n.text_en.clone(),
            shown_from: n.shown_from,
            shown_until: n.shown_until,
            on_register: n.places.register,
            on_signin: n.places.signin,
            on_feed: n.places.feed,
            maintenance_from: n.maintenance.map(|m| m.from),
            maintenance_until: n.maintenance.map(|m| m.until),
            created_at: n.created_at,
            created_by: n.created_by.clone(),
            updated_at: n.updated_at,
            updated_by: n.updated_by.clone(),
        }
    }
}
