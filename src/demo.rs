//! `cardinal demo` (docs/requirements.md R-OPS-8): the whole system in one process, on a
//! fresh machine.
//!
//! Cardinal on SQLite with the demo residents, development CAs for NHI and MOICA cards
//! (their CRLs configured, revocation checked; a fresh CRL is signed at every start)
//! with three demo cards, the card authenticator's local API on 127.0.0.1:7777 reading
//! a virtual card in process (no pcscd), the eCPA portal and WebHR as registered
//! clients on 127.0.0.1:8081 and :8082, mail written to an outbox folder and shown on
//! the dev page `/dev` (which also swaps the card in the virtual reader).
//!
//! It is a demonstration, never a service: the dev page shows PINs and mail links and
//! grants the admin role, so `cardinal demo` listens on loopback addresses only and the
//! dev page answers only requests whose TCP peer is this computer.
//!
//! Everything lives in one data folder (`demo-data` by default) and survives a restart:
//! registrations, consents, the CAs and the cards. Clients are re-registered at every
//! start (their URIs follow the ports) with a fresh secret handed to the portals.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpRequest, HttpResponse};
use anyhow::{anyhow, bail, Context};
use cardinal_authenticator::card_file::CardFile;
use cardinal_authenticator::server::{self as local_api, ServerConfig};
use cardinal_authenticator::transport::InProcessTransport;
use cardinal_authenticator::virtual_card::VirtualCard;
use serde::Deserialize;
use serde_json::json;

use crate::admin::clients::records as clients;
use crate::admin::clients::{ClientDraft, ClientError};
use crate::card::issue::{issue_card_file, CardIssue};
use crate::card::token::CardKind;
use crate::clock::Clock;
use crate::configuration::Settings;
use crate::oidc::Engine;
use crate::routes::responses::page;
use crate::routes::AppState;
use crate::startup::{Application, Options};

/// The demo residents (also `examples/demo/residents.csv`).
const RESIDENTS: &str = include_str!("../examples/demo/residents.csv");

/// A demo card: who it belongs to and its file.
#[derive(Debug, Clone)]
pub struct DemoCard {
    /// `nhi`, `nhi2` or `moica`: the name on the dev page.
    pub key: &'static str,
    pub label: &'static str,
    pub file: CardFile,
    /// What the person needs to register with this card (NHI cards).
    pub household_no: Option<&'static str>,
    pub address: Option<&'static str>,
}

struct CardSpec {
    key: &'static str,
    label: &'static str,
    kind: CardKind,
    card_number: &'static str,
    name: &'static str,
    national_id: &'static str,
    birth_date: &'static str,
    sex: &'static str,
    pin: Option<&'static str>,
    household_no: Option<&'static str>,
    address: Option<&'static str>,
}

/// The cards match rows of `examples/demo/residents.csv`; the MOICA card belongs to the
/// same person as the first NHI card, so that step-up finds the registration.
const CARDS: &[CardSpec] = &[
    CardSpec {
        key: "nhi",
        label: "健保卡（王小明）",
        kind: CardKind::Nhi,
        card_number: "000012345678",
        name: "王小明",
        national_id: "A123456789",
        birth_date: "1985-03-15",
        sex: "M",
        pin: None,
        household_no: Some("F1234567"),
        address: Some("臺北市 中正區 黎明里 5鄰"),
    },
    CardSpec {
        key: "moica",
        label: "自然人憑證（王小明）",
        kind: CardKind::Moica,
        card_number: "900000000001",
        name: "王小明",
        national_id: "A123456789",
        birth_date: "1985-03-15",
        sex: "M",
        pin: Some("1234"),
        household_no: None,
        address: None,
    },
    CardSpec {
        key: "nhi2",
        label: "健保卡（陳美華）",
        kind: CardKind::Nhi,
        card_number: "000087654321",
        name: "陳美華",
        national_id: "F222333444",
        birth_date: "1990-07-04",
        sex: "F",
        pin: None,
        household_no: Some("F7654321"),
        address: Some("新北市 板橋區 留侯里 12鄰"),
    },
];

/// Where the demo listens and keeps its files.
pub struct DemoSetup {
    /// The base settings (`data_dir` and `database_url` are used as given).
    pub settings: Settings,
    pub cardinal: TcpListener,
    pub ecpa: TcpListener,
    pub webhr: TcpListener,
    /// The authenticator's local API (`127.0.0.1:PORT`; port 0 picks one).
    pub authenticator: SocketAddr,
    pub clock: Arc<dyn Clock>,
}

/// A running demo.
pub struct Demo {
    pub cardinal_url: String,
    pub ecpa_url: String,
    pub webhr_url: String,
    pub authenticator_url: String,
    /// Cardinal's Prometheus metrics (`[metrics] listen`), unless off.
    pub metrics_url: Option<String>,
    pub outbox: PathBuf,
    pub cards: Vec<DemoCard>,
    pub engine: Engine,
    reader: Arc<Mutex<InProcessTransport>>,
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// The origin a listener is reached at on this computer (a listener on every address,
/// `0.0.0.0` or `[::]`, is reached at the loopback address).
fn origin(listener: &TcpListener) -> anyhow::Result<String> {
    let mut addr = listener.local_addr()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    Ok(format!("http://{addr}"))
}

/// Starts everything. Must run inside a Tokio runtime with actix (`actix_web::rt`).
pub async fn start(setup: DemoSetup) -> anyhow::Result<Demo> {
    let DemoSetup {
        mut settings,
        cardinal,
        ecpa,
        webhr,
        authenticator,
        clock,
    } = setup;
    let data_dir = settings.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("Failed to create {}", data_dir.display()))?;
    let cardinal_url = origin(&cardinal)?;
    let ecpa_url = origin(&ecpa)?;
    let webhr_url = origin(&webhr)?;

    // Card issuers and the cards (made once, kept in the data folder).
    let cards = {
        let dir = data_dir.clone();
        tokio::task::spawn_blocking(move || ensure_cards(&dir)).await??
    };
    let first = cards.first().map(|c| c.file.clone());
    let reader = Arc::new(Mutex::new(match first {
        Some(f) => InProcessTransport::new(VirtualCard::from_file(f)?),
        None => InProcessTransport::empty(),
    }));
    let local = local_api::build(
        ServerConfig::new(authenticator, vec![cardinal_url.clone()]),
        Box::new(reader.clone()),
    )
    .map_err(|e| anyhow!("card authenticator: {e}"))?;
    let authenticator_url = format!("http://{}", local.local_addr());

    let outbox = settings
        .mail_outbox
        .clone()
        .unwrap_or_else(|| data_dir.join("outbox"));
    settings.issuer = cardinal_url.clone();
    settings.listen = cardinal.local_addr()?.to_string();
    settings.smtp_url = None;
    settings.mail_outbox = Some(outbox.clone());
    settings.mail.send_interval_secs = 1;
    settings.card.authenticator_url = authenticator_url.clone();
    settings.card.nhi_ca_files = vec![data_dir.join("ca-nhi").join("ca.pem")];
    settings.card.moica_ca_files = vec![data_dir.join("ca-moica").join("ca.pem")];
    settings.card.crl_files = vec![
        data_dir.join("ca-nhi").join("crl.pem"),
        data_dir.join("ca-moica").join("crl.pem"),
    ];

    let dev = web::Data::new(DevState {
        host: cardinal_url.trim_start_matches("http://").to_string(),
        reader: reader.clone(),
        cards: cards.clone(),
        outbox: outbox.clone(),
        ecpa_url: ecpa_url.clone(),
        webhr_url: webhr_url.clone(),
    });
    let options = Options {
        clock,
        listener: Some(Arc::new(cardinal)),
        routes: Some(Arc::new(move |cfg: &mut web::ServiceConfig| {
            cfg.service(
                web::scope("/dev")
                    .app_data(dev.clone())
                    .wrap(from_fn(this_computer_only))
                    .route("", web::get().to(get_dev))
                    .route("/reader", web::post().to(post_reader))
                    .route("/admin", web::post().to(post_admin))
                    .route("/mail/{name}", web::get().to(get_mail)),
            );
        })),
        ..Options::default()
    };
    let app = Application::build_with(settings, options).await?;
    let engine = app.engine();
    let metrics_url = app
        .metrics_addr()
        .map(|addr| format!("http://{addr}/metrics"));
    {
        let engine = engine.clone();
        tokio::task::spawn_blocking(move || {
            crate::registry::import(
                engine.store(),
                engine.ring(),
                RESIDENTS.as_bytes(),
                engine.now(),
            )
        })
        .await??;
    }
    let ecpa_secret = register_client(&engine, "ecpa", "人事服務網 eCPA", &ecpa_url, true).await?;
    let webhr_secret = register_client(
        &engine,
        "webhr",
        "人力資源管理資訊系統 WebHR",
        &webhr_url,
        false,
    )
    .await?;

    let mut tasks = vec![
        tokio::spawn(local.into_server()),
        tokio::spawn(app.run_until_stopped()),
    ];
    let issuer = url::Url::parse(&cardinal_url)?;
    let help = issuer.join("/help/environment")?;
    let portal = |kind, id: &str, secret, url: &str, title: &str| ecpa_portal::PortalConfig {
        issuer: issuer.clone(),
        client_id: id.to_string(),
        client_secret: Some(secret),
        public_url: url::Url::parse(&format!("{url}/")).unwrap_or_else(|_| issuer.clone()),
        title: title.to_string(),
        kind,
        webhr_url: url::Url::parse(&format!("{webhr_url}/")).ok(),
        ecpa_url: url::Url::parse(&format!("{ecpa_url}/")).ok(),
        help_url: Some(help.clone()),
    };
    let ecpa_server = ecpa_portal::build(
        portal(
            ecpa_portal::PortalKind::Ecpa,
            "ecpa",
            ecpa_secret,
            &ecpa_url,
            "人事服務網 eCPA",
        ),
        ecpa,
    )
    .await
    .context("eCPA portal")?;
    tasks.push(tokio::spawn(ecpa_server));
    let webhr_server = ecpa_portal::build(
        portal(
            ecpa_portal::PortalKind::WebHr,
            "webhr",
            webhr_secret,
            &webhr_url,
            "人力資源管理資訊系統",
        ),
        webhr,
    )
    .await
    .context("WebHR portal")?;
    tasks.push(tokio::spawn(webhr_server));

    Ok(Demo {
        cardinal_url,
        ecpa_url,
        webhr_url,
        authenticator_url,
        metrics_url,
        outbox,
        cards,
        engine,
        reader,
        tasks,
    })
}

impl Demo {
    /// Puts the demo card `key` (`nhi`, `nhi2`, `moica`) in the reader; `None` empties it.
    pub fn insert(&self, key: Option<&str>) -> anyhow::Result<()> {
        insert(&self.reader, &self.cards, key)
    }

    /// What the console shows at start.
    pub fn banner(&self) -> String {
        let mut out = String::new();
        out.push_str("\nCardinal demo is running.\n\n");
        out.push_str(&format!("  人事服務網 eCPA      {}/\n", self.ecpa_url));
        out.push_str(&format!("  WebHR               {}/\n", self.webhr_url));
        out.push_str(&format!(
            "  健保卡網路服務註冊    {}/register\n",
            self.cardinal_url
        ));
        out.push_str(&format!(
            "  Dev page (cards, mailbox)  {}/dev\n",
            self.cardinal_url
        ));
        out.push_str(&format!(
            "  Admin console       {}/admin (the dev page grants the role to a registered card)\n",
            self.cardinal_url
        ));
        out.push_str(&format!(
            "  Card authenticator  {} (virtual reader, no pcscd needed)\n",
            self.authenticator_url
        ));
        if let Some(metrics) = &self.metrics_url {
            out.push_str(&format!("  Metrics             {metrics}\n"));
        }
        out.push('\n');
        out.push_str("Demo cards (swap them on the dev page):\n");
        for c in &self.cards {
            out.push_str(&format!(
                "  {:<6} {}  card {}  ID {}",
                c.key, c.label, c.file.card_number, c.file.national_id
            ));
            if let (Some(h), Some(a)) = (c.household_no, c.address) {
                out.push_str(&format!("  戶號 {h}  {a}"));
            }
            if let Some(pin) = &c.file.pin {
                out.push_str(&format!("  PIN {pin}"));
            }
            out.push('\n');
        }
        out.push_str(&format!(
            "\nMail goes to {} and to the dev page.\n\
             Try it: open eCPA, choose 健保卡 → 首次登入請先申請, register the NHI card, \
             confirm the mail from the dev page, then sign in.\n",
            self.outbox.display()
        ));
        out
    }

    /// Runs until one of the servers stops (Ctrl-C stops them all).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let (done, _, _) = futures_util::future::select_all(self.tasks).await;
        done??;
        Ok(())
    }
}

fn insert(
    reader: &Mutex<InProcessTransport>,
    cards: &[DemoCard],
    key: Option<&str>,
) -> anyhow::Result<()> {
    let card = match key {
        None => None,
        Some(k) => {
            let c = cards
                .iter()
                .find(|c| c.key == k)
                .ok_or_else(|| anyhow!("no demo card {k:?}"))?;
            Some(VirtualCard::from_file(c.file.clone())?)
        }
    };
    reader
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .set_card(card);
    Ok(())
}

#[allow(clippy::disallowed_methods)]
fn now() -> time::OffsetDateTime {
    // Card files are made once, outside the service's clock.
    time::OffsetDateTime::now_utc()
}

/// Makes the two CAs and the demo cards unless the data folder has them.
fn ensure_cards(data_dir: &Path) -> anyhow::Result<Vec<DemoCard>> {
    for kind in [CardKind::Nhi, CardKind::Moica] {
        let dir = data_dir.join(format!("ca-{}", kind.as_str()));
        if dir.join("ca.pem").exists() {
            // The CRL is current for 30 days: sign a fresh one at every start, so that a
            // demo folder kept for longer still runs with revocation checking on.
            crate::card::ca::reissue_crl(&dir, now())?;
        } else {
            crate::card::ca::init(&dir, kind, now())?;
        }
    }
    let cards_dir = data_dir.join("cards");
    let mut out = Vec::new();
    for spec in CARDS {
        let path = cards_dir.join(format!("{}.json", spec.key));
        if !path.exists() {
            let args = CardIssue {
                ca: data_dir.join(format!("ca-{}", spec.kind.as_str())),
                kind: spec.kind.as_str().to_string(),
                card_number: spec.card_number.into(),
                name: spec.name.into(),
                national_id: spec.national_id.into(),
                birth_date: spec.birth_date.into(),
                sex: spec.sex.into(),
                pin: spec.pin.map(str::to_string),
                valid_days: 3650,
                out: path.clone(),
            };
            issue_card_file(&args, now())?;
        }
        let file = CardFile::load(&path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        out.push(DemoCard {
            key: spec.key,
            label: spec.label,
            file,
            household_no: spec.household_no,
            address: spec.address,
        });
    }
    Ok(out)
}

/// Registers (or updates) a portal's client; returns a fresh secret.
async fn register_client(
    engine: &Engine,
    client_id: &str,
    name: &str,
    url: &str,
    first_party: bool,
) -> anyhow::Result<String> {
    let draft = ClientDraft {
        client_id: Some(client_id.into()),
        name: Some(name.into()),
        redirect_uris: Some(vec![format!("{url}/callback")]),
        post_logout_redirect_uris: Some(vec![format!("{url}/")]),
        backchannel_logout_uri: Some(Some(format!("{url}/backchannel-logout"))),
        grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
        auth_method: Some("client_secret_basic".into()),
        scopes: Some(vec![
            "openid".into(),
            "profile".into(),
            "email".into(),
            "offline_access".into(),
        ]),
        skip_consent: Some(first_party),
        ..ClientDraft::default()
    };
    let engine = engine.clone();
    let id = client_id.to_string();
    tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        match clients::create(&engine, &draft) {
            Ok((_, Some(secret))) => Ok(secret),
            Ok((_, None)) => Err(anyhow!("client {id} got no secret")),
            Err(ClientError::Taken(_)) => {
                clients::update(&engine, &id, &draft)?;
                Ok(clients::rotate_secret(&engine, &id)?)
            }
            Err(e) => Err(e.into()),
        }
    })
    .await?
}

// ---------------------------------------------------------------------------
// The dev page: the virtual reader and the mailbox
// ---------------------------------------------------------------------------

struct DevState {
    /// `HOST:PORT` of Cardinal, as browsers send it in `Host`.
    host: String,
    reader: Arc<Mutex<InProcessTransport>>,
    cards: Vec<DemoCard>,
    outbox: PathBuf,
    ecpa_url: String,
    webhr_url: String,
}

struct Mail {
    name: String,
    modified: std::time::SystemTime,
    to: String,
    subject: String,
    text: String,
}

fn read_mail(path: &Path) -> Option<Mail> {
    let raw = std::fs::read(path).ok()?;
    let message = mail_parser::MessageParser::default().parse(&raw)?;
    let to = message
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_string();
    Some(Mail {
        name: path.file_name()?.to_str()?.to_string(),
        modified: std::fs::metadata(path).and_then(|m| m.modified()).ok()?,
        to,
        subject: message.subject().unwrap_or_default().to_string(),
        text: message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
    })
}

/// The outbox's mail, newest first.
fn mailbox(dir: &Path) -> Vec<Mail> {
    let mut mails: Vec<Mail> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .filter_map(|p| read_mail(&p))
                .collect()
        })
        .unwrap_or_default();
    mails.sort_by_key(|m| std::cmp::Reverse(m.modified));
    mails
}

/// The `http(s)://` links in a text, in order.
fn links(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| w.trim_end_matches(['.', ',', '。', '）', ')']).to_string())
        .collect()
}

fn ago(t: std::time::SystemTime) -> String {
    let secs = t.elapsed().map(|d| d.as_secs()).unwrap_or(0);
    match secs {
        0..=59 => format!("{secs} 秒前"),
        60..=3599 => format!("{} 分鐘前", secs / 60),
        _ => format!("{} 小時前", secs / 3600),
    }
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

/// Refuses to run the demo on an address other hosts can reach.
pub fn check_loopback(args: &DemoArgs) -> anyhow::Result<()> {
    for (flag, addr) in [
        ("--listen", args.listen),
        ("--ecpa-listen", args.ecpa_listen),
        ("--webhr-listen", args.webhr_listen),
        ("--authenticator-listen", args.authenticator_listen),
    ] {
        if !addr.ip().to_canonical().is_loopback() {
            bail!(
                "refusing {flag} {addr}: cardinal demo listens on this computer only (use \
                 127.0.0.1:PORT). Its dev page shows PINs and mail links and grants the admin \
                 role; run `cardinal serve` for a service other hosts may reach."
            );
        }
    }
    Ok(())
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

// ---------------------------------------------------------------------------
// `cardinal demo`
// ---------------------------------------------------------------------------

/// `cardinal demo` options.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where the demo keeps its database, keys, cards and mail.
    #[arg(long = "data-dir", default_value = "demo-data")]
    pub data_dir: PathBuf,
    /// Start from scratch: delete the data folder first.
    #[arg(long)]
    pub reset: bool,
    /// The database (default: SQLite in the data folder).
    #[arg(long = "database-url")]
    pub database_url: Option<String>,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[arg(long = "ecpa-listen", default_value = "127.0.0.1:8081")]
    pub ecpa_listen: SocketAddr,
    #[arg(long = "webhr-listen", default_value = "127.0.0.1:8082")]
    pub webhr_listen: SocketAddr,
    #[arg(long = "authenticator-listen", default_value = "127.0.0.1:7777")]
    pub authenticator_listen: SocketAddr,
}

fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).with_context(|| {
        format!("{what}: cannot listen on {addr} (is another demo running? choose another port with the flags of `cardinal demo --help`)")
    })
}

/// Runs the demo until Ctrl-C.
pub fn run(mut settings: Settings, args: DemoArgs) -> anyhow::Result<()> {
    check_loopback(&args)?;
    if args.reset && args.data_dir.exists() {
        std::fs::remove_dir_all(&args.data_dir)
            .with_context(|| format!("Failed to delete {}", args.data_dir.display()))?;
    }
    settings.data_dir = args.data_dir.clone();
    settings.database_url = args.database_url.clone().unwrap_or_else(|| {
        args.data_dir
            .join("cardinal.db")
            .to_string_lossy()
            .into_owned()
    });
    settings.mail_outbox = Some(args.data_dir.join("outbox"));
    let setup = DemoSetup {
        settings,
        cardinal: bind(args.listen, "Cardinal")?,
        ecpa: bind(args.ecpa_listen, "eCPA")?,
        webhr: bind(args.webhr_listen, "WebHR")?,
        authenticator: args.authenticator_listen,
        clock: Arc::new(crate::clock::SystemClock),
    };
    actix_web::rt::System::new().block_on(async move {
        let demo = start(setup).await?;
        println!("{}", demo.banner());
        tokio::select! {
            r = demo.run_until_stopped() => r,
            _ = tokio::signal::ctrl_c() => {
                println!("stopping");
                // Give in-flight requests a moment; the servers stop with the runtime.
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok(())
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(listen: &str) -> DemoArgs {
        DemoArgs {
            data_dir: "demo-data".into(),
            reset: false,
            database_url: None,
            listen: listen.parse().unwrap(),
            ecpa_listen: "127.0.0.1:8081".parse().unwrap(),
            webhr_listen: "127.0.0.1:8082".parse().unwrap(),
            authenticator_listen: "127.0.0.1:7777".parse().unwrap(),
        }
    }

    #[test]
    fn the_demo_listens_on_loopback_only() {
        assert!(check_loopback(&args("127.0.0.1:8080")).is_ok());
        assert!(check_loopback(&args("[::1]:8080")).is_ok());
        for addr in ["0.0.0.0:8080", "[::]:8080", "192.0.2.10:8080"] {
            let err = check_loopback(&args(addr)).unwrap_err().to_string();
            assert!(err.contains("refusing --listen"), "{addr}: {err}");
        }
        let mut a = args("127.0.0.1:8080");
        a.ecpa_listen = "0.0.0.0:8081".parse().unwrap();
        assert!(check_loopback(&a).is_err());
    }

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
