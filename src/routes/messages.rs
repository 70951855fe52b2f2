//! What the registration pages tell a person about a refusal, in the page's language: each
//! error names its dictionary entry (`err_<area>_<code>`, `templates/i18n/*.json`) and the
//! values to fill in. The errors' own `Display` stays the zh-TW wording (for logs and tests).

use crate::card::CardError;
use crate::domain::password::PasswordError;
use crate::enroll::apply::ApplyError;
use crate::enroll::login::LoginError;
use crate::enroll::recovery::RecoveryError;
use crate::limits::Refusal;
use crate::templates::Templates;

/// A dictionary entry and its placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub key: String,
    pub vars: Vec<(&'static str, String)>,
}

impl Message {
    fn plain(area: &str, code: &str) -> Self {
        Message {
            key: format!("err_{area}_{code}"),
            vars: Vec::new(),
        }
    }

    /// The text in `lang`.
    pub fn text(&self, templates: &Templates, lang: &str) -> String {
        let vars: Vec<(&str, &str)> = self.vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        templates.text(lang, &self.key, &vars)
    }
}

/// An error a page shows to the person.
pub trait Localize {
    fn message(&self) -> Message;
    /// The code the page marks the error with (`data-error`): the engine's `code()`.
    fn error_code(&self) -> &'static str;
    /// The form field the error is about (for `aria-invalid` and `aria-describedby`).
    fn field(&self) -> Option<&'static str> {
        None
    }
    /// Where the person can go from here: (address, dictionary key of the link's text).
    fn links(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }
    /// Seconds to wait, for a refusal because a budget is spent (`Retry-After`).
    fn retry_after(&self) -> Option<i64> {
        None
    }
}

/// A spent budget: how long to wait (whole minutes) and what to do meanwhile.
fn refused(area: &str, r: &Refusal) -> Message {
    Message {
        key: format!("err_{area}_rate_limited{}", r.spent.message_suffix()),
        vars: vec![("minutes", r.minutes().to_string())],
    }
}

const COUNTER: (&str, &str) = ("/help/faq#deactivate", "reg_link_counter");
const FORGOT: (&str, &str) = ("/register/forgot", "reg_link_forgot");
const RESEND: (&str, &str) = ("/register/resend", "reg_link_resend");
const APPLY: (&str, &str) = ("/register/terms", "reg_link_apply");
const SIGN_IN: (&str, &str) = ("/register", "reg_link_home");

impl Localize for CardError {
    fn error_code(&self) -> &'static str {
        self.code()
    }
    fn message(&self) -> Message {
        Message::plain("card", self.code())
    }
    fn field(&self) -> Option<&'static str> {
        Some("card")
    }
}

impl Localize for PasswordError {
    fn error_code(&self) -> &'static str {
        self.code()
    }
    fn message(&self) -> Message {
        let mut m = Message::plain("password", self.code());
        if let PasswordError::Length { min, max } = self {
            m.vars = vec![("min", min.to_string()), ("max", max.to_string())];
        }
        m
    }
    fn field(&self) -> Option<&'static str> {
        Some(match self {
            PasswordError::Mismatch => "password_confirm",
            _ => "password",
        })
    }
}

impl Localize for ApplyError {
    fn error_code(&self) -> &'static str {
        self.code()
    }
    fn message(&self) -> Message {
        match self {
            ApplyError::Card(e) => e.message(),
            ApplyError::Password(e) => e.message(),
            ApplyError::RateLimited(r) => refused("apply", r),
            _ => Message::plain("apply", self.code()),
        }
    }
    fn field(&self) -> Option<&'static str> {
        match self {
            ApplyError::Card(e) => e.field(),
            ApplyError::Password(e) => e.field(),
            ApplyError::UnsupportedCard | ApplyError::WrongCard | ApplyError::ProofExpired => {
                Some("card")
            }
            // The mismatch is tied to every field it could be about: it must not say which.
            ApplyError::Mismatch => Some("place"),
            ApplyError::Email => Some("email"),
            ApplyError::Phone => Some("phone"),
            _ => None,
        }
    }
    fn links(&self) -> Vec<(&'static str, &'static str)> {
        match self {
            ApplyError::AlreadyRegistered => vec![SIGN_IN, FORGOT],
            ApplyError::AwaitingConfirmation | ApplyError::LinkInvalid => vec![RESEND],
            ApplyError::Deactivated => vec![COUNTER],
            _ => Vec::new(),
        }
    }
    fn retry_after(&self) -> Option<i64> {
        match self {
            ApplyError::RateLimited(r) => Some(r.retry_after),
            _ => None,
        }
    }
}

impl Localize for RecoveryError {
    fn error_code(&self) -> &'static str {
        self.code()
    }
    fn message(&self) -> Message {
        match self {
            RecoveryError::Apply(e) => e.message(),
            RecoveryError::WrongOldPassword { remaining } => Message {
                key: "err_recovery_wrong_old_password".into(),
                vars: vec![("remaining", remaining.to_string())],
            },
            _ => Message::plain("recovery", self.code()),
        }
    }
    fn field(&self) -> Option<&'static str> {
        match self {
            RecoveryError::Apply(e) => e.field(),
            RecoveryError::Mismatch => Some("place"),
            RecoveryError::NotRegistered
            | RecoveryError::Pending
            | RecoveryError::NotPending
            | RecoveryError::Deactivated => Some("card"),
            RecoveryError::LinkInvalid | RecoveryError::Locked => None,
            RecoveryError::WrongOldPassword { .. } => Some("old_password"),
        }
    }
    fn retry_after(&self) -> Option<i64> {
        match self {
            RecoveryError::Apply(e) => e.retry_after(),
            _ => None,
        }
    }
    fn links(&self) -> Vec<(&'static str, &'static str)> {
        match self {
            RecoveryError::Apply(e) => e.links(),
            RecoveryError::NotRegistered => vec![APPLY],
            RecoveryError::Pending => vec![RESEND],
            RecoveryError::NotPending => vec![SIGN_IN],
            RecoveryError::Deactivated => vec![COUNTER],
            RecoveryError::LinkInvalid | RecoveryError::Locked => vec![FORGOT],
            _ => Vec::new(),
        }
    }
}

impl Localize for LoginError {
    fn error_code(&self) -> &'static str {
        self.code()
    }
    fn message(&self) -> Message {
        match self {
            LoginError::Card(e) => e.message(),
            LoginError::WrongPassword { remaining } => Message {
                key: "err_login_wrong_password".into(),
                vars: vec![("remaining", remaining.to_string())],
            },
            LoginError::RateLimited(r) => refused("login", r),
            _ => Message::plain("login", self.code()),
        }
    }
    fn field(&self) -> Option<&'static str> {
        match self {
            LoginError::Card(e) => e.field(),
            LoginError::WrongPassword { .. } | LoginError::PasswordMissing => Some("password"),
            LoginError::RateLimited(_) | LoginError::Internal => None,
            _ => Some("card"),
        }
    }
    fn links(&self) -> Vec<(&'static str, &'static str)> {
        match self {
            LoginError::NotRegistered => vec![APPLY],
            LoginError::Pending => vec![RESEND],
            LoginError::Locked | LoginError::RateLimited(_) => vec![FORGOT],
            LoginError::Deactivated => vec![COUNTER],
            _ => Vec::new(),
        }
    }
    fn retry_after(&self) -> Option<i64> {
        match self {
            LoginError::RateLimited(r) => Some(r.retry_after),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{Budget, Spent};

    fn templates() -> Templates {
        Templates::new(None, &["zh-TW".into(), "en".into()]).unwrap()
    }

    fn card_errors() -> Vec<CardError> {
        CardError::ALL.to_vec()
    }

    fn password_errors() -> Vec<PasswordError> {
        vec![
            PasswordError::Length { min: 6, max: 12 },
            PasswordError::ForbiddenCharacter,
            PasswordError::Common,
            PasswordError::PersonalData,
            PasswordError::Mismatch,
        ]
    }

    fn refusal(spent: Spent) -> Refusal {
        Refusal {
            spent,
            retry_after: 600,
        }
    }

    fn apply_errors() -> Vec<ApplyError> {
        vec![
            ApplyError::UnsupportedCard,
            ApplyError::Mismatch,
            ApplyError::AlreadyRegistered,
            ApplyError::AwaitingConfirmation,
            ApplyError::Deactivated,
            ApplyError::ProofExpired,
            ApplyError::Email,
            ApplyError::Phone,
            ApplyError::RateLimited(refusal(Spent::Payer(Budget::RegistrationFailures))),
            ApplyError::RateLimited(refusal(Spent::CardFailures)),
            ApplyError::RateLimited(refusal(Spent::CardMails)),
            ApplyError::LinkInvalid,
            ApplyError::WrongCard,
            ApplyError::Internal,
        ]
    }

    fn recovery_errors() -> Vec<RecoveryError> {
        vec![
            RecoveryError::NotRegistered,
            RecoveryError::Pending,
            RecoveryError::NotPending,
            RecoveryError::Deactivated,
            RecoveryError::Mismatch,
            RecoveryError::LinkInvalid,
            RecoveryError::WrongOldPassword { remaining: 2 },
            RecoveryError::Locked,
        ]
    }

    fn login_errors() -> Vec<LoginError> {
        vec![
            LoginError::NotRegistered,
            LoginError::Pending,
            LoginError::Locked,
            LoginError::Deactivated,
            LoginError::PasswordMissing,
            LoginError::WrongPassword { remaining: 3 },
            LoginError::RateLimited(refusal(Spent::Payer(Budget::SignInFailures))),
            LoginError::UnsupportedCard,
            LoginError::WrongKind(crate::card::CardKind::Nhi),
            LoginError::WrongKind(crate::card::CardKind::Moica),
            LoginError::NeedsStrongerCard,
            LoginError::NotHintedPerson,
            LoginError::Internal,
        ]
    }

    /// Every message the handlers can show, with the zh-TW wording it must keep (the
    /// errors' `Display`, the guide's text) — except the card errors, whose `Display` is
    /// for logs.
    fn all() -> Vec<(Message, Option<String>)> {
        let mut out: Vec<(Message, Option<String>)> = Vec::new();
        out.extend(card_errors().iter().map(|e| (e.message(), None)));
        out.extend(
            password_errors()
                .iter()
                .map(|e| (e.message(), Some(e.to_string()))),
        );
        out.extend(
            apply_errors()
                .iter()
                .map(|e| (e.message(), Some(e.to_string()))),
        );
        out.extend(
            recovery_errors()
                .iter()
                .map(|e| (e.message(), Some(e.to_string()))),
        );
        out.extend(
            login_errors()
                .iter()
                .map(|e| (e.message(), Some(e.to_string()))),
        );
        out
    }

    #[test]
    fn every_error_has_its_text_in_both_languages() {
        let t = templates();
        for (m, _) in all() {
            for lang in ["zh-TW", "en"] {
                let text = m.text(&t, lang);
                assert_ne!(text, m.key, "{lang} has no {}", m.key);
                assert!(!text.contains("{{"), "{lang} {} left a placeholder", m.key);
            }
            let en = m.text(&t, "en");
            assert!(
                !en.chars().any(|c| ('\u{3000}'..='\u{9fff}').contains(&c)),
                "{} is not English: {en}",
                m.key
            );
        }
    }

    #[test]
    fn zh_tw_texts_keep_the_wording_of_the_errors() {
        let t = templates();
        for (m, wording) in all() {
            if let Some(wording) = wording {
                assert_eq!(m.text(&t, "zh-TW"), wording, "{}", m.key);
            }
        }
    }

    #[test]
    fn nested_errors_speak_through_the_inner_one() {
        let t = templates();
        let e = RecoveryError::Apply(ApplyError::Password(PasswordError::Length {
            min: 6,
            max: 12,
        }));
        assert_eq!(
            e.message().text(&t, "en"),
            "The registration password must be 6–12 characters long."
        );
        assert_eq!(e.field(), Some("password"));
        assert_eq!(
            LoginError::WrongPassword { remaining: 2 }
                .message()
                .text(&t, "en"),
            "Wrong registration password. 2 more wrong attempts will lock your registration."
        );
    }
}
