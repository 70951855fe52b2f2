//! Administration (docs/requirements.md R-ADM) as services without HTTP: the admin role,
//! clients, registrations, the audit log and keys. The REST API (`routes::admin_api`), the
//! console (`routes::admin_console`) and the CLI (`commands::admin`) call these functions,
//! so each operation has one implementation. Every change is written in one transaction
//! with its audit event, which names the admin who made it (an [`Actor`]).

pub mod audit;
pub mod clients;
pub mod keys;
pub mod registrations;
pub mod roles;

use base64::Engine as _;
use serde::Serialize;

use crate::clients::ClientError;
use crate::domain::NationalId;
use crate::oidc::Engine;
use crate::store::{AuditEvent, StoreError};

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

    /// An audit event done by this actor, now.
    pub fn event(
        &self,
        engine: &Engine,
        event: &str,
        outcome: &str,
        person_id: Option<&str>,
        client_id: Option<&str>,
        detail: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            at: engine.now(),
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

/// Why an administrative operation was refused. Each maps to one HTTP status in the API.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Bad input (422): the field and what to fix.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// No such record (404).
    #[error("{0}")]
    NotFound(String),
    /// The record is in a state that does not allow this (409).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AdminError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AdminError::Invalid {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// The `error` code of the API's JSON errors.
    pub fn code(&self) -> &'static str {
        match self {
            AdminError::Invalid { .. } => "invalid_request",
            AdminError::NotFound(_) => "not_found",
            AdminError::Conflict(_) => "conflict",
            AdminError::Store(_) | AdminError::Internal(_) => "server_error",
        }
    }

    /// The field a validation error is about.
    pub fn field(&self) -> Option<&str> {
        match self {
            AdminError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// What the caller may be told (never internal detail).
    pub fn public_message(&self) -> String {
        match self {
            AdminError::Store(_) | AdminError::Internal(_) => {
                "the server could not complete the request".into()
            }
            other => other.to_string(),
        }
    }
}

impl From<ClientError> for AdminError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Invalid(f) => AdminError::Invalid {
                field: f.field.to_string(),
                message: f.message,
            },
            ClientError::NotFound(id) => AdminError::NotFound(format!("no client {id}")),
            ClientError::Taken(id) => AdminError::Conflict(format!("client_id {id} is taken")),
            e @ ClientError::Changed(_) => AdminError::Conflict(e.to_string()),
            ClientError::Store(s) => AdminError::Store(s),
        }
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

/// A page of a list, with the cursor of the next page (`None` on the last one).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// `limit` of a list: 1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`].
pub fn limit(value: Option<i64>) -> AdminResult<i64> {
    match value {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(AdminError::invalid(
            "limit",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        )),
    }
}

/// An opaque cursor for `value`.
pub fn encode_cursor(value: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.as_bytes())
}

/// The value of a cursor made by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> AdminResult<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            AdminError::invalid(
                "cursor",
                "cursor is not one this server made; use next_cursor",
            )
        })
}

/// How an operator names a person: a card number (12 digits), a national ID, or the
/// person id. Returns the person id, `None` when nobody matches.
pub fn resolve_person(engine: &Engine, who: &str) -> AdminResult<Option<String>> {
    let who = who.trim();
    if who.is_empty() {
        return Err(AdminError::invalid(
            "person",
            "name a card number, national ID or person id",
        ));
    }
    let store = engine.store();
    if who.len() == 12 && who.chars().all(|c| c.is_ascii_digit()) {
        return Ok(store.find_by_card(who)?.map(|(p, _)| p.id));
    }
    if let Ok(id) = NationalId::parse(who) {
        let hash = crate::registry::national_id_hash(engine.ring(), &id);
        return Ok(store.find_by_national_id(&hash)?.map(|(p, _)| p.id));
    }
    Ok(store.find_person(who)?.map(|p| p.id))
}

/// The masked national ID (`A12****789`) from its sealed form, or an empty string.
pub fn masked_national_id(engine: &Engine, sealed: Option<&str>) -> String {
    sealed
        .and_then(|s| engine.ring().open("persons.national_id", s).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|id| NationalId::parse(&id).ok())
        .map(|id| id.masked())
        .unwrap_or_default()
}

/// Parses a time given as RFC 3339 (`2026-11-27T08:00:00Z`), a date (`2026-11-27`, midnight
/// UTC) or Unix seconds.
pub fn parse_time(field: &str, value: &str) -> AdminResult<i64> {
    let v = value.trim();
    if let Ok(n) = v.parse::<i64>() {
        return Ok(n);
    }
    if let Ok(t) = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(v, &date_format) {
        return Ok(d.midnight().assume_utc().unix_timestamp());
    }
    Err(AdminError::invalid(
        field,
        format!(
            "{field} must be RFC 3339 (2026-11-27T08:00:00Z), a date (2026-11-27) or Unix seconds"
        ),
    ))
}

/// The client id of the admin console, registered by Cardinal itself at startup.
pub const CONSOLE_CLIENT_ID: &str = "cardinal-admin";

/// Registers the admin console's own client (`cardinal-admin`: public, PKCE, code flow,
/// first-party, minimum acr `admin.min_acr`, redirect URI `{issuer}/admin/callback`), or
/// brings it up to date when the issuer or the minimum acr changed. Idempotent; several
/// instances starting at once agree.
pub fn ensure_console_client(engine: &Engine) -> anyhow::Result<()> {
    let settings = engine.settings();
    let min_acr = settings.admin.min_acr()?;
    let redirect = format!("{}/admin/callback", engine.issuer());
    let after_logout = format!("{}/admin", engine.issuer());
    let draft = crate::clients::ClientDraft {
        client_id: Some(CONSOLE_CLIENT_ID.into()),
        name: Some("Cardinal 管理後台 (admin console)".into()),
        redirect_uris: Some(vec![redirect.clone()]),
        post_logout_redirect_uris: Some(vec![after_logout.clone()]),
        backchannel_logout_uri: Some(None),
        grant_types: Some(vec!["authorization_code".into()]),
        auth_method: Some("none".into()),
        scopes: Some(vec!["openid".into(), "profile".into()]),
        min_acr: Some(Some(min_acr.as_str().into())),
        skip_consent: Some(true),
        subject_type: Some("public".into()),
        jwks: None,
        id_token_alg: None,
    };
    let by = Actor::system();
    match engine.store().find_client(CONSOLE_CLIENT_ID)? {
        None => match crate::clients::create_by(engine, &draft, &by) {
            Ok(_) | Err(ClientError::Taken(_)) => Ok(()),
            Err(e) => Err(anyhow::anyhow!(
                "cannot register the admin console's client: {e}"
            )),
        },
        Some(c) => {
            let current = c.redirect_uris.len() == 1
                && c.redirect_uris.first().map(|u| u.as_ref()) == Some(redirect.as_str())
                && c.post_logout_redirect_uris.first().map(|u| u.as_ref())
                    == Some(after_logout.as_str())
                && c.min_acr == Some(min_acr)
                && c.is_public()
                && c.skip_consent
                && c.grant_types == [crate::domain::GrantType::AuthorizationCode];
            if current {
                return Ok(());
            }
            crate::clients::update_by(engine, CONSOLE_CLIENT_ID, &draft, &by)
                .map(|_| ())
                .map_err(|e| anyhow::anyhow!("cannot update the admin console's client: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_as_rfc3339_dates_or_unix_seconds() {
        assert_eq!(parse_time("from", "1700000000").unwrap(), 1_700_000_000);
        assert_eq!(
            parse_time("from", "2026-11-27T08:00:00Z").unwrap(),
            parse_time("from", "2026-11-27").unwrap() + 8 * 3600
        );
        let err = parse_time("to", "yesterday").unwrap_err();
        assert_eq!(err.field(), Some("to"));
    }

    #[test]
    fn limits_and_cursors_are_checked() {
        assert_eq!(limit(None).unwrap(), DEFAULT_LIMIT);
        assert!(limit(Some(0)).is_err() && limit(Some(MAX_LIMIT + 1)).is_err());
        let c = encode_cursor("王小明\u{0}id");
        assert_eq!(decode_cursor(&c).unwrap(), "王小明\u{0}id");
        assert_eq!(decode_cursor("%%").unwrap_err().field(), Some("cursor"));
    }

    #[test]
    fn actors_are_labelled_for_the_audit_log() {
        assert_eq!(Actor::person("p1", None).label(), "person:p1");
        assert_eq!(Actor::client("c1", None).label(), "client:c1");
        assert!(Actor::cli().label().starts_with("cli:"));
    }

    #[test]
    fn internal_errors_do_not_leak_detail() {
        let e = AdminError::Internal(anyhow::anyhow!("password=hunter2"));
        assert!(!e.public_message().contains("hunter2"));
        assert_eq!(e.code(), "server_error");
    }
}
