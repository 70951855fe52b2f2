//! The console's audit log: the filtered events, page by page, and their CSV export.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use super::words::{taipei_day, AuditRow, EventChoice};
use super::{Console, Nothing};
use crate::admin::audit::{self, AuditQuery};
use crate::admin::AdminError;
use crate::audit::AuditKind;
use crate::routes::admin_api::{csv_export, csv_response};
use crate::routes::error::reported_status;

/// The filter part of the query string (no cursor), for the CSV and next-page links.
fn filter_query(req: &HttpRequest) -> String {
    req.query_string()
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("cursor=") && !p.starts_with("lang="))
        .collect::<Vec<_>>()
        .join("&")
}

/// The audit filters of the query string. A malformed one is an error naming it, never
/// an unfiltered log (or export) that the admin takes for the filtered one.
fn audit_query(req: &HttpRequest) -> Result<AuditQuery, AdminError> {
    serde_urlencoded::from_str(req.query_string()).map_err(|e| {
        AdminError::invalid(
            "filters",
            format!("the filters could not be read ({e}); correct them and search again"),
        )
        .coded("filters_unreadable")
    })
}

/// The filters as searched: dates are days in Taiwan (the form shows what was typed).
fn in_taipei(mut q: AuditQuery) -> AuditQuery {
    q.from = q.from.as_deref().map(taipei_day);
    q.to = q.to.as_deref().map(taipei_day);
    q
}

/// Every kind of event with its label, for the filter.
fn event_choices(c: &Console) -> Vec<EventChoice> {
    AuditKind::ALL
        .iter()
        .map(|k| EventChoice {
            value: k.as_str(),
            label: c.event_label(k.as_str()),
        })
        .collect()
}

/// The filters as shown in the form.
#[derive(Serialize)]
struct Shown<'a> {
    from: &'a Option<String>,
    to: &'a Option<String>,
    person: &'a Option<String>,
    client_id: &'a Option<String>,
    event: &'a Option<String>,
    outcome: &'a Option<String>,
    actor: &'a Option<String>,
}

/// The audit page's filter form.
#[derive(Serialize)]
struct Filters<F: Serialize> {
    title: String,
    nav_audit: bool,
    /// Every kind of event, for the filter's suggestions.
    events: Vec<EventChoice>,
    f: F,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<String>,
}

/// The events found.
#[derive(Serialize)]
struct Found<'a, F: Serialize> {
    #[serde(flatten)]
    filters: &'a Filters<F>,
    audit: Vec<AuditRow>,
    next: Option<String>,
}

/// `GET /admin/audit`.
pub async fn get_audit(c: Console) -> HttpResponse {
    let q = match audit_query(&c.req) {
        Ok(q) => q,
        Err(e) => {
            let filters = Filters {
                title: c.text("admin_audit"),
                nav_audit: true,
                events: event_choices(&c),
                f: Nothing {},
                query: None,
            };
            return c.failed("admin_audit", &filters, &e);
        }
    };
    let filters = Filters {
        title: c.text("admin_audit"),
        nav_audit: true,
        events: event_choices(&c),
        f: Shown {
            from: &q.from,
            to: &q.to,
            person: &q.person,
            client_id: &q.client_id,
            event: &q.event,
            outcome: &q.outcome,
            actor: &q.actor,
        },
        query: Some(filter_query(&c.req)),
    };
    let wanted = in_taipei(q.clone());
    match c.call(move |e, _| audit::list(e, &wanted)).await {
        Ok(p) => {
            let found = Found {
                filters: &filters,
                audit: c.audit_rows(&p.items),
                next: p.next_cursor,
            };
            c.render("admin_audit", StatusCode::OK, &found)
        }
        Err(e) => c.failed("admin_audit", &filters, &e),
    }
}

/// `GET /admin/audit.csv`: the export, audited.
pub async fn get_audit_csv(c: Console) -> HttpResponse {
    let q = match audit_query(&c.req) {
        Ok(q) => q,
        Err(e) => {
            return HttpResponse::build(reported_status(&e))
                .content_type("text/plain; charset=utf-8")
                .body(c.error_text(&e))
        }
    };
    let q = in_taipei(q);
    match c.call(move |e, a| csv_export(e, a, &q)).await {
        Ok(csv) => csv_response(csv),
        Err(e) => c.failed_home(&e),
    }
}
