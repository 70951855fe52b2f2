//! The audit log's vocabulary: who did something ([`Actor`]) and the event written for it
//! ([`AuditEvent`]). A leaf module: the store writes these, every service makes them.

use crate::clock::UnixTime;

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
        event: &str,
        outcome: &str,
        person_id: Option<&str>,
        client_id: Option<&str>,
        detail: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            at,
            event: event.into(),
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
