//! `spawn_app()`: a Cardinal on port 0 with a fresh database (SQLite file, or a new
//! PostgreSQL database when `TEST_POSTGRES` names a server), a clock tests can
//! move, and a test-only sign-in method at `/test-login/{id}`.

use std::net::TcpListener;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use cardinal::admin::clients::records as clients;
use cardinal::admin::clients::ClientDraft;
use cardinal::clock::OffsetClock;
use cardinal::configuration::Settings;
use cardinal::domain::Acr;
use cardinal::oidc::{AuthResult, Engine};
use cardinal::routes::{AppState, LoginMethod};
use cardinal::startup::{Application, Options};
use cardinal::store::Person;
use diesel::{Connection, RunQueryDsl};
use serde::Deserialize;

/// Every log line of the whole test run (JSON, debug level), so that tests can check that
/// no secret ever reaches a log. With `TEST_LOG` set the lines go to stdout too.
pub static LOGS: LazyLock<Mutex<Vec<u8>>> = LazyLock::new(|| Mutex::new(Vec::new()));

#[derive(Clone, Copy)]
struct LogSink;

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut logs) = LOGS.lock() {
            logs.extend_from_slice(buf);
        }
        if std::env::var("TEST_LOG").is_ok() {
            std::io::stdout().write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogSink {
    type Writer = LogSink;
    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

static TRACING: LazyLock<()> = LazyLock::new(|| {
    // Debug level everywhere, with the same filter the server applies in production.
    let filter =
        cardinal::telemetry::quiet_template_engine(tracing_subscriber::EnvFilter::new("debug"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(LogSink)
        .try_init();
});

/// The logs so far, as text.
pub fn logs() -> String {
    LOGS.lock()
        .map(|l| String::from_utf8_lossy(&l).into_owned())
        .unwrap_or_default()
}

/// Fails if any of `secrets` appears in the logs of the run.
pub fn assert_not_logged(secrets: &[&str]) {
    let text = logs();
    assert!(
        !text.is_empty(),
        "the run logged nothing: the check would be empty"
    );
    for s in secrets.iter().filter(|s| s.len() >= 6) {
        if let Some(line) = text.lines().find(|l| l.contains(s)) {
            let shown: String = line.replace(s, "[SECRET]").chars().take(400).collect();
            panic!("a secret reached the logs: {shown}");
        }
    }
}

/// Where the tests' databases live.
#[derive(Debug, Clone)]
pub enum TestDb {
    Sqlite(Arc<tempfile::TempDir>),
    Postgres(String),
}

impl TestDb {
    pub fn new() -> TestDb {
        match std::env::var("TEST_POSTGRES") {
            Ok(server) if !server.is_empty() => {
                let name = format!("cardinal_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = diesel::PgConnection::establish(&format!(
                    "{}/postgres",
                    server.trim_end_matches('/')
                ))
                .expect("TEST_POSTGRES must name a reachable PostgreSQL server");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .expect("create test database");
                TestDb::Postgres(format!("{}/{name}", server.trim_end_matches('/')))
            }
            _ => TestDb::Sqlite(Arc::new(tempfile::tempdir().expect("tempdir"))),
        }
    }

    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite(dir) => dir
                .path()
                .join("cardinal.db")
                .to_string_lossy()
                .into_owned(),
            TestDb::Postgres(url) => url.clone(),
        }
    }
}

pub const SECRET_KEY: &str = "Y2FyZGluYWwtdGVzdC1zZWNyZXQta2V5LTMyLWJ5dGVzISE=";

pub struct TestApp {
    pub address: String,
    pub engine: Engine,
    pub clock: OffsetClock,
    pub db: TestDb,
    /// Kept so that the folder lives as long as the app.
    pub _data_dir: Arc<tempfile::TempDir>,
    /// A browser: cookies kept, redirects not followed.
    pub browser: reqwest::Client,
    /// An API client without cookies.
    pub api: reqwest::Client,
    /// `http://ADDRESS:PORT` of the metrics listener (port 0 in tests), if any.
    pub metrics: Option<String>,
}

pub fn test_settings(db: &TestDb, data_dir: &std::path::Path) -> Settings {
    // Every app a test starts logs into the capture, however it is started.
    LazyLock::force(&TRACING);
    let mut s = Settings::default();
    s.database_url = db.url();
    s.data_dir = data_dir.to_path_buf();
    s.keys.secret_key = Some(cardinal::configuration::SecretString::from(SECRET_KEY));
    s.database.pool_size = 16;
    // The metrics listener on a free port: tests run side by side.
    s.metrics.listen = "127.0.0.1:0".into();
    s
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDb::new();
    spawn_on(db, configure).await
}

/// Another instance on the same database.
pub async fn spawn_on(db: TestDb, configure: impl FnOnce(&mut Settings)) -> TestApp {
    LazyLock::force(&TRACING);
    let data_dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let address = format!("http://127.0.0.1:{port}");
    let mut settings = test_settings(&db, data_dir.path());
    settings.issuer = address.clone();
    settings.listen = format!("127.0.0.1:{port}");
    configure(&mut settings);
    let clock = OffsetClock::new();
    let options = Options {
        clock: Arc::new(clock.clone()),
        login_methods: vec![LoginMethod {
            labels: vec![("en".into(), "Test sign-in".into())],
            path: "/test-login/{id}".into(),
            acr: None,
        }],
        routes: Some(Arc::new(|cfg: &mut web::ServiceConfig| {
            cfg.route("/test-login/{id}", web::post().to(post_test_login));
        })),
        listener: Some(Arc::new(listener)),
    };
    let app = Application::build_with(settings, options)
        .await
        .expect("build app");
    let engine = app.engine();
    let metrics = app.metrics_addr().map(|a| format!("http://{a}"));
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        engine,
        clock,
        db,
        metrics,
        _data_dir: data_dir,
        browser: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        api: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
    }
}

#[derive(Deserialize)]
struct TestLoginForm {
    person_id: String,
    acr: Option<String>,
}

/// The test-only authentication method: whoever posts a person id is that person.
async fn post_test_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<TestLoginForm>,
) -> HttpResponse {
    let acr = form
        .acr
        .as_deref()
        .and_then(Acr::parse)
        .unwrap_or(Acr::Card);
    let result = AuthResult {
        person_id: form.person_id.clone(),
        acr,
        amr: vec!["sc".into(), "pwd".into(), "mfa".into()],
        method: "test".into(),
    };
    cardinal::routes::interaction::finish_login(&state, &req, path.into_inner(), result).await
}

/// A registered client and its secret.
#[derive(Debug, Clone)]
pub struct TestClient {
    pub client_id: String,
    pub secret: Option<String>,
    pub redirect_uri: String,
}

pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

/// A body or parameter that is not JSON: an object that never closes.
pub const MALFORMED_JSON: &str = "{not json";

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// The Prometheus text of the metrics listener.
    pub async fn metrics_text(&self) -> String {
        let base = self.metrics.as_deref().expect("the metrics listener is on");
        let r = self
            .api
            .get(format!("{base}/metrics"))
            .send()
            .await
            .expect("metrics");
        assert_eq!(r.status(), 200);
        r.text().await.expect("metrics text")
    }

    pub fn add_person(&self, name: &str) -> Person {
        let now = self.engine.now();
        let person = Person {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.into(),
            email: Some(format!("{}@example.gov.tw", uuid::Uuid::new_v4().simple())),
            email_verified: true,
            phone_number: Some("0912345678".into()),
            created_at: now,
            updated_at: now,
        };
        self.engine
            .store()
            .create_person(&person)
            .expect("create person");
        person
    }

    pub fn add_client(&self, customize: impl FnOnce(&mut ClientDraft)) -> TestClient {
        let mut draft = ClientDraft {
            name: Some("Test RP".into()),
            redirect_uris: Some(vec![REDIRECT_URI.into()]),
            post_logout_redirect_uris: Some(vec!["http://127.0.0.1:9/logged-out".into()]),
            grant_types: Some(vec![
                "authorization_code".into(),
                "refresh_token".into(),
                "client_credentials".into(),
            ]),
            ..Default::default()
        };
        customize(&mut draft);
        let (client, secret) = clients::create(&self.engine, &draft).expect("create client");
        TestClient {
            client_id: client.client_id.to_string(),
            secret,
            redirect_uri: client.redirect_uris[0].as_ref().to_string(),
        }
    }

    /// GET /authorize with these parameters (through the browser).
    pub async fn authorize(&self, params: &[(&str, &str)]) -> reqwest::Response {
        self.browser
            .get(self.url("/authorize"))
            .query(params)
            .send()
            .await
            .expect("authorize")
    }

    /// Signs `person_id` in at interaction `location` (`/interaction/{id}`).
    pub async fn test_login(
        &self,
        location: &str,
        person_id: &str,
        acr: Option<&str>,
    ) -> reqwest::Response {
        let id = location.rsplit('/').next().expect("interaction id");
        let mut form = vec![("person_id", person_id)];
        if let Some(a) = acr {
            form.push(("acr", a));
        }
        self.browser
            .post(self.url(&format!("/test-login/{id}")))
            .form(&form)
            .send()
            .await
            .expect("login")
    }

    pub async fn get(&self, location: &str) -> reqwest::Response {
        let url = if location.starts_with("http") {
            location.to_string()
        } else {
            self.url(location)
        };
        self.browser.get(url).send().await.expect("get")
    }

    /// Approves the consent page at `location`.
    pub async fn approve_consent(&self, location: &str) -> reqwest::Response {
        let page = self.get(location).await.text().await.expect("consent page");
        let csrf = hidden_value(&page, "csrf_token").expect("consent page has a CSRF token");
        self.browser
            .post(self.url(&format!("{location}/consent")))
            .form(&[("csrf_token", csrf.as_str()), ("decision", "approve")])
            .send()
            .await
            .expect("consent")
    }

    /// Runs the whole front channel: authorize → sign in → consent; returns the final
    /// redirect to the client (with `code` or `error`).
    pub async fn sign_in(&self, params: &[(&str, &str)], person_id: &str) -> url::Url {
        let resp = self.authorize(params).await;
        let mut location = location(&resp);
        if location.starts_with("/interaction/") {
            let page = self.get(&location).await.text().await.expect("page");
            if page.contains("/test-login/") {
                let r = self.test_login(&location, person_id, None).await;
                assert_eq!(r.status(), 303, "test login should redirect");
                location = self::location(&r);
            }
            let r = self.get(&location).await;
            if r.status() == 200 {
                let r = self.approve_consent(&location).await;
                location = self::location(&r);
            } else {
                location = self::location(&r);
            }
        }
        url::Url::parse(&location).expect("redirect to the client")
    }

    /// Exchanges a code with client_secret_basic.
    pub async fn redeem(
        &self,
        client: &TestClient,
        code: &str,
        verifier: &str,
    ) -> reqwest::Response {
        self.api
            .post(self.url("/token"))
            .basic_auth(&client.client_id, client.secret.as_deref())
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &client.redirect_uri),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .expect("token")
    }

    /// Uses a refresh token with client_secret_basic.
    pub async fn refresh(&self, client: &TestClient, refresh_token: &str) -> reqwest::Response {
        self.api
            .post(self.url("/token"))
            .basic_auth(&client.client_id, client.secret.as_deref())
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ])
            .send()
            .await
            .expect("token")
    }

    pub async fn introspect(&self, client: &TestClient, token: &str) -> serde_json::Value {
        self.api
            .post(self.url("/introspect"))
            .basic_auth(&client.client_id, client.secret.as_deref())
            .form(&[("token", token)])
            .send()
            .await
            .expect("introspect")
            .json()
            .await
            .expect("json")
    }
}

pub fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .unwrap_or_else(|| panic!("expected a redirect, got {}", resp.status()))
        .to_str()
        .expect("ascii location")
        .to_string()
}

pub fn query_param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The value of `<input type="hidden" name="NAME" value="…">` in a page.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&#x3D;", "=")
            .replace("&amp;", "&"),
    )
}

/// A PKCE pair (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    use base64::Engine as _;
    use sha2::Digest;
    let verifier = cardinal::crypto::random_token(32);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// Standard authorization parameters for `client`.
pub fn auth_params<'a>(
    client: &'a TestClient,
    challenge: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("scope", "openid profile email"),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        p.retain(|(pk, _)| pk != k);
        p.push((k, v));
    }
    p
}

/// The string `field` of every item of a JSON page (`{"items": [...]}`), in order.
pub fn item_strings<'a>(page: &'a serde_json::Value, field: &str) -> Vec<&'a str> {
    page["items"]
        .as_array()
        .expect("a page with items")
        .iter()
        .map(|item| item[field].as_str().expect("a string field"))
        .collect()
}

/// Decodes a JWT's payload without verifying it (to look at claims).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).expect("jwt payload");
    serde_json::from_slice(&cardinal::crypto::b64url_decode(payload).expect("b64")).expect("json")
}

pub fn jwt_header(token: &str) -> serde_json::Value {
    let header = token.split('.').next().expect("jwt header");
    serde_json::from_slice(&cardinal::crypto::b64url_decode(header).expect("b64")).expect("json")
}

/// A relying party's back-channel logout endpoint that records what it receives.
pub struct Receiver {
    pub uri: String,
    pub tokens: Arc<Mutex<Vec<String>>>,
}

pub async fn spawn_receiver() -> Receiver {
    let tokens: Arc<Mutex<Vec<String>>> = Arc::default();
    let store = tokens.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let store = store.clone();
        App::new().route(
            "/backchannel",
            web::post().to(move |form: web::Form<Vec<(String, String)>>| {
                let store = store.clone();
                async move {
                    for (k, v) in form.into_inner() {
                        if k == "logout_token" {
                            store.lock().unwrap().push(v);
                        }
                    }
                    HttpResponse::Ok().finish()
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    Receiver {
        uri: format!("http://127.0.0.1:{port}/backchannel"),
        tokens,
    }
}

pub async fn wait_for(tokens: &Arc<Mutex<Vec<String>>>, n: usize) -> Vec<String> {
    for _ in 0..100 {
        if tokens.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokens.lock().unwrap().clone()
}
