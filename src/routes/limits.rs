//! What anyone on the network may make the server do (issue 10,
//! docs/requirements.md R-X-3): requests whose head is larger than `http.max_header_bytes`
//! are answered 431, and requests that write to the database without an authenticated
//! caller are counted per client address in the database (so every instance on one database
//! shares the count) and answered 429 with `Retry-After` past the `[limits]` of their
//! bucket.
//!
//! The buckets (one-minute fixed windows, per address; an IPv6 address counts by its /64,
//! which one host usually holds whole):
//!
//! | bucket | requests | default |
//! |---|---|---|
//! | `card` | `POST /card/challenge`, `POST /card/check` | 300 |
//! | `authorize` | `GET`/`POST /authorize` (each may create an interaction row) | 300 |
//! | `forms` | `POST /interaction/…`, `GET`/`POST /logout`, `POST /logout/confirm`, `POST /register…` | 600 |
//! | `client-auth` | failed client authentication at `POST /token`, `/introspect`, `/revoke` (an audit row each) | 60 |
//!
//! The `client-auth` bucket counts only answers 401: relying parties' servers, which may
//! send many requests from one address, are never slowed down while they authenticate.
//! When the database cannot count, the request goes through (it will meet the database
//! again in its handler) and a warning is logged.

use std::net::IpAddr;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::configuration::LimitSettings;
use crate::routes::AppState;

/// The window of every per-address limit (seconds).
pub const WINDOW: i64 = 60;

/// A kind of request that is counted on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Card,
    Authorize,
    Forms,
    ClientAuth,
}

impl Bucket {
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Card => "card",
            Bucket::Authorize => "authorize",
            Bucket::Forms => "forms",
            Bucket::ClientAuth => "client-auth",
        }
    }

    pub fn limit(self, limits: &LimitSettings) -> i32 {
        match self {
            Bucket::Card => limits.card_per_ip_per_minute,
            Bucket::Authorize => limits.authorize_per_ip_per_minute,
            Bucket::Forms => limits.forms_per_ip_per_minute,
            Bucket::ClientAuth => limits.client_auth_failures_per_ip_per_minute,
        }
    }

    /// Whether every request counts (else only a failed client authentication does).
    fn counts_every_request(self) -> bool {
        self != Bucket::ClientAuth
    }
}

/// The bucket of a request, by method and path. `path` is the path as the router sees
/// it (percent-decoded where actix decodes it), so that `/card/chall%65nge` is counted
/// like `/card/challenge`.
pub fn classify(method: &Method, path: &str) -> Option<Bucket> {
    let get = method == Method::GET;
    let post = method == Method::POST;
    match path {
        "/card/challenge" | "/card/check" if post => Some(Bucket::Card),
        "/authorize" if get || post => Some(Bucket::Authorize),
        "/token" | "/introspect" | "/revoke" if post => Some(Bucket::ClientAuth),
        "/logout" if get || post => Some(Bucket::Forms),
        _ if post
            && (path == "/logout/confirm"
                || path.starts_with("/interaction/")
                || path == "/register"
                || path.starts_with("/register/")) =>
        {
            Some(Bucket::Forms)
        }
        _ => None,
    }
}

/// The address a limit counts: IPv4 as is (an IPv4-mapped IPv6 address too), IPv6 by
/// its /64.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        },
    }
}

/// Seconds until the window that contains `now` is over (at least 1).
pub fn retry_after(now: i64) -> i64 {
    (WINDOW - now.rem_euclid(WINDOW)).max(1)
}

fn too_many_requests(bucket: Bucket, retry_after: i64) -> HttpResponse {
    let message = format!(
        "Too many requests from your network address: try again in {retry_after} seconds. \
         您的網路位址送出的要求過多，請於 {retry_after} 秒後再試。"
    );
    let mut response = HttpResponse::TooManyRequests();
    response
        .insert_header((header::RETRY_AFTER, retry_after.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    match bucket {
        // The card pages read `{error, message}`; OAuth clients `{error, error_description}`.
        Bucket::Card => response.json(json!({ "error": "rate_limited", "message": message })),
        Bucket::ClientAuth => {
            response.json(json!({ "error": "rate_limited", "error_description": message }))
        }
        Bucket::Authorize | Bucket::Forms => response
            .content_type("text/plain; charset=utf-8")
            .body(message),
    }
}

/// Middleware: the per-address limits of the module documentation.
pub async fn limit_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let bucket = classify(req.method(), req.match_info().as_str());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(bucket), Some(state)) = (bucket, state) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let ip = crate::routes::client_ip(req.request(), &state.trusted_proxies);
    let key = format!("limit:{}:{}", bucket.name(), address_key(ip));
    let max = bucket.limit(&state.engine.settings().limits);
    let counted = {
        let engine = state.engine.clone();
        let key = key.clone();
        web::block(move || {
            let now = engine.now();
            let hits = if bucket.counts_every_request() {
                engine.store().hit(&key, WINDOW, now)?
            } else {
                // A request is refused once the failures so far reach the limit.
                engine.store().hits(&key, WINDOW, now)? + 1
            };
            Ok::<_, crate::store::StoreError>((hits, now))
        })
        .await
    };
    match counted {
        Ok(Ok((hits, now))) if hits > max => {
            if hits == max + 1 && bucket.counts_every_request() {
                tracing::warn!(
                    bucket = bucket.name(),
                    ip = %ip,
                    limit = max,
                    "rate limit reached: refusing this address until the minute is over"
                );
            } else {
                tracing::debug!(bucket = bucket.name(), ip = %ip, "rate limited");
            }
            return Ok(req.into_response(too_many_requests(bucket, retry_after(now))));
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = ?e, bucket = bucket.name(), "rate limit not counted"),
        Err(e) => tracing::warn!(error = %e, bucket = bucket.name(), "rate limit not counted"),
    }
    let response = next.call(req).await?.map_into_boxed_body();
    if !bucket.counts_every_request() && response.status() == StatusCode::UNAUTHORIZED {
        let engine = state.engine.clone();
        let counted = web::block(move || engine.store().hit(&key, WINDOW, engine.now())).await;
        if !matches!(counted, Ok(Ok(_))) {
            tracing::warn!(
                bucket = bucket.name(),
                "failed client authentication not counted"
            );
        }
    }
    Ok(response)
}

/// The size of a request's head as HTTP/1.1 would send it: the request line and every
/// header line (`name: value` and CRLF).
pub fn head_bytes(req: &ServiceRequest) -> usize {
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().len())
        .unwrap_or(1);
    let request_line = req.method().as_str().len() + 1 + target + " HTTP/1.1\r\n".len();
    req.headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum::<usize>()
        + request_line
}

/// Middleware: a request head over `http.max_header_bytes` is answered 431 before any
/// handler sees it (actix itself accepts up to 128 KiB).
pub async fn limit_header_size(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let max = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.engine.settings().http.max_header_bytes);
    let size = head_bytes(&req);
    match max {
        Some(max) if size > max => {
            tracing::info!(
                bytes = size,
                limit = max,
                "refused a request whose headers are too large"
            );
            let response = HttpResponse::build(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
                .insert_header((header::CONNECTION, "close"))
                .content_type("text/plain; charset=utf-8")
                .body(format!(
                    "Request headers too large: {size} bytes, at most {max} are accepted \
                     (too many or too large cookies?). 要求標頭過大（{size} 位元組，上限 {max}），\
                     請清除本網站的 Cookie 後再試。"
                ));
            Ok(req.into_response(response))
        }
        _ => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthenticated_writes_have_a_bucket_and_reads_do_not() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(classify(&post, "/card/challenge"), Some(Bucket::Card));
        assert_eq!(classify(&post, "/card/check"), Some(Bucket::Card));
        assert_eq!(classify(&get, "/authorize"), Some(Bucket::Authorize));
        assert_eq!(classify(&post, "/authorize"), Some(Bucket::Authorize));
        assert_eq!(
            classify(&post, "/interaction/abc/consent"),
            Some(Bucket::Forms)
        );
        assert_eq!(
            classify(&post, "/interaction/abc/card"),
            Some(Bucket::Forms)
        );
        assert_eq!(classify(&get, "/logout"), Some(Bucket::Forms));
        assert_eq!(classify(&post, "/logout/confirm"), Some(Bucket::Forms));
        assert_eq!(classify(&post, "/register/apply"), Some(Bucket::Forms));
        assert_eq!(classify(&post, "/register/login"), Some(Bucket::Forms));
        assert_eq!(classify(&post, "/token"), Some(Bucket::ClientAuth));
        assert_eq!(classify(&post, "/revoke"), Some(Bucket::ClientAuth));
        for (method, path) in [
            (&get, "/interaction/abc"),
            (&get, "/register/apply"),
            (&get, "/card/challenge"),
            (&get, "/jwks"),
            (&get, "/healthz"),
            (&post, "/userinfo"),
            (&post, "/admin/api/v1/clients"),
            (&post, "/registered"),
        ] {
            assert_eq!(classify(method, path), None, "{method} {path}");
        }
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        assert_eq!(address_key(a), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7");
    }

    #[test]
    fn retry_after_is_the_rest_of_the_window() {
        assert_eq!(retry_after(120), 60);
        assert_eq!(retry_after(121), 59);
        assert_eq!(retry_after(179), 1);
    }
}
