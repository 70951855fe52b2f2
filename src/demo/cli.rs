//! `cardinal demo` on the command line: its options, the loopback-only rule, and running
//! until Ctrl-C.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};

use super::{start, DemoSetup};
use crate::configuration::Settings;

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
}
