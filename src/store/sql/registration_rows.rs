//! Rows of registrations and mail tokens with their conversions, and the reads and writes
//! on them that the registration store shares (inside the caller's connection).

use diesel::prelude::*;

use super::AnyConnection;
use crate::clock::UnixTime;
use crate::store::enrollment::*;
use crate::store::models::PersonRow;
use crate::store::schema::*;
use crate::store::{Person, StoreError, StoreResult};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = registrations, treat_none_as_null = true)]
pub(super) struct RegistrationRow {
    pub(super) person_id: String,
    pub(super) status: String,
    pub(super) password_hash: String,
    pub(super) failed_attempts: i32,
    pub(super) phone_area: Option<String>,
    pub(super) phone_number: Option<String>,
    pub(super) phone_ext: Option<String>,
    pub(super) mobile: Option<String>,
    pub(super) email_backup: Option<String>,
    pub(super) created_at: i64,
    pub(super) confirmed_at: Option<i64>,
    pub(super) locked_at: Option<i64>,
    pub(super) deactivated_at: Option<i64>,
    pub(super) deactivation_reason: Option<String>,
    pub(super) password_changed_at: i64,
    pub(super) updated_at: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = mail_tokens)]
pub(super) struct MailTokenRow {
    pub(super) token_hash: String,
    pub(super) person_id: String,
    pub(super) purpose: String,
    pub(super) new_email: Option<String>,
    pub(super) created_at: i64,
    pub(super) expires_at: i64,
    pub(super) consumed_at: Option<i64>,
}

impl From<&Registration> for RegistrationRow {
    fn from(r: &Registration) -> Self {
        RegistrationRow {
            person_id: r.person_id.clone(),
            status: r.status.as_str().into(),
            password_hash: r.password_hash.clone(),
            failed_attempts: r.failed_attempts,
            phone_area: r.phone_area.clone(),
            phone_number: r.phone_number.clone(),
            phone_ext: r.phone_ext.clone(),
            mobile: r.mobile.clone(),
            email_backup: r.email_backup.clone(),
            created_at: r.created_at,
            confirmed_at: r.confirmed_at,
            locked_at: r.locked_at,
            deactivated_at: r.deactivated_at,
            deactivation_reason: r.deactivation_reason.clone(),
            password_changed_at: r.password_changed_at,
            updated_at: r.updated_at,
        }
    }
}

impl TryFrom<RegistrationRow> for Registration {
    type Error = StoreError;
    fn try_from(r: RegistrationRow) -> Result<Self, StoreError> {
        let status = RegistrationStatus::parse(&r.status).ok_or_else(|| {
            StoreError::Db(anyhow::anyhow!(
                "registration {} has status {:?}",
                r.person_id,
                r.status
            ))
        })?;
        Ok(Registration {
            person_id: r.person_id,
            status,
            password_hash: r.password_hash,
            failed_attempts: r.failed_attempts,
            phone_area: r.phone_area,
            phone_number: r.phone_number,
            phone_ext: r.phone_ext,
            mobile: r.mobile,
            email_backup: r.email_backup,
            created_at: r.created_at,
            confirmed_at: r.confirmed_at,
            locked_at: r.locked_at,
            deactivated_at: r.deactivated_at,
            deactivation_reason: r.deactivation_reason,
            password_changed_at: r.password_changed_at,
            updated_at: r.updated_at,
        })
    }
}

/// A registration status as stored, read through [`RegistrationStatus::parse`].
pub(super) fn status_of(value: &str) -> StoreResult<RegistrationStatus> {
    RegistrationStatus::parse(value)
        .ok_or_else(|| StoreError::Db(anyhow::anyhow!("registration status {value:?}")))
}

fn purpose_of(value: &str) -> Option<MailTokenPurpose> {
    [
        MailTokenPurpose::Confirm,
        MailTokenPurpose::Reset,
        MailTokenPurpose::NewEmail,
    ]
    .into_iter()
    .find(|p| p.as_str() == value)
}

impl TryFrom<MailTokenRow> for MailTokenRecord {
    type Error = StoreError;
    fn try_from(r: MailTokenRow) -> Result<Self, StoreError> {
        Ok(MailTokenRecord {
            purpose: purpose_of(&r.purpose).ok_or_else(|| {
                StoreError::Db(anyhow::anyhow!("mail token purpose {:?}", r.purpose))
            })?,
            token_hash: r.token_hash,
            person_id: r.person_id,
            new_email: r.new_email,
            created_at: r.created_at,
            expires_at: r.expires_at,
            consumed_at: r.consumed_at,
        })
    }
}

pub(super) fn token_row(t: &MailTokenRecord) -> MailTokenRow {
    MailTokenRow {
        token_hash: t.token_hash.clone(),
        person_id: t.person_id.clone(),
        purpose: t.purpose.as_str().into(),
        new_email: t.new_email.clone(),
        created_at: t.created_at,
        expires_at: t.expires_at,
        consumed_at: t.consumed_at,
    }
}

pub(super) fn person_with_registration(
    c: &mut AnyConnection,
    person_id: &str,
) -> QueryResult<Option<(Person, Option<RegistrationRow>)>> {
    let Some(person) = persons::table
        .find(person_id)
        .select(PersonRow::as_select())
        .first(c)
        .optional()?
    else {
        return Ok(None);
    };
    let reg = registrations::table
        .find(person_id)
        .select(RegistrationRow::as_select())
        .first(c)
        .optional()?;
    Ok(Some((Person::from(person), reg)))
}

pub(super) fn with_registration(
    found: Option<(Person, Option<RegistrationRow>)>,
) -> StoreResult<Option<(Person, Option<Registration>)>> {
    match found {
        None => Ok(None),
        Some((p, r)) => Ok(Some((p, r.map(Registration::try_from).transpose()?))),
    }
}

pub(super) fn consume_token(
    c: &mut AnyConnection,
    token_hash: &str,
    purpose: MailTokenPurpose,
    now: UnixTime,
) -> QueryResult<Option<MailTokenRow>> {
    let n = diesel::update(
        mail_tokens::table
            .find(token_hash)
            .filter(mail_tokens::purpose.eq(purpose.as_str()))
            .filter(mail_tokens::consumed_at.is_null())
            .filter(mail_tokens::expires_at.gt(now)),
    )
    .set(mail_tokens::consumed_at.eq(Some(now)))
    .execute(c)?;
    if n != 1 {
        return Ok(None);
    }
    mail_tokens::table
        .find(token_hash)
        .select(MailTokenRow::as_select())
        .first(c)
        .optional()
}
