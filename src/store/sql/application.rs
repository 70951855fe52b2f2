//! The application (申請) transaction: the person, the card, the pending registration, the
//! confirmation link, its mail and the audit event, written all or nothing.

use diesel::prelude::*;

use super::admin::insert_audit;
use super::mail::insert_outbox;
use super::registration_rows::{token_row, RegistrationRow};
use super::AnyConnection;
use crate::store::enrollment::NewApplication;
use crate::store::models::PersonRow;
use crate::store::schema::*;
use crate::store::AuditEvent;

/// Writes `a` inside the caller's transaction; a registration that exists already, or a
/// card of another person, fails as a unique violation.
pub(super) fn insert_application(c: &mut AnyConnection, a: &NewApplication) -> QueryResult<()> {
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
}
