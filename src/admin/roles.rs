//! The admin role: `cardinal admin grant|revoke|list`.

use serde::Serialize;

use super::{resolve_person, Actor, AdminError, AdminResult};
use crate::oidc::Engine;

/// A holder of the admin role.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AdminView {
    pub person_id: String,
    pub name: String,
    pub granted_at: i64,
    pub granted_by: String,
}

fn person(engine: &Engine, who: &str) -> AdminResult<String> {
    resolve_person(engine, who)?.ok_or_else(|| {
        AdminError::NotFound(
            "no person with this card number, national ID or id (the person must have applied first)"
                .into(),
        )
    })
}

/// Grants the admin role to the person named by card number, national ID or id.
pub fn grant(engine: &Engine, by: &Actor, who: &str) -> AdminResult<String> {
    let person_id = person(engine, who)?;
    let audit = by.event(
        engine,
        "admin_grant",
        "success",
        Some(&person_id),
        None,
        None,
    );
    if !engine
        .store()
        .grant_admin(&person_id, by.label(), engine.now(), &audit)?
    {
        return Err(AdminError::Conflict(
            "this person already holds the admin role".into(),
        ));
    }
    Ok(person_id)
}

/// Revokes the admin role; the person's console sessions end at once.
pub fn revoke(engine: &Engine, by: &Actor, who: &str) -> AdminResult<String> {
    let person_id = person(engine, who)?;
    let audit = by.event(
        engine,
        "admin_revoke",
        "success",
        Some(&person_id),
        None,
        None,
    );
    if !engine
        .store()
        .revoke_admin(&person_id, engine.now(), &audit)?
    {
        return Err(AdminError::Conflict(
            "this person does not hold the admin role".into(),
        ));
    }
    Ok(person_id)
}

pub fn list(engine: &Engine) -> AdminResult<Vec<AdminView>> {
    Ok(engine
        .store()
        .list_admins()?
        .into_iter()
        .map(|a| AdminView {
            person_id: a.person_id,
            name: a.name,
            granted_at: a.granted_at,
            granted_by: a.granted_by,
        })
        .collect())
}
