//! The token format and card kinds shared with the card authenticator
//! (docs/card-protocol.md §2, §4): one definition, in the authenticator's library.

pub use cardinal_authenticator::card_file::{
    CardFile, CardKind, CARD_FILE_FORMAT, POLICY_OID_MOICA, POLICY_OID_NHI,
};
pub use cardinal_authenticator::token::{signing_hash, CardToken, ALGORITHM_ES256, TOKEN_FORMAT};
