//! 忘記註冊密碼 (both ways), the reset link, 重寄認證信 and 刪除註冊申請 (docs/requirements.md R-REG-5…7).
//! Every step starts with the card: the link alone never signs anyone in and never
//! changes a password without the same card (docs/security.md §0.3).

use super::apply::{mask_email, ApplyError};
use super::{Enrollment, PasswordChangeVia};
use crate::audit::AuditKind;
use crate::card::CardToken;
use crate::crypto::{new_secret_token, token_hash};
use crate::domain::password::{birth_date_forms, Password};
use crate::limits::{Budget, Failures};
use crate::mail::outbox_message;
use crate::oidc::logout::LogoutDelivery;
use crate::registry::{self, ProofInput};
use crate::store::{
    AuditEvent, MailTokenPurpose, MailTokenRecord, PasswordChange, Person, Registration,
    RegistrationStatus,
};

/// How 忘記註冊密碼 sends the reset mail.
#[derive(Debug, Clone)]
pub enum ResetDelivery {
    /// 寄送重設註冊密碼信: to the registered primary e-mail.
    Registered,
    /// 修改電子郵件信箱寄送重設註冊密碼信: to a new address, if 戶籍鄉鎮里鄰 and 行動電話 match.
    NewAddress {
        email: String,
        place: ProofInput,
        mobile: String,
    },
}

/// What the reset page posts besides the card: the link's token and the new password twice.
#[derive(Clone, Copy)]
pub struct ResetForm<'a> {
    pub link_token: &'a str,
    pub password: &'a str,
    pub confirm: &'a str,
}

impl std::fmt::Debug for ResetForm<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetForm").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryError {
    #[error("{0}")]
    Apply(ApplyError),
    #[error("此健保卡尚未註冊，請先點選「首次登入請先申請」")]
    NotRegistered,
    #[error("您的註冊申請尚未完成電子信箱認證，請點選「重寄認證信」")]
    Pending,
    #[error("您的註冊已完成電子信箱認證，無需重寄認證信或刪除申請")]
    NotPending,
    #[error("您的註冊已被停用，請洽服務櫃檯")]
    Deactivated,
    #[error("您輸入的戶籍地址或行動電話與註冊資料不符，請確認後再試一次")]
    Mismatch,
    #[error("重設註冊密碼連結已失效或已使用，請重新點選「忘記註冊密碼」")]
    LinkInvalid,
    /// 註冊密碼變更: the current password was wrong (it counts toward the lockout).
    #[error("原註冊密碼錯誤，再錯誤 {remaining} 次將鎖定您的註冊")]
    WrongOldPassword { remaining: i32 },
    #[error(
        "註冊密碼連續錯誤已達上限，您的註冊已被鎖定，請使用「忘記註冊密碼」重設註冊密碼後再登入"
    )]
    Locked,
}

impl RecoveryError {
    pub fn code(&self) -> &'static str {
        match self {
            RecoveryError::Apply(e) => e.code(),
            RecoveryError::NotRegistered => "not_registered",
            RecoveryError::Pending => "pending",
            RecoveryError::NotPending => "not_pending",
            RecoveryError::Deactivated => "deactivated",
            RecoveryError::Mismatch => "mismatch",
            RecoveryError::LinkInvalid => "link_invalid",
            RecoveryError::WrongOldPassword { .. } => "wrong_old_password",
            RecoveryError::Locked => "locked",
        }
    }
}

impl From<ApplyError> for RecoveryError {
    fn from(e: ApplyError) -> Self {
        RecoveryError::Apply(e)
    }
}

impl From<crate::store::StoreError> for RecoveryError {
    fn from(e: crate::store::StoreError) -> Self {
        RecoveryError::Apply(e.into())
    }
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

/// What 忘記註冊密碼 sent: the masked address, and whether the registration is locked (then
/// the old password no longer works and the notice must not say it does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetMailSent {
    pub masked: String,
    pub locked: bool,
}

/// A template flag: non-empty is true.
fn locked_flag(status: RegistrationStatus) -> &'static str {
    if status == RegistrationStatus::Locked {
        "1"
    } else {
        ""
    }
}

impl Enrollment {
    /// The card holder and their registration, from a card signature.
    fn holder(
        &self,
        binding: &str,
        challenge: &str,
        token: &CardToken,
    ) -> Result<(Person, Registration, String), RecoveryError> {
        let card = self
            .card
            .authenticate(binding, challenge, token)
            .map_err(|e| RecoveryError::Apply(ApplyError::Card(e)))?;
        let (person, reg) = self
            .engine
            .store()
            .find_by_card(&card.card_number)?
            .ok_or(RecoveryError::NotRegistered)?;
        let reg = reg.ok_or(RecoveryError::NotRegistered)?;
        Ok((person, reg, card.card_number))
    }

    /// Counts a mail for the card, refusing past `limits.mails_per_card_per_hour`.
    fn mail_for_card(&self, card_number: &str, ip: Option<&str>) -> Result<(), RecoveryError> {
        Failures::new(self.engine.context(), ip)
            .mail_for_card(card_number)?
            .map_err(|r| RecoveryError::Apply(ApplyError::RateLimited(r)))
    }

    /// 忘記註冊密碼: sends a reset link valid `registration.reset_link_ttl`; older reset links
    /// stop working. The old password keeps working until the reset completes (unless the
    /// registration is locked: then only the reset unlocks it). The mail is in `lang` (the
    /// page's language). Returns the masked address and whether the registration is locked.
    pub fn forgot(
        &self,
        binding: &str,
        challenge: &str,
        token: &CardToken,
        delivery: &ResetDelivery,
        lang: &str,
        ip: Option<&str>,
    ) -> Result<ResetMailSent, RecoveryError> {
        let (person, reg, card_number) = self.holder(binding, challenge, token)?;
        match reg.status {
            RegistrationStatus::Active | RegistrationStatus::Locked => {}
            RegistrationStatus::Pending => return Err(RecoveryError::Pending),
            RegistrationStatus::Deactivated => return Err(RecoveryError::Deactivated),
        }
        let (to, new_email) = match delivery {
            ResetDelivery::Registered => (
                person
                    .email
                    .clone()
                    .ok_or(RecoveryError::Apply(ApplyError::Email))?,
                None,
            ),
            ResetDelivery::NewAddress {
                email,
                place,
                mobile,
            } => {
                // 戶籍 and the mobile number can be guessed: the guesses are counted, per
                // address and per card, and checked before the comparison.
                let failures = Failures::new(self.engine.context(), ip);
                let refused = |r| RecoveryError::Apply(ApplyError::RateLimited(r));
                failures
                    .check(Budget::RegistrationFailures)?
                    .map_err(refused)?;
                failures.check_card(&card_number)?.map_err(refused)?;
                let address = email.trim().to_string();
                address
                    .parse::<lettre::Address>()
                    .map_err(|_| RecoveryError::Apply(ApplyError::Email))?;
                let sealed = self
                    .engine
                    .store()
                    .sealed_national_id(&person.id)?
                    .ok_or(RecoveryError::Mismatch)?;
                let id = String::from_utf8(
                    self.engine
                        .ring()
                        .open("persons.national_id", &sealed)
                        .map_err(|_| RecoveryError::Mismatch)?,
                )
                .map_err(|_| RecoveryError::Mismatch)?;
                let id =
                    crate::domain::NationalId::parse(&id).map_err(|_| RecoveryError::Mismatch)?;
                let resident = self
                    .engine
                    .store()
                    .find_resident(&registry::national_id_hash(self.engine.ring(), &id))?;
                // The household number is not asked here: compare the place only.
                let place_ok = resident.as_ref().is_some_and(|r| {
                    registry::matches(
                        Some(r),
                        &ProofInput {
                            household_no: r.household_no.clone(),
                            ..place.clone()
                        },
                    )
                });
                let mobile_digits: String = mobile.chars().filter(char::is_ascii_digit).collect();
                let mobile_ok = reg
                    .mobile
                    .as_deref()
                    .is_some_and(|m| crate::crypto::ct_eq(m, &mobile_digits));
                if !(place_ok && mobile_ok) {
                    failures.charge(Budget::RegistrationFailures)?;
                    failures.charge_card(&card_number)?;
                    self.engine.audit_from(
                        ip,
                        AuditKind::Forgot,
                        "mismatch",
                        Some(&person.id),
                        None,
                        None,
                    );
                    return Err(RecoveryError::Mismatch);
                }
                (address.clone(), Some(address))
            }
        };
        self.mail_for_card(&card_number, ip)?;
        let now = self.engine.now();
        let ttl = self.engine.settings().registration.reset_link_ttl;
        let link_token = new_secret_token();
        let link = format!("{}/register/reset?t={link_token}", self.engine.issuer());
        let minutes = ttl / 60;
        let mail = self
            .compose_mail(
                "reset",
                lang,
                &to,
                &[
                    ("name", person.name.clone()),
                    ("link", link.clone()),
                    ("minutes", minutes.to_string()),
                    ("locked", locked_flag(reg.status).to_string()),
                ],
            )
            .map_err(|e| {
                tracing::error!(error = ?e, "the reset mail cannot be written");
                RecoveryError::Apply(ApplyError::Internal)
            })?;
        let record = MailTokenRecord {
            token_hash: token_hash(&link_token),
            person_id: person.id.clone(),
            purpose: MailTokenPurpose::Reset,
            new_email,
            created_at: now,
            expires_at: now + ttl,
            consumed_at: None,
        };
        let message = outbox_message(self.engine.ring(), &mail, "reset", now)
            .map_err(|_| RecoveryError::Apply(ApplyError::Email))?;
        self.engine.store().replace_mail_token(
            &record,
            &message,
            &audit(now, AuditKind::Forgot, "sent", &person.id, ip),
        )?;
        Ok(ResetMailSent {
            masked: mask_email(&to),
            locked: reg.status == RegistrationStatus::Locked,
        })
    }

    /// The reset link page: whether the link is still good (without using it).
    pub fn reset_link_valid(&self, link_token: &str) -> Result<bool, RecoveryError> {
        let now = self.engine.now();
        Ok(self
            .engine
            .store()
            .find_mail_token(&token_hash(link_token))?
            .is_some_and(|t| {
                t.purpose == MailTokenPurpose::Reset
                    && t.consumed_at.is_none()
                    && t.expires_at > now
            }))
    }

    /// The reset page: the same card again and the new password twice. Unlocks a locked
    /// registration; the link is used; other reset links die; every session, grant and code
    /// of the person ends (their clients' back-channel logout tokens are returned); the
    /// notice goes to the registered addresses in `lang`.
    pub fn reset(
        &self,
        binding: &str,
        challenge: &str,
        token: &CardToken,
        form: &ResetForm<'_>,
        lang: &str,
        ip: Option<&str>,
    ) -> Result<Vec<LogoutDelivery>, RecoveryError> {
        let ResetForm {
            link_token,
            password,
            confirm,
        } = *form;
        let (person, reg, card_number) = self.holder(binding, challenge, token)?;
        let hash = token_hash(link_token);
        let record = self
            .engine
            .store()
            .find_mail_token(&hash)?
            .ok_or(RecoveryError::LinkInvalid)?;
        if record.purpose != MailTokenPurpose::Reset {
            return Err(RecoveryError::LinkInvalid);
        }
        if record.person_id != person.id {
            self.engine.audit_from(
                ip,
                AuditKind::Reset,
                "wrong_card",
                Some(&record.person_id),
                None,
                None,
            );
            return Err(RecoveryError::Apply(ApplyError::WrongCard));
        }
        let sealed = self.engine.store().sealed_national_id(&person.id)?;
        let national_id = sealed
            .and_then(|s| self.engine.ring().open("persons.national_id", &s).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        let mut personal = vec![card_number, national_id];
        personal.extend(
            self.engine
                .store()
                .birth_date(&person.id)?
                .map(|b| birth_date_forms(&b))
                .unwrap_or_default(),
        );
        let refs: Vec<&str> = personal
            .iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        let new = Password::new(password);
        self.engine
            .settings()
            .password
            .policy()
            .check(&new, Some(&Password::new(confirm)), &refs)
            .map_err(|e| RecoveryError::Apply(ApplyError::Password(e)))?;
        let password_hash = self
            .hasher
            .hash(&new)
            .map_err(|_| RecoveryError::Apply(ApplyError::Internal))?;
        let now = self.engine.now();
        let notices = self
            .password_notices(
                &person,
                &reg,
                record.new_email.as_deref(),
                PasswordChangeVia::Reset,
                lang,
                now,
            )
            .map_err(|e| {
                tracing::error!(error = ?e, "the password notice cannot be written");
                RecoveryError::Apply(ApplyError::Internal)
            })?;
        let change = PasswordChange {
            password_hash,
            renewed: None,
            notices,
            audit: audit(now, AuditKind::Reset, "success", &person.id, ip),
        };
        let (person_id, ended) = self
            .engine
            .store()
            .reset_password(&hash, &change, now)?
            .ok_or(RecoveryError::LinkInvalid)?;
        Ok(self.engine.logout_deliveries_for(&person_id, &ended))
    }

    /// 重寄認證信: a new confirmation link (the mail in `lang`) for a pending application;
    /// older links die.
    pub fn resend(
        &self,
        binding: &str,
        challenge: &str,
        token: &CardToken,
        lang: &str,
        ip: Option<&str>,
    ) -> Result<String, RecoveryError> {
        let (person, reg, card_number) = self.holder(binding, challenge, token)?;
        if reg.status != RegistrationStatus::Pending {
            return Err(RecoveryError::NotPending);
        }
        self.mail_for_card(&card_number, ip)?;
        let to = person
            .email
            .clone()
            .ok_or(RecoveryError::Apply(ApplyError::Email))?;
        let now = self.engine.now();
        let ttl = self.engine.settings().registration.confirm_link_ttl;
        let link_token = new_secret_token();
        let link = format!("{}/register/confirm?t={link_token}", self.engine.issuer());
        let mail = self.confirmation_mail_for(&to, &person.name, &link, ttl, lang)?;
        let record = MailTokenRecord {
            token_hash: token_hash(&link_token),
            person_id: person.id.clone(),
            purpose: MailTokenPurpose::Confirm,
            new_email: None,
            created_at: now,
            expires_at: now + ttl,
            consumed_at: None,
        };
        let message = outbox_message(self.engine.ring(), &mail, "confirm", now)
            .map_err(|_| RecoveryError::Apply(ApplyError::Email))?;
        self.engine.store().replace_mail_token(
            &record,
            &message,
            &audit(now, AuditKind::Resend, "sent", &person.id, ip),
        )?;
        Ok(mask_email(&to))
    }

    /// 刪除註冊申請: deletes a pending application (and the person it created).
    pub fn delete_application(
        &self,
        binding: &str,
        challenge: &str,
        token: &CardToken,
        ip: Option<&str>,
    ) -> Result<(), RecoveryError> {
        let (person, reg, _) = self.holder(binding, challenge, token)?;
        if reg.status != RegistrationStatus::Pending {
            return Err(RecoveryError::NotPending);
        }
        let now = self.engine.now();
        if !self.engine.store().delete_pending(
            &person.id,
            &audit(now, AuditKind::DeleteApplication, "deleted", &person.id, ip),
        )? {
            return Err(RecoveryError::NotPending);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reset_form_never_prints_the_link_or_the_password() {
        let form = ResetForm {
            link_token: "link-token-AbCdEf123456",
            password: "Nw8~pQz5secret",
            confirm: "Nw8~pQz5secret",
        };
        let shown = format!("{form:?}");
        assert!(
            !shown.contains("AbCdEf") && !shown.contains("pQz5"),
            "{shown}"
        );
    }
}
