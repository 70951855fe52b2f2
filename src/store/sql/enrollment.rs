//! Registrations over diesel: lookups, the lockout counter, mail tokens, confirmation,
//! password changes, contact changes and deleting a pending application.

use diesel::prelude::*;

use super::admin::insert_audit;
use super::application::insert_application;
use super::mail::insert_outbox;
use super::registration_rows::{
    consume_token, person_with_registration, status_of, token_row, with_registration, MailTokenRow,
    RegistrationRow,
};
use super::{AnyConnection, Database};
use crate::clock::UnixTime;
use crate::store::enrollment::*;
use crate::store::models::SessionRow;
use crate::store::schema::*;
use crate::store::{AuditEvent, OutboxMessage, Person, StoreResult};

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
        row.map(|status| status.as_deref().map(status_of).transpose())
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
        self.write_tx(|c| insert_application(c, a))
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
                    .filter(registrations::status.eq(RegistrationStatus::Active.as_str())),
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
                        registrations::status.eq(RegistrationStatus::Locked.as_str()),
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
                    .filter(registrations::status.eq(RegistrationStatus::Pending.as_str())),
            )
            .set((
                registrations::status.eq(RegistrationStatus::Active.as_str()),
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
                        .eq(RegistrationStatus::Active.as_str())
                        .or(registrations::status.eq(RegistrationStatus::Locked.as_str())),
                ),
            )
            .set((
                registrations::password_hash.eq(&change.password_hash),
                registrations::password_changed_at.eq(now),
                registrations::failed_attempts.eq(0),
                registrations::status.eq(RegistrationStatus::Active.as_str()),
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
                    .filter(registrations::status.eq(RegistrationStatus::Active.as_str())),
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
                    .filter(registrations::status.eq(RegistrationStatus::Pending.as_str())),
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
