//! Command-line arguments of the two binaries: raw clap structs, turned into typed
//! settings by `into_*` so `main` never looks at raw strings.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::error::Error;
use crate::server::{normalize_origin, ServerConfig, DEFAULT_LISTEN};
use crate::vpcd::DEFAULT_VPCD_ADDR;

/// cardinal-authenticator: lets allowed web pages read your card and have it sign
/// a sign-in challenge, through a local API on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "cardinal-authenticator", version)]
pub struct AuthenticatorArgs {
    /// Address of the local API (127.0.0.1 only).
    #[arg(long, default_value_t = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// A web origin allowed to call the API, e.g. https://idp.example.gov.tw (repeatable).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
    /// Use this virtual card file in-process instead of PC/SC readers.
    #[arg(long, value_name = "FILE")]
    pub virtual_card: Option<PathBuf>,
}

/// Where the cards come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardSource {
    /// Real readers through pcscd.
    Pcsc,
    /// A virtual card file, in process.
    VirtualCard(PathBuf),
}

/// The authenticator's settings, checked.
#[derive(Debug, Clone)]
pub struct AuthenticatorCommand {
    pub server: ServerConfig,
    pub cards: CardSource,
}

impl AuthenticatorArgs {
    pub fn into_command(self) -> Result<AuthenticatorCommand, Error> {
        if !self.listen.ip().is_loopback() || !self.listen.is_ipv4() {
            return Err(Error::Config(format!(
                "--listen {} is not allowed: the authenticator listens on 127.0.0.1 only",
                self.listen
            )));
        }
        let origins = self
            .allow_origins
            .iter()
            .map(|o| normalize_origin(o))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AuthenticatorCommand {
            server: ServerConfig::new(self.listen, origins),
            cards: self
                .virtual_card
                .map_or(CardSource::Pcsc, CardSource::VirtualCard),
        })
    }
}

/// cardinal-virtual-card: plugs a virtual card file into pcscd's vpcd reader.
#[derive(Debug, Parser)]
#[command(name = "cardinal-virtual-card", version)]
pub struct VirtualCardArgs {
    /// The card file (cardinal-virtual-card/1 JSON).
    #[arg(long, value_name = "FILE")]
    pub card: PathBuf,
    /// vpcd's address (reader `Virtual PCD 00 00` is 127.0.0.1:35963).
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_VPCD_ADDR)]
    pub vpcd: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authenticator_defaults_to_loopback_7777_and_pcsc() {
        let cmd = AuthenticatorArgs::parse_from(["cardinal-authenticator"])
            .into_command()
            .unwrap();
        assert_eq!(cmd.server.listen.to_string(), "127.0.0.1:7777");
        assert_eq!(cmd.cards, CardSource::Pcsc);
        assert!(cmd.server.allowed_origins.is_empty());
    }

    #[test]
    fn authenticator_takes_repeated_origins_and_a_virtual_card() {
        let cmd = AuthenticatorArgs::parse_from([
            "cardinal-authenticator",
            "--allow-origin",
            "https://idp.example.gov.tw/",
            "--allow-origin",
            "http://localhost:8080",
            "--virtual-card",
            "card.json",
        ])
        .into_command()
        .unwrap();
        assert_eq!(
            cmd.server.allowed_origins,
            ["https://idp.example.gov.tw", "http://localhost:8080"]
        );
        assert_eq!(cmd.cards, CardSource::VirtualCard("card.json".into()));
    }

    #[test]
    fn authenticator_refuses_a_public_listen_address() {
        let err = AuthenticatorArgs::parse_from(["x", "--listen", "0.0.0.0:7777"])
            .into_command()
            .unwrap_err();
        assert!(err.to_string().contains("127.0.0.1 only"));
    }

    #[test]
    fn virtual_card_defaults_to_the_first_vpcd_slot() {
        let args = VirtualCardArgs::parse_from(["x", "--card", "c.json"]);
        assert_eq!(args.vpcd, "127.0.0.1:35963");
    }
}
