//! 註冊密碼: the password policy (docs/requirements.md R-REG-8, docs/security.md §2.7) and the
//! guide's strength meter (弱/中/中強/強). The same rules run in the page (live meter) and on
//! the server.

use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// Named policy profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyProfile {
    /// The NHI rule: 6–12 characters; space, `<`, `>`, `'` and `"` not allowed.
    #[default]
    TwNhi,
    /// NIST SP 800-63B-4 for a password used inside MFA: 8–64 characters, any character.
    Nist,
}

/// Symbols the meter counts (the guide: 特殊符號如~!@#$%^&*); any other printable
/// character is allowed unless the profile excludes it.
pub const METER_SYMBOLS: &str = "~!@#$%^&*";

/// A password that has not been checked: never printed.
#[derive(Clone)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    /// NFKC-normalized (NIST SHOULD), never truncated.
    pub fn new(raw: &str) -> Password {
        Password(raw.nfkc().collect())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The meter of the guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Strength {
    Weak,
    Medium,
    MediumStrong,
    Strong,
}

impl Strength {
    /// 強 = upper, lower, digit and symbol, at least 8 characters (the guide's rule);
    /// 中強 = three of the four kinds and at least 8, or all four but shorter;
    /// 中 = two kinds; 弱 = otherwise.
    pub fn of(password: &str) -> Strength {
        let kinds = [
            password.chars().any(|c| c.is_ascii_uppercase()),
            password.chars().any(|c| c.is_ascii_lowercase()),
            password.chars().any(|c| c.is_ascii_digit()),
            password.chars().any(|c| METER_SYMBOLS.contains(c)),
        ]
        .iter()
        .filter(|k| **k)
        .count();
        let long = password.chars().count() >= 8;
        match (kinds, long) {
            (4, true) => Strength::Strong,
            (4, false) | (3, true) => Strength::MediumStrong,
            (k, _) if k >= 2 => Strength::Medium,
            _ => Strength::Weak,
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Strength::Weak => "弱",
            Strength::Medium => "中",
            Strength::MediumStrong => "中強",
            Strength::Strong => "強",
        }
    }
}

/// What is wrong with a new password; each says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("註冊密碼長度必需{min}-{max}碼")]
    Length { min: usize, max: usize },
    #[error("註冊密碼不可包含空白及 < > ' \" 等字元")]
    ForbiddenCharacter,
    #[error("此註冊密碼過於常見，容易被猜中，請改用其他密碼")]
    Common,
    #[error("註冊密碼不可包含卡號、身分證號或出生日期")]
    PersonalData,
    #[error("兩次輸入的註冊密碼不一致")]
    Mismatch,
}

impl PasswordError {
    pub fn code(&self) -> &'static str {
        match self {
            PasswordError::Length { .. } => "password_length",
            PasswordError::ForbiddenCharacter => "password_character",
            PasswordError::Common => "password_common",
            PasswordError::PersonalData => "password_personal_data",
            PasswordError::Mismatch => "password_mismatch",
        }
    }
}

/// The effective policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PasswordPolicy {
    pub profile: PolicyProfile,
    pub min_length: usize,
    pub max_length: usize,
    pub excluded: String,
}

/// Anything at most this many guesses away (zxcvbn's frequency lists of common passwords,
/// keyboard walks, repeats, sequences, dates) counts as common. The top 10 000 passwords
/// are within it (ASVS 6.2.4 asks for the top 3 000).
const COMMON_GUESSES: u64 = 10_000;

impl PasswordPolicy {
    pub fn for_profile(profile: PolicyProfile) -> PasswordPolicy {
        match profile {
            PolicyProfile::TwNhi => PasswordPolicy {
                profile,
                min_length: 6,
                max_length: 12,
                excluded: " <>'\"".into(),
            },
            PolicyProfile::Nist => PasswordPolicy {
                profile,
                min_length: 8,
                max_length: 64,
                excluded: String::new(),
            },
        }
    }

    /// Checks a new password. `personal` holds the card number, national ID and birth date
    /// (any form), which the password must not contain.
    pub fn check(
        &self,
        password: &Password,
        confirmation: Option<&Password>,
        personal: &[&str],
    ) -> Result<(), PasswordError> {
        let p = password.expose();
        if let Some(c) = confirmation {
            if c.expose() != p {
                return Err(PasswordError::Mismatch);
            }
        }
        let len = p.chars().count();
        if len < self.min_length || len > self.max_length {
            return Err(PasswordError::Length {
                min: self.min_length,
                max: self.max_length,
            });
        }
        if p.chars()
            .any(|c| self.excluded.contains(c) || c.is_control())
        {
            return Err(PasswordError::ForbiddenCharacter);
        }
        let lower = p.to_lowercase();
        if personal
            .iter()
            .filter(|s| s.chars().count() >= 4)
            .any(|s| lower.contains(&s.to_lowercase()))
        {
            return Err(PasswordError::PersonalData);
        }
        if zxcvbn::zxcvbn(p, personal).guesses() <= COMMON_GUESSES {
            return Err(PasswordError::Common);
        }
        Ok(())
    }
}

/// Forms of a birth date a person might put in a password: 19800102, 800102, 0102,
/// ROC 0690102 and 690102.
pub fn birth_date_forms(iso: &str) -> Vec<String> {
    let digits: String = iso.chars().filter(char::is_ascii_digit).collect();
    let mut forms = vec![digits.clone()];
    if digits.len() == 8 {
        let (y, md) = digits.split_at(4);
        forms.push(format!("{}{md}", &y[2..]));
        if let Ok(year) = y.parse::<i32>() {
            let roc = year - 1911;
            forms.push(format!("{roc:03}{md}"));
            forms.push(format!("{roc}{md}"));
        }
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nhi() -> PasswordPolicy {
        PasswordPolicy::for_profile(PolicyProfile::TwNhi)
    }

    #[test]
    fn meter_follows_the_guide() {
        assert_eq!(Strength::of("Ab1~xyzw"), Strength::Strong);
        assert_eq!(Strength::of("Ab1~xy"), Strength::MediumStrong);
        assert_eq!(Strength::of("Abc12345"), Strength::MediumStrong);
        assert_eq!(Strength::of("abc123"), Strength::Medium);
        assert_eq!(Strength::of("abcdef"), Strength::Weak);
        assert_eq!(Strength::Strong.label_zh(), "強");
    }

    #[test]
    fn nhi_profile_enforces_length_and_characters() {
        let p = nhi();
        assert_eq!(
            p.check(&Password::new("Tq7~v"), None, &[]),
            Err(PasswordError::Length { min: 6, max: 12 })
        );
        assert_eq!(
            p.check(&Password::new("Tq7~vLm9#kR2x"), None, &[]),
            Err(PasswordError::Length { min: 6, max: 12 })
        );
        assert_eq!(
            p.check(&Password::new("Tq7 vLm9"), None, &[]),
            Err(PasswordError::ForbiddenCharacter)
        );
        assert_eq!(
            p.check(&Password::new("Tq7<vLm9"), None, &[]),
            Err(PasswordError::ForbiddenCharacter)
        );
        assert!(p.check(&Password::new("Tq7~vLm9"), None, &[]).is_ok());
        assert!(
            p.check(
                &Password::new("Tq7~vLm9"),
                Some(&Password::new("Tq7~vLm8")),
                &[]
            ) == Err(PasswordError::Mismatch)
        );
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        let p = nhi();
        for common in [
            "123456", "password", "qwerty", "abc123", "111111", "iloveyou", "1qaz2wsx",
        ] {
            assert_eq!(
                p.check(&Password::new(common), None, &[]),
                Err(PasswordError::Common),
                "{common}"
            );
        }
        let personal = ["000012345678", "A123456789", "19800102", "690102"];
        assert_eq!(
            p.check(&Password::new("x000012345678"), None, &personal),
            Err(PasswordError::Length { min: 6, max: 12 })
        );
        assert_eq!(
            p.check(&Password::new("a123456789Z"), None, &personal),
            Err(PasswordError::PersonalData)
        );
        assert_eq!(
            p.check(&Password::new("Qz690102~"), None, &personal),
            Err(PasswordError::PersonalData)
        );
    }

    #[test]
    fn nist_profile_allows_long_passphrases_with_spaces() {
        let p = PasswordPolicy::for_profile(PolicyProfile::Nist);
        assert!(p
            .check(
                &Password::new("correct horse battery staple 2026"),
                None,
                &[]
            )
            .is_ok());
        assert!(p.check(&Password::new("short"), None, &[]).is_err());
    }

    #[test]
    fn birth_date_forms_include_the_roc_calendar() {
        let forms = birth_date_forms("1980-01-02");
        for f in ["19800102", "800102", "0690102", "690102"] {
            assert!(forms.contains(&f.to_string()), "{f}");
        }
    }

    #[test]
    fn passwords_are_normalized_not_truncated() {
        assert_eq!(Password::new("ＡＢＣ１２３").expose(), "ABC123");
        assert_eq!(
            format!("{:?}", Password::new("secret")),
            "Password([redacted])"
        );
    }
}
