//! `/admin/api/v1/audit`: the audit log, as pages of JSON or as one CSV export (itself
//! audited).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use actix_web::http::StatusCode;

use super::{query, ApiError, Caller, Reply};
use crate::admin::audit::{self, AuditQuery, AuditView};
use crate::admin::{Actor, AdminResult, Page};
use crate::audit::AuditKind;
use crate::oidc::Engine;

/// Audit events, newest first, filtered.
#[utoipa::path(get, path = "/admin/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Page<AuditView>), (status = 400, body = ApiError),
              (status = 422, body = ApiError)))]
pub async fn list_audit(api: Caller, req: HttpRequest) -> Reply {
    let q: AuditQuery = query(&req)?;
    api.json(StatusCode::OK, move |e, _| audit::list(e, &q))
        .await
}

/// Every audit event matching the filters (limit and cursor ignored) as CSV.
#[utoipa::path(get, path = "/admin/api/v1/audit.csv", tag = "audit", params(AuditQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ApiError),
              (status = 422, body = ApiError)))]
pub async fn export_audit(api: Caller, req: HttpRequest) -> Reply {
    let q: AuditQuery = query(&req)?;
    let csv = api.call(move |e, a| export(e, a, &q)).await?;
    Ok(csv_response(csv))
}

/// The CSV of the events matching `q`, its export audited (API and console alike).
pub fn export(engine: &Engine, by: &Actor, q: &AuditQuery) -> AdminResult<String> {
    let csv = audit::csv(engine, q)?;
    let event = by.event(
        engine.now(),
        AuditKind::AuditExport,
        "success",
        None,
        None,
        None,
    );
    engine.store().append_audit(&event)?;
    Ok(csv)
}

/// A CSV download.
pub fn csv_response(csv: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"cardinal-audit.csv\"",
        ))
        .content_type("text/csv; charset=utf-8")
        .body(csv)
}
