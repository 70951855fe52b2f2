//! Cardinal's card authenticator: the local API the IdP's pages call to read a
//! card and have it sign a challenge, the card transports (PC/SC, in-process), and
//! the virtual card (`cardinal-virtual-card`). The contract is docs/card-protocol.md.

pub mod apdu;
pub mod card;
pub mod card_file;
pub mod cli;
pub mod error;
pub mod server;
pub mod telemetry;
pub mod token;
pub mod transport;
pub mod virtual_card;
pub mod vpcd;
