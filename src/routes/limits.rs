//! What anyone on the network may make the server do (docs/limits.md,
//! docs/requirements.md R-X-3): requests whose head is larger than `http.max_header_bytes`
//! are answered 431, and requests that write to the database without an authenticated
//! caller are charged to their payer's flood budget (`crate::limits`) and answered 429 with
//! `Retry-After` once it is spent.
//!
//! The flood budgets (one-minute windows, per address or named network):
//!
//! | budget | requests | charged | given back | default |
//! |---|---|---|---|---|
//! | `card` | `POST /card/challenge`, `POST /card/check` | on arrival | when the challenge is used by a card check or form that succeeds | 300 |
//! | `authorize` | `GET`/`POST /authorize` | on arrival | when its sign-in finishes (a code or a cancel) | 300 |
//! | `forms` | `POST /interaction/…`, `GET`/`POST /logout`, `POST /logout/confirm`, `POST /register…` but the password check | on arrival | when it succeeds (an answer below 400) | 600 |
//! | `client-auth` | `POST /token`, `/introspect`, `/revoke` | when answered 401 | never | 60 |
//!
//! So a budget counts unfinished or failed work, never a person who succeeds: an agency's
//! staff behind one address sign in at 08:00 without spending it. Charging on arrival bounds
//! what requests in flight may do before their outcome is known. When the database cannot
//! count, the request goes through (it will meet the database again in its handler) and a
//! warning is logged.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::context::Context;
use crate::limits::{record_refusal, retry_after, Budget, Payer, FLOOD_WINDOW};
use crate::routes::AppState;

/// The flood budget of a request, by method and path. `path` is the path as the router
/// sees it (percent-decoded where actix decodes it), so that `/card/chall%65nge` is counted
/// like `/card/challenge`.
pub fn classify(method: &Method, path: &str) -> Option<Budget> {
    let get = method == Method::GET;
    let post = method == Method::POST;
    match path {
        "/card/challenge" | "/card/check" if post => Some(Budget::Card),
        "/authorize" if get || post => Some(Budget::Authorize),
        "/token" | "/introspect" | "/revoke" if post => Some(Budget::ClientAuth),
        "/logout" if get || post => Some(Budget::Forms),
        // Counted on its own (per browser, per address and per reset link): it writes
        // nothing but its counters.
        "/register/password-check" => None,
        _ if post
            && (path == "/logout/confirm"
                || path.starts_with("/interaction/")
                || path == "/register"
                || path.starts_with("/register/")) =>
        {
            Some(Budget::Forms)
        }
        _ => None,
    }
}

/// What a response gives back to its payer's flood budgets: the request turned out to be
/// part of something that succeeded (a sign-in finished, a card check passed).
#[derive(Debug, Clone, Default)]
pub struct Refund(Vec<(Budget, i32)>);

/// Marks `response` as finishing what `budgets` were charged for.
pub fn give_back(response: &mut HttpResponse, budgets: &[(Budget, i32)]) {
    let mut extensions = response.extensions_mut();
    match extensions.get_mut::<Refund>() {
        Some(refund) => refund.0.extend_from_slice(budgets),
        None => {
            extensions.insert(Refund(budgets.to_vec()));
        }
    }
}

/// A response to a form whose card challenge was answered and whose action succeeded: the
/// challenge is given back.
pub fn card_used(mut response: HttpResponse) -> HttpResponse {
    give_back(&mut response, &[(Budget::Card, 1)]);
    response
}

/// Whether every request is charged on arrival (else only a failed client authentication).
fn charged_on_arrival(budget: Budget) -> bool {
    budget != Budget::ClientAuth
}

fn too_many_requests(budget: Budget, retry_after: i64) -> HttpResponse {
    let message = format!(
        "Too many unfinished requests from your network address: try again in {retry_after} \
         seconds. If many people share this address (an agency's network), ask your IT staff \
         to have it named in this service's settings. 您的網路位址送出的未完成要求過多，請於 \
         {retry_after} 秒後再試；如貴機關同仁經由同一網路位址上網，請機關資訊人員洽本服務設定機關網段。"
    );
    let mut response = HttpResponse::TooManyRequests();
    response
        .insert_header((header::RETRY_AFTER, retry_after.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    match budget {
        // The card pages read `{error, message}`; OAuth clients `{error, error_description}`.
        Budget::Card => response.json(json!({ "error": "rate_limited", "message": message })),
        Budget::ClientAuth => {
            response.json(json!({ "error": "rate_limited", "error_description": message }))
        }
        _ => response
            .content_type("text/plain; charset=utf-8")
            .body(message),
    }
}

/// Charges the request (or, for client authentication, reads the failures so far): the
/// count after it, and whether it was refused.
fn charge(
    ctx: &Context,
    budget: Budget,
    bucket: &str,
    max: i32,
) -> crate::store::StoreResult<(i32, bool)> {
    let now = ctx.now();
    if charged_on_arrival(budget) {
        let n = ctx.store().hit(bucket, FLOOD_WINDOW, now)?;
        return Ok((n, n > max));
    }
    // Refused once the failures so far reach the limit; a refused request counts as one
    // more failure (so that the first refusal is known).
    let failures = ctx.store().hits(bucket, FLOOD_WINDOW, now)?;
    if failures < max {
        return Ok((failures, false));
    }
    Ok((ctx.store().hit(bucket, FLOOD_WINDOW, now)?, true))
}

/// After the response: what it gives back (`budget`: the request's own flood budget, if it
/// has one), and a failed client authentication counted.
fn settle(
    ctx: &Context,
    budget: Option<Budget>,
    payer: &Payer,
    status: StatusCode,
    refund: Option<Refund>,
) {
    let now = ctx.now();
    let store = ctx.store();
    let mut result = Ok(());
    if budget == Some(Budget::Forms) && status.as_u16() < 400 {
        result = result.and(store.refund(&payer.bucket(Budget::Forms), FLOOD_WINDOW, now, 1));
    }
    for (b, n) in refund.map(|r| r.0).unwrap_or_default() {
        result = result.and(store.refund(&payer.bucket(b), FLOOD_WINDOW, now, n));
    }
    if budget == Some(Budget::ClientAuth) && status == StatusCode::UNAUTHORIZED {
        result = result.and(
            store
                .hit(&payer.bucket(Budget::ClientAuth), FLOOD_WINDOW, now)
                .map(|_| ()),
        );
    }
    if let Err(e) = result {
        tracing::warn!(error = ?e, "flood budget not settled");
    }
}

/// Middleware: the flood budgets of the module documentation.
pub async fn limit_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let budget = classify(req.method(), req.match_info().as_str());
    let ip = crate::routes::client_ip(req.request(), &state.trusted_proxies);
    let limits = &state.engine.settings().limits;
    let payer = Payer::of(limits, Some(ip));
    if let Some(budget) = budget {
        let max = payer.limit(limits, budget);
        let ctx = state.engine.context().clone();
        let bucket = payer.bucket(budget);
        let counted =
            web::block(move || charge(&ctx, budget, &bucket, max).map(|c| (c, ctx.now()))).await;
        match counted {
            Ok(Ok(((n, true), now))) => {
                let ip_text = ip.to_string();
                record_refusal(
                    state.engine.context(),
                    &payer,
                    budget,
                    Some(&ip_text),
                    n == max + 1,
                );
                return Ok(
                    req.into_response(too_many_requests(budget, retry_after(now, FLOOD_WINDOW)))
                );
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = ?e, budget = budget.name(), "flood budget not counted")
            }
            Err(e) => {
                tracing::warn!(error = %e, budget = budget.name(), "flood budget not counted")
            }
        }
    }
    let response = next.call(req).await?.map_into_boxed_body();
    let status = response.status();
    // A page that is not charged itself may still finish what others were (the
    // interaction's page answers the authorization request).
    let refund = response.response().extensions().get::<Refund>().cloned();
    let needs_settling = refund.is_some()
        || (budget == Some(Budget::Forms) && status.as_u16() < 400)
        || (budget == Some(Budget::ClientAuth) && status == StatusCode::UNAUTHORIZED);
    if needs_settling {
        let ctx = state.engine.context().clone();
        if let Err(e) = web::block(move || settle(&ctx, budget, &payer, status, refund)).await {
            tracing::warn!(error = %e, "flood budget not settled");
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
    fn unauthenticated_writes_have_a_budget_and_reads_do_not() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(classify(&post, "/card/challenge"), Some(Budget::Card));
        assert_eq!(classify(&post, "/card/check"), Some(Budget::Card));
        assert_eq!(classify(&get, "/authorize"), Some(Budget::Authorize));
        assert_eq!(classify(&post, "/authorize"), Some(Budget::Authorize));
        assert_eq!(
            classify(&post, "/interaction/abc/consent"),
            Some(Budget::Forms)
        );
        assert_eq!(
            classify(&post, "/interaction/abc/card"),
            Some(Budget::Forms)
        );
        assert_eq!(classify(&get, "/logout"), Some(Budget::Forms));
        assert_eq!(classify(&post, "/logout/confirm"), Some(Budget::Forms));
        assert_eq!(classify(&post, "/register/apply"), Some(Budget::Forms));
        assert_eq!(classify(&post, "/register/login"), Some(Budget::Forms));
        assert_eq!(classify(&post, "/token"), Some(Budget::ClientAuth));
        assert_eq!(classify(&post, "/revoke"), Some(Budget::ClientAuth));
        for (method, path) in [
            (&get, "/interaction/abc"),
            (&get, "/register/apply"),
            (&get, "/card/challenge"),
            (&get, "/jwks"),
            (&get, "/healthz"),
            (&post, "/userinfo"),
            (&post, "/admin/api/v1/clients"),
            (&post, "/registered"),
            (&post, "/register/password-check"),
        ] {
            assert_eq!(classify(method, path), None, "{method} {path}");
        }
    }

    #[test]
    fn refunds_of_one_response_add_up() {
        let mut response = HttpResponse::Ok().finish();
        give_back(&mut response, &[(Budget::Card, 1)]);
        give_back(&mut response, &[(Budget::Authorize, 1), (Budget::Card, 1)]);
        let refund = response.extensions().get::<Refund>().cloned().unwrap();
        assert_eq!(
            refund.0,
            vec![(Budget::Card, 1), (Budget::Authorize, 1), (Budget::Card, 1)]
        );
    }
}
