//! How APDUs reach a card: in process (a [`VirtualCard`]) or through PC/SC.

use std::time::Duration;

use serde::Serialize;

use crate::error::Error;
use crate::virtual_card::VirtualCard;

/// The reader name of [`InProcessTransport`].
pub const IN_PROCESS_READER: &str = "Cardinal Virtual Card 00 00";

/// A reader and whether a card is in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReaderStatus {
    pub name: String,
    pub card_present: bool,
}

/// An open connection to one card, inside an exclusive transaction.
pub trait CardChannel {
    /// Sends one command APDU; returns the response APDU (data ‖ SW1 SW2).
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error>;
}

/// The operation run by [`CardTransport::session`].
pub type SessionOp<'a> = dyn FnMut(&mut dyn CardChannel) -> Result<(), Error> + 'a;

/// A way to reach card readers.
pub trait CardTransport: Send {
    /// The readers and whether each has a card.
    fn readers(&mut self) -> Result<Vec<ReaderStatus>, Error>;

    /// Waits (without polling) until a card is in `reader`, or in any reader when
    /// `None`; returns the reader's name. `no_card` after `timeout`.
    fn wait_for_card(&mut self, reader: Option<&str>, timeout: Duration) -> Result<String, Error>;

    /// Connects to the card in `reader` (or the first reader with a card), runs `op`
    /// inside one transaction, then resets the card so that no verified PIN outlives
    /// the operation.
    fn session(&mut self, reader: Option<&str>, op: &mut SessionOp<'_>) -> Result<(), Error>;
}

/// A transport its owner keeps a handle to, e.g. a demo or a test that swaps the card in
/// an [`InProcessTransport`] while the local API serves it.
impl<T: CardTransport> CardTransport for std::sync::Arc<std::sync::Mutex<T>> {
    fn readers(&mut self) -> Result<Vec<ReaderStatus>, Error> {
        self.lock().unwrap_or_else(|e| e.into_inner()).readers()
    }

    fn wait_for_card(&mut self, reader: Option<&str>, timeout: Duration) -> Result<String, Error> {
        self.lock()
            .unwrap_or_else(|e| e.into_inner())
            .wait_for_card(reader, timeout)
    }

    fn session(&mut self, reader: Option<&str>, op: &mut SessionOp<'_>) -> Result<(), Error> {
        self.lock()
            .unwrap_or_else(|e| e.into_inner())
            .session(reader, op)
    }
}

/// Runs `f` in a [`CardTransport::session`] and returns its value.
pub fn with_card<T>(
    transport: &mut dyn CardTransport,
    reader: Option<&str>,
    f: impl FnOnce(&mut dyn CardChannel) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut f = Some(f);
    let mut out = None;
    transport.session(reader, &mut |channel| {
        if let Some(f) = f.take() {
            out = Some(f(channel)?);
        }
        Ok(())
    })?;
    out.ok_or_else(|| Error::card("the card session ended before the operation ran"))
}

/// A virtual card in this process, in reader [`IN_PROCESS_READER`].
#[derive(Debug)]
pub struct InProcessTransport {
    card: Option<VirtualCard>,
}

impl InProcessTransport {
    pub fn new(card: VirtualCard) -> Self {
        Self { card: Some(card) }
    }

    /// A reader with no card in it.
    pub fn empty() -> Self {
        Self { card: None }
    }

    /// Inserts or removes (`None`) the card.
    pub fn set_card(&mut self, card: Option<VirtualCard>) {
        self.card = card;
    }

    /// The card in the reader, if any.
    pub fn card(&self) -> Option<&VirtualCard> {
        self.card.as_ref()
    }

    fn check_reader(reader: Option<&str>) -> Result<(), Error> {
        match reader {
            Some(name) if name != IN_PROCESS_READER => Err(unknown_reader(name)),
            _ => Ok(()),
        }
    }
}

struct VirtualChannel<'a>(&'a mut VirtualCard);

impl CardChannel for VirtualChannel<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(self.0.transmit(apdu))
    }
}

impl CardTransport for InProcessTransport {
    fn readers(&mut self) -> Result<Vec<ReaderStatus>, Error> {
        Ok(vec![ReaderStatus {
            name: IN_PROCESS_READER.to_owned(),
            card_present: self.card.is_some(),
        }])
    }

    fn wait_for_card(&mut self, reader: Option<&str>, _timeout: Duration) -> Result<String, Error> {
        Self::check_reader(reader)?;
        // Nothing can insert a card while we hold `&mut self`: answer at once.
        match self.card {
            Some(_) => Ok(IN_PROCESS_READER.to_owned()),
            None => Err(Error::NoCard {
                reader: Some(IN_PROCESS_READER.to_owned()),
            }),
        }
    }

    fn session(&mut self, reader: Option<&str>, op: &mut SessionOp<'_>) -> Result<(), Error> {
        Self::check_reader(reader)?;
        let card = self.card.as_mut().ok_or_else(|| Error::NoCard {
            reader: Some(IN_PROCESS_READER.to_owned()),
        })?;
        card.reset();
        let result = op(&mut VirtualChannel(card));
        card.reset();
        result
    }
}

fn unknown_reader(name: &str) -> Error {
    Error::NoReader {
        message: format!("no reader named {name:?}: ask GET /v1/status for the reader names"),
    }
}

#[cfg(feature = "pcsc")]
pub use self::pcsc_transport::PcscTransport;

#[cfg(feature = "pcsc")]
mod pcsc_transport {
    use std::ffi::CString;
    use std::time::{Duration, Instant};

    use pcsc::{Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};

    use super::{unknown_reader, CardChannel, CardTransport, ReaderStatus, SessionOp};
    use crate::error::Error;

    const START_PCSCD: &str =
        "start it with `pcscd -f &` (or `systemctl start pcscd`), then try again";

    /// Readers and cards through pcscd (the `pcsc` crate).
    ///
    /// The PC/SC context is established on first use and again after pcscd
    /// restarts, so the authenticator can start before pcscd does.
    #[derive(Default)]
    pub struct PcscTransport {
        context: Option<Context>,
    }

    impl std::fmt::Debug for PcscTransport {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("PcscTransport")
                .field("established", &self.context.is_some())
                .finish()
        }
    }

    impl PcscTransport {
        pub fn new() -> Self {
            Self::default()
        }

        fn context(&mut self) -> Result<&Context, Error> {
            if self.context.is_none() {
                self.context = Some(Context::establish(Scope::User).map_err(map_error)?);
            }
            self.context
                .as_ref()
                .ok_or_else(|| Error::card("PC/SC context missing"))
        }

        /// Runs `f` with the context; drops the context when pcscd went away so the
        /// next call establishes a new one.
        fn with_context<T>(
            &mut self,
            f: impl FnOnce(&Context) -> Result<T, pcsc::Error>,
        ) -> Result<T, Error> {
            let result = f(self.context()?);
            if let Err(
                pcsc::Error::NoService | pcsc::Error::ServiceStopped | pcsc::Error::InvalidHandle,
            ) = result
            {
                self.context = None;
            }
            result.map_err(map_error)
        }

        fn reader_states(context: &Context) -> Result<Vec<ReaderState>, pcsc::Error> {
            let names = match context.list_readers_owned() {
                Ok(names) => names,
                Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
                Err(e) => return Err(e),
            };
            let mut states: Vec<ReaderState> = names
                .into_iter()
                .map(|name| ReaderState::new(name, State::UNAWARE))
                .collect();
            if !states.is_empty() {
                context.get_status_change(Duration::ZERO, &mut states)?;
            }
            Ok(states)
        }

        fn pick_reader(&mut self, reader: Option<&str>) -> Result<CString, Error> {
            let states = self.with_context(Self::reader_states)?;
            if states.is_empty() {
                return Err(no_readers());
            }
            let present = |s: &ReaderState| s.event_state().contains(State::PRESENT);
            let found = match reader {
                Some(name) => states
                    .iter()
                    .find(|s| s.name().to_bytes() == name.as_bytes())
                    .ok_or_else(|| unknown_reader(name))?,
                None => states
                    .iter()
                    .find(|s| present(s))
                    .ok_or(Error::NoCard { reader: None })?,
            };
            if !present(found) {
                return Err(Error::NoCard {
                    reader: Some(found.name().to_string_lossy().into_owned()),
                });
            }
            Ok(found.name().to_owned())
        }
    }

    struct PcscChannel<'a, 'tx>(&'a pcsc::Transaction<'tx>);

    impl CardChannel for PcscChannel<'_, '_> {
        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error> {
            let mut buffer = [0u8; pcsc::MAX_BUFFER_SIZE];
            let response = self.0.transmit(apdu, &mut buffer).map_err(map_error)?;
            Ok(response.to_vec())
        }
    }

    impl CardTransport for PcscTransport {
        fn readers(&mut self) -> Result<Vec<ReaderStatus>, Error> {
            let states = self.with_context(Self::reader_states)?;
            Ok(states
                .iter()
                .map(|s| ReaderStatus {
                    name: s.name().to_string_lossy().into_owned(),
                    card_present: s.event_state().contains(State::PRESENT),
                })
                .collect())
        }

        fn wait_for_card(
            &mut self,
            reader: Option<&str>,
            timeout: Duration,
        ) -> Result<String, Error> {
            let deadline = Instant::now() + timeout;
            let wanted = reader.map(str::to_owned);
            self.with_context(|context| {
                let mut states = Self::reader_states(context)?;
                // The PnP entry wakes us when a reader appears.
                states.push(ReaderState::new(pcsc::PNP_NOTIFICATION(), State::UNAWARE));
                loop {
                    let found = states.iter().find(|s| {
                        s.name() != pcsc::PNP_NOTIFICATION()
                            && s.event_state().contains(State::PRESENT)
                            && wanted
                                .as_deref()
                                .is_none_or(|w| s.name().to_bytes() == w.as_bytes())
                    });
                    if let Some(s) = found {
                        return Ok(Some(s.name().to_string_lossy().into_owned()));
                    }
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                        return Ok(None);
                    };
                    let reader_added = states.iter().any(|s| {
                        s.name() == pcsc::PNP_NOTIFICATION()
                            && s.event_state().contains(State::CHANGED)
                    });
                    if reader_added {
                        let mut fresh = Self::reader_states(context)?;
                        fresh.push(ReaderState::new(pcsc::PNP_NOTIFICATION(), State::UNAWARE));
                        states = fresh;
                    }
                    for s in &mut states {
                        s.sync_current_state();
                    }
                    match context.get_status_change(left, &mut states) {
                        Ok(()) => {}
                        Err(pcsc::Error::Timeout) => return Ok(None),
                        Err(e) => return Err(e),
                    }
                }
            })?
            .ok_or(Error::NoCard {
                reader: reader.map(str::to_owned),
            })
        }

        fn session(&mut self, reader: Option<&str>, op: &mut SessionOp<'_>) -> Result<(), Error> {
            let name = self.pick_reader(reader)?;
            let context = self.context()?;
            let mut card = context
                .connect(&name, ShareMode::Shared, Protocols::ANY)
                .map_err(map_error)?;
            let transaction = card.transaction().map_err(map_error)?;
            let result = op(&mut PcscChannel(&transaction));
            // Reset: a verified PIN must not outlive this operation.
            if let Err((_, e)) = transaction.end(Disposition::ResetCard) {
                tracing::warn!(error = %e, "failed to end the PC/SC transaction");
            }
            if let Err((_, e)) = card.disconnect(Disposition::ResetCard) {
                tracing::warn!(error = %e, "failed to disconnect from the card");
            }
            result
        }
    }

    fn no_readers() -> Error {
        Error::NoReader {
            message: "no card reader found: plug a reader in (or start the virtual card)".into(),
        }
    }

    fn map_error(e: pcsc::Error) -> Error {
        match e {
            pcsc::Error::NoService | pcsc::Error::ServiceStopped => Error::NoReader {
                message: format!("the PC/SC service (pcscd) is not running: {START_PCSCD}"),
            },
            pcsc::Error::NoReadersAvailable | pcsc::Error::ReaderUnavailable => no_readers(),
            pcsc::Error::UnknownReader => Error::NoReader {
                message: "the card reader is gone: plug it in again".into(),
            },
            pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard => Error::NoCard { reader: None },
            pcsc::Error::UnresponsiveCard | pcsc::Error::UnpoweredCard | pcsc::Error::ResetCard => {
                Error::card(format!(
                    "the card does not answer ({e}): take it out and insert it again"
                ))
            }
            other => Error::card(format!("PC/SC error: {other}")),
        }
    }
}
