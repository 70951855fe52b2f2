//! Residents, registrations, mail tokens and rate limits over diesel.

use diesel::prelude::*;

use super::admin::insert_audit;
use super::records::insert_outbox;
use super::{AnyConnection, Database};
use crate::clock::UnixTime;
use crate::store::enrollment::*;
use crate::store::models::{PersonRow, SessionRow};
use crate::store::schema::*;
use crate::store::{AuditEvent, OutboxMessage, Person, StoreError, StoreResult};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = residents)]
struct ResidentRow {
    national_id_hash: String,
    household_no: String,
    county: String,
    township: String,
    village: String,
    neighborhood: i32,
    updated_at: i64,
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = registrations, treat_none_as_null = true)]
struct RegistrationRow {
    person_id: String,
    status: String,
    password_hash: String,
    failed_attempts: i32,
    phone_area: Option<String>,
    phone_number: Option<String>,
    phone_ext: Option<String>,
    mobile: Option<String>,
    email_backup: Option<String>,
    created_at: i64,
    confirmed_at: Option<i64>,
    locked_at: Option<i64>,
    deactivated_at: Option<i64>,
    deactivation_reason: Option<String>,
    password_changed_at: i64,
    updated_at: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = mail_tokens)]
struct MailTokenRow {
    token_hash: String,
    person_id: String,
    purpose: String,
    new_email: Option<String>,
    created_at: i64,
    expires_at: i64,
    consumed_at: Option<i64>,
}

impl From<&Resident> for ResidentRow {
    fn from(r: &Resident) -> Self {
        ResidentRow {
            national_id_hash: r.national_id_hash.clone(),
            household_no: r.household_no.clone(),
            county: r.county.clone(),
            township: r.township.clone(),
            village: r.village.clone(),
            neighborhood: r.neighborhood,
            updated_at: r.updated_at,
        }
    }
}

impl From<ResidentRow> for Resident {
    fn from(r: ResidentRow) -> Self {
        Resident {
            national_id_hash: r.national_id_hash,
            household_no: r.household_no,
            county: r.county,
            township: r.township,
            village: r.village,
            neighborhood: r.neighborhood,
            updated_at: r.updated_at,
        }
    }
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

fn token_row(t: &MailTokenRecord) -> MailTokenRow {
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

fn person_with_registration(
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

fn with_registration(
    found: Option<(Person, Option<RegistrationRow>)>,
) -> StoreResult<Option<(Person, Option<Registration>)>> {
    match found {
        None => Ok(None),
        Some((p, r)) => Ok(Some((p, r.map(Registration::try_from).transpose()?))),
    }
}

fn consume_token(
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

/// What every new password brings (inside the caller's transaction): the person's sessions,
/// grants, codes and reset links end; the renewed member session opens; the notices are
/// queued; the audit event is written. Returns the ended `sid`s.
fn finish_password_change(
    c: &mut AnyConnection,
    person_id: &str,
    change: &PasswordChange,
    now: UnixTime,
) -> QueryResult<Vec<String>> {
    let ended = super::admin::end_sessions_rows(c, person_id, now)?;
    if let Some(renewed) = &change.renewed {
        diesel::insert_into(sessions::table)
            .values(SessionRow::from(renewed))
            .execute(c)?;
    }
    for notice in &change.notices {
        insert_outbox(c, notice)?;
    }
    insert_audit(
        c,
        &AuditEvent {
            person_id: Some(person_id.to_string()),
            ..change.audit.clone()
        },
    )?;
    Ok(ended)
}

impl RegistryStore for Database {
    fn upsert_residents(&self, rows: &[Resident]) -> StoreResult<usize> {
        self.write_tx(|c| {
            for r in rows {
                let row = ResidentRow::from(r);
                let n = diesel::update(residents::table.find(&row.national_id_hash))
                    .set(&row)
                    .execute(c)?;
                if n == 0 {
                    diesel::insert_into(residents::table)
                        .values(&row)
                        .execute(c)?;
                }
            }
            Ok(rows.len())
        })
    }

    fn find_resident(&self, national_id_hash: &str) -> StoreResult<Option<Resident>> {
        let row = self.with(|c| {
            residents::table
                .find(national_id_hash)
                .select(ResidentRow::as_select())
                .first(c)
                .optional()
        })?;
        Ok(row.map(Resident::from))
    }

    fn counties(&self) -> StoreResult<Vec<String>> {
        self.with(|c| {
            residents::table
                .select(residents::county)
                .distinct()
                .order(residents::county.asc())
                .load(c)
        })
    }

    fn townships(&self, county: &str) -> StoreResult<Vec<String>> {
        self.with(|c| {
            residents::table
                .filter(residents::county.eq(county))
                .select(residents::township)
                .distinct()
                .order(residents::township.asc())
                .load(c)
        })
    }

    fn villages(&self, county: &str, township: &str) -> StoreResult<Vec<String>> {
        self.with(|c| {
            residents::table
                .filter(residents::county.eq(county))
                .filter(residents::township.eq(township))
                .select(residents::village)
                .distinct()
                .order(residents::village.asc())
                .load(c)
        })
    }
}

impl RegistrationStore for Database {
    fn find_by_card(
        &self,
        card_number: &str,
    ) -> StoreResult<Option<(Person, Option<Registration>)>> {
        let found = self.with(|c| {
            let Some(person_id) = person_cards::table
                .find(card_number)
                .select(person_cards::person_id)
                .first::<String>(c)
                .optional()?
            else {
                return Ok(None);
            };
            person_with_registration(c, &person_id)
        })?;
        with_registration(found)
    }

    fn find_by_national_id(
        &self,
        national_id_hash: &str,
    ) -> StoreResult<Option<(Person, Option<Registration>)>> {
        let found = self.with(|c| {
            let Some(person_id) = persons::table
                .filter(persons::national_id_hash.eq(national_id_hash))
                .select(persons::id)
                .first::<String>(c)
                .optional()?
            else {
                return Ok(None);
            };
            person_with_registration(c, &person_id)
        })?;
        with_registration(found)
    }

    fn find_registration(&self, person_id: &str) -> StoreResult<Option<Registration>> {
        let row = self.with(|c| {
            registrations::table
                .find(person_id)
                .select(RegistrationRow::as_select())
                .first(c)
                .optional()
        })?;
        row.map(Registration::try_from).transpose()
    }

    fn person_standing(&self, person_id: &str) -> StoreResult<Option<Option<RegistrationStatus>>> {
        let row: Option<Option<String>> = self.with(|c| {
            persons::table
                .left_join(registrations::table)
                .filter(persons::id.eq(person_id))
                .select(registrations::status.nullable())
                .first(c)
                .optional()
        })?;
        row.map(|status| {
            status
                .map(|s| {
                    RegistrationStatus::parse(&s)
                        .ok_or_else(|| StoreError::Db(anyhow::anyhow!("registration status {s:?}")))
                })
                .transpose()
        })
        .transpose()
    }

    fn registration_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        self.with(|c| {
            registrations::table
                .group_by(registrations::status)
                .select((registrations::status, diesel::dsl::count_star()))
                .load(c)
        })
    }

    fn birth_date(&self, person_id: &str) -> StoreResult<Option<String>> {
        let v: Option<Option<String>> = self.with(|c| {
            persons::table
                .find(person_id)
                .select(persons::birth_date)
                .first(c)
                .optional()
        })?;
        Ok(v.flatten())
    }

    fn sealed_national_id(&self, person_id: &str) -> StoreResult<Option<String>> {
        let v: Option<Option<String>> = self.with(|c| {
            persons::table
                .find(person_id)
                .select(persons::national_id_sealed)
                .first(c)
                .optional()
        })?;
        Ok(v.flatten())
    }

    fn apply(&self, a: &NewApplication) -> StoreResult<()> {
        self.write_tx(|c| {
            let existing: Option<String> = persons::table
                .filter(persons::national_id_hash.eq(&a.national_id_hash))
                .select(persons::id)
                .first(c)
                .optional()?;
            let person_id = match existing {
                Some(id) => {
                    diesel::update(persons::table.find(&id))
                        .set((
                            persons::name.eq(&a.person.name),
                            persons::email.eq(&a.person.email),
                            persons::email_verified.eq(false),
                            persons::phone_number.eq(&a.person.phone_number),
                            persons::updated_at.eq(a.person.updated_at),
                        ))
                        .execute(c)?;
                    id
                }
                None => {
                    diesel::insert_into(persons::table)
                        .values(PersonRow::from(&a.person))
                        .execute(c)?;
                    diesel::update(persons::table.find(&a.person.id))
                        .set((
                            persons::national_id_hash.eq(Some(&a.national_id_hash)),
                            persons::national_id_sealed.eq(Some(&a.national_id_sealed)),
                            persons::birth_date.eq(Some(&a.birth_date)),
                        ))
                        .execute(c)?;
                    a.person.id.clone()
                }
            };
            let card_owner: Option<String> = person_cards::table
                .find(&a.card_number)
                .select(person_cards::person_id)
                .first(c)
                .optional()?;
            match card_owner {
                Some(owner) if owner != person_id => {
                    return Err(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        Box::new("card belongs to another person".to_string()),
                    ))
                }
                Some(_) => {}
                None => {
                    diesel::insert_into(person_cards::table)
                        .values((
                            person_cards::card_number.eq(&a.card_number),
                            person_cards::person_id.eq(&person_id),
                            person_cards::kind.eq(&a.card_kind),
                            person_cards::created_at.eq(a.registration.created_at),
                        ))
                        .execute(c)?;
                }
            }
            let mut reg = RegistrationRow::from(&a.registration);
            reg.person_id = person_id.clone();
            diesel::insert_into(registrations::table)
                .values(&reg)
                .execute(c)?;
            let mut token = token_row(&a.token);
            token.person_id = person_id.clone();
            diesel::insert_into(mail_tokens::table)
                .values(&token)
                .execute(c)?;
            insert_outbox(c, &a.mail)?;
            insert_audit(
                c,
                &AuditEvent {
                    person_id: Some(person_id),
                    ..a.audit.clone()
                },
            )?;
            Ok(())
        })
    }

    fn record_failed_login(
        &self,
        person_id: &str,
        threshold: i32,
        now: UnixTime,
    ) -> StoreResult<Option<FailedLogin>> {
        self.write_tx(|c| {
            let n = diesel::update(
                registrations::table
                    .find(person_id)
                    .filter(registrations::status.eq("active")),
            )
            .set((
                registrations::failed_attempts.eq(registrations::failed_attempts + 1),
                registrations::updated_at.eq(now),
            ))
            .execute(c)?;
            if n != 1 {
                return Ok(None);
            }
            let attempts: i32 = registrations::table
                .find(person_id)
                .select(registrations::failed_attempts)
                .first(c)?;
            let locked_now = attempts >= threshold;
            if locked_now {
                diesel::update(registrations::table.find(person_id))
                    .set((
                        registrations::status.eq("locked"),
                        registrations::locked_at.eq(Some(now)),
                    ))
                    .execute(c)?;
            }
            Ok(Some(FailedLogin {
                failed_attempts: attempts,
                locked_now,
            }))
        })
    }

    fn record_successful_login(&self, person_id: &str, now: UnixTime) -> StoreResult<()> {
        self.with(|c| {
            diesel::update(
                registrations::table
                    .find(person_id)
                    .filter(registrations::failed_attempts.gt(0)),
            )
            .set((
                registrations::failed_attempts.eq(0),
                registrations::updated_at.eq(now),
            ))
            .execute(c)
        })
        .map(|_| ())
    }

    fn replace_mail_token(
        &self,
        token: &MailTokenRecord,
        mail: &OutboxMessage,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.write_tx(|c| {
            diesel::update(
                mail_tokens::table
                    .filter(mail_tokens::person_id.eq(&token.person_id))
                    .filter(mail_tokens::purpose.eq(token.purpose.as_str()))
                    .filter(mail_tokens::consumed_at.is_null()),
            )
            .set(mail_tokens::consumed_at.eq(Some(token.created_at)))
            .execute(c)?;
            diesel::insert_into(mail_tokens::table)
                .values(token_row(token))
                .execute(c)?;
            insert_outbox(c, mail)?;
            insert_audit(c, audit)?;
            Ok(())
        })
    }

    fn find_mail_token(&self, token_hash: &str) -> StoreResult<Option<MailTokenRecord>> {
        let row = self.with(|c| {
            mail_tokens::table
                .find(token_hash)
                .select(MailTokenRow::as_select())
                .first(c)
                .optional()
        })?;
        row.map(MailTokenRecord::try_from).transpose()
    }

    fn consume_mail_token(
        &self,
        token_hash: &str,
        purpose: MailTokenPurpose,
        now: UnixTime,
    ) -> StoreResult<Option<MailTokenRecord>> {
        let row = self.write_tx(|c| consume_token(c, token_hash, purpose, now))?;
        row.map(MailTokenRecord::try_from).transpose()
    }

    fn confirm_registration(
        &self,
        token_hash: &str,
        now: UnixTime,
        audit: &AuditEvent,
    ) -> StoreResult<Option<String>> {
        self.write_tx(|c| {
            let Some(token) = consume_token(c, token_hash, MailTokenPurpose::Confirm, now)? else {
                return Ok(None);
            };
            let n = diesel::update(
                registrations::table
                    .find(&token.person_id)
                    .filter(registrations::status.eq("pending")),
            )
            .set((
                registrations::status.eq("active"),
                registrations::confirmed_at.eq(Some(now)),
                registrations::updated_at.eq(now),
            ))
            .execute(c)?;
            if n != 1 {
                return Ok(None);
            }
            diesel::update(persons::table.find(&token.person_id))
                .set(persons::email_verified.eq(true))
                .execute(c)?;
            insert_audit(
                c,
                &AuditEvent {
                    person_id: Some(token.person_id.clone()),
                    ..audit.clone()
                },
            )?;
            Ok(Some(token.person_id))
        })
    }

    fn reset_password(
        &self,
        token_hash: &str,
        change: &PasswordChange,
        now: UnixTime,
    ) -> StoreResult<Option<(String, Vec<String>)>> {
        self.write_tx(|c| {
            let Some(token) = consume_token(c, token_hash, MailTokenPurpose::Reset, now)? else {
                return Ok(None);
            };
            let n = diesel::update(
                registrations::table.find(&token.person_id).filter(
                    registrations::status
                        .eq("active")
                        .or(registrations::status.eq("locked")),
                ),
            )
            .set((
                registrations::password_hash.eq(&change.password_hash),
                registrations::password_changed_at.eq(now),
                registrations::failed_attempts.eq(0),
                registrations::status.eq("active"),
                registrations::locked_at.eq(None::<i64>),
                registrations::updated_at.eq(now),
            ))
            .execute(c)?;
            if n != 1 {
                // The registration is deactivated (or gone): the link is spent, nothing else.
                return Ok(None);
            }
            // A reset sent to a new address (修改電子郵件信箱寄送重設註冊密碼信) makes it the primary
            // address: the link proved that it receives mail.
            if let Some(new_email) = &token.new_email {
                diesel::update(persons::table.find(&token.person_id))
                    .set((
                        persons::email.eq(Some(new_email)),
                        persons::email_verified.eq(true),
                        persons::updated_at.eq(now),
                    ))
                    .execute(c)?;
            }
            let ended = finish_password_change(c, &token.person_id, change, now)?;
            Ok(Some((token.person_id, ended)))
        })
    }

    fn change_password(
        &self,
        person_id: &str,
        change: &PasswordChange,
        now: UnixTime,
    ) -> StoreResult<Option<Vec<String>>> {
        self.write_tx(|c| {
            let n = diesel::update(
                registrations::table
                    .find(person_id)
                    .filter(registrations::status.eq("active")),
            )
            .set((
                registrations::password_hash.eq(&change.password_hash),
                registrations::password_changed_at.eq(now),
                registrations::failed_attempts.eq(0),
                registrations::updated_at.eq(now),
            ))
            .execute(c)?;
            if n != 1 {
                return Ok(None);
            }
            Ok(Some(finish_password_change(c, person_id, change, now)?))
        })
    }

    fn update_contact(&self, r: &Registration, audit: &AuditEvent) -> StoreResult<bool> {
        self.write_tx(|c| {
            let n = diesel::update(registrations::table.find(&r.person_id))
                .set((
                    registrations::phone_area.eq(&r.phone_area),
                    registrations::phone_number.eq(&r.phone_number),
                    registrations::phone_ext.eq(&r.phone_ext),
                    registrations::mobile.eq(&r.mobile),
                    registrations::email_backup.eq(&r.email_backup),
                    registrations::updated_at.eq(r.updated_at),
                ))
                .execute(c)?;
            diesel::update(persons::table.find(&r.person_id))
                .set((
                    persons::phone_number.eq(&r.mobile),
                    persons::updated_at.eq(r.updated_at),
                ))
                .execute(c)?;
            insert_audit(c, audit)?;
            Ok(n == 1)
        })
    }

    fn apply_new_email(
        &self,
        token_hash: &str,
        now: UnixTime,
        audit: &AuditEvent,
    ) -> StoreResult<Option<String>> {
        self.write_tx(|c| {
            let Some(token) = consume_token(c, token_hash, MailTokenPurpose::NewEmail, now)? else {
                return Ok(None);
            };
            let Some(email) = token.new_email.clone() else {
                return Ok(None);
            };
            diesel::update(persons::table.find(&token.person_id))
                .set((
                    persons::email.eq(Some(email)),
                    persons::email_verified.eq(true),
                    persons::updated_at.eq(now),
                ))
                .execute(c)?;
            insert_audit(
                c,
                &AuditEvent {
                    person_id: Some(token.person_id.clone()),
                    ..audit.clone()
                },
            )?;
            Ok(Some(token.person_id))
        })
    }

    fn delete_pending(&self, person_id: &str, audit: &AuditEvent) -> StoreResult<bool> {
        self.write_tx(|c| {
            let n = diesel::delete(
                registrations::table
                    .find(person_id)
                    .filter(registrations::status.eq("pending")),
            )
            .execute(c)?;
            if n != 1 {
                return Ok(false);
            }
            diesel::delete(mail_tokens::table.filter(mail_tokens::person_id.eq(person_id)))
                .execute(c)?;
            diesel::delete(person_cards::table.filter(person_cards::person_id.eq(person_id)))
                .execute(c)?;
            diesel::delete(persons::table.find(person_id)).execute(c)?;
            insert_audit(c, audit)?;
            Ok(true)
        })
    }
}

impl RateLimitStore for Database {
    fn hit(&self, bucket: &str, window: i64, now: UnixTime) -> StoreResult<i32> {
        let start = now - now.rem_euclid(window.max(1));
        let attempt = || {
            self.write_tx(|c| {
                let n = diesel::update(
                    rate_limits::table
                        .find(bucket)
                        .filter(rate_limits::window_start.eq(start)),
                )
                .set(rate_limits::hits.eq(rate_limits::hits + 1))
                .execute(c)?;
                if n == 0 {
                    // Only an older window is restarted: a row of this window made by another
                    // transaction after this one's first statement must be counted, not reset
                    // (PostgreSQL gives each statement a new snapshot). Then the insert fails as
                    // a duplicate and the attempt runs again.
                    let moved = diesel::update(
                        rate_limits::table
                            .find(bucket)
                            .filter(rate_limits::window_start.lt(start)),
                    )
                    .set((rate_limits::window_start.eq(start), rate_limits::hits.eq(1)))
                    .execute(c)?;
                    if moved == 0 {
                        diesel::insert_into(rate_limits::table)
                            .values((
                                rate_limits::bucket.eq(bucket),
                                rate_limits::window_start.eq(start),
                                rate_limits::hits.eq(1),
                            ))
                            .execute(c)?;
                    }
                    return Ok(1);
                }
                rate_limits::table
                    .find(bucket)
                    .select(rate_limits::hits)
                    .first(c)
            })
        };
        match attempt() {
            // Two instances created the bucket at once: the row exists now; count again.
            Err(StoreError::Duplicate) => attempt(),
            other => other,
        }
    }

    fn hits(&self, bucket: &str, window: i64, now: UnixTime) -> StoreResult<i32> {
        let start = now - now.rem_euclid(window.max(1));
        let hits = self.with(|c| {
            rate_limits::table
                .find(bucket)
                .filter(rate_limits::window_start.eq(start))
                .select(rate_limits::hits)
                .first::<i32>(c)
                .optional()
        })?;
        Ok(hits.unwrap_or(0))
    }
}
