//! The audit log's vocabulary: who did something ([`Actor`]) and the event written for it
//! ([`AuditEvent`]). A leaf module: the store writes these, every service makes them.

use std::fmt;

use crate::clock::UnixTime;

macro_rules! audit_kinds {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)+) => {
        /// Every kind of event the audit log holds. Written as its text (`login`,
        /// `client_create`, …) in the `event` column; the console's filter offers [`AuditKind::ALL`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditKind {
            $($(#[$doc])* $variant,)+
        }

        impl AuditKind {
            pub const ALL: &'static [AuditKind] = &[$(AuditKind::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditKind::$variant => $text,)+
                }
            }
        }
    };
}

audit_kinds! {
    /// A sign-in (card, password) succeeded or failed.
    Login = "login",
    /// An SSO session ended (RP-initiated logout).
    Logout = "logout",
    /// Tokens issued at the token endpoint.
    Token = "token",
    /// A token revoked (RFC 7009).
    Revoke = "revoke",
    /// A client failed to authenticate.
    ClientAuth = "client_auth",
    /// A budget of an address or a named network spent (outcome: the budget): requests
    /// refused with 429 until its window is over.
    RateLimited = "rate_limited",
    /// An authorization code was presented again (its grant is revoked).
    CodeReuse = "code_reuse",
    /// A rotated refresh token was presented again (its grant is revoked).
    RefreshReuse = "refresh_reuse",
    /// Consent given or refused.
    Consent = "consent",
    /// A card token was checked (and refused).
    CardCheck = "card_check",
    /// A card's certificate was found revoked; its sessions ended.
    CardRevoked = "card_revoked",
    /// A registration application (申請).
    Apply = "apply",
    /// A registration confirmed by its mail link.
    Confirm = "confirm",
    /// 忘記註冊密碼: a reset link asked for.
    Forgot = "forgot",
    /// The registration password reset by its link.
    Reset = "reset",
    /// 註冊密碼變更.
    PasswordChange = "password_change",
    /// Too many wrong passwords: the registration locked and its sessions ended.
    Lockout = "lockout",
    /// 修改基本資料 (contact details).
    ProfileUpdate = "profile_update",
    /// A new mail address asked for or confirmed.
    EmailChange = "email_change",
    /// 重寄認證信.
    Resend = "resend",
    /// 刪除註冊申請.
    DeleteApplication = "delete_application",
    /// The resident registry imported.
    RegistryImport = "registry_import",
    /// A console sign-in.
    AdminLogin = "admin_login",
    /// A console sign-out.
    AdminLogout = "admin_logout",
    /// The admin role granted.
    AdminGrant = "admin_grant",
    /// The admin role revoked.
    AdminRevoke = "admin_revoke",
    ClientCreate = "client_create",
    ClientUpdate = "client_update",
    ClientDelete = "client_delete",
    ClientRotateSecret = "client_rotate_secret",
    RegistrationDeactivate = "registration_deactivate",
    RegistrationReactivate = "registration_reactivate",
    RegistrationUnlock = "registration_unlock",
    RegistrationDelete = "registration_delete",
    /// Every session of a person ended by an admin.
    SessionsEnd = "sessions_end",
    /// A signing key created or rotated.
    KeyRotate = "key_rotate",
    /// The audit log exported.
    AuditExport = "audit_export",
    /// A service notice (服務公告) created, changed or removed.
    NoticeCreate = "notice_create",
    NoticeUpdate = "notice_update",
    NoticeDelete = "notice_delete",
}

impl serde::Serialize for AuditKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: UnixTime,
    pub event: String,
    pub outcome: String,
    pub actor: Option<String>,
    pub person_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

/// Who does an administrative action, as written in the audit log's `actor` column:
/// `person:ID` (a console admin), `client:ID` (an API client), `cli:USER` (the command
/// line on the server), `dev-page` (the demo's dev page) or `system`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    label: String,
    ip: Option<String>,
}

impl Actor {
    /// An admin signed in to the console.
    pub fn person(person_id: &str, ip: Option<String>) -> Self {
        Actor {
            label: format!("person:{person_id}"),
            ip,
        }
    }

    /// An API client with the admin scope.
    pub fn client(client_id: &str, ip: Option<String>) -> Self {
        Actor {
            label: format!("client:{client_id}"),
            ip,
        }
    }

    /// The command line, as the operating-system user running it.
    pub fn cli() -> Self {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        Actor {
            label: format!("cli:{user}"),
            ip: None,
        }
    }

    /// The dev page of `cardinal demo` (never present in `serve`).
    pub fn dev_page(ip: Option<String>) -> Self {
        Actor {
            label: "dev-page".into(),
            ip,
        }
    }

    /// Cardinal itself (startup tasks, library callers that name no one).
    pub fn system() -> Self {
        Actor {
            label: "system".into(),
            ip: None,
        }
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// An audit event done by this actor at `at`.
    pub fn event(
        &self,
        at: UnixTime,
        event: AuditKind,
        outcome: &str,
        person_id: Option<&str>,
        client_id: Option<&str>,
        detail: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            at,
            event: event.as_str().into(),
            outcome: outcome.into(),
            actor: Some(self.label.clone()),
            person_id: person_id.map(str::to_string),
            client_id: client_id.map(str::to_string),
            ip: self.ip.clone(),
            detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_labelled_for_the_audit_log() {
        assert_eq!(Actor::person("p1", None).label(), "person:p1");
        assert_eq!(Actor::client("c1", None).label(), "client:c1");
        assert!(Actor::cli().label().starts_with("cli:"));
    }
}
