//! The NHI card network-service registration site (SPEC R-REG) as services without HTTP:
//! card + 註冊密碼 sign-in now; applications, confirmation, reset and member services use
//! the same pieces.

pub mod apply;
pub mod login;
pub mod member;
pub mod recovery;

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::auth::PasswordHasher;
use crate::card::CardService;
use crate::mail::MailContent;
use crate::oidc::Engine;
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

/// A challenge binding: purpose, flow (e.g. the interaction) and the browser.
pub fn binding(purpose: &str, flow: &str, browser_token: &str) -> String {
    format!(
        "{purpose}:{flow}:{}",
        crate::crypto::token_hash(browser_token)
    )
}
