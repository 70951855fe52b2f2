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

use anyhow::{anyhow, Context};
use cardinal_authenticator::server::{self as local_api, ServerConfig};
use cardinal_authenticator::transport::InProcessTransport;

use crate::clock::Clock;
use crate::configuration::Settings;
use crate::oidc::Engine;
use crate::startup::{Application, Options};

mod cards;
mod cli;
mod dev;
mod mailbox;
mod portals;
mod seed;

pub use cards::DemoCard;
pub use cli::{check_loopback, run, DemoArgs};
pub use dev::is_this_computer;

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

/// The servers of a running demo.
type Tasks = Vec<tokio::task::JoinHandle<std::io::Result<()>>>;

/// Where browsers on this computer reach the demo's three web servers.
struct Origins {
    cardinal: String,
    ecpa: String,
    webhr: String,
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
    let origins = Origins {
        cardinal: origin(&cardinal)?,
        ecpa: origin(&ecpa)?,
        webhr: origin(&webhr)?,
    };

    // Card issuers and the cards (made once, kept in the data folder).
    let cards = {
        let dir = data_dir.clone();
        tokio::task::spawn_blocking(move || cards::ensure_cards(&dir)).await??
    };
    let reader = Arc::new(Mutex::new(cards::reader_with_first(&cards)?));
    let local = local_api::build(
        ServerConfig::new(authenticator, vec![origins.cardinal.clone()]),
        Box::new(reader.clone()),
    )
    .map_err(|e| anyhow!("card authenticator: {e}"))?;
    let authenticator_url = format!("http://{}", local.local_addr());

    let outbox = settings
        .mail_outbox
        .clone()
        .unwrap_or_else(|| data_dir.join("outbox"));
    let listen = cardinal.local_addr()?;
    point_at_demo(
        &mut settings,
        &data_dir,
        &origins,
        listen,
        &authenticator_url,
        &outbox,
    );
    if settings.templates_dir.is_none() {
        settings.templates_dir = Some(demo_templates(&data_dir)?);
    }
    let options = Options {
        clock,
        listener: Some(Arc::new(cardinal)),
        routes: Some(dev::routes(
            &origins,
            reader.clone(),
            cards.clone(),
            outbox.clone(),
        )),
        ..Options::default()
    };
    let app = Application::build_with(settings, options).await?;
    let engine = app.engine();
    let metrics_url = app
        .metrics_addr()
        .map(|addr| format!("http://{addr}/metrics"));
    let secrets = seed::seed(&engine, &origins).await?;

    let mut tasks = vec![
        tokio::spawn(local.into_server()),
        tokio::spawn(app.run_until_stopped()),
    ];
    portals::start(&mut tasks, &origins, ecpa, webhr, secrets).await?;

    Ok(Demo {
        cardinal_url: origins.cardinal,
        ecpa_url: origins.ecpa,
        webhr_url: origins.webhr,
        authenticator_url,
        metrics_url,
        outbox,
        cards,
        engine,
        reader,
        tasks,
    })
}

/// The demo's page footer: no mail leaves the demo, so every page says where to read it (the
/// dev page's mailbox), through the operator's override of the footer (`templates_dir`).
const DEMO_FOOTER: &str = r#"<p class="demo-note" id="demo-note">{{#if (eq lang "en")}}Demo: no mail is sent; read it in the <a href="/dev#mailbox" id="demo-mailbox">demo mailbox</a>.{{else}}示範環境：信件不會寄出，請至<a href="/dev#mailbox" id="demo-mailbox">示範信箱</a>查看。{{/if}}</p>
</main>
</body>
</html>
"#;

fn demo_templates(data_dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let dir = data_dir.join("templates");
    let partials = dir.join("partials");
    std::fs::create_dir_all(&partials)
        .with_context(|| format!("Failed to create {}", partials.display()))?;
    std::fs::write(partials.join("footer.hbs"), DEMO_FOOTER)
        .with_context(|| format!("Failed to write {}", partials.display()))?;
    Ok(dir)
}

/// Points Cardinal's settings at the demo: its addresses, the outbox instead of SMTP, the
/// in-process authenticator, and the demo CAs with their CRLs.
fn point_at_demo(
    settings: &mut Settings,
    data_dir: &Path,
    origins: &Origins,
    listen: SocketAddr,
    authenticator_url: &str,
    outbox: &Path,
) {
    settings.issuer = origins.cardinal.clone();
    settings.listen = listen.to_string();
    settings.smtp_url = None;
    settings.mail_outbox = Some(outbox.to_path_buf());
    settings.mail.send_interval_secs = 1;
    settings.card.authenticator_url = authenticator_url.to_string();
    settings.card.nhi_ca_files = vec![data_dir.join("ca-nhi").join("ca.pem")];
    settings.card.moica_ca_files = vec![data_dir.join("ca-moica").join("ca.pem")];
    settings.card.crl_files = vec![
        data_dir.join("ca-nhi").join("crl.pem"),
        data_dir.join("ca-moica").join("crl.pem"),
    ];
}

impl Demo {
    /// Puts the demo card `key` (`nhi`, `nhi2`, `moica`) in the reader; `None` empties it.
    pub fn insert(&self, key: Option<&str>) -> anyhow::Result<()> {
        cards::insert(&self.reader, &self.cards, key)
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
