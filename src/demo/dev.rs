//! The dev page `/dev` (this computer only): swap the card in the virtual reader, read the
//! outbox, and grant the admin role to a demo card.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpRequest, HttpResponse};
use cardinal_authenticator::transport::InProcessTransport;
use serde::Deserialize;
use serde_json::json;

use super::cards::{insert, DemoCard};
use super::mailbox::{ago, links, mailbox, read_mail};
use super::Origins;
use crate::routes::responses::page;
use crate::routes::AppState;
use crate::startup::RouteHook;

/// What the dev page needs.
struct DevState {
    /// `HOST:PORT` of Cardinal, as browsers send it in `Host`.
    host: String,
    reader: Arc<Mutex<InProcessTransport>>,
    cards: Vec<DemoCard>,
    outbox: PathBuf,
    ecpa_url: String,
    webhr_url: String,
}

/// The `/dev` routes, for Cardinal's route hook.
pub(super) fn routes(
    origins: &Origins,
    reader: Arc<Mutex<InProcessTransport>>,
    cards: Vec<DemoCard>,
    outbox: PathBuf,
) -> RouteHook {
    let dev = web::Data::new(DevState {
        host: origins.cardinal.trim_start_matches("http://").to_string(),
        reader,
        cards,
        outbox,
        ecpa_url: origins.ecpa.clone(),
        webhr_url: origins.webhr.clone(),
    });
    Arc::new(move |cfg: &mut web::ServiceConfig| {
        cfg.service(
            web::scope("/dev")
                .app_data(dev.clone())
                .wrap(from_fn(this_computer_only))
                .route("", web::get().to(get_dev))
                .route("/reader", web::post().to(post_reader))
                .route("/admin", web::post().to(post_admin))
                .route("/mail/{name}", web::get().to(get_mail)),
        );
    })
}

async fn get_dev(state: web::Data<AppState>, dev: web::Data<DevState>) -> HttpResponse {
    let current = dev
        .reader
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .card()
        .map(|c| c.card_number().to_string());
    let cards: Vec<_> = dev
        .cards
        .iter()
        .map(|c| {
            json!({
                "key": c.key,
                "label": c.label,
                "card_number": c.file.card_number,
                "national_id": c.file.national_id,
                "household_no": c.household_no,
                "address": c.address,
                "pin": c.file.pin,
                "inserted": current.as_deref() == Some(c.file.card_number.as_str()),
            })
        })
        .collect();
    let outbox = dev.outbox.clone();
    let mails = web::block(move || mailbox(&outbox))
        .await
        .unwrap_or_default();
    let mails: Vec<_> = mails
        .iter()
        .map(|m| {
            json!({
                "name": m.name,
                "to": m.to,
                "subject": m.subject,
                "ago": ago(m.modified),
                "links": links(&m.text),
            })
        })
        .collect();
    page(
        &state,
        "dev",
        "zh-TW",
        StatusCode::OK,
        json!({
            "title": "Cardinal 示範環境",
            "cards": cards,
            "empty": current.is_none(),
            "mails": mails,
            "outbox": dev.outbox.display().to_string(),
            "ecpa_url": dev.ecpa_url,
            "webhr_url": dev.webhr_url,
        }),
    )
}

#[derive(Deserialize)]
struct ReaderForm {
    card: String,
}

/// Whether a TCP peer is this computer (`127.0.0.0/8`, `::1`, or IPv4-mapped loopback).
/// Only the peer counts: `X-Forwarded-For` or `Host` say nothing about who connected.
pub fn is_this_computer(peer: Option<SocketAddr>) -> bool {
    peer.is_some_and(|p| p.ip().to_canonical().is_loopback())
}

/// Middleware of every `/dev` route: requests from other hosts get 403, whatever address
/// the demo listens on.
async fn this_computer_only(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if is_this_computer(req.peer_addr()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    tracing::warn!(peer = ?req.peer_addr(), path = req.path(), "refused the dev page to another host");
    Ok(req.into_response(
        HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body("refused: the demo's dev page answers only this computer (127.0.0.1)"),
    ))
}

/// Only the demo's own pages may post the dev forms. Browsers say where a request comes
/// from in Sec-Fetch-Site (`Origin` is `null` here: the pages are sent with no-referrer);
/// a request without it is refused, and the `Host` must be the address the demo listens on
/// (a DNS-rebinding page calls itself same-origin under another host name).
fn cross_site(req: &HttpRequest, dev: &DevState) -> Option<HttpResponse> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let same_origin = header("sec-fetch-site").is_some_and(|site| site == "same-origin");
    let our_host = header("host").is_some_and(|h| h == dev.host);
    (!(same_origin && our_host)).then(|| {
        HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body("refused: only the dev page itself may do this")
    })
}

fn dev_error(message: String) -> HttpResponse {
    HttpResponse::BadRequest()
        .content_type("text/plain; charset=utf-8")
        .body(message)
}

async fn post_reader(
    req: HttpRequest,
    dev: web::Data<DevState>,
    form: web::Form<ReaderForm>,
) -> HttpResponse {
    if let Some(refused) = cross_site(&req, &dev) {
        return refused;
    }
    let key = (form.card != "none").then_some(form.card.as_str());
    match insert(&dev.reader, &dev.cards, key) {
        Ok(()) => HttpResponse::SeeOther()
            .insert_header(("location", "/dev"))
            .finish(),
        Err(e) => dev_error(format!("{e}: choose one of the demo cards on /dev")),
    }
}

/// Grants the admin role to the holder of a demo card (who must have registered), so that
/// the console at `/admin` can be tried without the CLI.
async fn post_admin(
    req: HttpRequest,
    state: web::Data<AppState>,
    dev: web::Data<DevState>,
    form: web::Form<ReaderForm>,
) -> HttpResponse {
    if let Some(refused) = cross_site(&req, &dev) {
        return refused;
    }
    let Some(card) = dev.cards.iter().find(|c| c.key == form.card) else {
        return dev_error("no such demo card: choose one on /dev".into());
    };
    let engine = state.engine.clone();
    let number = card.file.card_number.clone();
    let by = crate::admin::Actor::dev_page(state.browser(&req).ip);
    match web::block(move || crate::admin::roles::grant(&engine, &by, &number)).await {
        Ok(Ok(_)) | Ok(Err(crate::admin::AdminError::Conflict(_))) => HttpResponse::SeeOther()
            .insert_header(("location", "/admin"))
            .finish(),
        Ok(Err(e)) => dev_error(format!(
            "{e}. Register the card first (健保卡網路服務註冊), then grant the role."
        )),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn get_mail(
    state: web::Data<AppState>,
    dev: web::Data<DevState>,
    name: web::Path<String>,
) -> HttpResponse {
    let name = name.into_inner();
    let valid = name.ends_with(".eml")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    let path = dev.outbox.join(&name);
    let mail = if valid {
        web::block(move || read_mail(&path)).await.ok().flatten()
    } else {
        None
    };
    match mail {
        Some(m) => page(
            &state,
            "dev_mail",
            "zh-TW",
            StatusCode::OK,
            json!({
                "title": m.subject,
                "to": m.to,
                "subject": m.subject,
                "text": m.text,
                "links": links(&m.text),
            }),
        ),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such mail in the outbox"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_page_is_for_this_computer_only() {
        let peer = |s: &str| Some(s.parse::<SocketAddr>().unwrap());
        assert!(is_this_computer(peer("127.0.0.1:5000")));
        assert!(is_this_computer(peer("127.8.9.10:5000")));
        assert!(is_this_computer(peer("[::1]:5000")));
        assert!(is_this_computer(peer("[::ffff:127.0.0.1]:5000")));
        assert!(!is_this_computer(peer("192.0.2.7:5000")));
        assert!(!is_this_computer(peer("[2001:db8::1]:5000")));
        assert!(!is_this_computer(peer("[::ffff:192.0.2.7]:5000")));
        assert!(!is_this_computer(None));
    }
}
