//! Registrations at the counter (docs/requirements.md R-ADM-3): search by card number,
//! national ID or name (the national ID shown masked only), detail with the audit trail,
//! deactivate with a reason, reactivate, unlock, delete a pending application, end all
//! sessions.

use serde::{Deserialize, Serialize};

use super::audit::AuditView;
use super::{
    decode_cursor, encode_cursor, limit, masked_national_id, Actor, AdminError, AdminResult, Page,
};
use crate::audit::AuditKind;
use crate::domain::NationalId;
use crate::oidc::logout::LogoutDelivery;
use crate::oidc::Engine;
use crate::store::{AuditFilter, RegistrationQuery, RegistrationStatus, StatusChange};

/// A registration in a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegistrationView {
    pub person_id: String,
    pub name: String,
    /// The national ID, masked (`A12****789`).
    pub national_id: String,
    pub cards: Vec<String>,
    /// `pending`, `active`, `locked` or `deactivated`.
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One registration with everything an operator may see.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegistrationDetailView {
    pub person_id: String,
    pub name: String,
    /// The national ID, masked (`A12****789`).
    pub national_id: String,
    pub cards: Vec<CardView>,
    pub status: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub mobile: Option<String>,
    pub failed_attempts: i32,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
    pub locked_at: Option<i64>,
    pub deactivated_at: Option<i64>,
    pub deactivation_reason: Option<String>,
    pub is_admin: bool,
    /// SSO sessions still active.
    pub active_sessions: i64,
    /// The newest events about this person (up to 100).
    pub audit: Vec<AuditView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CardView {
    pub card_number: String,
    pub kind: String,
}

/// Deactivation at the counter (停用): the reason is required and kept.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeactivateRequest {
    /// Why (1–500 characters), e.g. the form the person signed at the counter.
    pub reason: String,
}

/// What a change did: the registration now, and the back-channel logout tokens to send
/// for the sessions it ended.
#[derive(Debug)]
pub struct Changed {
    pub registration: RegistrationDetailView,
    pub deliveries: Vec<LogoutDelivery>,
}

/// What a search string means: a card number (12 digits), a national ID, or part of a name.
pub fn query_of(engine: &Engine, q: Option<&str>) -> AdminResult<RegistrationQuery> {
    let q = q.map(str::trim).unwrap_or_default();
    if q.is_empty() {
        return Ok(RegistrationQuery::All);
    }
    if q.chars().all(|c| c.is_ascii_digit()) {
        if q.len() != 12 {
            return Err(
                AdminError::invalid("q", "a card number has 12 digits").coded("card_number_digits")
            );
        }
        return Ok(RegistrationQuery::Card(q.to_string()));
    }
    if let Ok(id) = NationalId::parse(q) {
        return Ok(RegistrationQuery::NationalIdHash(
            crate::registry::national_id_hash(engine.ring(), &id),
        ));
    }
    if q.chars().count() > 100 {
        return Err(
            AdminError::invalid("q", "a name has at most 100 characters").coded("name_too_long"),
        );
    }
    Ok(RegistrationQuery::Name(q.to_string()))
}

pub fn search(
    engine: &Engine,
    q: Option<&str>,
    limit_value: Option<i64>,
    cursor: Option<&str>,
) -> AdminResult<Page<RegistrationView>> {
    let query = query_of(engine, q)?;
    let limit = limit(limit_value)?;
    let after = match cursor {
        None => None,
        Some(c) => {
            let text = decode_cursor(c)?;
            let (name, id) = text.split_once('\u{0}').ok_or_else(|| {
                AdminError::invalid(
                    "cursor",
                    "cursor is not one this server made; use next_cursor",
                )
                .coded("cursor_invalid")
            })?;
            Some((name.to_string(), id.to_string()))
        }
    };
    let rows = engine.store().search_registrations(
        &query,
        after.as_ref().map(|(n, i)| (n.as_str(), i.as_str())),
        limit + 1,
    )?;
    let more = rows.len() as i64 > limit;
    let items: Vec<RegistrationView> = rows
        .into_iter()
        .take(limit as usize)
        .map(|r| RegistrationView {
            national_id: masked_national_id(engine, r.national_id_sealed.as_deref()),
            person_id: r.person_id,
            name: r.name,
            cards: r.cards,
            status: r.status.as_str().into(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect();
    let next_cursor = match (more, items.last()) {
        (true, Some(last)) => Some(encode_cursor(&format!(
            "{}\u{0}{}",
            last.name, last.person_id
        ))),
        _ => None,
    };
    Ok(Page { items, next_cursor })
}

fn not_found() -> AdminError {
    AdminError::NotFound("no registration for this person".into())
}

pub fn detail(engine: &Engine, person_id: &str) -> AdminResult<RegistrationDetailView> {
    let d = engine
        .store()
        .registration_detail(person_id, engine.now())?
        .ok_or_else(not_found)?;
    let filter = AuditFilter {
        person_id: Some(person_id.to_string()),
        ..Default::default()
    };
    let audit = engine
        .store()
        .query_audit(&filter, None, 100)?
        .into_iter()
        .map(AuditView::from)
        .collect();
    let r = d.registration;
    Ok(RegistrationDetailView {
        person_id: d.person.id,
        name: d.person.name,
        national_id: masked_national_id(engine, d.national_id_sealed.as_deref()),
        cards: d
            .cards
            .into_iter()
            .map(|(card_number, kind)| CardView { card_number, kind })
            .collect(),
        status: r.status.as_str().into(),
        email: d.person.email,
        email_verified: d.person.email_verified,
        mobile: r.mobile,
        failed_attempts: r.failed_attempts,
        created_at: r.created_at,
        confirmed_at: r.confirmed_at,
        locked_at: r.locked_at,
        deactivated_at: r.deactivated_at,
        deactivation_reason: r.deactivation_reason,
        is_admin: d.is_admin,
        active_sessions: d.active_sessions,
        audit,
    })
}

fn current_status(engine: &Engine, person_id: &str) -> AdminResult<RegistrationStatus> {
    Ok(engine
        .store()
        .find_registration(person_id)?
        .ok_or_else(not_found)?
        .status)
}

/// Applies `change` when the registration is in one of `from`; 409 otherwise.
fn change(
    engine: &Engine,
    by: &Actor,
    person_id: &str,
    from: &[RegistrationStatus],
    change: StatusChange,
    event: AuditKind,
    detail: Option<String>,
) -> AdminResult<Changed> {
    let status = current_status(engine, person_id)?;
    let refuse = |status: RegistrationStatus| {
        AdminError::Conflict(format!(
            "the registration is {}; {event} needs it {}",
            status.as_str(),
            from.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        ))
    };
    if !from.contains(&status) {
        return Err(refuse(status));
    }
    let audit = by.event(
        engine.now(),
        event,
        "success",
        Some(person_id),
        None,
        detail,
    );
    let ended =
        engine
            .store()
            .change_registration(person_id, from, &change, engine.now(), &audit)?;
    let Some(ended) = ended else {
        // Changed meanwhile by someone else.
        return Err(refuse(current_status(engine, person_id)?));
    };
    Ok(Changed {
        deliveries: engine.logout_deliveries_for(person_id, &ended),
        registration: detail_of(engine, person_id)?,
    })
}

fn detail_of(engine: &Engine, person_id: &str) -> AdminResult<RegistrationDetailView> {
    detail(engine, person_id)
}

/// 停用 at the counter: the person can no longer sign in; every session ends and every
/// grant (offline ones too) is revoked.
pub fn deactivate(
    engine: &Engine,
    by: &Actor,
    person_id: &str,
    reason: &str,
) -> AdminResult<Changed> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AdminError::invalid(
            "reason",
            "a reason is required to deactivate a registration",
        )
        .coded("reason_required"));
    }
    if reason.chars().count() > 500 {
        return Err(
            AdminError::invalid("reason", "the reason has at most 500 characters")
                .coded("reason_too_long"),
        );
    }
    if reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AdminError::invalid(
            "reason",
            "the reason must not contain control characters",
        )
        .coded("reason_control"));
    }
    change(
        engine,
        by,
        person_id,
        &[
            RegistrationStatus::Pending,
            RegistrationStatus::Active,
            RegistrationStatus::Locked,
        ],
        StatusChange::Deactivate {
            reason: reason.to_string(),
        },
        AuditKind::RegistrationDeactivate,
        Some(format!("reason={reason}")),
    )
}

pub fn reactivate(engine: &Engine, by: &Actor, person_id: &str) -> AdminResult<Changed> {
    change(
        engine,
        by,
        person_id,
        &[RegistrationStatus::Deactivated],
        StatusChange::Reactivate,
        AuditKind::RegistrationReactivate,
        None,
    )
}

pub fn unlock(engine: &Engine, by: &Actor, person_id: &str) -> AdminResult<Changed> {
    change(
        engine,
        by,
        person_id,
        &[RegistrationStatus::Locked],
        StatusChange::Unlock,
        AuditKind::RegistrationUnlock,
        None,
    )
}

/// 刪除註冊申請 on the person's behalf: only a pending application; the person, the card
/// link and the mail tokens go with it.
pub fn delete_pending(engine: &Engine, by: &Actor, person_id: &str) -> AdminResult<()> {
    let status = current_status(engine, person_id)?;
    if status != RegistrationStatus::Pending {
        return Err(AdminError::Conflict(format!(
            "the registration is {}; only a pending application can be deleted (deactivate an active one)",
            status.as_str()
        )));
    }
    let audit = by.event(
        engine.now(),
        AuditKind::RegistrationDelete,
        "success",
        Some(person_id),
        None,
        None,
    );
    if !engine.store().delete_pending(person_id, &audit)? {
        return Err(AdminError::Conflict(
            "the application is no longer pending".into(),
        ));
    }
    Ok(())
}

/// Ends every session of a person (SSO and console) and revokes every grant.
pub fn end_sessions(engine: &Engine, by: &Actor, person_id: &str) -> AdminResult<Changed> {
    current_status(engine, person_id)?;
    let audit = by.event(
        engine.now(),
        AuditKind::SessionsEnd,
        "success",
        Some(person_id),
        None,
        None,
    );
    let ended = engine
        .store()
        .end_person_sessions(person_id, engine.now(), &audit)?;
    Ok(Changed {
        deliveries: engine.logout_deliveries_for(person_id, &ended),
        registration: detail_of(engine, person_id)?,
    })
}
