use std::process::ExitCode;

use clap::Parser as _;

use cardinal_authenticator::card_file::CardFile;
use cardinal_authenticator::cli::VirtualCardArgs;
use cardinal_authenticator::error::Error;
use cardinal_authenticator::virtual_card::VirtualCard;
use cardinal_authenticator::{telemetry, vpcd};

fn main() -> ExitCode {
    telemetry::init();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cardinal-virtual-card: {e:?}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Error> {
    let args = VirtualCardArgs::parse();
    let card = VirtualCard::from_file(CardFile::load(&args.card)?)?;
    tracing::info!(card_number = card.card_number(), kind = %card.kind(), vpcd = %args.vpcd, "virtual card ready");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("Failed to start the async runtime", e))?;
    runtime.block_on(async {
        tokio::select! {
            () = vpcd::run(card, &args.vpcd) => Ok(()),
            signal = tokio::signal::ctrl_c() => {
                tracing::info!("card removed (interrupted)");
                signal.map_err(|e| Error::io("Failed to wait for Ctrl-C", e))
            }
        }
    })
}
