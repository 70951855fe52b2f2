//! Service notices over diesel: each change written with its audit event.

use diesel::prelude::*;

use super::admin::insert_audit;
use super::Database;
use crate::clock::UnixTime;
use crate::store::models::NoticeRow;
use crate::store::notices::{NoticeChange, NoticeRecord, NoticeStore};
use crate::store::schema::service_notices as sn;
use crate::store::{AuditEvent, StoreResult};

impl NoticeStore for Database {
    fn list_notices(&self) -> StoreResult<Vec<NoticeRecord>> {
        let rows: Vec<NoticeRow> = self.with(|c| {
            sn::table
                .order((sn::shown_from.desc(), sn::id.asc()))
                .select(NoticeRow::as_select())
                .load(c)
        })?;
        Ok(rows.into_iter().map(NoticeRecord::from).collect())
    }

    fn find_notice(&self, id: &str) -> StoreResult<Option<NoticeRecord>> {
        let row: Option<NoticeRow> = self.with(|c| {
            sn::table
                .find(id)
                .select(NoticeRow::as_select())
                .first(c)
                .optional()
        })?;
        Ok(row.map(NoticeRecord::from))
    }

    fn live_notices(&self, now: UnixTime) -> StoreResult<Vec<NoticeRecord>> {
        let rows: Vec<NoticeRow> = self.with(|c| {
            sn::table
                .filter(sn::shown_until.is_null().or(sn::shown_until.gt(now)))
                .order((sn::shown_from.asc(), sn::id.asc()))
                .select(NoticeRow::as_select())
                .load(c)
        })?;
        Ok(rows.into_iter().map(NoticeRecord::from).collect())
    }

    fn write_notice(&self, change: &NoticeChange<'_>, audit: &AuditEvent) -> StoreResult<bool> {
        self.write_tx(|c| {
            let n = match change {
                NoticeChange::Create(notice) => diesel::insert_into(sn::table)
                    .values(NoticeRow::from(*notice))
                    .execute(c)?,
                NoticeChange::Update(notice) => {
                    // Who made it and when stay as they were.
                    let row = NoticeRow::from(*notice);
                    diesel::update(sn::table.find(&notice.id))
                        .set((
                            sn::text_zh_tw.eq(&row.text_zh_tw),
                            sn::text_en.eq(&row.text_en),
                            sn::shown_from.eq(row.shown_from),
                            sn::shown_until.eq(row.shown_until),
                            sn::on_register.eq(row.on_register),
                            sn::on_signin.eq(row.on_signin),
                            sn::on_feed.eq(row.on_feed),
                            sn::maintenance_from.eq(row.maintenance_from),
                            sn::maintenance_until.eq(row.maintenance_until),
                            sn::updated_at.eq(row.updated_at),
                            sn::updated_by.eq(&row.updated_by),
                        ))
                        .execute(c)?
                }
                NoticeChange::Delete(id) => diesel::delete(sn::table.find(*id)).execute(c)?,
            };
            if n == 0 {
                return Ok(false);
            }
            insert_audit(c, audit)?;
            Ok(true)
        })
    }
}
