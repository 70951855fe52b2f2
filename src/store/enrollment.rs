//! Records and role traits of enrollment: the resident registry, registrations with their
//! lockout counter, mail tokens, rate limits.

use std::fmt;

use super::{AuditEvent, OutboxMessage, Person, StoreResult};
use crate::clock::UnixTime;

/// One household-registry row (戶籍資料), found by the keyed hash of the national ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resident {
    pub national_id_hash: String,
    /// 戶號.
    pub household_no: String,
    /// 縣市.
    pub county: String,
    /// 鄉鎮市區.
    pub township: String,
    /// 村里.
    pub village: String,
    /// 鄰.
    pub neighborhood: i32,
    pub updated_at: UnixTime,
}

/// Where a registration stands. [`RegistrationStatus::as_str`] and [`RegistrationStatus::parse`]
/// are the one mapping to and from the text stored in `registrations.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationStatus {
    Pending,
    Active,
    Locked,
    Deactivated,
}

impl RegistrationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationStatus::Pending => "pending",
            RegistrationStatus::Active => "active",
            RegistrationStatus::Locked => "locked",
            RegistrationStatus::Deactivated => "deactivated",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(RegistrationStatus::Pending),
            "active" => Some(RegistrationStatus::Active),
            "locked" => Some(RegistrationStatus::Locked),
            "deactivated" => Some(RegistrationStatus::Deactivated),
            _ => None,
        }
    }
}

/// 健保卡網路服務註冊 of one person.
#[derive(Clone, PartialEq, Eq)]
pub struct Registration {
    pub person_id: String,
    pub status: RegistrationStatus,
    /// argon2id PHC string.
    pub password_hash: String,
    pub failed_attempts: i32,
    pub phone_area: Option<String>,
    pub phone_number: Option<String>,
    pub phone_ext: Option<String>,
    pub mobile: Option<String>,
    pub email_backup: Option<String>,
    pub created_at: UnixTime,
    pub confirmed_at: Option<UnixTime>,
    pub locked_at: Option<UnixTime>,
    pub deactivated_at: Option<UnixTime>,
    pub deactivation_reason: Option<String>,
    pub password_changed_at: UnixTime,
    pub updated_at: UnixTime,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("person_id", &self.person_id)
            .field("status", &self.status)
            .field("failed_attempts", &self.failed_attempts)
            .finish_non_exhaustive()
    }
}

/// What a mail link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailTokenPurpose {
    /// 認證通知信: confirms the primary e-mail of a pending application.
    Confirm,
    /// 重設註冊密碼信.
    Reset,
    /// Confirms a new primary e-mail (基本資料異動).
    NewEmail,
}

impl MailTokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            MailTokenPurpose::Confirm => "confirm",
            MailTokenPurpose::Reset => "reset",
            MailTokenPurpose::NewEmail => "new_email",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailTokenRecord {
    pub token_hash: String,
    pub person_id: String,
    pub purpose: MailTokenPurpose,
    pub new_email: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub consumed_at: Option<UnixTime>,
}

/// Everything an application (申請) writes, in one transaction.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub person: Person,
    pub national_id_hash: String,
    pub national_id_sealed: String,
    pub birth_date: String,
    pub card_number: String,
    pub card_kind: String,
    pub registration: Registration,
    pub token: MailTokenRecord,
    pub mail: OutboxMessage,
    pub audit: AuditEvent,
}

/// A new registration password and what goes with it, written in one transaction: every
/// session, grant, code and reset link of the person ends; `renewed` (the member session
/// that made the change) is opened in their place; the notices go to the outbox.
#[derive(Clone)]
pub struct PasswordChange {
    /// argon2id PHC string of the new password.
    pub password_hash: String,
    pub renewed: Option<super::SessionRecord>,
    /// 註冊密碼已變更通知, one per registered address.
    pub notices: Vec<OutboxMessage>,
    pub audit: AuditEvent,
}

impl fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordChange")
            .field("notices", &self.notices.len())
            .field("audit", &self.audit)
            .finish_non_exhaustive()
    }
}

/// The outcome of a wrong password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedLogin {
    pub failed_attempts: i32,
    /// This failure locked the registration.
    pub locked_now: bool,
}

pub trait RegistryStore {
    /// Inserts or replaces residents, all in one transaction.
    fn upsert_residents(&self, residents: &[Resident]) -> StoreResult<usize>;
    fn find_resident(&self, national_id_hash: &str) -> StoreResult<Option<Resident>>;
}

pub trait RegistrationStore {
    /// The person who holds `card_number`, with their registration if any.
    fn find_by_card(
        &self,
        card_number: &str,
    ) -> StoreResult<Option<(Person, Option<Registration>)>>;
    fn find_by_national_id(
        &self,
        national_id_hash: &str,
    ) -> StoreResult<Option<(Person, Option<Registration>)>>;
    fn find_registration(&self, person_id: &str) -> StoreResult<Option<Registration>>;
    /// In one query: `None` when the person does not exist, else the status of their
    /// registration (`None` inside when they hold none).
    fn person_standing(&self, person_id: &str) -> StoreResult<Option<Option<RegistrationStatus>>>;
    /// Registrations per state, for metrics.
    fn registration_counts(&self) -> StoreResult<Vec<(String, i64)>>;
    /// A person's birth date (ISO), as read from the card at application.
    fn birth_date(&self, person_id: &str) -> StoreResult<Option<String>>;
    /// The sealed national ID of a person.
    fn sealed_national_id(&self, person_id: &str) -> StoreResult<Option<String>>;
    /// Writes an application: the person (new, or the existing one with the same national
    /// ID), the card, the pending registration, the confirmation token, its mail and the
    /// audit event — all or nothing. Fails with `Duplicate` when a registration exists.
    fn apply(&self, application: &NewApplication) -> StoreResult<()>;
    /// Counts a wrong password; locks the registration when the count reaches `threshold`.
    /// Atomic across instances. `None` when the registration is not active.
    fn record_failed_login(
        &self,
        person_id: &str,
        threshold: i32,
        now: UnixTime,
    ) -> StoreResult<Option<FailedLogin>>;
    /// A correct password clears the counter.
    fn record_successful_login(&self, person_id: &str, now: UnixTime) -> StoreResult<()>;
    /// Invalidates older tokens of the same purpose and writes a new one with its mail.
    fn replace_mail_token(
        &self,
        token: &MailTokenRecord,
        mail: &OutboxMessage,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Reads a mail token without consuming it (to check the card before using it).
    fn find_mail_token(&self, token_hash: &str) -> StoreResult<Option<MailTokenRecord>>;
    /// Single use: consumes an unexpired token of `purpose`; `None` when unknown, used or
    /// expired.
    fn consume_mail_token(
        &self,
        token_hash: &str,
        purpose: MailTokenPurpose,
        now: UnixTime,
    ) -> StoreResult<Option<MailTokenRecord>>;
    /// Consumes a confirmation token and activates the registration, in one transaction.
    fn confirm_registration(
        &self,
        token_hash: &str,
        now: UnixTime,
        audit: &AuditEvent,
    ) -> StoreResult<Option<String>>;
    /// Consumes a reset token, sets the new password and unlocks, in one transaction with
    /// everything of [`PasswordChange`]. Returns the person id and the ended `sid`s; `None`
    /// (nothing written) when the link is unknown, used or expired or the registration is
    /// neither active nor locked.
    fn reset_password(
        &self,
        token_hash: &str,
        change: &PasswordChange,
        now: UnixTime,
    ) -> StoreResult<Option<(String, Vec<String>)>>;
    /// 註冊密碼變更 of an active registration, with everything of [`PasswordChange`].
    /// Returns the ended `sid`s; `None` (nothing written) when the registration is not
    /// active.
    fn change_password(
        &self,
        person_id: &str,
        change: &PasswordChange,
        now: UnixTime,
    ) -> StoreResult<Option<Vec<String>>>;
    /// 基本資料異動 of the contact data (not the primary e-mail, which needs its link).
    fn update_contact(&self, registration: &Registration, audit: &AuditEvent) -> StoreResult<bool>;
    /// Consumes a new-e-mail token and makes its address the primary one.
    fn apply_new_email(
        &self,
        token_hash: &str,
        now: UnixTime,
        audit: &AuditEvent,
    ) -> StoreResult<Option<String>>;
    /// Deletes a pending application (刪除註冊申請) with its tokens; true if one was deleted.
    fn delete_pending(&self, person_id: &str, audit: &AuditEvent) -> StoreResult<bool>;
}

pub trait RateLimitStore {
    /// Counts a hit on `bucket` in the fixed window of `window` seconds that contains
    /// `now`; returns the hits in this window including this one. Atomic across instances.
    fn hit(&self, bucket: &str, window: i64, now: UnixTime) -> StoreResult<i32>;
    /// The hits on `bucket` in the window that contains `now`, without counting one.
    fn hits(&self, bucket: &str, window: i64, now: UnixTime) -> StoreResult<i32>;
    /// Gives back `n` hits on `bucket` in the window that contains `now` (never below zero;
    /// nothing when the window has no row). Atomic across instances.
    fn refund(&self, bucket: &str, window: i64, now: UnixTime, n: i32) -> StoreResult<()>;
}
