//! Card sign-in on the IdP side (SPEC R-CARD): challenges bound to a browser transaction
//! and kept in the database, and validation of the authenticator's signed token.

pub mod ca;
pub mod token;
pub mod verify;

use std::sync::Arc;

use crate::crypto::{ct_eq, random_token, token_hash};
use crate::oidc::Engine;
use crate::store::ChallengeRecord;
pub use token::{CardKind, CardToken};
pub use verify::{CardError, CardTrust, VerifiedCard};

/// A challenge handed to the browser.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedChallenge {
    pub challenge: String,
    pub expires_in: i64,
}

/// Issues challenges and checks card tokens against them.
#[derive(Clone, Debug)]
pub struct CardService {
    engine: Engine,
    trust: Arc<CardTrust>,
    origin: String,
}

impl CardService {
    pub fn new(engine: Engine, trust: CardTrust) -> anyhow::Result<CardService> {
        let origin = url::Url::parse(engine.issuer())?
            .origin()
            .ascii_serialization();
        Ok(CardService {
            engine,
            trust: Arc::new(trust),
            origin,
        })
    }

    /// The web origin the card must have signed (this IdP's).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn trust(&self) -> &CardTrust {
        &self.trust
    }

    /// A new 32-byte challenge bound to `binding` (the browser transaction), valid
    /// `card.challenge_ttl` seconds; `expected_card` when the flow already knows the card.
    pub fn issue_challenge(
        &self,
        binding: &str,
        expected_card: Option<&str>,
    ) -> anyhow::Result<IssuedChallenge> {
        let now = self.engine.now();
        let ttl = self.engine.settings().card.challenge_ttl;
        let challenge = random_token(32);
        self.engine.store().create_challenge(&ChallengeRecord {
            challenge_hash: token_hash(&challenge),
            binding: binding.to_string(),
            expected_card: expected_card.map(str::to_string),
            created_at: now,
            expires_at: now + ttl,
            consumed_at: None,
        })?;
        Ok(IssuedChallenge {
            challenge,
            expires_in: ttl,
        })
    }

    /// Consumes `challenge` (on first use, whatever the outcome) and verifies `token` over
    /// it. The challenge must belong to `binding`; a card other than the expected one fails.
    pub fn authenticate(
        &self,
        binding: &str,
        challenge: &str,
        token: &CardToken,
    ) -> Result<VerifiedCard, CardError> {
        let now = self.engine.now();
        let record = match self
            .engine
            .store()
            .consume_challenge(&token_hash(challenge), now)
        {
            Ok(Some(r)) => r,
            Ok(None) => return Err(CardError::BadChallenge),
            Err(e) => {
                tracing::error!(error = ?e, "cannot consume a card challenge");
                return Err(CardError::Internal);
            }
        };
        if !ct_eq(&record.binding, binding) {
            return Err(CardError::BadChallenge);
        }
        let card = self.trust.verify(token, &self.origin, challenge, now)?;
        if record
            .expected_card
            .as_deref()
            .is_some_and(|expected| expected != card.card_number)
        {
            return Err(CardError::WrongCard);
        }
        Ok(card)
    }
}
