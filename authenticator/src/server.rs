//! The local API (docs/card-protocol.md §3 and §7) on 127.0.0.1.
//!
//! Every request passes [`guard`] first: the `Host` header must name this loopback
//! listener (DNS rebinding), the `Origin` must be on the allowlist — every endpoint
//! touches the card (even `GET /v1/status` reads each card's kind), so a request
//! without `Origin`, or with one not on the list, gets 403 before any card I/O —
//! preflights are answered there, and answers to allowed origins get
//! `Access-Control-Allow-Origin` and `Vary: Origin`. Card operations run on the
//! blocking pool, one at a time.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer, ResponseError};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::card::{self, CardInfo, Pin};
use crate::error::Error;
use crate::transport::{CardTransport, ReaderStatus};

/// The default `--listen`.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 7777);
const REQUEST_PRIVATE_NETWORK: &str = "access-control-request-private-network";
const ALLOW_PRIVATE_NETWORK: &str = "access-control-allow-private-network";
const MAX_BODY: usize = 16 * 1024;

/// What the local API needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Must be `127.0.0.1:PORT`; port 0 picks a free port (see [`LocalServer::local_addr`]).
    pub listen: SocketAddr,
    /// Web origins (`https://host[:port]`) allowed to use the API.
    pub allowed_origins: Vec<String>,
    /// actix workers; 1 is plenty for one user's browser.
    pub workers: usize,
}

impl ServerConfig {
    pub fn new(listen: SocketAddr, allowed_origins: Vec<String>) -> Self {
        Self {
            listen,
            allowed_origins,
            workers: 1,
        }
    }
}

/// The transport, shared by the handlers behind one mutex: one card operation at a time.
pub type SharedTransport = Arc<Mutex<Box<dyn CardTransport>>>;

struct ApiState {
    transport: SharedTransport,
    allowed_origins: Vec<String>,
    port: u16,
}

/// A bound, not yet awaited, local API server.
pub struct LocalServer {
    addr: SocketAddr,
    server: Server,
}

impl LocalServer {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The actix server: await it to run, or use `handle()` to stop it.
    pub fn into_server(self) -> Server {
        self.server
    }
}

/// Checks an origin and returns it in the form browsers send:
/// `scheme://host[:port]`, lower case, no trailing slash.
pub fn normalize_origin(origin: &str) -> Result<String, Error> {
    let bad = |why: &str| Error::Config(format!("allowed origin {origin:?} {why}"));
    let trimmed = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| bad("must start with https:// or http://"))?;
    if rest.is_empty() {
        return Err(bad("has no host"));
    }
    if rest.contains(['/', '?', '#', '@', '*', ' ']) {
        return Err(bad(
            "must be scheme://host[:port] with no path, query or wildcard",
        ));
    }
    Ok(trimmed)
}

/// Binds the listener and builds the server. Refuses any address but 127.0.0.1.
pub fn build(
    config: ServerConfig,
    transport: Box<dyn CardTransport>,
) -> Result<LocalServer, Error> {
    build_shared(config, Arc::new(Mutex::new(transport)))
}

/// [`build`] with a transport the caller keeps a handle to.
pub fn build_shared(
    config: ServerConfig,
    transport: SharedTransport,
) -> Result<LocalServer, Error> {
    if config.listen.ip() != std::net::IpAddr::V4(Ipv4Addr::LOCALHOST) {
        return Err(Error::Config(format!(
            "refusing to listen on {}: the authenticator listens on 127.0.0.1 only \
             (use --listen 127.0.0.1:PORT)",
            config.listen
        )));
    }
    let allowed_origins = config
        .allowed_origins
        .iter()
        .map(|o| normalize_origin(o))
        .collect::<Result<Vec<_>, _>>()?;
    if allowed_origins.is_empty() {
        tracing::warn!("no --allow-origin given: every browser request will be refused");
    }
    let listener = TcpListener::bind(config.listen)
        .map_err(|e| Error::io(format!("Failed to listen on {}", config.listen), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("Failed to read the bound address", e))?;
    let state = web::Data::new(ApiState {
        transport,
        allowed_origins,
        port: addr.port(),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .wrap(from_fn(guard))
            .route("/v1/status", web::get().to(get_status))
            .route("/v1/card/read", web::post().to(post_card_read))
            .route(
                "/v1/card/authenticate",
                web::post().to(post_card_authenticate),
            )
    })
    .workers(config.workers.max(1))
    .listen(listener)
    .map_err(|e| Error::io(format!("Failed to listen on {addr}"), e))?
    .run();
    tracing::info!(%addr, "cardinal-authenticator listening");
    Ok(LocalServer { addr, server })
}

// ---------------------------------------------------------------------------
// Host / Origin / CORS guard
// ---------------------------------------------------------------------------

fn host_is_local(host: Option<&HeaderValue>, port: u16) -> bool {
    let Some(host) = host.and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    host == format!("127.0.0.1:{port}") || host == format!("localhost:{port}")
}

async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<ApiState>>().cloned() else {
        return Ok(req.into_response(Error::card("server state missing").error_response()));
    };
    if !host_is_local(req.headers().get(header::HOST), state.port) {
        tracing::warn!(
            host = ?req.headers().get(header::HOST),
            path = req.path(),
            "refused a request with a foreign Host header (DNS rebinding?)"
        );
        let error = Error::OriginNotAllowed {
            origin: format!(
                "(Host header is not 127.0.0.1:{0} or localhost:{0})",
                state.port
            ),
        };
        return Ok(req.into_response(error.error_response()));
    }
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .map(|o| o.to_str().unwrap_or("(not ASCII)").to_owned());
    // No exception for a request without `Origin` (curl, a script, another program on
    // this computer): nothing that reaches the card is answered to it.
    let origin = match origin {
        Some(o) if state.allowed_origins.contains(&o) => o,
        other => {
            let origin = other.unwrap_or_else(|| "(none)".to_owned());
            tracing::warn!(%origin, path = req.path(), "refused a request from an origin not on the allowlist");
            return Ok(req.into_response(Error::OriginNotAllowed { origin }.error_response()));
        }
    };
    let allow_origin = HeaderValue::from_str(&origin).map_err(actix_web::error::ErrorBadRequest)?;
    if req.method() == Method::OPTIONS {
        let mut preflight = HttpResponse::NoContent();
        preflight
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin))
            .insert_header((header::VARY, "Origin"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "content-type"))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"));
        let wants_private_network = req
            .headers()
            .get(REQUEST_PRIVATE_NETWORK)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
        if wants_private_network {
            preflight.insert_header((HeaderName::from_static(ALLOW_PRIVATE_NETWORK), "true"));
        }
        return Ok(req.into_response(preflight.finish()));
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    let headers = res.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    Ok(res)
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tries_left: Option<u8>,
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let tries_left = match self {
            Error::PinWrong { tries_left } => Some(*tries_left),
            _ => None,
        };
        HttpResponse::build(self.status_code()).json(ErrorBody {
            error: self.code(),
            message: self.to_string(),
            tries_left,
        })
    }
}

/// Runs a card operation on the blocking pool while holding the transport.
async fn run_card<T: Send + 'static>(
    transport: &SharedTransport,
    op: impl FnOnce(&mut dyn CardTransport) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let transport = Arc::clone(transport);
    web::block(move || {
        let mut guard = transport.lock().map_err(|_| {
            Error::card("an earlier card operation failed badly: restart the authenticator")
        })?;
        op(guard.as_mut())
    })
    .await
    .map_err(|_| Error::card("the card operation was cancelled"))?
}

fn parse_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| Error::bad_request(format!("invalid JSON body: {e}")))
}

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

#[derive(Serialize)]
struct StatusReader {
    name: String,
    card_present: bool,
    card_kind: Option<String>,
}

#[derive(Serialize)]
struct StatusBody {
    version: &'static str,
    readers: Vec<StatusReader>,
}

/// `GET /v1/status`. When pcscd is down this still answers, with no readers, so
/// that the IdP's environment check can see the authenticator and its version.
async fn get_status(state: web::Data<ApiState>) -> Result<HttpResponse, Error> {
    let readers = run_card(&state.transport, |transport| {
        let readers = match transport.readers() {
            Ok(readers) => readers,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list card readers");
                return Ok(Vec::new());
            }
        };
        Ok(readers
            .into_iter()
            .map(|ReaderStatus { name, card_present }| {
                let card_kind = card_present
                    .then(|| card::read(transport, Some(&name)).ok())
                    .flatten()
                    .map(|info| info.card_kind);
                StatusReader {
                    name,
                    card_present,
                    card_kind,
                }
            })
            .collect())
    })
    .await?;
    Ok(HttpResponse::Ok().json(StatusBody {
        version: env!("CARGO_PKG_VERSION"),
        readers,
    }))
}

#[derive(Deserialize, Default)]
struct ReadRequest {
    reader: Option<String>,
}

/// `POST /v1/card/read`: card number, name and kind — nothing else.
async fn post_card_read(
    req: HttpRequest,
    state: web::Data<ApiState>,
    body: web::Bytes,
) -> Result<web::Json<CardInfo>, Error> {
    let request: ReadRequest = parse_body(&body)?;
    tracing::info!(origin = ?req.headers().get(header::ORIGIN), "card read");
    let info = run_card(&state.transport, move |transport| {
        card::read(transport, request.reader.as_deref())
    })
    .await?;
    Ok(web::Json(info))
}

/// Unknown fields (such as an `origin`) are ignored: the signed origin is the
/// request's `Origin` header.
#[derive(Deserialize, Default)]
struct AuthenticateRequest {
    #[serde(default)]
    challenge: String,
    pin: Option<SecretString>,
    reader: Option<String>,
}

/// `POST /v1/card/authenticate`: the `cardinal-card/1` token.
async fn post_card_authenticate(
    req: HttpRequest,
    state: web::Data<ApiState>,
    body: web::Bytes,
) -> Result<HttpResponse, Error> {
    let request: AuthenticateRequest = parse_body(&body)?;
    // The guard let this request through only with an allowed Origin.
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .ok_or_else(|| Error::OriginNotAllowed {
            origin: "(none)".into(),
        })?
        .to_owned();
    card::check_challenge(&request.challenge)?;
    let pin = request.pin.map(Pin::parse).transpose()?;
    tracing::info!(%origin, pin_given = pin.is_some(), "card authenticate");
    let AuthenticateRequest {
        challenge, reader, ..
    } = request;
    let token = run_card(&state.transport, move |transport| {
        card::authenticate(
            transport,
            reader.as_deref(),
            &origin,
            &challenge,
            pin.as_ref(),
        )
    })
    .await;
    match &token {
        Ok(token) => tracing::info!(card_kind = %token.card_kind, "card signed the challenge"),
        Err(e) => tracing::info!(error = e.code(), "card authentication failed"),
    }
    Ok(HttpResponse::Ok().json(token?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalized_and_checked() {
        assert_eq!(
            normalize_origin("https://IdP.example.gov.tw/").unwrap(),
            "https://idp.example.gov.tw"
        );
        assert_eq!(
            normalize_origin("http://localhost:8080").unwrap(),
            "http://localhost:8080"
        );
        assert!(normalize_origin("idp.example.gov.tw").is_err());
        assert!(normalize_origin("https://idp.example.gov.tw/login").is_err());
        assert!(normalize_origin("https://*.gov.tw").is_err());
        assert!(normalize_origin("null").is_err());
    }

    #[test]
    fn host_must_name_the_loopback_listener() {
        let h = |s: &'static str| HeaderValue::from_static(s);
        assert!(host_is_local(Some(&h("127.0.0.1:7777")), 7777));
        assert!(host_is_local(Some(&h("localhost:7777")), 7777));
        assert!(!host_is_local(Some(&h("127.0.0.1:7778")), 7777));
        assert!(!host_is_local(Some(&h("evil.example:7777")), 7777));
        assert!(!host_is_local(None, 7777));
    }

    #[test]
    fn build_refuses_a_non_loopback_listen_address() {
        let config = ServerConfig::new("0.0.0.0:0".parse().unwrap(), vec![]);
        let transport = Box::new(crate::transport::InProcessTransport::empty());
        let err = build(config, transport).err().unwrap();
        assert!(err.to_string().contains("127.0.0.1 only"), "{err}");
    }
}
