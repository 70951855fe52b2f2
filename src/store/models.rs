//! Row structs and their conversions to the records of `store` and the domain types.

use anyhow::Context;
use diesel::prelude::*;

use super::schema::*;
use super::{
    AccessTokenRecord, AuditEvent, ChallengeRecord, CodeRecord, GrantRecord, InteractionRecord,
    KeyRecord, LoginRecord, OutboxMessage, Person, RefreshTokenRecord, SessionRecord,
};
use crate::domain::{
    Acr, AuthMethod, Client, ClientId, GrantType, RedirectUri, Scope, SubjectType,
};

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

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id_hash: String,
    pub sid: String,
    pub person_id: String,
    pub auth_time: i64,
    pub acr: String,
    pub amr: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
    pub last_seen_at: i64,
}

impl TryFrom<SessionRow> for SessionRecord {
    type Error = anyhow::Error;
    fn try_from(r: SessionRow) -> anyhow::Result<Self> {
        Ok(SessionRecord {
            amr: from_json_list(&r.amr)?,
            id_hash: r.id_hash,
            sid: r.sid,
            person_id: r.person_id,
            auth_time: r.auth_time,
            acr: r.acr,
            created_at: r.created_at,
            expires_at: r.expires_at,
            ended_at: r.ended_at,
            last_seen_at: r.last_seen_at,
        })
    }
}

impl From<&SessionRecord> for SessionRow {
    fn from(s: &SessionRecord) -> Self {
        SessionRow {
            id_hash: s.id_hash.clone(),
            sid: s.sid.clone(),
            person_id: s.person_id.clone(),
            auth_time: s.auth_time,
            acr: s.acr.clone(),
            amr: to_json_list(&s.amr),
            created_at: s.created_at,
            expires_at: s.expires_at,
            ended_at: s.ended_at,
            last_seen_at: s.last_seen_at,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = interactions)]
pub struct InteractionRow {
    pub id: String,
    pub browser_hash: String,
    pub client_id: String,
    pub request: String,
    pub csrf_token: String,
    pub person_id: Option<String>,
    pub auth_time: Option<i64>,
    pub acr: Option<String>,
    pub amr: Option<String>,
    pub consent_given: bool,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
}

impl TryFrom<InteractionRow> for InteractionRecord {
    type Error = anyhow::Error;
    fn try_from(r: InteractionRow) -> anyhow::Result<Self> {
        let login = match (r.person_id, r.auth_time, r.acr, r.amr) {
            (Some(person_id), Some(auth_time), Some(acr), Some(amr)) => Some(LoginRecord {
                person_id,
                auth_time,
                acr,
                amr: from_json_list(&amr)?,
            }),
            _ => None,
        };
        Ok(InteractionRecord {
            id: r.id,
            browser_hash: r.browser_hash,
            client_id: r.client_id,
            request: r.request,
            csrf_token: r.csrf_token,
            login,
            consent_given: r.consent_given,
            created_at: r.created_at,
            expires_at: r.expires_at,
            consumed_at: r.consumed_at,
        })
    }
}

impl From<&InteractionRecord> for InteractionRow {
    fn from(i: &InteractionRecord) -> Self {
        InteractionRow {
            id: i.id.clone(),
            browser_hash: i.browser_hash.clone(),
            client_id: i.client_id.clone(),
            request: i.request.clone(),
            csrf_token: i.csrf_token.clone(),
            person_id: i.login.as_ref().map(|l| l.person_id.clone()),
            auth_time: i.login.as_ref().map(|l| l.auth_time),
            acr: i.login.as_ref().map(|l| l.acr.clone()),
            amr: i.login.as_ref().map(|l| to_json_list(&l.amr)),
            consent_given: i.consent_given,
            created_at: i.created_at,
            expires_at: i.expires_at,
            consumed_at: i.consumed_at,
        }
    }
}

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

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = card_challenges)]
pub struct ChallengeRow {
    pub challenge_hash: String,
    pub binding: String,
    pub expected_card: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
}

impl From<ChallengeRow> for ChallengeRecord {
    fn from(r: ChallengeRow) -> Self {
        ChallengeRecord {
            challenge_hash: r.challenge_hash,
            binding: r.binding,
            expected_card: r.expected_card,
            created_at: r.created_at,
            expires_at: r.expires_at,
            consumed_at: r.consumed_at,
        }
    }
}

impl From<&ChallengeRecord> for ChallengeRow {
    fn from(c: &ChallengeRecord) -> Self {
        ChallengeRow {
            challenge_hash: c.challenge_hash.clone(),
            binding: c.binding.clone(),
            expected_card: c.expected_card.clone(),
            created_at: c.created_at,
            expires_at: c.expires_at,
            consumed_at: c.consumed_at,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = mail_outbox)]
pub struct OutboxRow {
    pub id: String,
    pub payload: String,
    pub purpose: String,
    pub created_at: i64,
    pub next_attempt_at: i64,
    pub attempts: i32,
    pub claimed_until: Option<i64>,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

impl From<OutboxRow> for OutboxMessage {
    fn from(r: OutboxRow) -> Self {
        OutboxMessage {
            id: r.id,
            payload: r.payload,
            purpose: r.purpose,
            created_at: r.created_at,
            next_attempt_at: r.next_attempt_at,
            attempts: r.attempts,
            sent_at: r.sent_at,
            last_error: r.last_error,
        }
    }
}

impl From<&OutboxMessage> for OutboxRow {
    fn from(m: &OutboxMessage) -> Self {
        OutboxRow {
            id: m.id.clone(),
            payload: m.payload.clone(),
            purpose: m.purpose.clone(),
            created_at: m.created_at,
            next_attempt_at: m.next_attempt_at,
            attempts: m.attempts,
            claimed_until: None,
            sent_at: m.sent_at,
            last_error: m.last_error.clone(),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditRow<'a> {
    pub at: i64,
    pub event: &'a str,
    pub outcome: &'a str,
    pub actor: Option<&'a str>,
    pub person_id: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: Option<&'a str>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub event: String,
    pub outcome: String,
    pub actor: Option<String>,
    pub person_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

impl From<AuditRow> for AuditEvent {
    fn from(r: AuditRow) -> Self {
        AuditEvent {
            at: r.at,
            event: r.event,
            outcome: r.outcome,
            actor: r.actor,
            person_id: r.person_id,
            client_id: r.client_id,
            ip: r.ip,
            detail: r.detail,
        }
    }
}
