//! Sign-in with a card: NHI card + 註冊密碼 → acr card (amr sc, pwd, mfa). What is counted
//! is what an attacker needs and a colleague does not (docs/limits.md): a wrong password
//! behind a genuine card counts toward the registration's lockout (R-REG-9; a success resets
//! it) and toward the address's failure budget, which is checked before the password; a
//! forged or malformed card proof is refused by its signature before anything is read or
//! counted; a success spends nothing. Every outcome is audited.

use crate::audit::AuditKind;
use crate::card::{CardError, CardKind, CardToken};
use crate::domain::password::Password;
use crate::domain::Acr;
use crate::limits::{Budget, Failures, Refusal};
use crate::oidc::AuthResult;
use crate::store::{AuditEvent, RegistrationStatus};

use super::Enrollment;

/// What the sign-in form sent.
#[derive(Clone)]
pub struct CardLogin {
    pub challenge: String,
    pub token: CardToken,
    pub password: Option<Password>,
    /// The kind of card the page takes (`None`: either). A page of one kind refuses the
    /// other before anything is checked or counted, whatever the page's script did.
    pub kind: Option<CardKind>,
}

impl std::fmt::Debug for CardLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardLogin")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// Why a sign-in failed. The card proved who is asking, so the holder may learn the state
/// of their own registration (R-REG-12).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("{0}")]
    Card(CardError),
    #[error("此健保卡尚未註冊，請先點選「首次登入請先申請」")]
    NotRegistered,
    #[error(
        "您的註冊申請尚未完成電子信箱認證，請至信箱點選認證通知信中的連結，或點選「重寄認證信」"
    )]
    Pending,
    #[error(
        "註冊密碼連續錯誤已達上限，您的註冊已被鎖定，請使用「忘記註冊密碼」重設註冊密碼後再登入"
    )]
    Locked,
    #[error("您的註冊已被停用，請洽服務櫃檯")]
    Deactivated,
    #[error("請輸入註冊密碼")]
    PasswordMissing,
    #[error("註冊密碼錯誤，再錯誤 {remaining} 次將鎖定您的註冊")]
    WrongPassword { remaining: i32 },
    /// The failure budget of the address (or its named network) is spent.
    #[error("此網路位址的註冊密碼錯誤次數過多，為保護帳號安全，請於 {} 分鐘後再試。如忘記註冊密碼，請點選「忘記註冊密碼」；如貴機關同仁經由同一網路位址上網，請機關資訊人員洽服務櫃檯設定機關網段。", .0.minutes())]
    RateLimited(Refusal),
    #[error("此卡片無法用於本項登入")]
    UnsupportedCard,
    /// The page takes the other kind of card (the NHI card page and the citizen-certificate
    /// page each take their own).
    #[error("{}", wrong_kind_text(*.0))]
    WrongKind(CardKind),
    /// The application asks for a level this kind of card cannot give (step-up).
    #[error("此應用程式需要自然人憑證登入，請插入自然人憑證並輸入 PIN 碼後再按「讀取」")]
    NeedsStrongerCard,
    /// The application asked for a particular person (`id_token_hint`) and this card is
    /// someone else's.
    #[error("此卡片的持卡人與應用系統要求登入的使用者不同，請插入正確的卡片後再按「讀取」")]
    NotHintedPerson,
    #[error("系統暫時無法處理，請稍後再試")]
    Internal,
}

impl LoginError {
    pub fn code(&self) -> &'static str {
        match self {
            LoginError::Card(e) => e.code(),
            LoginError::NotRegistered => "not_registered",
            LoginError::Pending => "pending",
            LoginError::Locked => "locked",
            LoginError::Deactivated => "deactivated",
            LoginError::PasswordMissing => "password_missing",
            LoginError::WrongPassword { .. } => "wrong_password",
            LoginError::RateLimited(_) => "rate_limited",
            LoginError::UnsupportedCard => "unsupported_card",
            LoginError::WrongKind(CardKind::Nhi) => "needs_nhi_card",
            LoginError::WrongKind(CardKind::Moica) => "needs_citizen_certificate",
            LoginError::NeedsStrongerCard => "acr_unmet",
            LoginError::NotHintedPerson => "hint_mismatch",
            LoginError::Internal => "internal_error",
        }
    }
}

fn wrong_kind_text(expected: CardKind) -> &'static str {
    match expected {
        CardKind::Nhi => "此頁面請使用健保卡登入；您插入的是自然人憑證，請改插健保卡後再按「讀取」，或改用「自然人憑證登入」",
        CardKind::Moica => "此頁面請使用自然人憑證登入；您插入的是健保卡，請改插自然人憑證並輸入 PIN 碼後再按「讀取」",
    }
}

impl From<crate::store::StoreError> for LoginError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = ?e, "sign-in failed on the database");
        LoginError::Internal
    }
}

impl Enrollment {
    fn audit_login(
        &self,
        ip: Option<&str>,
        outcome: &str,
        person_id: Option<&str>,
        detail: String,
    ) {
        let e = AuditEvent {
            at: self.engine.now(),
            event: AuditKind::Login.as_str().into(),
            outcome: outcome.into(),
            actor: None,
            person_id: person_id.map(str::to_string),
            client_id: None,
            ip: ip.map(str::to_string),
            detail: Some(detail),
        };
        if let Err(err) = self.engine.store().append_audit(&e) {
            tracing::error!(error = ?err, "cannot write the audit event");
        }
    }

    /// A MOICA citizen-certificate card: the card's PIN was verified by the card itself
    /// (the authenticator cannot sign without it), so card + PIN are the two factors; the
    /// registration password is not asked. The person is found by the national ID that the
    /// certificate issuer vouches for; they must hold an active registration.
    fn citizen_certificate_login(
        &self,
        card: &crate::card::VerifiedCard,
    ) -> Result<AuthResult, LoginError> {
        let id = card
            .national_id
            .as_deref()
            .and_then(|id| crate::domain::NationalId::parse(id).ok())
            .ok_or(LoginError::UnsupportedCard)?;
        let hash = crate::registry::national_id_hash(self.engine.ring(), &id);
        let (person, registration) = self
            .engine
            .store()
            .find_by_national_id(&hash)?
            .ok_or(LoginError::NotRegistered)?;
        match registration.map(|r| r.status) {
            Some(RegistrationStatus::Active) => {}
            Some(RegistrationStatus::Pending) => return Err(LoginError::Pending),
            Some(RegistrationStatus::Locked) => return Err(LoginError::Locked),
            Some(RegistrationStatus::Deactivated) => return Err(LoginError::Deactivated),
            None => return Err(LoginError::NotRegistered),
        }
        Ok(AuthResult {
            person_id: person.id,
            acr: Acr::CitizenCertificate,
            amr: vec!["sc".into(), "pin".into(), "mfa".into()],
            method: "citizen_certificate".into(),
        })
    }

    /// Checks a card sign-in. Blocking (database, argon2): run it off the executor.
    pub fn card_login(
        &self,
        binding: &str,
        input: &CardLogin,
        ip: Option<&str>,
    ) -> Result<AuthResult, LoginError> {
        let result = self.card_login_inner(binding, input, ip);
        let metrics = self.engine.metrics();
        match &result {
            Ok(_) => {}
            Err(e) => {
                metrics.login("card", e.code());
                self.audit_login(
                    ip,
                    "failure",
                    None,
                    format!("method=card reason={}", e.code()),
                );
            }
        }
        result
    }

    fn card_login_inner(
        &self,
        binding: &str,
        input: &CardLogin,
        ip: Option<&str>,
    ) -> Result<AuthResult, LoginError> {
        if let Some(expected) = input.kind {
            // The claimed kind: the verification below holds the certificate to it.
            if input.token.card_kind != expected.as_str() {
                return Err(LoginError::WrongKind(expected));
            }
        }
        let settings = &self.engine.settings().registration;
        // The card's signature first: a forged or malformed proof is refused here, cheaply,
        // and counts toward nobody's budget.
        let card = self
            .card
            .authenticate(binding, &input.challenge, &input.token)
            .map_err(LoginError::Card)?;
        if card.kind == CardKind::Moica {
            let auth = self.citizen_certificate_login(&card)?;
            self.card
                .record_sign_in(&card, &auth.person_id)
                .map_err(LoginError::Card)?;
            return Ok(auth);
        }
        let (person, registration) = self
            .engine
            .store()
            .find_by_card(&card.card_number)?
            .ok_or(LoginError::NotRegistered)?;
        let registration = registration.ok_or(LoginError::NotRegistered)?;
        match registration.status {
            RegistrationStatus::Active => {}
            RegistrationStatus::Pending => return Err(LoginError::Pending),
            RegistrationStatus::Locked => return Err(LoginError::Locked),
            RegistrationStatus::Deactivated => return Err(LoginError::Deactivated),
        }
        let password = input.password.as_ref().ok_or(LoginError::PasswordMissing)?;
        // The budget is read and the failure counted within one turn at the hasher, so
        // parallel guesses cannot all read an unspent budget first (at most one per turn,
        // i.e. per core and instance, overruns it).
        let turn = self.hasher.turn();
        let failures = Failures::new(self.engine.context(), ip);
        failures
            .check(Budget::SignInFailures)?
            .map_err(LoginError::RateLimited)?;
        let now = self.engine.now();
        if !self
            .hasher
            .verify_in(&turn, password, Some(&registration.password_hash))
        {
            failures.charge(Budget::SignInFailures)?;
            drop(turn);
            let failed = self.engine.store().record_failed_login(
                &person.id,
                settings.lockout_threshold,
                now,
            )?;
            return match failed {
                Some(f) if f.locked_now => {
                    self.audit_login(ip, "locked", Some(&person.id), "method=card".into());
                    Err(LoginError::Locked)
                }
                Some(f) => Err(LoginError::WrongPassword {
                    remaining: (settings.lockout_threshold - f.failed_attempts).max(0),
                }),
                // Locked meanwhile by a parallel attempt.
                None => Err(LoginError::Locked),
            };
        }
        drop(turn);
        self.card
            .record_sign_in(&card, &person.id)
            .map_err(LoginError::Card)?;
        self.engine
            .store()
            .record_successful_login(&person.id, now)?;
        Ok(AuthResult {
            person_id: person.id,
            acr: Acr::Card,
            amr: vec!["sc".into(), "pwd".into(), "mfa".into()],
            method: "card".into(),
        })
    }
}
