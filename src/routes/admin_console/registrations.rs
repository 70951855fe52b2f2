//! The console's registrations: the search (posted, so that a national ID stays out of
//! addresses), a registration with its audit trail, and the counter's actions on it
//! (deactivate, reactivate, unlock, delete a pending one, end the sessions).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{words, Console, ConsoleForm, Outcome, PageQuery, WithOutcome};
use crate::admin::registrations::{self, RegistrationDetailView, RegistrationView};
use crate::admin::AdminError;
use crate::clock::format_taipei;
use crate::routes::error::reported_status;
use crate::routes::responses::see_other;

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

/// The search form and what it found.
#[derive(Serialize)]
struct SearchPage {
    title: String,
    nav_registrations: bool,
    q: Option<String>,
}

/// The registrations found.
#[derive(Serialize)]
struct Found<'a> {
    #[serde(flatten)]
    search: &'a SearchPage,
    items: Vec<Listed<'a>>,
    next: Option<String>,
}

/// A registration found, with its status in words.
#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    registration: &'a RegistrationView,
    status_label: String,
}

fn status_label(c: &Console, status: &str) -> String {
    c.text(&format!("status_{status}"))
}

/// `GET /admin/registrations`.
pub async fn get_registrations(c: Console, query: web::Query<SearchQuery>) -> HttpResponse {
    registrations_page(&c, query.into_inner()).await
}

/// The search itself is posted: a national ID typed into it must not end up in the
/// browser's history or in a proxy's access log, as a query string would.
pub async fn post_registrations(form: ConsoleForm) -> HttpResponse {
    let get = |n: &str| form.field(n).filter(|v| !v.is_empty()).map(str::to_string);
    let q = SearchQuery {
        q: get("q"),
        cursor: get("cursor"),
        done: None,
    };
    registrations_page(&form.console, q).await
}

async fn registrations_page(c: &Console, q: SearchQuery) -> HttpResponse {
    let (text_q, cursor) = (q.q.clone(), q.cursor);
    let result = c
        .call(move |e, _| registrations::search(e, text_q.as_deref(), None, cursor.as_deref()))
        .await;
    let search = SearchPage {
        title: c.text("admin_registrations"),
        nav_registrations: true,
        q: q.q,
    };
    let outcome = c.done(q.done.as_deref());
    match result {
        Ok(p) => {
            let items = p
                .items
                .iter()
                .map(|r| Listed {
                    registration: r,
                    status_label: status_label(c, &r.status),
                })
                .collect();
            let found = Found {
                search: &search,
                items,
                next: p.next_cursor,
            };
            let page = WithOutcome {
                data: &found,
                outcome,
            };
            c.render("admin_registrations", StatusCode::OK, &page)
        }
        Err(e) => c.failed(
            "admin_registrations",
            &WithOutcome {
                data: &search,
                outcome,
            },
            &e,
        ),
    }
}

/// One registration, with what may be done to it.
#[derive(Serialize)]
struct RegistrationPage<'a> {
    title: &'a str,
    nav_registrations: bool,
    status_label: String,
    applied: String,
    can_deactivate: bool,
    can_reactivate: bool,
    can_unlock: bool,
    can_delete: bool,
    audit: Vec<words::AuditRow>,
    r: &'a RegistrationDetailView,
}

async fn registration_page(
    c: &Console,
    person_id: String,
    status: StatusCode,
    outcome: Outcome,
) -> HttpResponse {
    let r = match c
        .call(move |e, _| registrations::detail(e, &person_id))
        .await
    {
        Ok(r) => r,
        Err(e) => return c.failed_home(&e),
    };
    let s = r.status.as_str();
    let page = RegistrationPage {
        title: &r.name,
        nav_registrations: true,
        status_label: status_label(c, s),
        applied: format_taipei(r.created_at),
        can_deactivate: s != "deactivated",
        can_reactivate: s == "deactivated",
        can_unlock: s == "locked",
        can_delete: s == "pending",
        audit: c.audit_rows(&r.audit),
        r: &r,
    };
    c.render(
        "admin_registration",
        status,
        &WithOutcome {
            data: &page,
            outcome,
        },
    )
}

/// `GET /admin/registrations/{person_id}`.
pub async fn get_registration(
    c: Console,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> HttpResponse {
    let outcome = c.done(query.done.as_deref());
    registration_page(&c, path.into_inner(), StatusCode::OK, outcome).await
}

/// `POST /admin/registrations/{person_id}/{action}`: deactivate (reason), reactivate,
/// unlock, delete (pending), end-sessions.
pub async fn post_registration(
    form: ConsoleForm,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (person_id, action) = path.into_inner();
    let reason = form.field("reason").unwrap_or_default().to_string();
    let c = form.console;
    let id = person_id.clone();
    let act = action.clone();
    let result = c
        .call(move |e, actor| {
            use registrations as r;
            let changed = match act.as_str() {
                "deactivate" => r::deactivate(e, actor, &id, &reason)?,
                "reactivate" => r::reactivate(e, actor, &id)?,
                "unlock" => r::unlock(e, actor, &id)?,
                "end-sessions" => r::end_sessions(e, actor, &id)?,
                "delete" => {
                    r::delete_pending(e, actor, &id)?;
                    return Ok(None);
                }
                _ => return Err(AdminError::NotFound("no such action".into())),
            };
            Ok(Some(changed))
        })
        .await;
    let done = match action.as_str() {
        "deactivate" => "deactivated",
        "reactivate" => "reactivated",
        "unlock" => "unlocked",
        "end-sessions" => "sessions",
        _ => "deleted",
    };
    match result {
        Ok(Some(changed)) => {
            c.state.backchannel.spawn(changed.deliveries);
            see_other(&format!("/admin/registrations/{person_id}?done={done}"))
        }
        Ok(None) => see_other("/admin/registrations?done=deleted"),
        Err(e) => {
            let status = reported_status(&e);
            registration_page(&c, person_id, status, Outcome::failed(&c, &e)).await
        }
    }
}
