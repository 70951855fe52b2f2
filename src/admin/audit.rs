//! The audit log (docs/requirements.md R-ADM-4, R-ID-5): filters, paging and CSV export.

use serde::{Deserialize, Serialize};

use super::{
    decode_cursor, encode_cursor, limit, parse_time, resolve_person, AdminError, AdminResult, Page,
};
use crate::clock::format_rfc3339;
use crate::context::Context;
use crate::store::{AuditEntry, AuditFilter};

/// One audit event.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditView {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// The same time, RFC 3339.
    pub time: String,
    pub event: String,
    pub outcome: String,
    /// Who did it: `person:ID`, `client:ID`, `cli:USER` or `system`.
    pub actor: Option<String>,
    pub person_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        AuditView {
            id: e.id,
            at: e.event.at,
            time: format_rfc3339(e.event.at),
            event: e.event.event,
            outcome: e.event.outcome,
            actor: e.event.actor,
            person_id: e.event.person_id,
            client_id: e.event.client_id,
            ip: e.event.ip,
            detail: e.event.detail,
        }
    }
}

/// The filters as given (query parameters, form fields or CLI options); all optional.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Events at or after this time (RFC 3339, a date or Unix seconds).
    pub from: Option<String>,
    /// Events before this time (RFC 3339, a date or Unix seconds).
    pub to: Option<String>,
    /// The person: a person id, card number or national ID.
    pub person: Option<String>,
    pub client_id: Option<String>,
    /// The event type, e.g. `login`, `client_create`, `registration_deactivate`.
    pub event: Option<String>,
    /// e.g. `success`, `failure`.
    pub outcome: Option<String>,
    /// e.g. `person:ID`, `client:ID`.
    pub actor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The store filter for `q`. A person named who does not exist matches nothing.
pub fn filter_of(ctx: &Context, q: &AuditQuery) -> AdminResult<Option<AuditFilter>> {
    let from = non_empty(&q.from)
        .map(|v| parse_time("from", &v))
        .transpose()?;
    let to = non_empty(&q.to).map(|v| parse_time("to", &v)).transpose()?;
    if let (Some(f), Some(t)) = (from, to) {
        if f >= t {
            return Err(
                AdminError::invalid("to", "to must be later than from").coded("to_before_from")
            );
        }
    }
    let person_id = match non_empty(&q.person) {
        None => None,
        Some(who) => match resolve_person(ctx, &who)? {
            Some(id) => Some(id),
            None => return Ok(None),
        },
    };
    Ok(Some(AuditFilter {
        from,
        to,
        person_id,
        client_id: non_empty(&q.client_id),
        event: non_empty(&q.event),
        outcome: non_empty(&q.outcome),
        actor: non_empty(&q.actor),
    }))
}

pub fn list(ctx: &Context, q: &AuditQuery) -> AdminResult<Page<AuditView>> {
    let limit = limit(q.limit)?;
    let before = match non_empty(&q.cursor) {
        None => None,
        Some(c) => Some(decode_cursor(&c)?.parse::<i64>().map_err(|_| {
            AdminError::invalid(
                "cursor",
                "cursor is not one this server made; use next_cursor",
            )
            .coded("cursor_invalid")
        })?),
    };
    let Some(filter) = filter_of(ctx, q)? else {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    };
    let rows = ctx.store().query_audit(&filter, before, limit + 1)?;
    let more = rows.len() as i64 > limit;
    let items: Vec<AuditView> = rows
        .into_iter()
        .take(limit as usize)
        .map(AuditView::from)
        .collect();
    let next_cursor = match (more, items.last()) {
        (true, Some(last)) => Some(encode_cursor(&last.id.to_string())),
        _ => None,
    };
    Ok(Page { items, next_cursor })
}

/// Most rows one CSV export holds.
pub const CSV_MAX_ROWS: i64 = 100_000;

/// A cell that a spreadsheet would not run as a formula (OWASP CSV injection).
fn cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

/// Every event matching the filters (newest first, at most [`CSV_MAX_ROWS`]) as CSV with a
/// header line.
pub fn csv(ctx: &Context, q: &AuditQuery) -> AdminResult<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = [
        "id",
        "time",
        "event",
        "outcome",
        "actor",
        "person_id",
        "client_id",
        "ip",
        "detail",
    ];
    out.write_record(header).map_err(anyhow::Error::from)?;
    if let Some(filter) = filter_of(ctx, q)? {
        let mut before = None;
        let mut written = 0;
        while written < CSV_MAX_ROWS {
            let rows = ctx.store().query_audit(&filter, before, 1000)?;
            let Some(last) = rows.last() else { break };
            before = Some(last.id);
            for r in rows {
                let v = AuditView::from(r);
                out.write_record([
                    v.id.to_string(),
                    v.time,
                    cell(&v.event),
                    cell(&v.outcome),
                    cell(v.actor.as_deref().unwrap_or_default()),
                    cell(v.person_id.as_deref().unwrap_or_default()),
                    cell(v.client_id.as_deref().unwrap_or_default()),
                    cell(v.ip.as_deref().unwrap_or_default()),
                    cell(v.detail.as_deref().unwrap_or_default()),
                ])
                .map_err(anyhow::Error::from)?;
                written += 1;
            }
        }
    }
    let bytes = out.into_inner().map_err(|e| anyhow::anyhow!("CSV: {e}"))?;
    String::from_utf8(bytes).map_err(|e| AdminError::Internal(e.into()))
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn csv_cells_that_a_spreadsheet_would_run_are_defused() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("login"), "login");
    }
}
