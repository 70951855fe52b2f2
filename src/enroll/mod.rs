//! The NHI card network-service registration site (docs/requirements.md R-REG) as services
//! without HTTP: card + 註冊密碼 sign-in now; applications, confirmation, reset and member
//! services use the same pieces.

pub mod apply;
pub mod login;
pub mod member;
pub mod password_check;
pub mod recovery;

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::auth::PasswordHasher;
use crate::card::CardService;
use crate::clock::UnixTime;
use crate::mail::{outbox_message, MailContent};
use crate::oidc::Engine;
use crate::store::{OutboxMessage, Person, Registration};
use crate::templates::Templates;

/// What the enrollment services need.
#[derive(Clone, Debug)]
pub struct Enrollment {
    pub engine: Engine,
    pub card: CardService,
    pub hasher: PasswordHasher,
    /// The mails' texts (`templates/mail/`), in the language of the page that sends them.
    pub templates: Arc<Templates>,
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Enrollment {
    /// The mail `name` to `to` in `lang`: the pages `mail/{name}_text` and `mail/{name}_html`
    /// with `vars` (`html.<var>` escaped for the HTML part), the subject the dictionary's
    /// `mail_{name}_subject`.
    pub(crate) fn compose_mail(
        &self,
        name: &str,
        lang: &str,
        to: &str,
        vars: &[(&str, String)],
    ) -> anyhow::Result<MailContent> {
        let mut data = Map::new();
        let mut html = Map::new();
        for (k, v) in vars {
            data.insert((*k).to_string(), json!(v));
            html.insert((*k).to_string(), json!(escape_html(v)));
        }
        // Whom to ask (the guide's mails end with the service phone and 意見信箱).
        let mail = &self.engine.settings().mail;
        if !mail.service_phone.is_empty() || !mail.feedback_url.is_empty() {
            let key = match (mail.service_phone.is_empty(), mail.feedback_url.is_empty()) {
                (false, false) => "mail_contact_both",
                (false, true) => "mail_contact_phone",
                _ => "mail_contact_feedback",
            };
            let contact = self.templates.text(
                lang,
                key,
                &[
                    ("phone", &mail.service_phone),
                    ("feedback", &mail.feedback_url),
                ],
            );
            html.insert("contact".into(), json!(escape_html(&contact)));
            data.insert("contact".into(), json!(contact));
        }
        data.insert("html".into(), Value::Object(html));
        let data = Value::Object(data);
        Ok(MailContent {
            to: to.to_string(),
            subject: self
                .templates
                .text(lang, &format!("mail_{name}_subject"), &[]),
            text: self
                .templates
                .render(&format!("mail/{name}_text"), lang, data.clone())?,
            html: self
                .templates
                .render(&format!("mail/{name}_html"), lang, data)?,
        })
    }
}

/// How a registration password was changed, for the notice mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChangeVia {
    /// 註冊密碼變更 (signed in, with the old password).
    Change,
    /// 忘記註冊密碼 → the reset link and the card.
    Reset,
}

/// A time as people in Taiwan read it (UTC+8), e.g. `2026-12-03 16:05`.
fn taiwan_time(at: UnixTime) -> String {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.checked_to_offset(offset))
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

impl Enrollment {
    /// 註冊密碼已變更通知 (R-REG, NIST 800-63B §4.6: every change is notified): one mail per
    /// registered address — primary, backup, and `also` (the new address of a reset sent to
    /// one) — in `lang`, saying when, how, and what to do if it was not the holder.
    pub(crate) fn password_notices(
        &self,
        person: &Person,
        reg: &Registration,
        also: Option<&str>,
        via: PasswordChangeVia,
        lang: &str,
        now: UnixTime,
    ) -> anyhow::Result<Vec<OutboxMessage>> {
        let via_key = match via {
            PasswordChangeVia::Change => "mail_password_changed_via_change",
            PasswordChangeVia::Reset => "mail_password_changed_via_reset",
        };
        let vars = [
            ("name", person.name.clone()),
            ("when", taiwan_time(now)),
            ("via", self.templates.text(lang, via_key, &[])),
            ("link", format!("{}/register", self.engine.issuer())),
        ];
        let mut sent: Vec<String> = Vec::new();
        let mut out = Vec::new();
        let addresses = [person.email.as_deref(), reg.email_backup.as_deref(), also];
        for to in addresses.into_iter().flatten() {
            let to = to.trim();
            if to.is_empty() || sent.iter().any(|s| s.eq_ignore_ascii_case(to)) {
                continue;
            }
            let mail = self.compose_mail("password_changed", lang, to, &vars)?;
            out.push(outbox_message(
                self.engine.ring(),
                &mail,
                "password_changed",
                now,
            )?);
            sent.push(to.to_string());
        }
        Ok(out)
    }
}

/// A challenge binding: purpose, flow (e.g. the interaction) and the browser.
pub fn binding(purpose: &str, flow: &str, browser_token: &str) -> String {
    format!(
        "{purpose}:{flow}:{}",
        crate::crypto::token_hash(browser_token)
    )
}
