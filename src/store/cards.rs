//! The card certificates people signed in with (issuer + serial), so that a later
//! revocation of one of them ends what it opened (docs/requirements.md R-CARD-2;
//! docs/card-trust.md).

use crate::clock::UnixTime;

use super::{AuditEvent, StoreResult};

/// A successful sign-in with a card certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardCertificateUse {
    /// The issuer as `card::verify::issuer_id` names it (SHA-256 of its name, hex).
    pub issuer: String,
    /// The issuer's name for people.
    pub issuer_name: String,
    /// The certificate serial, hex bytes with colons.
    pub serial: String,
    pub person_id: String,
    pub card_number: String,
    /// `nhi` or `moica`.
    pub kind: String,
    /// Certificate expiry.
    pub not_after: UnixTime,
    pub at: UnixTime,
}

/// Whom a revocation reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedHolder {
    pub person_id: String,
    /// The `sid`s of the SSO sessions that were ended (for back-channel logout).
    pub ended_sids: Vec<String>,
}

pub trait CardCertificateStore {
    /// Records a sign-in with this certificate. `false` (nothing recorded) when the
    /// certificate is already known to be revoked: the sign-in must be refused.
    fn record_card_certificate(&self, used: &CardCertificateUse) -> StoreResult<bool>;
    /// Of `serials` (all from `issuer`), those recorded and not yet acted on as revoked.
    fn unrevoked_card_certificates(
        &self,
        issuer: &str,
        serials: &[String],
    ) -> StoreResult<Vec<String>>;
    /// Marks the certificate revoked and, in the same transaction, ends every session of
    /// its holder (SSO and console), revokes every grant, deletes the codes not redeemed
    /// yet and writes `audit` (its
    /// `person_id` set to the holder). `None` when it was marked already (by another
    /// instance, or earlier) or is not recorded: nothing is written then.
    fn revoke_card_certificate(
        &self,
        issuer: &str,
        serial: &str,
        now: UnixTime,
        audit: &AuditEvent,
    ) -> StoreResult<Option<RevokedHolder>>;
}
