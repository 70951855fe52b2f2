use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use cardinal_authenticator::card_file::CardKind;
use cardinal_authenticator::server::{self, ServerConfig};
use cardinal_authenticator::token::{signing_hash, CardToken};
use cardinal_authenticator::transport::{
    CardTransport, InProcessTransport, ReaderStatus, SessionOp,
};
use reqwest::header::{HeaderMap, HOST, ORIGIN as ORIGIN_HEADER};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::{self, CARD_NUMBER, NAME, ORIGIN, PIN};

const OTHER_ALLOWED: &str = "http://localhost:8080";

struct TestApi {
    base: String,
    port: u16,
    client: reqwest::Client,
}

impl TestApi {
    fn spawn(transport: impl CardTransport + 'static) -> Self {
        let config = ServerConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            vec![format!("{ORIGIN}/"), OTHER_ALLOWED.into()],
        );
        let server = server::build(config, Box::new(transport)).unwrap();
        let port = server.local_addr().port();
        actix_web::rt::spawn(server.into_server());
        Self {
            base: format!("http://127.0.0.1:{port}"),
            port,
            client: reqwest::Client::new(),
        }
    }

    fn with_card(kind: CardKind) -> Self {
        Self::spawn(InProcessTransport::new(support::virtual_card(kind)))
    }

    async fn post(&self, path: &str, origin: Option<&str>, body: Value) -> Response {
        let mut req = self.client.post(format!("{}{path}", self.base)).json(&body);
        if let Some(origin) = origin {
            req = req.header(ORIGIN_HEADER, origin);
        }
        req.send().await.unwrap()
    }

    async fn authenticate(&self, body: Value) -> Response {
        self.post("/v1/card/authenticate", Some(ORIGIN), body).await
    }
}

async fn error_of(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    (status, res.json().await.unwrap())
}

fn assert_cors(headers: &HeaderMap, origin: &str) {
    assert_eq!(headers["access-control-allow-origin"], origin);
    assert_eq!(headers["vary"], "Origin");
}

#[actix_web::test]
async fn status_lists_the_reader_card_and_kind() {
    let api = TestApi::with_card(CardKind::Moica);
    let res = api
        .client
        .get(format!("{}/v1/status", api.base))
        .header(ORIGIN_HEADER, ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_cors(res.headers(), ORIGIN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "version": "0.1.0",
            "readers": [{"name": "Cardinal Virtual Card 00 00", "card_present": true, "card_kind": "moica"}]
        })
    );
}

#[actix_web::test]
async fn status_from_an_allowed_origin_carries_cors_headers() {
    let api = TestApi::spawn(InProcessTransport::empty());
    let res = api
        .client
        .get(format!("{}/v1/status", api.base))
        .header(ORIGIN_HEADER, OTHER_ALLOWED)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_cors(res.headers(), OTHER_ALLOWED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["readers"][0]["card_present"], false);
    assert_eq!(body["readers"][0]["card_kind"], Value::Null);
}

#[actix_web::test]
async fn read_returns_exactly_number_name_and_kind() {
    let api = TestApi::with_card(CardKind::Nhi);
    let res = api.post("/v1/card/read", Some(ORIGIN), json!({})).await;
    assert_eq!(res.status(), 200);
    assert_cors(res.headers(), ORIGIN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"card_number": CARD_NUMBER, "name": NAME, "card_kind": "nhi"})
    );
    let text = body.to_string();
    assert!(!text.contains("A123456789") && !text.contains("1980"));
}

#[actix_web::test]
async fn read_accepts_an_empty_body_and_a_reader_name() {
    let api = TestApi::with_card(CardKind::Nhi);
    let res = api
        .client
        .post(format!("{}/v1/card/read", api.base))
        .header(ORIGIN_HEADER, ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = api
        .post(
            "/v1/card/read",
            Some(ORIGIN),
            json!({"reader": "Cardinal Virtual Card 00 00"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let (status, body) = error_of(
        api.post("/v1/card/read", Some(ORIGIN), json!({"reader": "Nope"}))
            .await,
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (503, Some("no_reader"))
    );
}

#[actix_web::test]
async fn read_without_a_card_is_no_card() {
    let api = TestApi::spawn(InProcessTransport::empty());
    let (status, body) = error_of(api.post("/v1/card/read", Some(ORIGIN), json!({})).await).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "no_card");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("insert the card"));
}

#[actix_web::test]
async fn authenticate_signs_the_origin_header_not_a_body_origin() {
    let file = support::card_file(CardKind::Nhi);
    let der = support::certificate_der(&file);
    let api = TestApi::spawn(InProcessTransport::new(
        cardinal_authenticator::virtual_card::VirtualCard::from_file(file).unwrap(),
    ));
    let challenge = "q83vEjRWeJA-_w";
    let res = api
        .authenticate(json!({"challenge": challenge, "origin": "https://evil.example"}))
        .await;
    assert_eq!(res.status(), 200);
    assert_cors(res.headers(), ORIGIN);
    let token: CardToken = res.json().await.unwrap();
    assert_eq!(token.format, "cardinal-card/1");
    assert_eq!(token.card_kind, "nhi");
    assert_eq!(STANDARD.decode(&token.certificate).unwrap(), der);
    let signature = URL_SAFE_NO_PAD.decode(&token.signature).unwrap();
    assert!(support::verify(
        &der,
        &signing_hash(ORIGIN, challenge),
        &signature
    ));
    assert!(!support::verify(
        &der,
        &signing_hash("https://evil.example", challenge),
        &signature
    ));
}

#[actix_web::test]
async fn foreign_origin_is_refused_without_touching_the_card() {
    let api = TestApi::with_card(CardKind::Moica);
    for path in ["/v1/card/read", "/v1/card/authenticate"] {
        let res = api
            .post(
                path,
                Some("https://evil.example"),
                json!({"challenge": "abc", "pin": "0000"}),
            )
            .await;
        assert!(res.headers().get("access-control-allow-origin").is_none());
        let (status, body) = error_of(res).await;
        assert_eq!(status, 403);
        assert_eq!(body["error"], "origin_not_allowed");
        assert!(body["message"].as_str().unwrap().contains("--allow-origin"));
    }
    // The wrong PIN above never reached the card: the right one still works first time.
    let res = api
        .authenticate(json!({"challenge": "abc", "pin": PIN}))
        .await;
    assert_eq!(res.status(), 200);
}

/// A transport that counts every call, to show that a refused request never reached the
/// card (nor even listed the readers).
struct CountingTransport {
    inner: InProcessTransport,
    calls: Arc<AtomicUsize>,
}

impl CardTransport for CountingTransport {
    fn readers(&mut self) -> Result<Vec<ReaderStatus>, cardinal_authenticator::error::Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.readers()
    }

    fn wait_for_card(
        &mut self,
        reader: Option<&str>,
        timeout: Duration,
    ) -> Result<String, cardinal_authenticator::error::Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.wait_for_card(reader, timeout)
    }

    fn session(
        &mut self,
        reader: Option<&str>,
        op: &mut SessionOp<'_>,
    ) -> Result<(), cardinal_authenticator::error::Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.session(reader, op)
    }
}

#[actix_web::test]
async fn nothing_reaches_the_card_without_an_allowed_origin() {
    let calls = Arc::new(AtomicUsize::new(0));
    let api = TestApi::spawn(CountingTransport {
        inner: InProcessTransport::new(support::virtual_card(CardKind::Moica)),
        calls: calls.clone(),
    });
    for origin in [None, Some("https://evil.example"), Some("null")] {
        let mut req = api.client.get(format!("{}/v1/status", api.base));
        if let Some(o) = origin {
            req = req.header(ORIGIN_HEADER, o);
        }
        let res = req.send().await.unwrap();
        assert!(res.headers().get("access-control-allow-origin").is_none());
        let (status, body) = error_of(res).await;
        assert_eq!(
            (status.as_u16(), body["error"].as_str()),
            (403, Some("origin_not_allowed")),
            "GET /v1/status from {origin:?}"
        );
        for path in ["/v1/card/read", "/v1/card/authenticate"] {
            let (status, body) = error_of(
                api.post(path, origin, json!({"challenge": "abc", "pin": "0000"}))
                    .await,
            )
            .await;
            assert_eq!(
                (status.as_u16(), body["error"].as_str()),
                (403, Some("origin_not_allowed")),
                "POST {path} from {origin:?}"
            );
        }
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "a refused request touched the transport"
    );
    // The allowed origin is served, and that does reach the card.
    let res = api
        .client
        .get(format!("{}/v1/status", api.base))
        .header(ORIGIN_HEADER, ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(calls.load(Ordering::SeqCst) > 0);
}

#[actix_web::test]
async fn card_endpoints_need_an_origin() {
    let api = TestApi::with_card(CardKind::Nhi);
    let (status, body) = error_of(api.post("/v1/card/read", None, json!({})).await).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"], "origin_not_allowed");
    let (status, _) = error_of(
        api.post("/v1/card/authenticate", None, json!({"challenge": "abc"}))
            .await,
    )
    .await;
    assert_eq!(status, 403);
}

#[actix_web::test]
async fn foreign_host_header_is_refused() {
    let api = TestApi::with_card(CardKind::Nhi);
    for host in [
        "evil.example:1234".to_owned(),
        format!("evil.example:{}", api.port),
        "127.0.0.1:1".into(),
    ] {
        let res = api
            .client
            .get(format!("{}/v1/status", api.base))
            .header(HOST, host.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{host}");
    }
    let res = api
        .client
        .get(format!("{}/v1/status", api.base))
        .header(HOST, format!("localhost:{}", api.port))
        .header(ORIGIN_HEADER, ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn preflight_allows_private_network_access_for_allowed_origins() {
    let api = TestApi::with_card(CardKind::Nhi);
    let preflight = |origin: &'static str, pna: bool| {
        let mut req = api
            .client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/v1/card/authenticate", api.base),
            )
            .header(ORIGIN_HEADER, origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type");
        if pna {
            req = req.header("access-control-request-private-network", "true");
        }
        req.send()
    };
    let res = preflight(ORIGIN, true).await.unwrap();
    assert_eq!(res.status(), 204);
    assert_cors(res.headers(), ORIGIN);
    assert_eq!(res.headers()["access-control-allow-methods"], "GET, POST");
    assert_eq!(
        res.headers()["access-control-allow-headers"],
        "content-type"
    );
    assert_eq!(
        res.headers()["access-control-allow-private-network"],
        "true"
    );

    let res = preflight(ORIGIN, false).await.unwrap();
    assert_eq!(res.status(), 204);
    assert!(res
        .headers()
        .get("access-control-allow-private-network")
        .is_none());

    let res = preflight("https://evil.example", true).await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(res
        .headers()
        .get("access-control-allow-private-network")
        .is_none());
}

#[actix_web::test]
async fn moica_pin_required_then_wrong_then_blocked() {
    let api = TestApi::with_card(CardKind::Moica);
    let (status, body) = error_of(api.authenticate(json!({"challenge": "abc"})).await).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (401, Some("pin_required"))
    );

    let (status, body) = error_of(
        api.authenticate(json!({"challenge": "abc", "pin": "0000"}))
            .await,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "pin_wrong");
    assert_eq!(body["tries_left"], 2);
    let (_, body) = error_of(
        api.authenticate(json!({"challenge": "abc", "pin": "0000"}))
            .await,
    )
    .await;
    assert_eq!(body["tries_left"], 1);
    let (status, body) = error_of(
        api.authenticate(json!({"challenge": "abc", "pin": "0000"}))
            .await,
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (423, Some("pin_blocked"))
    );
    assert!(body.get("tries_left").is_none());
    let (_, body) = error_of(
        api.authenticate(json!({"challenge": "abc", "pin": PIN}))
            .await,
    )
    .await;
    assert_eq!(body["error"], "pin_blocked");
}

#[actix_web::test]
async fn moica_with_the_right_pin_returns_a_moica_token() {
    let api = TestApi::with_card(CardKind::Moica);
    let res = api
        .authenticate(json!({"challenge": "abc", "pin": PIN}))
        .await;
    assert_eq!(res.status(), 200);
    let token: CardToken = res.json().await.unwrap();
    assert_eq!(token.card_kind, "moica");
}

#[actix_web::test]
async fn malformed_requests_are_bad_requests() {
    let api = TestApi::with_card(CardKind::Moica);
    for body in [
        json!({}),
        json!({"challenge": ""}),
        json!({"challenge": "not base64url!"}),
        json!({"challenge": "a".repeat(129)}),
        json!({"challenge": "abc", "pin": "12"}),
        json!({"challenge": "abc", "pin": "12345678901234"}),
        json!({"challenge": "abc", "pin": "12ab"}),
        json!({"challenge": 5}),
    ] {
        let (status, err) = error_of(api.authenticate(body.clone()).await).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(err["error"], "bad_request", "{body}");
    }
    // None of those reached the card.
    let res = api
        .authenticate(json!({"challenge": "abc", "pin": "0000"}))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["tries_left"], 2);
}
