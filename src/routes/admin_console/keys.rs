//! The console's signing keys: their states, and rotation.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::{Console, ConsoleForm, Outcome, PageQuery, WithOutcome};
use crate::admin::keys::{self, RotateRequest};
use crate::clock::format_taipei;
use crate::routes::error::reported_status;
use crate::routes::responses::see_other;

/// A signing key as listed.
#[derive(Serialize)]
struct Key {
    kid: String,
    alg: String,
    state: String,
    /// The state in the page's language.
    state_label: String,
    active_from: String,
    retired_at: Option<String>,
}

/// The keys page.
#[derive(Serialize)]
struct KeysPage<'a> {
    title: String,
    nav_keys: bool,
    keys: Vec<Key>,
    algs: &'a [String],
}

async fn keys_page(c: &Console, status: StatusCode, outcome: Outcome) -> HttpResponse {
    let listed = c.call(|e, _| keys::list(e)).await;
    let keys = listed
        .unwrap_or_default()
        .into_iter()
        .map(|k| Key {
            kid: k.kid,
            alg: k.alg,
            state_label: c.text(&format!("admin_key_state_{}", k.state)),
            state: k.state,
            active_from: format_taipei(k.active_from),
            retired_at: k.retired_at.map(format_taipei),
        })
        .collect();
    let page = KeysPage {
        title: c.text("admin_keys"),
        nav_keys: true,
        keys,
        algs: &c.state.engine.settings().keys.algorithms,
    };
    c.render(
        "admin_keys",
        status,
        &WithOutcome {
            data: &page,
            outcome,
        },
    )
}

/// `GET /admin/keys`.
pub async fn get_keys(c: Console, query: web::Query<PageQuery>) -> HttpResponse {
    let outcome = c.done(query.done.as_deref());
    keys_page(&c, StatusCode::OK, outcome).await
}

/// `POST /admin/keys/rotate`.
pub async fn post_rotate_keys(form: ConsoleForm) -> HttpResponse {
    let request = RotateRequest {
        alg: form
            .field("alg")
            .filter(|a| !a.is_empty())
            .map(|a| vec![a.to_string()])
            .unwrap_or_default(),
        now: form.field("now") == Some("true"),
    };
    let c = form.console;
    match c.call(move |e, a| keys::rotate(e, a, &request)).await {
        Ok(_) => see_other("/admin/keys?done=rotated"),
        Err(e) => keys_page(&c, reported_status(&e), Outcome::failed(&c, &e)).await,
    }
}
