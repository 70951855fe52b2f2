//! The registration site's pages (健保卡網路服務註冊), as register.rs and member.rs render
//! them: the browser token and CSRF, the page language and its switch (R-X-1), errors and
//! notices in that language, and the 戶籍 fields.
//!
//! The language is, in order: a `lang` the person chose with the switch (kept in the
//! language cookie from then on), the language cookie (an earlier choice), `ui_locales` in
//! the address, Accept-Language, the configured default (zh-TW) (`AppState::lang`). The
//! switch shows the same page in the other language: the same address for a page that was
//! fetched; for the answer to a form, the page's own address (a notice is sealed into `/register/notice?n=`, step 2 of the
//! application posts its sealed proof again).

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::csrf::Csrf;
use super::messages::{Localize, Message};
use super::responses::{card_page_csp, cookie, page, with_lang};
use super::AppState;
use crate::crypto::{new_secret_token, token_hash};
use crate::enroll::apply::ApplyError;
use crate::enroll::recovery::RecoveryError;
use crate::registry::divisions;

/// The CSRF token of the registration site's forms for a browser.
pub fn csrf(state: &AppState, browser: &str) -> String {
    Csrf::site(&state.engine, browser).into()
}

/// The query parameter `name` of a request, decoded.
fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// Where the language switch of a page goes.
enum Switch {
    /// A page that can be fetched: its path and query (`lang` is added).
    Get(String, Vec<(String, String)>),
    /// A page that only a form post shows: the form posted again with `lang`.
    Post(String, Vec<(String, String)>),
}

/// One request's view of the registration site.
pub struct Site<'a> {
    pub state: &'a AppState,
    pub req: &'a HttpRequest,
    pub lang: String,
    browser: String,
    new_browser: bool,
    remember_lang: bool,
    /// `client_id` in the address: the application that sent the person here, remembered
    /// (cookie) so that the pages that end a task can lead back to it.
    came_from: Option<String>,
    switch: Option<Switch>,
}

impl<'a> Site<'a> {
    pub fn new(state: &'a AppState, req: &'a HttpRequest) -> Self {
        let lang = state.lang(req, &[]);
        let (browser, new_browser) = match state.browser(req).browser_token {
            Some(t) => (t, false),
            None => (new_secret_token(), true),
        };
        Site {
            state,
            req,
            lang,
            browser,
            new_browser,
            remember_lang: query_param(req, "lang").is_some(),
            came_from: query_param(req, "client_id")
                .filter(|id| crate::domain::ClientId::parse(id).is_ok()),
            switch: None,
        }
    }

    /// The language chosen with a switch that posts its form (remembered in the cookie).
    pub fn choose_lang(&mut self, lang: &str) {
        self.lang = self.state.templates.pick_lang([lang]);
        self.remember_lang = true;
    }

    pub fn browser(&self) -> &str {
        &self.browser
    }

    pub fn csrf(&self) -> String {
        csrf(self.state, &self.browser)
    }

    pub fn csrf_ok(&self, token: &str) -> bool {
        !self.new_browser && Csrf::site(&self.state.engine, &self.browser).matches(token)
    }

    /// The challenge binding of a card form of `purpose` in this browser.
    pub fn binding(&self, purpose: &str) -> String {
        crate::enroll::binding(purpose, "", &self.browser)
    }

    pub fn text(&self, key: &str, vars: &[(&str, &str)]) -> String {
        self.state.templates.text(&self.lang, key, vars)
    }

    /// The password fields' help (the length rule) and the policy the meter applies before
    /// it shows a strength (`password_help`, `password_policy` of `partials/password_fields`).
    pub fn password_rule(&self) -> (String, Value) {
        let policy = self.state.engine.settings().password.policy();
        let (min, max) = (policy.min_length.to_string(), policy.max_length.to_string());
        let help = self.text("reg_password_length", &[("min", &min), ("max", &max)]);
        (
            help,
            json!({ "min": policy.min_length, "max": policy.max_length, "excluded": policy.excluded }),
        )
    }

    pub fn say(&self, message: &Message) -> String {
        message.text(&self.state.templates, &self.lang)
    }

    /// The fetchable address of the page a form post answers with (the switch goes there);
    /// a fetched page switches to its own address.
    pub fn page_address(&mut self, path: &str, query: &[(&str, &str)]) {
        self.switch = Some(Switch::Get(path.to_string(), owned(query)));
    }

    /// For a page only a form post shows: the switch posts `fields` to `action` again.
    pub fn switch_by_post(&mut self, action: &str, fields: &[(&str, &str)]) {
        self.switch = Some(Switch::Post(action.to_string(), owned(fields)));
    }

    fn other_lang(&self) -> String {
        self.text("other_lang", &[])
    }

    fn switch_data(&self) -> (&'static str, Value) {
        let other = self.other_lang();
        if self.req.method() == Method::GET {
            let query: Vec<(String, String)> =
                serde_urlencoded::from_str(self.req.query_string()).unwrap_or_default();
            return (
                "lang_switch",
                json!(with_lang(self.req.path(), &query, &other)),
            );
        }
        match &self.switch {
            Some(Switch::Get(path, query)) => {
                ("lang_switch", json!(with_lang(path, query, &other)))
            }
            Some(Switch::Post(action, fields)) => (
                "lang_switch_form",
                json!({ "action": action, "fields": fields }),
            ),
            None => (
                "lang_switch",
                json!(with_lang(self.req.path(), &[], &other)),
            ),
        }
    }

    /// `data` (an object) with the error fields of a form page: the message in the page's
    /// language, its code (`data-error`) and the field it is about (`invalid.<field>`).
    pub fn with_error<E: Localize>(&self, mut data: Value, error: Option<&E>) -> Value {
        if let (Value::Object(map), Some(e)) = (&mut data, error) {
            let mut invalid = Map::new();
            if let Some(field) = e.field() {
                invalid.insert(field.into(), json!(true));
            }
            map.insert("error".into(), json!(self.say(&e.message())));
            map.insert("error_code".into(), json!(e.error_code()));
            let links: Vec<Value> = e
                .links()
                .into_iter()
                .map(|(href, key)| json!({ "href": href, "text": self.text(key, &[]) }))
                .collect();
            map.insert("error_links".into(), json!(links));
            map.insert(
                "error_help".into(),
                json!(super::help_links::card_error_link(e.error_code())),
            );
            map.insert("invalid".into(), Value::Object(invalid));
            if let Some(seconds) = e.retry_after() {
                map.insert("retry_after".into(), json!(seconds));
            }
        }
        data
    }

    fn render(&self, name: &str, status: StatusCode, mut data: Value) -> HttpResponse {
        if let Value::Object(map) = &mut data {
            let (key, switch) = self.switch_data();
            map.insert(key.into(), switch);
            if !map.contains_key("title") {
                map.insert("title".into(), json!(self.text("reg_title", &[])));
            }
        }
        let retry_after = data.get("retry_after").and_then(Value::as_i64);
        let mut resp = page(self.state, name, &self.lang, status, data);
        if let Some(seconds) = retry_after {
            resp.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(seconds),
            );
        }
        let names = &self.state.cookies;
        if let Some(client) = &self.came_from {
            let _ = resp.add_cookie(&cookie(self.state, &names.from, client.clone(), 24 * 3600));
        }
        for (name, value, set) in [
            (&names.browser, &self.browser, self.new_browser),
            (&names.lang, &self.lang, self.remember_lang),
        ] {
            if set {
                let _ = resp.add_cookie(&cookie(self.state, name, value.clone(), 365 * 24 * 3600));
            }
        }
        resp
    }

    /// A page of the site; `data` is an object.
    pub fn page(&self, name: &str, status: StatusCode, data: Value) -> HttpResponse {
        self.render(name, status, data)
    }

    /// A page whose script reads the card through the local authenticator.
    pub fn card_page(&self, name: &str, status: StatusCode, mut data: Value) -> HttpResponse {
        let authenticator = self.state.engine.settings().card.authenticator_url.clone();
        if let Value::Object(map) = &mut data {
            map.insert("authenticator_url".into(), json!(authenticator));
            map.insert("csrf_token".into(), json!(self.csrf()));
        }
        let mut resp = self.render(name, status, data);
        card_page_csp(&mut resp, &authenticator, true);
        resp
    }

    /// A link back to the application that sent the person here (`client_id` in an earlier
    /// address): its first registered post-logout address — a page the application itself
    /// registered as a landing page, so never an open redirect.
    async fn back_to_client(&self) -> Option<Value> {
        let id = self.came_from.clone().or_else(|| {
            self.req
                .cookie(&self.state.cookies.from)
                .map(|c| c.value().to_string())
        })?;
        let engine = self.state.engine.clone();
        let client = web::block(move || engine.store().find_client(&id))
            .await
            .ok()?
            .ok()??;
        let home = client.post_logout_redirect_uris.first()?;
        Some(json!({
            "href": home.as_ref() as &str,
            "text": self.text("reg_next_back_to", &[("client", &client.name)]),
            "id": "back-to-client",
        }))
    }

    /// A notice page; after a form post its switch opens the notice sealed in its address.
    pub async fn notice(&mut self, notice: &Notice) -> HttpResponse {
        if self.req.method() != Method::GET {
            if let Some(sealed) = notice.seal(self.state, &self.browser) {
                self.page_address("/register/notice", &[("n", &sealed)]);
            }
        }
        let heading = self.text(notice.heading(), &[]);
        let mut links: Vec<Value> = notice
            .links()
            .into_iter()
            .map(|(href, key)| json!({ "href": href, "text": self.text(key, &[]) }))
            .collect();
        if let Some(back) = self.back_to_client().await {
            links.push(back);
        }
        self.render(
            "notice",
            notice.status(),
            json!({ "title": heading, "heading": heading, "outcome": notice.outcome(),
                    "message": self.say(&notice.message()),
                    "next": notice.next().map(|k| self.text(k, &[])),
                    "links": links }),
        )
    }
}

/// What a finished action tells the person (the notice page); sealed into the switch's
/// address when a form post showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "n", rename_all = "snake_case")]
pub enum Notice {
    Applied {
        masked: String,
        days: i64,
    },
    Confirmed,
    ConfirmLinkInvalid,
    ResetSent {
        masked: String,
        minutes: i64,
        #[serde(default)]
        locked: bool,
    },
    ResetDone,
    ResetLinkInvalid,
    Resent {
        masked: String,
    },
    Deleted,
    EmailChanged,
}

const NOTICE_CONTEXT: &str = "register.notice";

impl Notice {
    pub fn outcome(&self) -> &'static str {
        match self {
            Notice::Applied { .. } => "applied",
            Notice::Confirmed => "confirmed",
            Notice::ConfirmLinkInvalid | Notice::ResetLinkInvalid => "link_invalid",
            Notice::ResetSent { .. } => "reset_sent",
            Notice::ResetDone => "reset_done",
            Notice::Resent { .. } => "resent",
            Notice::Deleted => "deleted",
            Notice::EmailChanged => "email_changed",
        }
    }

    fn heading(&self) -> &'static str {
        match self {
            Notice::Applied { .. } => "reg_title_apply",
            Notice::Confirmed | Notice::ConfirmLinkInvalid | Notice::EmailChanged => {
                "reg_title_confirm"
            }
            Notice::ResetSent { .. } => "reg_title_forgot",
            Notice::ResetDone | Notice::ResetLinkInvalid => "reg_title_reset",
            Notice::Resent { .. } => "reg_title_resend",
            Notice::Deleted => "reg_title_delete",
        }
    }

    fn message(&self) -> Message {
        let plain = |key: &str| Message {
            key: key.to_string(),
            vars: Vec::new(),
        };
        match self {
            Notice::Applied { masked, days } => Message {
                key: "reg_notice_applied".into(),
                vars: vec![("masked", masked.clone()), ("days", days.to_string())],
            },
            Notice::Confirmed => plain("reg_notice_confirmed"),
            Notice::ConfirmLinkInvalid => ApplyError::LinkInvalid.message(),
            Notice::ResetSent {
                masked,
                minutes,
                locked,
            } => Message {
                key: if *locked {
                    "reg_notice_reset_sent_locked".into()
                } else {
                    "reg_notice_reset_sent".into()
                },
                vars: vec![("masked", masked.clone()), ("minutes", minutes.to_string())],
            },
            Notice::ResetDone => plain("reg_notice_password_changed"),
            Notice::ResetLinkInvalid => RecoveryError::LinkInvalid.message(),
            Notice::Resent { masked } => Message {
                key: "reg_notice_resent".into(),
                vars: vec![("masked", masked.clone())],
            },
            Notice::Deleted => plain("reg_notice_deleted"),
            Notice::EmailChanged => plain("reg_notice_email_changed"),
        }
    }

    /// What to do next, when the message alone does not say it (dictionary key).
    fn next(&self) -> Option<&'static str> {
        match self {
            Notice::Applied { .. } | Notice::Resent { .. } => Some("reg_next_applied"),
            Notice::Confirmed | Notice::ResetDone => Some("reg_next_signin"),
            _ => None,
        }
    }

    /// The links under the message: (address, dictionary key of its text). Every notice
    /// leads somewhere: at least back to the sign-in page.
    fn links(&self) -> Vec<(&'static str, &'static str)> {
        const HOME: (&str, &str) = ("/register", "reg_link_home");
        match self {
            Notice::ConfirmLinkInvalid => vec![("/register/resend", "reg_link_resend"), HOME],
            Notice::ResetLinkInvalid => vec![("/register/forgot", "reg_link_forgot"), HOME],
            Notice::Deleted => vec![("/register/terms", "reg_link_apply"), HOME],
            _ => vec![HOME],
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Notice::ConfirmLinkInvalid | Notice::ResetLinkInvalid => StatusCode::BAD_REQUEST,
            _ => StatusCode::OK,
        }
    }

    /// Sealed for this browser only (it can carry a masked e-mail address).
    fn seal(&self, state: &AppState, browser: &str) -> Option<String> {
        let json = serde_json::to_vec(self).ok()?;
        let context = format!("{NOTICE_CONTEXT}|{}", token_hash(browser));
        state.engine.ring().seal(&context, &json).ok()
    }

    /// The notice sealed by `seal` for this browser.
    pub fn open(state: &AppState, browser: &str, sealed: &str) -> Option<Notice> {
        let context = format!("{NOTICE_CONTEXT}|{}", token_hash(browser));
        let json = state.engine.ring().open(&context, sealed).ok()?;
        serde_json::from_slice(&json).ok()
    }
}

/// The 戶籍 a form posted: 縣市, 鄉鎮市區, 村里 and 鄰, shown again when the form comes back.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PlaceFields {
    #[serde(default)]
    pub county: String,
    #[serde(default)]
    pub township: String,
    #[serde(default)]
    pub village: String,
    #[serde(default)]
    pub neighborhood: String,
}

impl PlaceFields {
    /// The 鄰 as a number, ASCII or full-width digits (-1 when it is not one: no registry
    /// entry has it).
    pub fn neighborhood_number(&self) -> i32 {
        let digits: String = self
            .neighborhood
            .trim()
            .chars()
            .map(|c| match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
                _ => c,
            })
            .collect();
        digits.parse().unwrap_or(-1)
    }

    /// The form's 戶籍 fields: every 縣市, every 鄉鎮市區 of the chosen one (both from the
    /// list of divisions, never from the registry), the chosen ones selected, and the typed
    /// 村里 and 鄰 as they were.
    pub fn options(&self) -> Value {
        let options = |list: Vec<&str>, chosen: &str| -> Vec<Value> {
            list.into_iter()
                .map(|v| json!({ "selected": v == chosen, "value": v }))
                .collect()
        };
        let county = divisions::normalize(&self.county);
        let townships = divisions::townships(&county).unwrap_or_default();
        json!({
            "counties": options(divisions::counties(), &county),
            "townships": options(townships, &divisions::normalize(&self.township)),
            "village": self.village.trim(),
            "neighborhood": self.neighborhood.trim(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_place_fields_offer_every_division_and_keep_what_was_typed() {
        let fields = PlaceFields {
            county: "台北市".into(),
            township: "文山區".into(),
            village: " 黎明里 ".into(),
            neighborhood: "５".into(),
        };
        assert_eq!(fields.neighborhood_number(), 5);
        let shown = fields.options();
        assert_eq!(shown["counties"].as_array().unwrap().len(), 22);
        let townships = shown["townships"].as_array().unwrap();
        assert_eq!(townships.len(), 12);
        assert!(townships.contains(&json!({ "selected": true, "value": "文山區" })));
        assert_eq!(shown["village"], "黎明里");
        let none = PlaceFields::default().options();
        assert_eq!(none["townships"], json!([]));
        assert_eq!(PlaceFields::default().neighborhood_number(), -1);
    }
}
