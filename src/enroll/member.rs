//! Member services after a card sign-in (docs/requirements.md R-REG-10, first half): 基本資料異動
//! and 註冊密碼變更. A new primary e-mail takes effect only when its link is used with the card.

use super::apply::{digits, mask_email, ApplyError};
use super::recovery::RecoveryError;
use super::{Enrollment, PasswordChangeVia};
use crate::audit::AuditKind;
use crate::card::CardToken;
use crate::crypto::{new_secret_token, random_token, token_hash};
use crate::domain::password::Password;
use crate::mail::outbox_message;
use crate::oidc::logout::LogoutDelivery;
use crate::store::{
    AuditEvent, MailTokenPurpose, MailTokenRecord, PasswordChange, Person, Registration,
    SessionRecord,
};

/// What 註冊密碼變更 did.
pub enum PasswordChangeOutcome {
    /// Changed: the renewed member session's cookie value, and the back-channel logout
    /// tokens of the sessions that ended.
    Changed {
        session_token: String,
        ended: Vec<LogoutDelivery>,
    },
    /// The current password was wrong once too often: the registration is locked and every
    /// session ended.
    LockedOut { ended: Vec<LogoutDelivery> },
}

impl std::fmt::Debug for PasswordChangeOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordChangeOutcome::Changed { ended, .. } => f
                .debug_struct("Changed")
                .field("ended", &ended.len())
                .finish_non_exhaustive(),
            PasswordChangeOutcome::LockedOut { ended } => f
                .debug_struct("LockedOut")
                .field("ended", &ended.len())
                .finish(),
        }
    }
}

/// What 基本資料異動 shows and accepts.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub phone_area: String,
    pub phone_number: String,
    pub phone_ext: String,
    pub mobile: String,
    pub email: String,
    pub email_backup: String,
}

fn audit(now: i64, event: AuditKind, outcome: &str, person: &str, ip: Option<&str>) -> AuditEvent {
    AuditEvent {
        at: now,
        event: event.as_str().into(),
        outcome: outcome.into(),
        actor: None,
        person_id: Some(person.into()),
        client_id: None,
        ip: ip.map(str::to_string),
        detail: None,
    }
}

impl Enrollment {
    /// The signed-in member and their registration.
    pub fn member(&self, person_id: &str) -> Result<(Person, Registration), RecoveryError> {
        let person = self
            .engine
            .store()
            .find_person(person_id)?
            .ok_or(RecoveryError::NotRegistered)?;
        let reg = self
            .engine
            .store()
            .find_registration(person_id)?
            .ok_or(RecoveryError::NotRegistered)?;
        Ok((person, reg))
    }

    /// 註冊密碼變更: the current password, then the new one twice. A wrong current password
    /// counts toward the lockout of sign-in (a stolen member session cannot guess it without
    /// limit); reaching the limit locks the registration and ends every session. A change
    /// ends every session, grant, code and reset link of the person and renews the member
    /// session `current` (a new cookie and `sid`, the same sign-in); the notice goes to the
    /// registered addresses in `lang`.
    pub fn change_password(
        &self,
        current: &SessionRecord,
        passwords: (&str, &str, &str),
        lang: &str,
        ip: Option<&str>,
    ) -> Result<PasswordChangeOutcome, RecoveryError> {
        let (old, new, confirm) = passwords;
        let person_id = current.person_id.as_str();
        let (person, reg) = self.member(person_id)?;
        let now = self.engine.now();
        if !self
            .hasher
            .verify(&Password::new(old), Some(&reg.password_hash))
        {
            return self.wrong_old_password(person_id, ip, now);
        }
        let new_password = Password::new(new);
        let personal = self.personal_data(person_id)?;
        let refs: Vec<&str> = personal.iter().map(String::as_str).collect();
        self.engine
            .settings()
            .password
            .policy()
            .check(&new_password, Some(&Password::new(confirm)), &refs)
            .map_err(|e| RecoveryError::Apply(ApplyError::Password(e)))?;
        let hash = self
            .hasher
            .hash(&new_password)
            .map_err(|_| RecoveryError::Apply(ApplyError::Internal))?;
        let session_token = new_secret_token();
        let renewed = SessionRecord {
            id_hash: token_hash(&session_token),
            sid: random_token(16),
            created_at: now,
            last_seen_at: now,
            ended_at: None,
            ..current.clone()
        };
        let notices = self
            .password_notices(&person, &reg, None, PasswordChangeVia::Change, lang, now)
            .map_err(|e| {
                tracing::error!(error = ?e, "the password notice cannot be written");
                RecoveryError::Apply(ApplyError::Internal)
            })?;
        let change = PasswordChange {
            password_hash: hash,
            renewed: Some(renewed),
            notices,
            audit: audit(now, AuditKind::PasswordChange, "success", person_id, ip),
        };
        let ended = self
            .engine
            .store()
            .change_password(person_id, &change, now)?
            .ok_or(RecoveryError::NotRegistered)?;
        Ok(PasswordChangeOutcome::Changed {
            session_token,
            ended: self.engine.logout_deliveries_for(person_id, &ended),
        })
    }

    fn wrong_old_password(
        &self,
        person_id: &str,
        ip: Option<&str>,
        now: i64,
    ) -> Result<PasswordChangeOutcome, RecoveryError> {
        let threshold = self.engine.settings().registration.lockout_threshold;
        let failed = self
            .engine
            .store()
            .record_failed_login(person_id, threshold, now)?;
        self.engine.audit_from(
            ip,
            AuditKind::PasswordChange,
            "wrong_password",
            Some(person_id),
            None,
            None,
        );
        match failed {
            Some(f) if !f.locked_now => Err(RecoveryError::WrongOldPassword {
                remaining: (threshold - f.failed_attempts).max(0),
            }),
            // Locked now (or meanwhile by a parallel attempt): whoever holds this session
            // is out, with every other session of the person.
            _ => {
                let ended = self.engine.store().end_person_sessions(
                    person_id,
                    now,
                    &audit(now, AuditKind::Lockout, "sessions_ended", person_id, ip),
                )?;
                Ok(PasswordChangeOutcome::LockedOut {
                    ended: self.engine.logout_deliveries_for(person_id, &ended),
                })
            }
        }
    }

    /// 基本資料異動: contact data at once; a changed primary e-mail is sent a link and changes
    /// only when the link is used (the mail in `lang`). Returns the masked new address when
    /// one was sent.
    pub fn update_profile(
        &self,
        person_id: &str,
        form: &Profile,
        lang: &str,
        ip: Option<&str>,
    ) -> Result<Option<String>, RecoveryError> {
        let (person, mut reg) = self.member(person_id)?;
        let now = self.engine.now();
        reg.phone_area = digits(&form.phone_area, 2, 4)?;
        reg.phone_number = digits(&form.phone_number, 5, 8)?;
        reg.phone_ext = digits(&form.phone_ext, 1, 6)?;
        reg.mobile = digits(&form.mobile, 10, 10)?;
        let backup = form.email_backup.trim();
        reg.email_backup = if backup.is_empty() {
            None
        } else {
            backup
                .parse::<lettre::Address>()
                .map_err(|_| RecoveryError::Apply(ApplyError::Email))?;
            Some(backup.to_string())
        };
        reg.updated_at = now;
        self.engine.store().update_contact(
            &reg,
            &audit(now, AuditKind::ProfileUpdate, "success", person_id, ip),
        )?;
        let new_primary = form.email.trim();
        if new_primary.is_empty() || Some(new_primary) == person.email.as_deref() {
            return Ok(None);
        }
        new_primary
            .parse::<lettre::Address>()
            .map_err(|_| RecoveryError::Apply(ApplyError::Email))?;
        let link_token = new_secret_token();
        let ttl = self.engine.settings().registration.confirm_link_ttl;
        let link = format!("{}/register/email?t={link_token}", self.engine.issuer());
        let mail = self
            .compose_mail(
                "email",
                lang,
                new_primary,
                &[("name", person.name.clone()), ("link", link)],
            )
            .map_err(|e| {
                tracing::error!(error = ?e, "the new-address mail cannot be written");
                RecoveryError::Apply(ApplyError::Internal)
            })?;
        let record = MailTokenRecord {
            token_hash: token_hash(&link_token),
            person_id: person_id.to_string(),
            purpose: MailTokenPurpose::NewEmail,
            new_email: Some(new_primary.to_string()),
            created_at: now,
            expires_at: now + ttl,
            consumed_at: None,
        };
        let message = outbox_message(self.engine.ring(), &mail, "new_email", now)
            .map_err(|_| RecoveryError::Apply(ApplyError::Email))?;
        self.engine.store().replace_mail_token(
            &record,
            &message,
            &audit(now, AuditKind::EmailChange, "sent", person_id, ip),
        )?;
        Ok(Some(mask_email(new_primary)))
    }

    /// The new-e-mail link page: the same card, then the address becomes the primary one.
    pub fn confirm_new_email(
        &self,
        binding: &str,
        link_token: &str,
        challenge: &str,
        token: &CardToken,
        ip: Option<&str>,
    ) -> Result<(), RecoveryError> {
        let card = self
            .card
            .authenticate(binding, challenge, token)
            .map_err(|e| RecoveryError::Apply(ApplyError::Card(e)))?;
        let hash = token_hash(link_token);
        let record = self
            .engine
            .store()
            .find_mail_token(&hash)?
            .ok_or(RecoveryError::LinkInvalid)?;
        let (owner, _) = self
            .engine
            .store()
            .find_by_card(&card.card_number)?
            .ok_or(RecoveryError::NotRegistered)?;
        if owner.id != record.person_id {
            return Err(RecoveryError::Apply(ApplyError::WrongCard));
        }
        let now = self.engine.now();
        self.engine
            .store()
            .apply_new_email(
                &hash,
                now,
                &audit(now, AuditKind::EmailChange, "confirmed", &owner.id, ip),
            )?
            .ok_or(RecoveryError::LinkInvalid)?;
        Ok(())
    }
}
