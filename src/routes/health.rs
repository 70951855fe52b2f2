//! `/healthz`, `/readyz`, `/metrics` (R-OPS-4; `/metrics` on its own listener).

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;
use crate::oidc::SigningAlg;

pub async fn get_healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready when the database answers and a signing key is active for each algorithm.
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
    match result {
        Ok((true, true)) => {
            HttpResponse::Ok().json(json!({ "status": "ready", "database": true, "keys": true }))
        }
        Ok((db, keys)) => HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "unavailable", "database": db, "keys": keys })),
        Err(_) => HttpResponse::ServiceUnavailable().json(json!({ "status": "unavailable" })),
    }
}

/// `GET /metrics` (Prometheus text), served only on the metrics listener
/// ([`crate::metrics::serve`]), never on the public port.
pub async fn get_metrics(engine: web::Data<crate::oidc::Engine>) -> HttpResponse {
    let (in_use, idle) = engine.store().pool_state();
    engine.metrics().set_pool(in_use, idle);
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
