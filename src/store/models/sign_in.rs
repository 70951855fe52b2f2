//! Rows of sign-in state: SSO sessions, interactions (sign-ins in progress) and card
//! challenges.

use diesel::prelude::*;

use super::{from_json_list, to_json_list};
use crate::store::schema::*;
use crate::store::{ChallengeRecord, InteractionRecord, LoginRecord, SessionRecord};

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
