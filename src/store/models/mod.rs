//! Row structs and their conversions to the records of `store` and the domain types: here
//! people, clients and signing keys, the other tables in the submodules.

mod mail_audit;
mod notices;
mod sign_in;
mod tokens;

use anyhow::Context;
use diesel::prelude::*;

use super::schema::*;
use super::{KeyRecord, Person};
use crate::domain::{
    Acr, AuthMethod, Client, ClientId, GrantType, RedirectUri, Scope, SubjectType,
};
pub use mail_audit::{AuditRow, NewAuditRow, OutboxRow};
pub use notices::NoticeRow;
pub use sign_in::{ChallengeRow, InteractionRow, SessionRow};
pub use tokens::{AccessTokenRow, CodeRow, GrantRow, RefreshTokenRow};

pub(crate) fn to_json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn from_json_list(text: &str) -> anyhow::Result<Vec<String>> {
    serde_json::from_str(text).with_context(|| format!("Stored list is not a JSON array: {text:?}"))
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = persons)]
pub struct PersonRow {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub phone_number: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<PersonRow> for Person {
    fn from(r: PersonRow) -> Self {
        Person {
            id: r.id,
            name: r.name,
            email: r.email,
            email_verified: r.email_verified,
            phone_number: r.phone_number,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl From<&Person> for PersonRow {
    fn from(p: &Person) -> Self {
        PersonRow {
            id: p.id.clone(),
            name: p.name.clone(),
            email: p.email.clone(),
            email_verified: p.email_verified,
            phone_number: p.phone_number.clone(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = clients, treat_none_as_null = true)]
pub struct ClientRow {
    pub client_id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    pub auth_method: String,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: String,
    pub scopes: String,
    pub min_acr: Option<String>,
    pub skip_consent: bool,
    pub subject_type: String,
    pub jwks: Option<String>,
    pub id_token_alg: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

impl From<&Client> for ClientRow {
    fn from(c: &Client) -> Self {
        let uris = |v: &[RedirectUri]| {
            to_json_list(&v.iter().map(|u| u.as_ref().to_string()).collect::<Vec<_>>())
        };
        ClientRow {
            client_id: c.client_id.to_string(),
            name: c.name.clone(),
            secret_hash: c.secret_hash.clone(),
            auth_method: c.auth_method.as_str().into(),
            redirect_uris: uris(&c.redirect_uris),
            post_logout_redirect_uris: uris(&c.post_logout_redirect_uris),
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            grant_types: to_json_list(
                &c.grant_types
                    .iter()
                    .map(|g| g.as_str().to_string())
                    .collect::<Vec<_>>(),
            ),
            scopes: c.scopes.to_string(),
            min_acr: c.min_acr.map(|a| a.as_str().to_string()),
            skip_consent: c.skip_consent,
            subject_type: c.subject_type.as_str().into(),
            jwks: c.jwks.clone(),
            id_token_alg: c.id_token_alg.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            version: c.version,
        }
    }
}

impl TryFrom<ClientRow> for Client {
    type Error = anyhow::Error;

    fn try_from(r: ClientRow) -> anyhow::Result<Client> {
        let bad = |what: &str, e: String| {
            anyhow::anyhow!("Stored client {} has a bad {what}: {e}", r.client_id)
        };
        let uris = |text: &str| -> anyhow::Result<Vec<RedirectUri>> {
            Ok(from_json_list(text)?
                .into_iter()
                .map(RedirectUri::from_stored)
                .collect())
        };
        Ok(Client {
            client_id: ClientId::parse(&r.client_id).map_err(|e| bad("client_id", e))?,
            name: r.name.clone(),
            secret_hash: r.secret_hash.clone(),
            auth_method: AuthMethod::parse(&r.auth_method).map_err(|e| bad("auth_method", e))?,
            redirect_uris: uris(&r.redirect_uris)?,
            post_logout_redirect_uris: uris(&r.post_logout_redirect_uris)?,
            backchannel_logout_uri: r.backchannel_logout_uri.clone(),
            grant_types: from_json_list(&r.grant_types)?
                .iter()
                .map(|g| GrantType::parse(g))
                .collect::<Result<_, _>>()
                .map_err(|e| bad("grant type", e))?,
            scopes: Scope::parse(&r.scopes).map_err(|e| bad("scope", e))?,
            min_acr: match &r.min_acr {
                Some(a) => Some(Acr::parse(a).ok_or_else(|| bad("min_acr", a.clone()))?),
                None => None,
            },
            skip_consent: r.skip_consent,
            subject_type: SubjectType::parse(&r.subject_type)
                .map_err(|e| bad("subject_type", e))?,
            jwks: r.jwks.clone(),
            id_token_alg: r.id_token_alg.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct KeyRow {
    pub kid: String,
    pub alg: String,
    pub public_jwk: String,
    pub private_jwe: String,
    pub created_at: i64,
    pub active_from: i64,
}

impl From<KeyRow> for KeyRecord {
    fn from(r: KeyRow) -> Self {
        KeyRecord {
            kid: r.kid,
            alg: r.alg,
            public_jwk: r.public_jwk,
            private_jwe: r.private_jwe,
            created_at: r.created_at,
            active_from: r.active_from,
        }
    }
}

impl From<&KeyRecord> for KeyRow {
    fn from(k: &KeyRecord) -> Self {
        KeyRow {
            kid: k.kid.clone(),
            alg: k.alg.clone(),
            public_jwk: k.public_jwk.clone(),
            private_jwe: k.private_jwe.clone(),
            created_at: k.created_at,
            active_from: k.active_from,
        }
    }
}
