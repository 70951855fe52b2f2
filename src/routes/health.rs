//! `/healthz`, `/readyz`, `/metrics` (R-OPS-4; `/metrics` on its own listener).

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;
use crate::card::IssuerStatus;
use crate::configuration::RevocationCheck;
use crate::oidc::SigningAlg;

pub async fn get_healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// What `/readyz` says about card sign-in: the revocation setting and the CAs whose cards
/// are refused now. Detail only: it does not change readiness (other sign-ins still work).
fn card_detail(state: &AppState) -> serde_json::Value {
    let trust = state.card.trust();
    let issuers = state.card.issuer_status();
    let check = trust.revocation_check();
    let names = |keep: fn(&IssuerStatus) -> bool| {
        issuers
            .iter()
            .filter(|i| keep(i))
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
    };
    let not_valid = names(|i| !i.valid);
    match check {
        RevocationCheck::Crl => json!({
            "revocation_check": check.as_str(),
            "issuers": issuers.len(),
            "issuer_not_valid": not_valid,
            "revocation_unknown": names(|i| !i.revocation_known),
        }),
        RevocationCheck::Off => json!({
            "revocation_check": check.as_str(),
            "issuers": issuers.len(),
            "issuer_not_valid": not_valid,
            "warning": "card revocation checking is off: a revoked card can sign in",
        }),
    }
}

/// Ready when the database answers and a signing key is active for each algorithm. The
/// `card` member tells the state of card sign-in (revocation checking, refused CAs).
pub async fn get_readyz(state: web::Data<AppState>) -> HttpResponse {
    let engine = state.engine.clone();
    let result = web::block(move || {
        let db = engine.store().ping().is_ok();
        let algs: Vec<SigningAlg> = engine
            .settings()
            .keys
            .algorithms
            .iter()
            .filter_map(|a| SigningAlg::parse(a).ok())
            .collect();
        let keys = db && engine.keys().ready(&algs, engine.now());
        (db, keys)
    })
    .await;
    let card = card_detail(&state);
    match result {
        Ok((true, true)) => HttpResponse::Ok()
            .json(json!({ "status": "ready", "database": true, "keys": true, "card": card })),
        Ok((db, keys)) => HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "unavailable", "database": db, "keys": keys, "card": card })),
        Err(_) => HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "unavailable", "card": card })),
    }
}

/// The metrics server: `GET /metrics` on `listener`, one worker, nothing else (404).
pub fn serve_metrics(
    listener: std::net::TcpListener,
    engine: crate::oidc::Engine,
    card: crate::card::CardService,
) -> std::io::Result<actix_web::dev::Server> {
    use actix_web::{App, HttpServer};
    let engine = web::Data::new(engine);
    let card = web::Data::new(card);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(engine.clone())
            .app_data(card.clone())
            .route("/metrics", web::get().to(get_metrics))
    })
    .workers(1)
    .shutdown_timeout(5)
    .listen(listener)?
    .run())
}

/// `GET /metrics` (Prometheus text), served only on the metrics listener
/// ([`serve_metrics`]), never on the public port.
pub async fn get_metrics(
    engine: web::Data<crate::oidc::Engine>,
    card: web::Data<crate::card::CardService>,
) -> HttpResponse {
    let (in_use, idle) = engine.store().pool_state();
    engine.metrics().set_pool(in_use, idle);
    let issuers = card.issuer_status();
    engine.metrics().set_card_crl_state(
        issuers.iter().filter(|i| !i.revocation_known).count(),
        issuers
            .iter()
            .filter_map(|i| Some((i.name.as_str(), i.crl_next_update?))),
    );
    let e = engine.clone();
    if let Ok(Ok(counts)) = web::block(move || e.store().registration_counts()).await {
        engine.metrics().set_registrations(&counts);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .insert_header(("cache-control", "no-store"))
        .body(engine.metrics().render())
}

pub async fn get_stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(crate::templates::STYLESHEET)
}
