use std::process::ExitCode;

use clap::Parser as _;

use cardinal_authenticator::cli::{AuthenticatorArgs, CardSource};
use cardinal_authenticator::error::Error;
use cardinal_authenticator::transport::{CardTransport, InProcessTransport};
use cardinal_authenticator::virtual_card::VirtualCard;
use cardinal_authenticator::{card_file::CardFile, server, telemetry};

fn main() -> ExitCode {
    telemetry::init();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cardinal-authenticator: {e:?}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Error> {
    let command = AuthenticatorArgs::parse().into_command()?;
    let transport = transport(&command.cards)?;
    actix_web::rt::System::new().block_on(async move {
        let server = server::build(command.server, transport)?;
        server
            .into_server()
            .await
            .map_err(|e| Error::io("The local API stopped", e))
    })
}

fn transport(source: &CardSource) -> Result<Box<dyn CardTransport>, Error> {
    match source {
        CardSource::VirtualCard(path) => {
            let card = VirtualCard::from_file(CardFile::load(path)?)?;
            tracing::info!(card_number = card.card_number(), kind = %card.kind(), "using a virtual card in process");
            Ok(Box::new(InProcessTransport::new(card)))
        }
        CardSource::Pcsc => pcsc_transport(),
    }
}

#[cfg(feature = "pcsc")]
fn pcsc_transport() -> Result<Box<dyn CardTransport>, Error> {
    Ok(Box::new(
        cardinal_authenticator::transport::PcscTransport::new(),
    ))
}

#[cfg(not(feature = "pcsc"))]
fn pcsc_transport() -> Result<Box<dyn CardTransport>, Error> {
    Err(Error::Config(
        "this build has no PC/SC support (built without the `pcsc` feature): use --virtual-card FILE"
            .into(),
    ))
}
