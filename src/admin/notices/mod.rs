//! Service notices (服務公告, docs/notices.md) for the API, the console and the CLI:
//! listing, creating, changing and removing them, each change written with its audit
//! event; the rules a notice follows are in [`draft`].

pub mod draft;

use serde::Serialize;

pub use draft::{apply, parse_time, NoticeInput, MAX_AHEAD_SECS, MAX_TEXT, MAX_WINDOW_SECS};

use super::clients::FieldError;
use super::{decode_cursor, encode_cursor, limit, Actor, AdminError, AdminResult, Page};
use crate::audit::AuditKind;
use crate::clock::{format_rfc3339, UnixTime};
use crate::context::Context;
use crate::notices::{places_of, Place};
use crate::store::{NoticeChange, NoticeRecord, StoreError};

/// A notice as operators see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoticeView {
    pub id: String,
    pub text_zh_tw: String,
    pub text_en: String,
    /// RFC 3339 (UTC).
    pub shown_from: String,
    /// Absent: until it is removed.
    pub shown_until: Option<String>,
    /// `register`, `signin`, `feed`.
    pub places: Vec<String>,
    pub maintenance_from: Option<String>,
    pub maintenance_until: Option<String>,
    /// `scheduled` (not shown yet), `shown` or `ended`.
    pub state: String,
    /// Its maintenance window is in force now.
    pub in_maintenance: bool,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
    pub updated_by: String,
}

impl NoticeView {
    pub fn of(n: &NoticeRecord, now: UnixTime) -> NoticeView {
        let state = if n.shown_from > now {
            "scheduled"
        } else if n.is_shown(now) {
            "shown"
        } else {
            "ended"
        };
        NoticeView {
            id: n.id.clone(),
            text_zh_tw: n.text_zh_tw.clone(),
            text_en: n.text_en.clone(),
            shown_from: format_rfc3339(n.shown_from),
            shown_until: n.shown_until.map(format_rfc3339),
            places: places_of(n)
                .into_iter()
                .map(|p| p.as_str().to_string())
                .collect(),
            maintenance_from: n.maintenance.map(|w| format_rfc3339(w.from)),
            maintenance_until: n.maintenance.map(|w| format_rfc3339(w.until)),
            state: state.into(),
            in_maintenance: n.maintenance.is_some_and(|w| w.contains(now)),
            created_at: n.created_at,
            created_by: n.created_by.clone(),
            updated_at: n.updated_at,
            updated_by: n.updated_by.clone(),
        }
    }
}
/// What the audit log says about a notice.
fn audit_detail(n: &NoticeRecord) -> String {
    let places: Vec<&str> = places_of(n).into_iter().map(Place::as_str).collect();
    let mut detail = format!(
        "notice={} places={} shown={}..{}",
        n.id,
        places.join(","),
        format_rfc3339(n.shown_from),
        n.shown_until.map(format_rfc3339).unwrap_or_default()
    );
    if let Some(w) = n.maintenance {
        detail.push_str(&format!(
            " maintenance={}..{}",
            format_rfc3339(w.from),
            format_rfc3339(w.until)
        ));
    }
    detail
}

fn write(
    ctx: &Context,
    by: &Actor,
    change: NoticeChange<'_>,
    kind: AuditKind,
    detail: String,
) -> AdminResult<bool> {
    let audit = by.event(ctx.now(), kind, "success", None, None, Some(detail));
    match ctx.store().write_notice(&change, &audit) {
        Ok(done) => Ok(done),
        Err(StoreError::Duplicate) => Err(AdminError::Conflict("the notice id is taken".into())),
        Err(e) => Err(e.into()),
    }
}

fn invalid(e: FieldError) -> AdminError {
    AdminError::Invalid {
        field: e.field.to_string(),
        code: e.code,
        message: e.message,
    }
}

fn not_found(id: &str) -> AdminError {
    AdminError::NotFound(format!("no notice {id}"))
}

/// The notices, the latest `shown_from` first.
pub fn list(
    ctx: &Context,
    limit_value: Option<i64>,
    cursor: Option<&str>,
) -> AdminResult<Page<NoticeView>> {
    let now = ctx.now();
    let page = records(ctx, limit_value, cursor)?;
    Ok(Page {
        items: page.items.iter().map(|n| NoticeView::of(n, now)).collect(),
        next_cursor: page.next_cursor,
    })
}

/// [`list`] as records.
pub fn records(
    ctx: &Context,
    limit_value: Option<i64>,
    cursor: Option<&str>,
) -> AdminResult<Page<NoticeRecord>> {
    let limit = limit(limit_value)? as usize;
    // The cursor is the (shown_from, id) of the last notice of the previous page.
    let after = match cursor {
        Some(c) => {
            let text = decode_cursor(c)?;
            let parsed = text
                .split_once(':')
                .and_then(|(t, id)| Some((t.parse::<i64>().ok()?, id.to_string())));
            Some(parsed.ok_or_else(|| {
                AdminError::invalid(
                    "cursor",
                    "cursor is not one this server made; use next_cursor",
                )
            })?)
        }
        None => None,
    };
    let mut rest = ctx.store().list_notices()?.into_iter().filter(|n| {
        after.as_ref().is_none_or(|(t, id)| {
            n.shown_from < *t || (n.shown_from == *t && n.id.as_str() > id.as_str())
        })
    });
    let page: Vec<NoticeRecord> = rest.by_ref().take(limit).collect();
    let next_cursor = match (rest.next(), page.last()) {
        (Some(_), Some(last)) => Some(encode_cursor(&format!("{}:{}", last.shown_from, last.id))),
        _ => None,
    };
    Ok(Page {
        items: page,
        next_cursor,
    })
}

pub fn find(ctx: &Context, id: &str) -> AdminResult<NoticeRecord> {
    ctx.store().find_notice(id)?.ok_or_else(|| not_found(id))
}

pub fn show(ctx: &Context, id: &str) -> AdminResult<NoticeView> {
    Ok(NoticeView::of(&find(ctx, id)?, ctx.now()))
}

pub fn create(ctx: &Context, by: &Actor, input: &NoticeInput) -> AdminResult<NoticeView> {
    let now = ctx.now();
    let id = uuid::Uuid::new_v4().to_string();
    let notice = apply(input, None, &id, by, now).map_err(invalid)?;
    write(
        ctx,
        by,
        NoticeChange::Create(&notice),
        AuditKind::NoticeCreate,
        audit_detail(&notice),
    )?;
    Ok(NoticeView::of(&notice, now))
}

pub fn update(ctx: &Context, by: &Actor, id: &str, input: &NoticeInput) -> AdminResult<NoticeView> {
    let now = ctx.now();
    let existing = find(ctx, id)?;
    let notice = apply(input, Some(&existing), id, by, now).map_err(invalid)?;
    if !write(
        ctx,
        by,
        NoticeChange::Update(&notice),
        AuditKind::NoticeUpdate,
        audit_detail(&notice),
    )? {
        return Err(not_found(id));
    }
    Ok(NoticeView::of(&notice, now))
}

pub fn delete(ctx: &Context, by: &Actor, id: &str) -> AdminResult<()> {
    let existing = find(ctx, id)?;
    if !write(
        ctx,
        by,
        NoticeChange::Delete(id),
        AuditKind::NoticeDelete,
        audit_detail(&existing),
    )? {
        return Err(not_found(id));
    }
    Ok(())
}
