//! The vsmartcard `vpcd` client (docs/card-protocol.md §5): plugs a [`VirtualCard`] into
//! pcscd's virtual reader over TCP.
//!
//! Frames in both directions: 2-byte big-endian length, then the bytes. A 1-byte
//! message is a control code (`00` power off, `01` power on, `02` reset: no reply;
//! `04` get ATR: reply with the ATR). Longer messages are command APDUs, answered
//! with one frame holding the response APDU.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::virtual_card::VirtualCard;

/// Where `vsmartcard-vpcd` listens for the card of reader `Virtual PCD 00 00`.
pub const DEFAULT_VPCD_ADDR: &str = "127.0.0.1:35963";

const POWER_OFF: u8 = 0x00;
const POWER_ON: u8 = 0x01;
const RESET: u8 = 0x02;
const GET_ATR: u8 = 0x04;

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Reads one frame; `None` at a clean end of stream.
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 2];
    match reader.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut frame = vec![0u8; usize::from(u16::from_be_bytes(len))];
    reader.read_exact(&mut frame).await?;
    Ok(Some(frame))
}

/// Writes one frame.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    bytes: &[u8],
) -> std::io::Result<()> {
    let len = u16::try_from(bytes.len()).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "frame longer than 65535 bytes",
        )
    })?;
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    writer.write_all(&out).await?;
    writer.flush().await
}

/// The reply to one message from vpcd, if any.
pub fn handle_message(card: &mut VirtualCard, message: &[u8]) -> Option<Vec<u8>> {
    match message {
        [POWER_OFF] | [POWER_ON] | [RESET] => {
            card.reset();
            None
        }
        [GET_ATR] => Some(card.atr()),
        [code] => {
            tracing::debug!(code, "ignoring unknown vpcd control code");
            None
        }
        [] => None,
        // Never log the APDU itself: it may carry a PIN.
        apdu => Some(card.transmit(apdu)),
    }
}

/// Serves one vpcd connection until it closes.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    card: &mut VirtualCard,
    stream: &mut S,
) -> std::io::Result<()> {
    while let Some(message) = read_frame(stream).await? {
        if let Some(reply) = handle_message(card, &message) {
            write_frame(stream, &reply).await?;
        }
    }
    Ok(())
}

/// Connects to vpcd at `addr` and serves the card; reconnects with backoff
/// (100 ms doubling to 5 s) whenever the connection cannot be made or drops, for
/// example when pcscd restarts. Runs until the task is cancelled.
pub async fn run(mut card: VirtualCard, addr: &str) {
    let mut backoff = BACKOFF_START;
    let mut logged_waiting = false;
    loop {
        match TcpStream::connect(addr).await {
            Ok(mut stream) => {
                tracing::info!(%addr, card_number = card.card_number(), "card inserted into vpcd");
                logged_waiting = false;
                backoff = BACKOFF_START;
                let _ = stream.set_nodelay(true);
                match serve(&mut card, &mut stream).await {
                    Ok(()) => tracing::info!("vpcd closed the connection"),
                    Err(e) => tracing::warn!(error = %e, "vpcd connection failed"),
                }
                card.reset();
            }
            Err(e) => {
                if !logged_waiting {
                    tracing::info!(
                        %addr, error = %e,
                        "waiting for vpcd (is pcscd running with vsmartcard-vpcd installed?)"
                    );
                    logged_waiting = true;
                }
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}
