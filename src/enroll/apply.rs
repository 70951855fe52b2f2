//! 首次登入請先申請: step 1 (card + 戶號 + 戶籍鄉鎮里鄰, checked against the registry), step 2
//! (註冊密碼 and contact data → a pending registration and the 認證通知信), and the
//! confirmation link (the same card again → active). docs/requirements.md R-REG-3…5.

use serde::{Deserialize, Serialize};

use super::Enrollment;
use crate::audit::AuditKind;
use crate::card::{CardError, CardKind, CardToken, VerifiedCard};
use crate::crypto::{ct_eq, new_secret_token, token_hash};
use crate::domain::password::{birth_date_forms, Password, PasswordError};
use crate::domain::NationalId;
use crate::limits::{Budget, Failures, Refusal};
use crate::mail::{outbox_message, MailContent};
use crate::registry::{self, ProofInput};
use crate::store::{
    AuditEvent, MailTokenPurpose, MailTokenRecord, NewApplication, Person, Registration,
    RegistrationStatus, StoreError,
};

const PROOF_CONTEXT: &str = "apply.step1";
/// Time to finish step 2 after step 1 (seconds).
const PROOF_TTL: i64 = 1800;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("{0}")]
    Card(CardError),
    #[error("此卡片無法用於網路註冊，請使用健保卡")]
    UnsupportedCard,
    #[error("您輸入的戶號或戶籍地址與戶籍資料不符，請確認後再試一次")]
    Mismatch,
    #[error("此健保卡已完成網路服務註冊，請直接以健保卡及註冊密碼登入；如忘記註冊密碼，請點選「忘記註冊密碼」。")]
    AlreadyRegistered,
    #[error("您已申請註冊，尚未完成電子信箱認證。請至信箱點選認證通知信中的連結；如未收到，請點選「重寄認證信」。")]
    AwaitingConfirmation,
    #[error("您的健保卡網路服務註冊已停用，無法於網路重新申請。如需恢復使用，請持身分證明文件臨櫃辦理（本署各地聯合服務中心及連絡辦公室）。")]
    Deactivated,
    #[error("申請已逾時，請重新讀取健保卡")]
    ProofExpired,
    #[error("{0}")]
    Password(PasswordError),
    #[error("請輸入正確的電子郵件信箱")]
    Email,
    #[error("請輸入正確的電話號碼")]
    Phone,
    /// A budget of the address (or its named network) or of the card is spent.
    #[error("{}", rate_limited_text(.0))]
    RateLimited(Refusal),
    #[error("認證連結已失效或已使用，請點選「重寄認證信」重新申請認證信")]
    LinkInvalid,
    #[error("此健保卡與申請註冊時使用的健保卡不同，請插入申請時的健保卡")]
    WrongCard,
    #[error("系統暫時無法處理，請稍後再試")]
    Internal,
}

/// The zh-TW text of a spent budget (the pages use the dictionary's, in their language).
fn rate_limited_text(r: &Refusal) -> String {
    let minutes = r.minutes();
    match r.spent {
        crate::limits::Spent::CardFailures => format!("此健保卡輸入的資料不符次數過多，請於 {minutes} 分鐘後再試，並請先依戶口名簿確認戶號、戶籍地址及手機號碼。"),
        crate::limits::Spent::CardMails => format!("此健保卡一小時內寄出的通知信已達上限，請先至信箱查看已寄出的信件（含垃圾郵件匣），或於 {minutes} 分鐘後再試。"),
        crate::limits::Spent::Payer(_) => format!("此網路位址輸入的戶籍資料不符次數過多，請於 {minutes} 分鐘後再試，並請先依戶口名簿確認戶號及戶籍地址。"),
    }
}

impl ApplyError {
    pub fn code(&self) -> &'static str {
        match self {
            ApplyError::Card(e) => e.code(),
            ApplyError::UnsupportedCard => "unsupported_card",
            ApplyError::Mismatch => "registry_mismatch",
            ApplyError::AlreadyRegistered => "already_registered",
            ApplyError::AwaitingConfirmation => "awaiting_confirmation",
            ApplyError::Deactivated => "deactivated",
            ApplyError::ProofExpired => "proof_expired",
            ApplyError::Password(e) => e.code(),
            ApplyError::Email => "bad_email",
            ApplyError::Phone => "bad_phone",
            ApplyError::RateLimited(_) => "rate_limited",
            ApplyError::LinkInvalid => "link_invalid",
            ApplyError::WrongCard => "wrong_card",
            ApplyError::Internal => "internal_error",
        }
    }
}

impl From<StoreError> for ApplyError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = ?e, "enrollment failed on the database");
        ApplyError::Internal
    }
}

/// What step 1 proved, sealed into the step 2 form (stateless, tamper-proof, 30 minutes).
#[derive(Clone, Serialize, Deserialize)]
struct Proof {
    card_number: String,
    name: String,
    national_id: String,
    birth_date: String,
    browser: String,
    exp: i64,
}

impl Proof {
    /// What the applicant's password must not contain.
    fn personal_data(&self) -> Vec<String> {
        let mut personal = vec![self.card_number.clone(), self.national_id.clone()];
        personal.extend(birth_date_forms(&self.birth_date));
        personal
    }
}

/// Step 1's result: what the step 2 page shows and carries.
#[derive(Debug, Clone)]
pub struct Step1 {
    pub name: String,
    pub sealed_proof: String,
}

/// The step 2 form.
#[derive(Clone, Default)]
pub struct Step2 {
    pub password: String,
    pub password_confirm: String,
    pub phone_area: String,
    pub phone_number: String,
    pub phone_ext: String,
    pub mobile: String,
    pub email: String,
    pub email_backup: String,
}

impl std::fmt::Debug for Step2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Step2 { .. }")
    }
}

/// Optional digits (spaces and dashes dropped) of `min`–`max` length.
pub(crate) fn digits(value: &str, min: usize, max: usize) -> Result<Option<String>, ApplyError> {
    let v: String = value.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if v.is_empty() {
        return Ok(None);
    }
    if !(min..=max).contains(&v.len()) || !v.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApplyError::Phone);
    }
    Ok(Some(v))
}

fn email(value: &str) -> Result<Option<String>, ApplyError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<lettre::Address>()
        .map_err(|_| ApplyError::Email)?;
    Ok(Some(v.to_string()))
}

/// `a****@domain` for pages.
pub fn mask_email(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => format!("{}****@{domain}", local.chars().next().unwrap_or('*')),
        None => "****".into(),
    }
}

impl Enrollment {
    fn verified_nhi_card(
        &self,
        binding: &str,
        challenge: &str,
        token: &CardToken,
    ) -> Result<VerifiedCard, ApplyError> {
        let card = self
            .card
            .authenticate(binding, challenge, token)
            .map_err(ApplyError::Card)?;
        if card.kind != CardKind::Nhi {
            return Err(ApplyError::UnsupportedCard);
        }
        Ok(card)
    }

    /// Step 1: the card (signature), then the registry check; already registered cards are
    /// told so (the card proved who asks).
    pub fn apply_step1(
        &self,
        binding: &str,
        browser: &str,
        challenge: &str,
        token: &CardToken,
        place: &ProofInput,
        ip: Option<&str>,
    ) -> Result<Step1, ApplyError> {
        let card = self.verified_nhi_card(binding, challenge, token)?;
        let national_id = card
            .national_id
            .as_deref()
            .and_then(|id| NationalId::parse(id).ok())
            .ok_or(ApplyError::UnsupportedCard)?;
        let id_hash = registry::national_id_hash(self.engine.ring(), &national_id);
        let registration = match self
            .engine
            .store()
            .find_by_card(&card.card_number)?
            .and_then(|(_, r)| r)
        {
            Some(r) => Some(r),
            None => self
                .engine
                .store()
                .find_by_national_id(&id_hash)?
                .and_then(|(_, r)| r),
        };
        if let Some(r) = registration {
            // Each state has its own way forward: sign in (or reset the password), confirm
            // the e-mail address (or have the mail sent again), or go to the counter.
            return Err(match r.status {
                RegistrationStatus::Active | RegistrationStatus::Locked => {
                    ApplyError::AlreadyRegistered
                }
                RegistrationStatus::Pending => ApplyError::AwaitingConfirmation,
                RegistrationStatus::Deactivated => ApplyError::Deactivated,
            });
        }
        // 戶號 and 戶籍 can be guessed: the guesses are what is counted, per address and
        // per card, and checked before the comparison.
        let failures = Failures::new(self.engine.context(), ip);
        failures
            .check(Budget::RegistrationFailures)?
            .map_err(ApplyError::RateLimited)?;
        failures
            .check_card(&card.card_number)?
            .map_err(ApplyError::RateLimited)?;
        let resident = self.engine.store().find_resident(&id_hash)?;
        if !registry::matches(resident.as_ref(), place) {
            failures.charge(Budget::RegistrationFailures)?;
            failures.charge_card(&card.card_number)?;
            self.engine
                .audit_from(ip, AuditKind::Apply, "registry_mismatch", None, None, None);
            return Err(ApplyError::Mismatch);
        }
        let proof = Proof {
            card_number: card.card_number.clone(),
            name: card.name.clone(),
            national_id: national_id.expose().to_string(),
            birth_date: card.birth_date.clone().unwrap_or_default(),
            browser: token_hash(browser),
            exp: self.engine.now() + PROOF_TTL,
        };
        let sealed = self
            .engine
            .ring()
            .seal(
                PROOF_CONTEXT,
                &serde_json::to_vec(&proof).map_err(|_| ApplyError::Internal)?,
            )
            .map_err(|_| ApplyError::Internal)?;
        Ok(Step1 {
            name: card.name,
            sealed_proof: sealed,
        })
    }

    fn open_proof(&self, sealed: &str, browser: &str) -> Result<Proof, ApplyError> {
        let bytes = self
            .engine
            .ring()
            .open(PROOF_CONTEXT, sealed)
            .map_err(|_| ApplyError::ProofExpired)?;
        let proof: Proof = serde_json::from_slice(&bytes).map_err(|_| ApplyError::ProofExpired)?;
        if proof.exp <= self.engine.now() || !ct_eq(&proof.browser, &token_hash(browser)) {
            return Err(ApplyError::ProofExpired);
        }
        Ok(proof)
    }

    /// What a password of the applicant of a sealed proof must not contain.
    pub(crate) fn proof_personal_data(
        &self,
        sealed: &str,
        browser: &str,
    ) -> Result<Vec<String>, ApplyError> {
        Ok(self.open_proof(sealed, browser)?.personal_data())
    }

    /// The name step 2 shows, from a sealed proof.
    pub fn proof_name(&self, sealed: &str, browser: &str) -> Result<String, ApplyError> {
        Ok(self.open_proof(sealed, browser)?.name)
    }

    /// Step 2 (確認申請): a pending registration, its confirmation link and the 認證通知信
    /// (in `lang`, the page's language), written in one transaction. Returns the masked
    /// address the mail went to.
    pub fn apply_step2(
        &self,
        sealed: &str,
        browser: &str,
        form: &Step2,
        lang: &str,
        ip: Option<&str>,
    ) -> Result<String, ApplyError> {
        let proof = self.open_proof(sealed, browser)?;
        let primary = email(&form.email)?.ok_or(ApplyError::Email)?;
        let backup = email(&form.email_backup)?;
        let mobile = digits(&form.mobile, 10, 10)?;
        let phone_area = digits(&form.phone_area, 2, 4)?;
        let phone_number = digits(&form.phone_number, 5, 8)?;
        let phone_ext = digits(&form.phone_ext, 1, 6)?;
        let password = Password::new(&form.password);
        let personal = proof.personal_data();
        let personal_refs: Vec<&str> = personal.iter().map(String::as_str).collect();
        self.engine
            .settings()
            .password
            .policy()
            .check(
                &password,
                Some(&Password::new(&form.password_confirm)),
                &personal_refs,
            )
            .map_err(ApplyError::Password)?;
        let password_hash = self
            .hasher
            .hash(&password)
            .map_err(|_| ApplyError::Internal)?;
        let now = self.engine.now();
        let national_id =
            NationalId::parse(&proof.national_id).map_err(|_| ApplyError::Internal)?;
        let person_id = uuid::Uuid::new_v4().to_string();
        let link_token = new_secret_token();
        let ttl = self.engine.settings().registration.confirm_link_ttl;
        let link = format!("{}/register/confirm?t={link_token}", self.engine.issuer());
        let mail = self.confirmation_mail_for(&primary, &proof.name, &link, ttl, lang)?;
        let application = NewApplication {
            person: Person {
                id: person_id.clone(),
                name: proof.name.clone(),
                email: Some(primary.clone()),
                email_verified: false,
                phone_number: mobile.clone(),
                created_at: now,
                updated_at: now,
            },
            national_id_hash: registry::national_id_hash(self.engine.ring(), &national_id),
            national_id_sealed: self
                .engine
                .ring()
                .seal("persons.national_id", national_id.expose().as_bytes())
                .map_err(|_| ApplyError::Internal)?,
            birth_date: proof.birth_date.clone(),
            card_number: proof.card_number.clone(),
            card_kind: "nhi".into(),
            registration: Registration {
                person_id: person_id.clone(),
                status: RegistrationStatus::Pending,
                password_hash,
                failed_attempts: 0,
                phone_area,
                phone_number,
                phone_ext,
                mobile,
                email_backup: backup,
                created_at: now,
                confirmed_at: None,
                locked_at: None,
                deactivated_at: None,
                deactivation_reason: None,
                password_changed_at: now,
                updated_at: now,
            },
            token: MailTokenRecord {
                token_hash: token_hash(&link_token),
                person_id,
                purpose: MailTokenPurpose::Confirm,
                new_email: None,
                created_at: now,
                expires_at: now + ttl,
                consumed_at: None,
            },
            mail: outbox_message(self.engine.ring(), &mail, "confirm", now)
                .map_err(|_| ApplyError::Email)?,
            audit: AuditEvent {
                at: now,
                event: AuditKind::Apply.as_str().into(),
                outcome: "pending".into(),
                actor: None,
                person_id: None,
                client_id: None,
                ip: ip.map(str::to_string),
                detail: None,
            },
        };
        Failures::new(self.engine.context(), ip)
            .mail_for_card(&proof.card_number)?
            .map_err(ApplyError::RateLimited)?;
        match self.engine.store().apply(&application) {
            Ok(()) => Ok(mask_email(&primary)),
            Err(StoreError::Duplicate) => Err(ApplyError::AlreadyRegistered),
            Err(e) => Err(e.into()),
        }
    }

    /// The 認證通知信 in `lang`.
    pub(crate) fn confirmation_mail_for(
        &self,
        to: &str,
        name: &str,
        link: &str,
        ttl: i64,
        lang: &str,
    ) -> Result<MailContent, ApplyError> {
        let days = (ttl + 86_399) / 86_400;
        self.compose_mail(
            "confirm",
            lang,
            to,
            &[
                ("name", name.to_string()),
                ("link", link.to_string()),
                ("days", days.to_string()),
            ],
        )
        .map_err(|e| {
            tracing::error!(error = ?e, "the confirmation mail cannot be written");
            ApplyError::Internal
        })
    }

    /// The confirmation link page: whether the link is still good (without using it).
    pub fn confirm_link_valid(&self, link_token: &str) -> Result<bool, ApplyError> {
        let now = self.engine.now();
        Ok(self
            .engine
            .store()
            .find_mail_token(&token_hash(link_token))?
            .is_some_and(|t| {
                t.purpose == MailTokenPurpose::Confirm
                    && t.consumed_at.is_none()
                    && t.expires_at > now
            }))
    }

    /// 確定 on the confirmation page: the applicant's card again, then the link is used and
    /// the registration becomes active. Another card does not use up the link.
    pub fn confirm(
        &self,
        binding: &str,
        link_token: &str,
        challenge: &str,
        token: &CardToken,
        ip: Option<&str>,
    ) -> Result<(), ApplyError> {
        let card = self.verified_nhi_card(binding, challenge, token)?;
        let hash = token_hash(link_token);
        let record = self
            .engine
            .store()
            .find_mail_token(&hash)?
            .ok_or(ApplyError::LinkInvalid)?;
        let (owner, _) = self
            .engine
            .store()
            .find_by_card(&card.card_number)?
            .ok_or(ApplyError::WrongCard)?;
        if owner.id != record.person_id {
            self.engine.audit_from(
                ip,
                AuditKind::Confirm,
                "wrong_card",
                Some(&record.person_id),
                None,
                None,
            );
            return Err(ApplyError::WrongCard);
        }
        let audit = AuditEvent {
            at: self.engine.now(),
            event: AuditKind::Confirm.as_str().into(),
            outcome: "active".into(),
            actor: None,
            person_id: None,
            client_id: None,
            ip: ip.map(str::to_string),
            detail: None,
        };
        self.engine
            .store()
            .confirm_registration(&hash, self.engine.now(), &audit)?
            .ok_or(ApplyError::LinkInvalid)?;
        Ok(())
    }
}
