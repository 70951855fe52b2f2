//! Administration (docs/requirements.md R-ADM) as services without HTTP: the admin role,
//! clients, registrations, the audit log and keys. The REST API (`routes::admin_api`), the
//! console (`routes::admin_console`) and the CLI (`commands::admin`) call these functions,
//! so each operation has one implementation. Every change is written in one transaction
//! with its audit event, which names the admin who made it (an [`Actor`]).

pub mod audit;
pub mod clients;
pub mod keys;
pub mod notices;
pub mod registrations;
pub mod roles;

use base64::Engine as _;
use serde::Serialize;

pub use crate::audit::Actor;
use crate::context::Context;
use crate::domain::NationalId;
use crate::store::StoreError;

/// Why an administrative operation was refused. Each maps to one HTTP status in the API.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Bad input (422): the field, the rule broken (a stable code the console
    /// translates; `invalid` when none more precise) and what to fix (English).
    #[error("{field}: {message}")]
    Invalid {
        field: String,
        code: &'static str,
        message: String,
    },
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
            code: "invalid",
            message: message.into(),
        }
    }

    /// The same error naming the rule it broke (see [`AdminError::rule`]).
    pub fn coded(self, rule: &'static str) -> Self {
        match self {
            AdminError::Invalid { field, message, .. } => AdminError::Invalid {
                field,
                code: rule,
                message,
            },
            other => other,
        }
    }

    /// The rule a validation error broke (`redirect_uri_required`, `reason_required`, …).
    pub fn rule(&self) -> Option<&'static str> {
        match self {
            AdminError::Invalid { code, .. } => Some(code),
            _ => None,
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
        )
        .coded("limit_range")),
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
            .coded("cursor_invalid")
        })
}

/// How an operator names a person: a card number (12 digits), a national ID, or the
/// person id. Returns the person id, `None` when nobody matches.
pub fn resolve_person(ctx: &Context, who: &str) -> AdminResult<Option<String>> {
    let who = who.trim();
    if who.is_empty() {
        return Err(
            AdminError::invalid("person", "name a card number, national ID or person id")
                .coded("person_empty"),
        );
    }
    let store = ctx.store();
    if who.len() == 12 && who.chars().all(|c| c.is_ascii_digit()) {
        return Ok(store.find_by_card(who)?.map(|(p, _)| p.id));
    }
    if let Ok(id) = NationalId::parse(who) {
        let hash = crate::registry::national_id_hash(ctx.ring(), &id);
        return Ok(store.find_by_national_id(&hash)?.map(|(p, _)| p.id));
    }
    Ok(store.find_person(who)?.map(|p| p.id))
}

/// The masked national ID (`A12****789`) from its sealed form, or an empty string.
pub fn masked_national_id(ctx: &Context, sealed: Option<&str>) -> String {
    sealed
        .and_then(|s| ctx.ring().open("persons.national_id", s).ok())
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
    )
    .coded("time_format"))
}

/// The client id of the admin console, registered by Cardinal itself at startup.
pub const CONSOLE_CLIENT_ID: &str = "cardinal-admin";

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
    fn internal_errors_do_not_leak_detail() {
        let e = AdminError::Internal(anyhow::anyhow!("password=hunter2"));
        assert!(!e.public_message().contains("hunter2"));
        assert_eq!(e.code(), "server_error");
    }
}
