//! Registering, changing, rotating and deleting clients from a [`ClientDraft`], each change
//! written in one transaction with its audit event. The API-facing functions in
//! [`super`] and the CLI and demo call these.

use super::draft::{apply, ClientDraft, ClientError, FieldError};
use crate::audit::Actor;
use crate::audit::AuditKind;
use crate::context::Context;
use crate::crypto::new_secret_token;
use crate::domain::Client;
use crate::store::{ClientChange, StoreError};

/// Checks what depends on this deployment's configuration.
fn check_deployment(ctx: &Context, client: &Client) -> Result<(), ClientError> {
    if let Some(alg) = &client.id_token_alg {
        if !ctx.settings().keys.algorithms.iter().any(|a| a == alg) {
            return Err(ClientError::Invalid(FieldError::new(
                "id_token_alg",
                "id_token_alg_not_deployed",
                format!(
                    "id_token_alg {alg} is not among this deployment's keys.algorithms ({})",
                    ctx.settings().keys.algorithms.join(", ")
                ),
            )));
        }
    }
    Ok(())
}

fn audited(
    ctx: &Context,
    by: &Actor,
    change: ClientChange<'_>,
    event: AuditKind,
    client_id: &str,
) -> Result<bool, ClientError> {
    let audit = by.event(ctx.now(), event, "success", None, Some(client_id), None);
    match ctx.store().write_client(&change, &audit) {
        Ok(done) => Ok(done),
        Err(StoreError::Duplicate) => Err(ClientError::Taken(client_id.to_string())),
        Err(StoreError::Stale) => Err(ClientError::Changed(client_id.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// Registers a client. Returns it and, for secret-based methods, the secret (shown once).
pub fn create(ctx: &Context, draft: &ClientDraft) -> Result<(Client, Option<String>), ClientError> {
    create_by(ctx, draft, &Actor::system())
}

/// [`create`], audited as done by `by`.
pub fn create_by(
    ctx: &Context,
    draft: &ClientDraft,
    by: &Actor,
) -> Result<(Client, Option<String>), ClientError> {
    let now = ctx.now();
    let mut client = apply(draft, None, now).map_err(ClientError::Invalid)?;
    check_deployment(ctx, &client)?;
    let secret = client.auth_method.uses_secret().then(new_secret_token);
    client.secret_hash = secret.as_deref().map(|s| ctx.hash_client_secret(s));
    let id = client.client_id.to_string();
    audited(
        ctx,
        by,
        ClientChange::Create(&client),
        AuditKind::ClientCreate,
        &id,
    )?;
    Ok((client, secret))
}

pub fn find(ctx: &Context, client_id: &str) -> Result<Client, ClientError> {
    ctx.store()
        .find_client(client_id)?
        .ok_or_else(|| ClientError::NotFound(client_id.to_string()))
}

/// Changes a client. A switch to a secret-based method issues a secret (returned once);
/// a switch away from one drops the stored secret.
pub fn update(
    ctx: &Context,
    client_id: &str,
    draft: &ClientDraft,
) -> Result<(Client, Option<String>), ClientError> {
    update_by(ctx, client_id, draft, &Actor::system())
}

/// [`update`], audited as done by `by`.
pub fn update_by(
    ctx: &Context,
    client_id: &str,
    draft: &ClientDraft,
    by: &Actor,
) -> Result<(Client, Option<String>), ClientError> {
    let existing = find(ctx, client_id)?;
    let mut client = apply(draft, Some(&existing), ctx.now()).map_err(ClientError::Invalid)?;
    check_deployment(ctx, &client)?;
    let mut secret = None;
    let mut secret_changes = false;
    if !client.auth_method.uses_secret() {
        secret_changes = client.secret_hash.is_some();
        client.secret_hash = None;
    } else if client.secret_hash.is_none() {
        let s = new_secret_token();
        client.secret_hash = Some(ctx.hash_client_secret(&s));
        secret = Some(s);
        secret_changes = true;
    }
    let change = if secret_changes {
        ClientChange::UpdateWithSecret(&client)
    } else {
        ClientChange::Update(&client)
    };
    if !audited(ctx, by, change, AuditKind::ClientUpdate, client_id)? {
        return Err(ClientError::NotFound(client_id.to_string()));
    }
    Ok((client, secret))
}

pub fn delete(ctx: &Context, client_id: &str) -> Result<(), ClientError> {
    delete_by(ctx, client_id, &Actor::system())
}

/// [`delete`], audited as done by `by`.
pub fn delete_by(ctx: &Context, client_id: &str, by: &Actor) -> Result<(), ClientError> {
    if !audited(
        ctx,
        by,
        ClientChange::Delete(client_id),
        AuditKind::ClientDelete,
        client_id,
    )? {
        return Err(ClientError::NotFound(client_id.to_string()));
    }
    Ok(())
}

pub fn rotate_secret(ctx: &Context, client_id: &str) -> Result<String, ClientError> {
    rotate_secret_by(ctx, client_id, &Actor::system())
}

/// [`rotate_secret`], audited as done by `by`.
pub fn rotate_secret_by(ctx: &Context, client_id: &str, by: &Actor) -> Result<String, ClientError> {
    let mut client = find(ctx, client_id)?;
    if !client.auth_method.uses_secret() {
        return Err(ClientError::Invalid(FieldError::new(
            "auth_method",
            "no_secret",
            format!(
                "client {client_id} authenticates with {}, not a secret",
                client.auth_method
            ),
        )));
    }
    let secret = new_secret_token();
    client.secret_hash = Some(ctx.hash_client_secret(&secret));
    client.updated_at = ctx.now();
    if !audited(
        ctx,
        by,
        ClientChange::RotateSecret(&client),
        AuditKind::ClientRotateSecret,
        client_id,
    )? {
        return Err(ClientError::NotFound(client_id.to_string()));
    }
    Ok(secret)
}
