//! Relying-party clients (docs/requirements.md R-ADM-2) for the API and the console: the
//! same rules as the CLI ([`records`], [`draft`]), with paging and the admin as the audited
//! actor.

use serde::{Deserialize, Serialize};

use super::{decode_cursor, encode_cursor, limit, Actor, AdminError, AdminResult, Page};
pub mod draft;
pub mod records;

use crate::context::Context;
pub use draft::{apply, ClientDraft, ClientError, ClientView, FieldError};
use records as clients;

/// A client to create, or the changes to make (absent fields keep their value; on create,
/// the defaults: confidential `client_secret_basic`, authorization_code + refresh_token,
/// scopes openid profile email phone offline_access).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    /// Only on create: a chosen client_id (default: random).
    pub client_id: Option<String>,
    pub name: Option<String>,
    /// https, or http on a loopback address for native clients; no fragments, wildcards,
    /// javascript: or data: (RFC 9700).
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// `null` removes it (on update).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub backchannel_logout_uri: Option<Option<String>>,
    /// authorization_code, refresh_token, client_credentials.
    pub grant_types: Option<Vec<String>>,
    /// client_secret_basic, client_secret_post, private_key_jwt or none (public client).
    pub auth_method: Option<String>,
    /// openid, profile, email, phone, offline_access; cardinal:admin for admin API clients
    /// (confidential, client_credentials).
    pub scopes: Option<Vec<String>>,
    /// card or citizen-certificate (or the acr URN); `null` removes it (on update).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub min_acr: Option<Option<String>>,
    /// First-party client: never ask for consent.
    pub skip_consent: Option<bool>,
    /// public or pairwise.
    pub subject_type: Option<String>,
    /// The client's public keys (a JWKS document, as JSON text) for private_key_jwt.
    pub jwks: Option<String>,
    /// RS256, ES256 or EdDSA.
    pub id_token_alg: Option<String>,
}

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
fn double_option<'de, D>(d: D) -> Result<Option<Option<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<String>::deserialize(d).map(Some)
}

impl From<ClientInput> for ClientDraft {
    fn from(i: ClientInput) -> Self {
        ClientDraft {
            client_id: i.client_id,
            name: i.name,
            redirect_uris: i.redirect_uris,
            post_logout_redirect_uris: i.post_logout_redirect_uris,
            backchannel_logout_uri: i.backchannel_logout_uri,
            grant_types: i.grant_types,
            auth_method: i.auth_method,
            scopes: i.scopes,
            min_acr: i.min_acr,
            skip_consent: i.skip_consent,
            subject_type: i.subject_type,
            jwks: i.jwks,
            id_token_alg: i.id_token_alg,
        }
    }
}

/// A client and, right after it was made or its secret rotated, the secret (shown once).
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct ClientWithSecret {
    #[serde(flatten)]
    pub client: ClientView,
    /// Shown once: only the response that made it carries it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// A new secret (shown once); the old one stops working.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct RotatedSecret {
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for ClientWithSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientWithSecret")
            .field("client", &self.client)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

impl std::fmt::Debug for RotatedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatedSecret")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

pub fn list(
    ctx: &Context,
    limit_value: Option<i64>,
    cursor: Option<&str>,
) -> AdminResult<Page<ClientView>> {
    let limit = limit(limit_value)? as usize;
    let after = cursor.map(decode_cursor).transpose()?;
    let mut all: Vec<ClientView> = ctx
        .store()
        .list_clients()?
        .iter()
        .map(ClientView::from)
        .collect();
    all.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    let mut rest = all
        .into_iter()
        .filter(|c| after.as_deref().is_none_or(|a| c.client_id.as_str() > a));
    let items: Vec<ClientView> = rest.by_ref().take(limit).collect();
    let next_cursor = match (rest.next(), items.last()) {
        (Some(_), Some(last)) => Some(encode_cursor(&last.client_id)),
        _ => None,
    };
    Ok(Page { items, next_cursor })
}

pub fn show(ctx: &Context, client_id: &str) -> AdminResult<ClientView> {
    Ok(ClientView::from(&clients::find(ctx, client_id)?))
}

pub fn create(ctx: &Context, by: &Actor, input: ClientInput) -> AdminResult<ClientWithSecret> {
    if input.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(AdminError::invalid("name", "name is required").coded("name_empty"));
    }
    let (client, secret) = clients::create_by(ctx, &input.into(), by)?;
    Ok(ClientWithSecret {
        client: ClientView::from(&client),
        client_secret: secret,
    })
}

pub fn update(
    ctx: &Context,
    by: &Actor,
    client_id: &str,
    input: ClientInput,
) -> AdminResult<ClientWithSecret> {
    if client_id == super::CONSOLE_CLIENT_ID {
        return Err(AdminError::Conflict(
            "the admin console's own client is managed by Cardinal ([admin] settings) and cannot be edited".into(),
        ));
    }
    if input.client_id.as_deref().is_some_and(|id| id != client_id) {
        return Err(
            AdminError::invalid("client_id", "the client_id of a client cannot change")
                .coded("client_id_fixed"),
        );
    }
    let (client, secret) = clients::update_by(ctx, client_id, &input.into(), by)?;
    Ok(ClientWithSecret {
        client: ClientView::from(&client),
        client_secret: secret,
    })
}

pub fn delete(ctx: &Context, by: &Actor, client_id: &str) -> AdminResult<()> {
    if client_id == super::CONSOLE_CLIENT_ID {
        return Err(AdminError::Conflict(
            "the admin console's own client cannot be deleted".into(),
        ));
    }
    Ok(clients::delete_by(ctx, client_id, by)?)
}

pub fn rotate_secret(ctx: &Context, by: &Actor, client_id: &str) -> AdminResult<RotatedSecret> {
    if client_id == super::CONSOLE_CLIENT_ID {
        return Err(AdminError::Conflict(
            "the admin console's own client is a public client with no secret".into(),
        ));
    }
    let secret = clients::rotate_secret_by(ctx, client_id, by)?;
    Ok(RotatedSecret {
        client_id: client_id.to_string(),
        client_secret: secret,
    })
}

impl From<ClientError> for AdminError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Invalid(f) => AdminError::Invalid {
                field: f.field.to_string(),
                code: f.code,
                message: f.message,
            },
            ClientError::NotFound(id) => AdminError::NotFound(format!("no client {id}")),
            ClientError::Taken(id) => AdminError::Conflict(format!("client_id {id} is taken")),
            e @ ClientError::Changed(_) => AdminError::Conflict(e.to_string()),
            ClientError::Store(s) => AdminError::Store(s),
        }
    }
}

/// Registers the admin console's own client (`cardinal-admin`: public, PKCE, code flow,
/// first-party, minimum acr `admin.min_acr`, redirect URI `{issuer}/admin/callback`), or
/// brings it up to date when the issuer or the minimum acr changed. Idempotent; several
/// instances starting at once agree.
pub fn ensure_console_client(ctx: &Context) -> anyhow::Result<()> {
    let settings = ctx.settings();
    let min_acr = settings.admin.min_acr;
    let redirect = format!("{}/admin/callback", ctx.issuer());
    let after_logout = format!("{}/admin", ctx.issuer());
    let draft = ClientDraft {
        client_id: Some(super::CONSOLE_CLIENT_ID.into()),
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
    match ctx.store().find_client(super::CONSOLE_CLIENT_ID)? {
        None => match records::create_by(ctx, &draft, &by) {
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
            records::update_by(ctx, super::CONSOLE_CLIENT_ID, &draft, &by)
                .map(|_| ())
                .map_err(|e| anyhow::anyhow!("cannot update the admin console's client: {e}"))
        }
    }
}
