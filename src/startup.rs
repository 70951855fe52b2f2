//! Wiring: database, keys, engine, templates and the route table.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::{Server, Service};
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpServer};
use anyhow::{bail, Context as _};
use base64::Engine as _;
use futures_util::FutureExt;
use secrecy::ExposeSecret;

use crate::backchannel::BackchannelSender;
use crate::card::{CardService, CardTrust};
use crate::clock::{Clock, SystemClock};
use crate::configuration::{RevocationCheck, Settings};
use crate::context::Context;
use crate::crypto::{KeyPurpose, KeyRing};
use crate::metrics::Metrics;
use crate::oidc::{Engine, KeyManager, SigningAlg};
use crate::routes::{self, AppState, CookieNames, LoginMethod};
use crate::store::{Database, Storage};
use crate::templates::Templates;

/// Extra routes (authentication methods) added to the route table.
pub type RouteHook = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

/// What differs between a production start and a test or demo start.
#[derive(Clone)]
pub struct Options {
    pub clock: Arc<dyn Clock>,
    pub login_methods: Vec<LoginMethod>,
    pub routes: Option<RouteHook>,
    /// Bind to this listener instead of `settings.listen` (tests bind port 0).
    pub listener: Option<Arc<TcpListener>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            clock: Arc::new(SystemClock),
            login_methods: Vec::new(),
            routes: None,
            listener: None,
        }
    }
}

/// Everything built from the settings, before the HTTP server starts.
pub struct Services {
    pub settings: Settings,
    pub database: Database,
    pub engine: Engine,
}

/// Reads the secret key from the settings, or from (creating) `DATA_DIR/secret.key`.
pub fn load_secret_key(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    let decode = |text: &str| -> anyhow::Result<Vec<u8>> {
        let t = text.trim();
        let unpadded = t.trim_end_matches('=');
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(unpadded)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(unpadded))
            .context("keys.secret_key must be base64 (standard or url-safe)")?;
        if bytes.len() < 32 {
            bail!(
                "keys.secret_key must hold at least 32 bytes (it has {})",
                bytes.len()
            );
        }
        Ok(bytes)
    };
    if let Some(secret) = &settings.keys.secret_key {
        return decode(secret.expose_secret());
    }
    let path = settings.data_dir.join("secret.key");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("Failed to read {}", path.display()))?;
        return decode(&text);
    }
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("Failed to create {}", settings.data_dir.display()))?;
    let key = crate::crypto::random_token(32);
    let raw = crate::crypto::b64url_decode(&key).context("generated key")?;
    let text = base64::engine::general_purpose::STANDARD.encode(&raw);
    write_private_file(&path, &text)?;
    tracing::warn!(
        path = %path.display(),
        "No keys.secret_key configured: generated one into the data directory. Configure CARDINAL_KEYS__SECRET_KEY \
         (the same on every instance) for production."
    );
    Ok(raw)
}

fn write_private_file(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("Failed to create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("Failed to write {}", path.display()))
}

impl Services {
    /// Connects and migrates the database, loads or creates the signing keys.
    pub fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Services> {
        let target = settings.database_target()?;
        let database = Database::connect(&target, &settings.database)?;
        let applied = database.migrate(&target)?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "database migrated");
        }
        let ring = KeyRing::new(load_secret_key(&settings)?);
        let store: Arc<dyn Storage> = Arc::new(database.clone());
        let keys = KeyManager::new(
            store.clone(),
            ring.derive(KeyPurpose::KeyEncryption),
            settings.tokens.key_retention(),
        );
        let algs = settings
            .keys
            .algorithms
            .iter()
            .map(|a| SigningAlg::parse(a).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let created = keys.ensure_keys(&algs, clock.now())?;
        if !created.is_empty() {
            tracing::info!(kids = ?created, "created signing keys");
        }
        let ctx = Context::new(settings.clone(), store, keys, clock, ring, Metrics::new()?);
        crate::admin::clients::ensure_console_client(&ctx)?;
        let engine = Engine::new(ctx)?;
        Ok(Services {
            settings,
            database,
            engine,
        })
    }
}

pub struct Application {
    port: u16,
    server: Server,
    engine: Engine,
    /// The metrics listener's address and server (`[metrics] listen`), unless off.
    metrics: Option<(std::net::SocketAddr, Server)>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        Self::build_with(settings, Options::default()).await
    }

    pub async fn build_with(settings: Settings, options: Options) -> anyhow::Result<Application> {
        let clock = options.clock.clone();
        let services = {
            let settings = settings.clone();
            tokio::task::spawn_blocking(move || Services::build(settings, clock)).await??
        };
        let listener = match &options.listener {
            Some(l) => l.try_clone().context("Failed to use the given listener")?,
            None => TcpListener::bind(&settings.listen)
                .with_context(|| format!("Failed to listen on {}", settings.listen))?,
        };
        let port = listener.local_addr()?.port();
        let metrics_listener = match settings.metrics.address()? {
            Some(addr) => Some(TcpListener::bind(addr).with_context(|| {
                format!("Failed to listen for metrics on {addr} (metrics.listen; \"off\" serves no metrics)")
            })?),
            None => None,
        };
        let templates = Arc::new(Templates::new(
            settings.templates_dir.as_deref(),
            &settings.oidc.ui_locales,
        )?);
        let trust = {
            let c = settings.card.clone();
            let now = options.clock.now();
            tokio::task::spawn_blocking(move || CardTrust::load(&c, now)).await??
        };
        if !trust.has_issuers() {
            tracing::warn!("no card issuer is configured (card.nhi_ca_files, card.moica_ca_files): every card will be refused");
        }
        let mailer = crate::mail::Mailer::new(
            &settings,
            services.engine.store_arc(),
            services.engine.ring().clone(),
        )?;
        mailer.clone().spawn_worker(
            options.clock.clone(),
            Duration::from_secs(settings.mail.send_interval_secs.max(1)),
        );
        let card = CardService::new(services.engine.clone(), trust)?;
        let hasher = {
            let p = settings.password.clone();
            tokio::task::spawn_blocking(move || crate::auth::PasswordHasher::new(&p)).await??
        };
        let mut login_methods = vec![
            LoginMethod {
                labels: vec![
                    ("zh-TW".into(), "健保卡登入".into()),
                    ("en".into(), "Sign in with NHI card".into()),
                ],
                path: "/interaction/{id}/card".into(),
                acr: Some(crate::domain::Acr::Card),
            },
            LoginMethod {
                labels: vec![
                    ("zh-TW".into(), "自然人憑證登入".into()),
                    (
                        "en".into(),
                        "Sign in with your citizen digital certificate".into(),
                    ),
                ],
                path: "/interaction/{id}/citizen-certificate".into(),
                acr: Some(crate::domain::Acr::CitizenCertificate),
            },
        ];
        login_methods.extend(options.login_methods.iter().cloned());
        let state = AppState {
            mailer,
            enroll: crate::enroll::Enrollment {
                engine: services.engine.clone(),
                card: card.clone(),
                hasher,
                templates: templates.clone(),
            },
            card,
            engine: services.engine.clone(),
            templates,
            backchannel: BackchannelSender::new()?,
            login_methods: Arc::new(login_methods),
            cookies: CookieNames::new(settings.is_https()),
            trusted_proxies: Arc::new(settings.http.trusted_proxies.clone()),
        };
        crate::maintenance::spawn_purger(services.engine.context().clone());
        if state.card.trust().revocation_check() == RevocationCheck::Crl
            && state.card.trust().has_issuers()
        {
            spawn_revocation_watch(
                state.card.clone(),
                state.backchannel.clone(),
                Duration::from_secs(settings.card.crl_check_interval.max(1)),
            );
        }
        let metrics_card = state.card.clone();
        let hsts = settings.is_https();
        let hook = options.routes.clone();
        let server = HttpServer::new(move || {
            let metrics = state.engine.metrics().clone();
            let mut headers = DefaultHeaders::new()
                .add(("x-content-type-options", "nosniff"))
                .add(("referrer-policy", "no-referrer"))
                .add(("x-frame-options", "DENY"))
                .add((
                    "content-security-policy",
                    // No `form-action`: Chromium applies it to the redirect after a form post,
                    // and the consent, sign-in and logout forms end at the client's URI.
                    // `connect-src 'self'`: the 註冊密碼 meter asks /register/password-check.
                    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
                ));
            if hsts {
                headers = headers.add(("strict-transport-security", "max-age=31536000; includeSubDomains"));
            }
            let hook = hook.clone();
            App::new()
                .app_data(web::Data::new(state.clone()))
                .wrap(from_fn(crate::routes::notices::service_notices))
                .wrap(from_fn(crate::routes::limits::limit_requests))
                .wrap(from_fn(crate::routes::limits::limit_header_size))
                .wrap(headers)
                .wrap_fn(move |req, srv| {
                    let started = Instant::now();
                    let method = req.method().to_string();
                    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
                    let metrics = metrics.clone();
                    srv.call(req).map(move |res| {
                        if let Ok(r) = &res {
                            metrics.request(&route, &method, r.status().as_u16(), started.elapsed().as_secs_f64());
                        }
                        res
                    })
                })
                .configure(|cfg| route_table(cfg, hook.as_ref()))
                .default_service(web::to(routes::responses::not_found))
        })
        .shutdown_timeout(30);
        let server = match &settings.http.tls {
            Some(tls) => server
                .listen_rustls_0_23(listener, tls_config(&tls.certificate, &tls.private_key)?)?,
            None => server.listen(listener)?,
        }
        .run();
        let metrics = match metrics_listener {
            Some(l) => {
                let addr = l.local_addr()?;
                tracing::info!(%addr, "metrics at http://{addr}/metrics");
                Some((
                    addr,
                    crate::routes::health::serve_metrics(l, services.engine.clone(), metrics_card)?,
                ))
            }
            None => None,
        };
        Ok(Application {
            port,
            server,
            engine: services.engine,
            metrics,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The engine behind the server (tests and the demo seed data through it).
    pub fn engine(&self) -> Engine {
        self.engine.clone()
    }

    /// Where `/metrics` is served (`[metrics] listen`); `None` when metrics are off.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics.as_ref().map(|(addr, _)| *addr)
    }

    /// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish (30 s); the
    /// metrics listener stops with the server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Some((_, metrics)) = self.metrics else {
            return self.server.await;
        };
        let handle = metrics.handle();
        let server = self.server;
        let main = async move {
            let result = server.await;
            handle.stop(true).await;
            result
        };
        let (result, metrics) = futures_util::future::join(main, metrics).await;
        if let Err(e) = metrics {
            tracing::warn!(error = %e, "the metrics server failed");
        }
        result
    }
}

fn route_table(cfg: &mut web::ServiceConfig, hook: Option<&RouteHook>) {
    use routes::*;
    cfg.route("/healthz", web::get().to(health::get_healthz))
        .route("/readyz", web::get().to(health::get_readyz))
        .route(
            "/static/cardinal.css",
            web::get().to(health::get_stylesheet),
        )
        .route(
            "/.well-known/openid-configuration",
            web::get().to(well_known::get_openid_configuration),
        )
        .route("/jwks", web::get().to(well_known::get_jwks))
        .route("/authorize", web::get().to(authorize::get_authorize))
        .route("/authorize", web::post().to(authorize::post_authorize))
        .route(
            "/interaction/{id}",
            web::get().to(interaction::get_interaction),
        )
        .route(
            "/interaction/{id}/consent",
            web::post().to(interaction::post_consent),
        )
        .route(
            "/interaction/{id}/abort",
            web::post().to(interaction::post_abort),
        )
        .route("/token", web::post().to(token::post_token))
        .route("/userinfo", web::get().to(userinfo::userinfo))
        .route("/userinfo", web::post().to(userinfo::userinfo))
        .route("/introspect", web::post().to(introspect::post_introspect))
        .route("/revoke", web::post().to(introspect::post_revoke))
        .route("/logout", web::get().to(logout::get_logout))
        .route("/logout", web::post().to(logout::post_logout))
        .route("/logout/done", web::get().to(logout::get_logout_done))
        .route(
            "/logout/confirm",
            web::post().to(logout::post_logout_confirm),
        )
        .route(
            "/card/challenge",
            web::post().to(card::post_check_challenge),
        )
        .route("/card/check", web::post().to(card::post_check))
        .route("/help/environment", web::get().to(card::get_environment))
        .route("/help", web::get().to(help::get_index))
        .route("/help/faq", web::get().to(help::get_faq))
        .route("/help/card-errors", web::get().to(help::get_card_errors))
        .route("/help/manual", web::get().to(help::get_manual))
        .route("/help/manual/{name}", web::get().to(help::get_manual_image))
        .route("/help/setup", web::get().to(help::get_setup))
        .route(
            "/download/cardinal-authenticator",
            web::get().to(card::get_download),
        )
        .route(
            "/static/environment.js",
            web::get().to(card::get_environment_js),
        )
        .route("/static/card.js", web::get().to(card::get_card_js))
        .route(
            "/interaction/{id}/card",
            web::get().to(card_login::get_card_login),
        )
        .route(
            "/interaction/{id}/card",
            web::post().to(card_login::post_card_login),
        )
        .route(
            "/interaction/{id}/citizen-certificate",
            web::get().to(card_login::get_citizen_login),
        )
        .route(
            "/interaction/{id}/citizen-certificate",
            web::post().to(card_login::post_citizen_login),
        )
        .route("/static/register.js", web::get().to(card::get_register_js))
        .route("/register/terms", web::get().to(register::get_terms))
        .route("/register/apply", web::get().to(register::get_apply))
        .route("/register/apply", web::post().to(register::post_apply))
        .route(
            "/register/apply/submit",
            web::post().to(register::post_apply_submit),
        )
        .route("/register/places", web::get().to(register::get_places))
        .route(
            "/register/password-check",
            web::post().to(password_check::post_password_check),
        )
        .route("/register/notice", web::get().to(register::get_notice))
        .route("/register/confirm", web::get().to(register::get_confirm))
        .route("/register/confirm", web::post().to(register::post_confirm))
        .route("/register/forgot", web::get().to(recovery::get_forgot))
        .route("/register/forgot", web::post().to(recovery::post_forgot))
        .route("/register/reset", web::get().to(recovery::get_reset))
        .route("/register/reset", web::post().to(recovery::post_reset))
        .route("/register/resend", web::get().to(register::get_resend))
        .route("/register/resend", web::post().to(register::post_resend))
        .route("/register/delete", web::get().to(register::get_delete))
        .route("/register/delete", web::post().to(register::post_delete))
        .route("/", web::get().to(member::get_home))
        .route("/register", web::get().to(member::get_home))
        .route("/register/login", web::post().to(member::post_login))
        .route("/register/member", web::get().to(member::get_member))
        .route(
            "/register/member/password",
            web::get().to(member::get_password),
        )
        .route(
            "/register/member/password",
            web::post().to(member::post_password),
        )
        .route(
            "/register/member/profile",
            web::get().to(member::get_profile),
        )
        .route(
            "/register/member/profile",
            web::post().to(member::post_profile),
        )
        .route("/register/email", web::get().to(member::get_email))
        .route("/register/email", web::post().to(member::post_email))
        .route("/notices.json", web::get().to(notices::get_feed));
    admin_api::configure(cfg);
    admin_console::configure(cfg);
    if let Some(h) = hook {
        h(cfg);
    }
}

fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<rustls::ServerConfig> {
    let certs = rustls_pemfile::certs(&mut std::io::BufReader::new(
        std::fs::File::open(cert).with_context(|| format!("Failed to open {}", cert.display()))?,
    ))
    .collect::<Result<Vec<_>, _>>()
    .context("Failed to read the TLS certificate")?;
    let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(
        std::fs::File::open(key).with_context(|| format!("Failed to open {}", key.display()))?,
    ))
    .context("Failed to read the TLS private key")?
    .context("No private key in the TLS key file")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("Invalid TLS certificate or key")
}

/// Acts on card revocations (docs/requirements.md R-CARD-2): every `every`, and as soon as
/// a card check saw the CRL files change, re-reads them and ends the sessions and grants of
/// whoever signed in with a certificate they now revoke, with back-channel logout.
fn spawn_revocation_watch(card: CardService, backchannel: BackchannelSender, every: Duration) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                () = card.revocations_changed() => {}
            }
            let c = card.clone();
            match web::block(move || c.sync_revocations()).await {
                Ok(deliveries) => backchannel.spawn(deliveries),
                Err(err) => tracing::warn!(error = %err, "card revocation task failed"),
            }
        }
    });
}
