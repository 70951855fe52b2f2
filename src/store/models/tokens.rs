//! Rows of what the token endpoint issues and tracks: authorization codes, grants, access
//! and refresh tokens.

use diesel::prelude::*;

use super::{from_json_list, to_json_list};
use crate::store::schema::*;
use crate::store::{AccessTokenRecord, CodeRecord, GrantRecord, RefreshTokenRecord};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_codes)]
pub struct CodeRow {
    pub code_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub person_id: String,
    pub sid: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub claims: Option<String>,
    pub auth_time: i64,
    pub acr: String,
    pub amr: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
}

impl TryFrom<CodeRow> for CodeRecord {
    type Error = anyhow::Error;
    fn try_from(r: CodeRow) -> anyhow::Result<Self> {
        Ok(CodeRecord {
            amr: from_json_list(&r.amr)?,
            code_hash: r.code_hash,
            grant_id: r.grant_id,
            client_id: r.client_id,
            person_id: r.person_id,
            sid: r.sid,
            redirect_uri: r.redirect_uri,
            scope: r.scope,
            nonce: r.nonce,
            code_challenge: r.code_challenge,
            claims: r.claims,
            auth_time: r.auth_time,
            acr: r.acr,
            created_at: r.created_at,
            expires_at: r.expires_at,
            consumed_at: r.consumed_at,
        })
    }
}

impl From<&CodeRecord> for CodeRow {
    fn from(c: &CodeRecord) -> Self {
        CodeRow {
            code_hash: c.code_hash.clone(),
            grant_id: c.grant_id.clone(),
            client_id: c.client_id.clone(),
            person_id: c.person_id.clone(),
            sid: c.sid.clone(),
            redirect_uri: c.redirect_uri.clone(),
            scope: c.scope.clone(),
            nonce: c.nonce.clone(),
            code_challenge: c.code_challenge.clone(),
            claims: c.claims.clone(),
            auth_time: c.auth_time,
            acr: c.acr.clone(),
            amr: to_json_list(&c.amr),
            created_at: c.created_at,
            expires_at: c.expires_at,
            consumed_at: c.consumed_at,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = grants)]
pub struct GrantRow {
    pub id: String,
    pub client_id: String,
    pub person_id: Option<String>,
    pub sid: Option<String>,
    pub scope: String,
    pub claims: Option<String>,
    pub auth_time: Option<i64>,
    pub acr: Option<String>,
    pub amr: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

impl TryFrom<GrantRow> for GrantRecord {
    type Error = anyhow::Error;
    fn try_from(r: GrantRow) -> anyhow::Result<Self> {
        Ok(GrantRecord {
            amr: match &r.amr {
                Some(a) => from_json_list(a)?,
                None => Vec::new(),
            },
            id: r.id,
            client_id: r.client_id,
            person_id: r.person_id,
            sid: r.sid,
            scope: r.scope,
            claims: r.claims,
            auth_time: r.auth_time,
            acr: r.acr,
            created_at: r.created_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        })
    }
}

impl From<&GrantRecord> for GrantRow {
    fn from(g: &GrantRecord) -> Self {
        GrantRow {
            id: g.id.clone(),
            client_id: g.client_id.clone(),
            person_id: g.person_id.clone(),
            sid: g.sid.clone(),
            scope: g.scope.clone(),
            claims: g.claims.clone(),
            auth_time: g.auth_time,
            acr: g.acr.clone(),
            amr: Some(to_json_list(&g.amr)),
            created_at: g.created_at,
            expires_at: g.expires_at,
            revoked_at: g.revoked_at,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = access_tokens)]
pub struct AccessTokenRow {
    pub jti_hash: String,
    pub grant_id: Option<String>,
    pub client_id: String,
    pub person_id: Option<String>,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

impl From<AccessTokenRow> for AccessTokenRecord {
    fn from(r: AccessTokenRow) -> Self {
        AccessTokenRecord {
            jti_hash: r.jti_hash,
            grant_id: r.grant_id,
            client_id: r.client_id,
            person_id: r.person_id,
            scope: r.scope,
            created_at: r.created_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        }
    }
}

impl From<&AccessTokenRecord> for AccessTokenRow {
    fn from(a: &AccessTokenRecord) -> Self {
        AccessTokenRow {
            jti_hash: a.jti_hash.clone(),
            grant_id: a.grant_id.clone(),
            client_id: a.client_id.clone(),
            person_id: a.person_id.clone(),
            scope: a.scope.clone(),
            created_at: a.created_at,
            expires_at: a.expires_at,
            revoked_at: a.revoked_at,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl From<RefreshTokenRow> for RefreshTokenRecord {
    fn from(r: RefreshTokenRow) -> Self {
        RefreshTokenRecord {
            token_hash: r.token_hash,
            grant_id: r.grant_id,
            client_id: r.client_id,
            created_at: r.created_at,
            expires_at: r.expires_at,
            consumed_at: r.consumed_at,
            revoked_at: r.revoked_at,
        }
    }
}

impl From<&RefreshTokenRecord> for RefreshTokenRow {
    fn from(r: &RefreshTokenRecord) -> Self {
        RefreshTokenRow {
            token_hash: r.token_hash.clone(),
            grant_id: r.grant_id.clone(),
            client_id: r.client_id.clone(),
            created_at: r.created_at,
            expires_at: r.expires_at,
            consumed_at: r.consumed_at,
            revoked_at: r.revoked_at,
        }
    }
}
