//! The admin role: `cardinal admin grant|revoke|list`.

use serde::Serialize;

use super::{resolve_person, Actor, AdminError, AdminResult};
use crate::audit::AuditKind;
use crate::context::Context;

/// A holder of the admin role.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AdminView {
    pub person_id: String,
    pub name: String,
    pub granted_at: i64,
    pub granted_by: String,
}

fn person(ctx: &Context, who: &str) -> AdminResult<String> {
    resolve_person(ctx, who)?.ok_or_else(|| {
        AdminError::NotFound(
            "no person with this card number, national ID or id (the person must have applied first)"
                .into(),
        )
    })
}

/// Grants the admin role to the person named by card number, national ID or id.
pub fn grant(ctx: &Context, by: &Actor, who: &str) -> AdminResult<String> {
    let person_id = person(ctx, who)?;
    let audit = by.event(
        ctx.now(),
        AuditKind::AdminGrant,
        "success",
        Some(&person_id),
        None,
        None,
    );
    if !ctx
        .store()
        .grant_admin(&person_id, by.label(), ctx.now(), &audit)?
    {
        return Err(AdminError::Conflict(
            "this person already holds the admin role".into(),
        ));
    }
    Ok(person_id)
}

/// Revokes the admin role; the person's console sessions end at once.
pub fn revoke(ctx: &Context, by: &Actor, who: &str) -> AdminResult<String> {
    let person_id = person(ctx, who)?;
    let audit = by.event(
        ctx.now(),
        AuditKind::AdminRevoke,
        "success",
        Some(&person_id),
        None,
        None,
    );
    if !ctx.store().revoke_admin(&person_id, ctx.now(), &audit)? {
        return Err(AdminError::Conflict(
            "this person does not hold the admin role".into(),
        ));
    }
    Ok(person_id)
}

pub fn list(ctx: &Context) -> AdminResult<Vec<AdminView>> {
    Ok(ctx
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
