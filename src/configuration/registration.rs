//! Registrations and their passwords, sign-in limits, and the admin console.

use anyhow::bail;
use serde::{Deserialize, Serialize};

use super::TokenSettings;

/// Registrations and the lockout (docs/requirements.md R-REG; the budgets of sign-ins and
/// registration actions are `[limits]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrationSettings {
    /// Consecutive wrong passwords that lock a registration (rule 10; default 5).
    pub lockout_threshold: i32,
    /// Lifetime of the confirmation link (認證通知信; the guide: 5 days; NIST caps e-mail
    /// codes at 24 h).
    pub confirm_link_ttl: i64,
    /// Lifetime of the password-reset link (重設註冊密碼信; 30 minutes).
    pub reset_link_ttl: i64,
}

impl Default for RegistrationSettings {
    fn default() -> Self {
        Self {
            lockout_threshold: 5,
            confirm_link_ttl: 5 * 24 * 3600,
            reset_link_ttl: 1800,
        }
    }
}

impl RegistrationSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if !(1..=100).contains(&self.lockout_threshold) {
            bail!("registration.lockout_threshold must be 1–100 (NIST SP 800-63B-4 allows at most 100)");
        }
        if self.confirm_link_ttl <= 0 || self.reset_link_ttl <= 0 {
            bail!("registration: link lifetimes must be positive");
        }
        Ok(())
    }
}

/// Registration passwords (docs/requirements.md R-REG-8; docs/security.md §2.7).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordSettings {
    /// `tw-nhi` (6–12 characters, no space < > ' ", the NHI rule; deviates from NIST's
    /// minimum of 8) or `nist` (8–64 characters, any character).
    pub profile: crate::domain::password::PolicyProfile,
    /// Override the profile's minimum length.
    pub min_length: Option<usize>,
    /// Override the profile's maximum length (at most 256, never truncated).
    pub max_length: Option<usize>,
    /// argon2id memory cost in KiB (OWASP: 19456).
    pub argon2_memory_kib: u32,
    /// argon2id iterations.
    pub argon2_iterations: u32,
    /// argon2id lanes.
    pub argon2_parallelism: u32,
}

impl Default for PasswordSettings {
    fn default() -> Self {
        Self {
            profile: Default::default(),
            min_length: None,
            max_length: None,
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
        }
    }
}

impl PasswordSettings {
    pub fn policy(&self) -> crate::domain::password::PasswordPolicy {
        let mut p = crate::domain::password::PasswordPolicy::for_profile(self.profile);
        if let Some(min) = self.min_length {
            p.min_length = min;
        }
        if let Some(max) = self.max_length {
            p.max_length = max;
        }
        p
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        let policy = self.policy();
        if policy.min_length < 6 || policy.max_length > 256 || policy.min_length > policy.max_length
        {
            bail!("password: lengths must satisfy 6 <= min_length <= max_length <= 256");
        }
        Ok(())
    }
}

/// The admin console at `/admin` (docs/requirements.md R-ADM-1). It signs in through
/// Cardinal itself as the first-party client `cardinal-admin`, registered at startup.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    /// The lowest sign-in level for the console: `card` (NHI card + 註冊密碼) or
    /// `citizen-certificate` (MOICA card + PIN), or the acr URN.
    pub min_acr: crate::domain::Acr,
    /// Lifetime of a console session (seconds); it also ends with the SSO session.
    pub session_ttl: i64,
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            min_acr: crate::domain::Acr::Card,
            session_ttl: 3600,
        }
    }
}

impl AdminSettings {
    /// A console session lasts at most as long as the sign-in session it belongs to.
    pub(super) fn validate(&self, tokens: &TokenSettings) -> anyhow::Result<()> {
        if self.session_ttl <= 0 || self.session_ttl > tokens.session_ttl {
            bail!("admin.session_ttl must be positive and at most tokens.session_ttl");
        }
        Ok(())
    }
}
