//! Member services after a card sign-in (SPEC R-REG-10, first half): 基本資料異動 and
//! 註冊密碼變更. A new primary e-mail takes effect only when its link is used with the card.

use super::apply::{digits, mask_email, ApplyError};
use super::recovery::RecoveryError;
use super::Enrollment;
use crate::card::CardToken;
use crate::crypto::{new_secret_token, token_hash};
use crate::domain::password::{birth_date_forms, Password, PasswordError};
use crate::mail::outbox_message;
use crate::store::{AuditEvent, MailTokenPurpose, MailTokenRecord, Person, Registration};

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

fn audit(now: i64, event: &str, outcome: &str, person: &str, ip: Option<&str>) -> AuditEvent {
    AuditEvent {
        at: now,
        event: event.into(),
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

    /// 註冊密碼變更: the current password, then the new one twice.
    pub fn change_password(
        &self,
        person_id: &str,
        old: &str,
        new: &str,
        confirm: &str,
        ip: Option<&str>,
    ) -> Result<(), RecoveryError> {
        let (_, reg) = self.member(person_id)?;
        if !self
            .hasher
            .verify(&Password::new(old), Some(&reg.password_hash))
        {
            self.engine.audit_from(
                ip,
                "password_change",
                "wrong_password",
                Some(person_id),
                None,
                None,
            );
            return Err(RecoveryError::Apply(ApplyError::Password(
                PasswordError::Mismatch,
            )));
        }
        let new_password = Password::new(new);
        let mut personal = self
            .engine
            .store()
            .sealed_national_id(person_id)?
            .and_then(|s| self.engine.ring().open("persons.national_id", &s).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .into_iter()
            .collect::<Vec<_>>();
        personal.extend(
            self.engine
                .store()
                .birth_date(person_id)?
                .map(|b| birth_date_forms(&b))
                .unwrap_or_default(),
        );
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
        let now = self.engine.now();
        if !self.engine.store().change_password(
            person_id,
            &hash,
            now,
            &audit(now, "password_change", "success", person_id, ip),
        )? {
            return Err(RecoveryError::NotRegistered);
        }
        Ok(())
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
            &audit(now, "profile_update", "success", person_id, ip),
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
            &audit(now, "email_change", "sent", person_id, ip),
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
                &audit(now, "email_change", "confirmed", &owner.id, ip),
            )?
            .ok_or(RecoveryError::LinkInvalid)?;
        Ok(())
    }
}
