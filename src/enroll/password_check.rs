//! The 註冊密碼 meter's question to the server: would this new password be accepted? The
//! same policy check as the forms that set a password (length, characters, common
//! passwords, the person's card number, national ID and birth date), so that the meter
//! never calls a password 強 that the form then refuses. The person is known from the page
//! the meter is on: step 2's sealed proof, a reset link, or the member's session.

use super::Enrollment;
use crate::crypto::token_hash;
use crate::domain::password::{birth_date_forms, Password, PasswordError};
use crate::store::{MailTokenPurpose, StoreError};

/// Whose password the meter is weighing.
#[derive(Debug, Clone, Copy)]
pub enum Whose<'a> {
    /// 申請 step 2: the sealed proof of step 1, for this browser.
    Applicant { proof: &'a str, browser: &'a str },
    /// The reset page: its mailed link.
    ResetLink(&'a str),
    /// A signed-in member.
    Member(&'a str),
    /// Unknown (the personal-data rule cannot be applied).
    Nobody,
}

impl Enrollment {
    /// The card numbers, national ID and birth date forms of `person_id` (what a password
    /// must not contain).
    pub(crate) fn personal_data(&self, person_id: &str) -> Result<Vec<String>, StoreError> {
        let store = self.engine.store();
        let mut personal: Vec<String> = store
            .registration_detail(person_id, self.engine.now())?
            .map(|d| d.cards.into_iter().map(|(number, _)| number).collect())
            .unwrap_or_default();
        personal.extend(
            store
                .sealed_national_id(person_id)?
                .and_then(|s| self.engine.ring().open("persons.national_id", &s).ok())
                .and_then(|b| String::from_utf8(b).ok()),
        );
        personal.extend(
            store
                .birth_date(person_id)?
                .map(|b| birth_date_forms(&b))
                .unwrap_or_default(),
        );
        personal.retain(|s| !s.is_empty());
        Ok(personal)
    }

    /// Whether `password` passes the policy for `whose`. A proof or link that is no good
    /// any more weighs the password without personal data (the form itself will say what
    /// is wrong with the page).
    pub fn check_new_password(
        &self,
        password: &str,
        whose: Whose<'_>,
    ) -> Result<Result<(), PasswordError>, StoreError> {
        let personal = match whose {
            Whose::Applicant { proof, browser } => {
                self.proof_personal_data(proof, browser).unwrap_or_default()
            }
            Whose::ResetLink(link) => {
                let now = self.engine.now();
                match self.engine.store().find_mail_token(&token_hash(link))? {
                    Some(t)
                        if t.purpose == MailTokenPurpose::Reset
                            && t.consumed_at.is_none()
                            && t.expires_at > now =>
                    {
                        self.personal_data(&t.person_id)?
                    }
                    _ => Vec::new(),
                }
            }
            Whose::Member(person_id) => self.personal_data(person_id)?,
            Whose::Nobody => Vec::new(),
        };
        let refs: Vec<&str> = personal.iter().map(String::as_str).collect();
        Ok(self
            .engine
            .settings()
            .password
            .policy()
            .check(&Password::new(password), None, &refs))
    }
}
