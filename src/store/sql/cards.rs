//! Card certificates over diesel: recorded at sign-in, acted on once when revoked.

use diesel::prelude::*;

use super::admin::{end_sessions_rows, insert_audit};
use super::Database;
use crate::clock::UnixTime;
use crate::store::cards::*;
use crate::store::schema::card_certificates as cc;
use crate::store::{AuditEvent, StoreError, StoreResult};

#[derive(Insertable)]
#[diesel(table_name = cc)]
struct NewCardCertificateRow<'a> {
    issuer_hash: &'a str,
    serial: &'a str,
    issuer_name: &'a str,
    person_id: &'a str,
    card_number: &'a str,
    kind: &'a str,
    not_after: i64,
    first_used_at: i64,
    last_used_at: i64,
}

impl CardCertificateStore for Database {
    fn record_card_certificate(&self, used: &CardCertificateUse) -> StoreResult<bool> {
        let attempt = || {
            self.write_tx(|c| {
                let key = (used.issuer.as_str(), used.serial.as_str());
                let found: Option<Option<i64>> = cc::table
                    .find(key)
                    .select(cc::revoked_at)
                    .first(c)
                    .optional()?;
                match found {
                    Some(Some(_)) => Ok(false),
                    Some(None) => {
                        diesel::update(cc::table.find(key))
                            .set((
                                cc::person_id.eq(&used.person_id),
                                cc::card_number.eq(&used.card_number),
                                cc::last_used_at.eq(used.at),
                            ))
                            .execute(c)?;
                        Ok(true)
                    }
                    None => {
                        diesel::insert_into(cc::table)
                            .values(NewCardCertificateRow {
                                issuer_hash: &used.issuer,
                                serial: &used.serial,
                                issuer_name: &used.issuer_name,
                                person_id: &used.person_id,
                                card_number: &used.card_number,
                                kind: &used.kind,
                                not_after: used.not_after,
                                first_used_at: used.at,
                                last_used_at: used.at,
                            })
                            .execute(c)?;
                        Ok(true)
                    }
                }
            })
        };
        match attempt() {
            // Recorded at the same moment by another sign-in: look again.
            Err(StoreError::Duplicate) => attempt(),
            other => other,
        }
    }

    fn unrevoked_card_certificates(
        &self,
        issuer: &str,
        serials: &[String],
    ) -> StoreResult<Vec<String>> {
        if serials.is_empty() {
            return Ok(Vec::new());
        }
        self.with(|c| {
            cc::table
                .filter(cc::issuer_hash.eq(issuer))
                .filter(cc::serial.eq_any(serials))
                .filter(cc::revoked_at.is_null())
                .select(cc::serial)
                .load(c)
        })
    }

    fn revoke_card_certificate(
        &self,
        issuer: &str,
        serial: &str,
        now: UnixTime,
        audit: &AuditEvent,
    ) -> StoreResult<Option<RevokedHolder>> {
        self.write_tx(|c| {
            let unrevoked = cc::table
                .find((issuer, serial))
                .filter(cc::revoked_at.is_null());
            let Some(person_id) = unrevoked
                .select(cc::person_id)
                .first::<String>(c)
                .optional()?
            else {
                return Ok(None);
            };
            // The conditional update decides which instance acts (PostgreSQL re-checks the
            // condition after waiting for a concurrent update of the row).
            let marked = diesel::update(unrevoked)
                .set(cc::revoked_at.eq(Some(now)))
                .execute(c)?;
            if marked == 0 {
                return Ok(None);
            }
            // Sessions, grants, unredeemed codes, sign-ins in progress and reset links.
            let ended_sids = end_sessions_rows(c, &person_id, now)?;
            let mut event = audit.clone();
            event.person_id = Some(person_id.clone());
            insert_audit(c, &event)?;
            Ok(Some(RevokedHolder {
                person_id,
                ended_sids,
            }))
        })
    }
}
