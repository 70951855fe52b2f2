//! Handlebars pages in zh-TW (default) and English. Built once at startup; a configured
//! `templates_dir` may override any page (e.g. the terms an operator must publish).
//!
//! Short texts come from the dictionaries (`templates/i18n/*.json`, `t.key` in a page).
//! A long document is written per language instead: the page `name.lang` (e.g. `terms.en`)
//! is used for `lang` when it exists, else `name`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, Context};
use handlebars::Handlebars;
use serde_json::{json, Value};

/// (name, built-in source). Partials start with `partials/`.
const BUILT_IN: &[(&str, &str)] = &[
    (
        "partials/header",
        include_str!("../templates/partials/header.hbs"),
    ),
    (
        "partials/footer",
        include_str!("../templates/partials/footer.hbs"),
    ),
    ("error", include_str!("../templates/error.hbs")),
    ("not_found", include_str!("../templates/not_found.hbs")),
    ("login", include_str!("../templates/login.hbs")),
    ("consent", include_str!("../templates/consent.hbs")),
    (
        "logout_confirm",
        include_str!("../templates/logout_confirm.hbs"),
    ),
    ("logged_out", include_str!("../templates/logged_out.hbs")),
    ("form_post", include_str!("../templates/form_post.hbs")),
    ("environment", include_str!("../templates/environment.hbs")),
    ("card_login", include_str!("../templates/card_login.hbs")),
    (
        "citizen_login",
        include_str!("../templates/citizen_login.hbs"),
    ),
    ("terms", include_str!("../templates/terms.hbs")),
    ("terms.en", include_str!("../templates/terms.en.hbs")),
    ("apply", include_str!("../templates/apply.hbs")),
    ("apply2", include_str!("../templates/apply2.hbs")),
    ("confirm", include_str!("../templates/confirm.hbs")),
    ("notice", include_str!("../templates/notice.hbs")),
    ("forgot", include_str!("../templates/forgot.hbs")),
    ("reset", include_str!("../templates/reset.hbs")),
    ("card_action", include_str!("../templates/card_action.hbs")),
    (
        "register_home",
        include_str!("../templates/register_home.hbs"),
    ),
    ("member", include_str!("../templates/member.hbs")),
    ("dev", include_str!("../templates/dev.hbs")),
    ("dev_mail", include_str!("../templates/dev_mail.hbs")),
    (
        "member_password",
        include_str!("../templates/member_password.hbs"),
    ),
    (
        "member_profile",
        include_str!("../templates/member_profile.hbs"),
    ),
    (
        "partials/card_read",
        include_str!("../templates/partials/card_read.hbs"),
    ),
    (
        "partials/card_messages",
        include_str!("../templates/partials/card_messages.hbs"),
    ),
    (
        "mail/confirm_text",
        include_str!("../templates/mail/confirm_text.hbs"),
    ),
    (
        "mail/confirm_text.en",
        include_str!("../templates/mail/confirm_text.en.hbs"),
    ),
    (
        "mail/confirm_html",
        include_str!("../templates/mail/confirm_html.hbs"),
    ),
    (
        "mail/confirm_html.en",
        include_str!("../templates/mail/confirm_html.en.hbs"),
    ),
    (
        "mail/reset_text",
        include_str!("../templates/mail/reset_text.hbs"),
    ),
    (
        "mail/reset_text.en",
        include_str!("../templates/mail/reset_text.en.hbs"),
    ),
    (
        "mail/reset_html",
        include_str!("../templates/mail/reset_html.hbs"),
    ),
    (
        "mail/reset_html.en",
        include_str!("../templates/mail/reset_html.en.hbs"),
    ),
    (
        "mail/password_changed_text",
        include_str!("../templates/mail/password_changed_text.hbs"),
    ),
    (
        "mail/password_changed_text.en",
        include_str!("../templates/mail/password_changed_text.en.hbs"),
    ),
    (
        "mail/password_changed_html",
        include_str!("../templates/mail/password_changed_html.hbs"),
    ),
    (
        "mail/password_changed_html.en",
        include_str!("../templates/mail/password_changed_html.en.hbs"),
    ),
    (
        "mail/email_text",
        include_str!("../templates/mail/email_text.hbs"),
    ),
    (
        "mail/email_text.en",
        include_str!("../templates/mail/email_text.en.hbs"),
    ),
    (
        "mail/email_html",
        include_str!("../templates/mail/email_html.hbs"),
    ),
    (
        "mail/email_html.en",
        include_str!("../templates/mail/email_html.en.hbs"),
    ),
    (
        "partials/card_name",
        include_str!("../templates/partials/card_name.hbs"),
    ),
    (
        "partials/form_error",
        include_str!("../templates/partials/form_error.hbs"),
    ),
    (
        "partials/place_fields",
        include_str!("../templates/partials/place_fields.hbs"),
    ),
    (
        "partials/password_fields",
        include_str!("../templates/partials/password_fields.hbs"),
    ),
    // The help center (routes::help); long pages are written per language.
    (
        "partials/help_nav",
        include_str!("../templates/help/nav.hbs"),
    ),
    ("help/index", include_str!("../templates/help/index.hbs")),
    ("help/faq", include_str!("../templates/help/faq.hbs")),
    ("help/faq.en", include_str!("../templates/help/faq.en.hbs")),
    (
        "help/card_errors",
        include_str!("../templates/help/card_errors.hbs"),
    ),
    (
        "help/card_errors.en",
        include_str!("../templates/help/card_errors.en.hbs"),
    ),
    ("help/manual", include_str!("../templates/help/manual.hbs")),
    (
        "help/manual.en",
        include_str!("../templates/help/manual.en.hbs"),
    ),
    ("help/setup", include_str!("../templates/help/setup.hbs")),
    (
        "help/setup.en",
        include_str!("../templates/help/setup.en.hbs"),
    ),
    (
        "partials/service_notices",
        include_str!("../templates/partials/service_notices.hbs"),
    ),
    ("maintenance", include_str!("../templates/maintenance.hbs")),
];

/// The admin console's pages (`routes::admin_console`); partials start with `partials/`.
const ADMIN_TEMPLATES: &[(&str, &str)] = &[
    (
        "partials/admin_head",
        include_str!("../templates/admin/layout_head.hbs"),
    ),
    (
        "partials/admin_foot",
        include_str!("../templates/admin/layout_foot.hbs"),
    ),
    (
        "partials/admin_audit_table",
        include_str!("../templates/admin/audit_table.hbs"),
    ),
    ("admin_home", include_str!("../templates/admin/home.hbs")),
    (
        "admin_denied",
        include_str!("../templates/admin/denied.hbs"),
    ),
    (
        "admin_clients",
        include_str!("../templates/admin/clients.hbs"),
    ),
    (
        "admin_client",
        include_str!("../templates/admin/client.hbs"),
    ),
    (
        "admin_secret",
        include_str!("../templates/admin/secret.hbs"),
    ),
    (
        "admin_registrations",
        include_str!("../templates/admin/registrations.hbs"),
    ),
    (
        "admin_registration",
        include_str!("../templates/admin/registration.hbs"),
    ),
    ("admin_audit", include_str!("../templates/admin/audit.hbs")),
    ("admin_keys", include_str!("../templates/admin/keys.hbs")),
    (
        "admin_notices",
        include_str!("../templates/admin/notices.hbs"),
    ),
    (
        "admin_notice",
        include_str!("../templates/admin/notice.hbs"),
    ),
];

/// More strings per part (the admin console, …), merged into each language's dictionary.
/// A part keeps its own files so that its keys stay together.
const EXTRA_LOCALES: &[(&str, &str)] = &[
    ("zh-TW", include_str!("../templates/i18n/admin.zh-TW.json")),
    ("en", include_str!("../templates/i18n/admin.en.json")),
    ("zh-TW", include_str!("../templates/i18n/site.zh-TW.json")),
    ("en", include_str!("../templates/i18n/site.en.json")),
    ("zh-TW", include_str!("../templates/i18n/help.zh-TW.json")),
    ("en", include_str!("../templates/i18n/help.en.json")),
    (
        "zh-TW",
        include_str!("../templates/i18n/console.zh-TW.json"),
    ),
    ("en", include_str!("../templates/i18n/console.en.json")),
    (
        "zh-TW",
        include_str!("../templates/i18n/notices.zh-TW.json"),
    ),
    ("en", include_str!("../templates/i18n/notices.en.json")),
    ("zh-TW", include_str!("../templates/i18n/signin.zh-TW.json")),
    ("en", include_str!("../templates/i18n/signin.en.json")),
];

pub const ADMIN_STYLESHEET: &str = include_str!("../templates/static/admin.css");

const LOCALES: &[(&str, &str)] = &[
    ("zh-TW", include_str!("../templates/i18n/zh-TW.json")),
    ("en", include_str!("../templates/i18n/en.json")),
];

pub const STYLESHEET: &str = include_str!("../templates/static/cardinal.css");

#[derive(Debug)]
pub struct Templates {
    registry: Handlebars<'static>,
    dictionaries: BTreeMap<String, Value>,
    default_lang: String,
}

impl Templates {
    pub fn new(override_dir: Option<&Path>, languages: &[String]) -> anyhow::Result<Templates> {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(false);
        let overridden = |name: &str| {
            override_dir
                .map(|d| d.join(format!("{name}.hbs")))
                .filter(|p| p.exists())
        };
        for (name, source) in BUILT_IN.iter().chain(ADMIN_TEMPLATES) {
            let text = match overridden(name) {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("Failed to read template {}", path.display()))?,
                None => {
                    // A built-in translation of a page the operator replaced would show the
                    // built-in document in that language: the operator's page is used instead.
                    let base = name.split_once('.').map(|(base, _)| base);
                    if base.is_some_and(|b| overridden(b).is_some()) {
                        continue;
                    }
                    (*source).to_string()
                }
            };
            let key = name.strip_prefix("partials/").unwrap_or(name);
            if name.starts_with("partials/") {
                registry
                    .register_partial(key, text)
                    .map_err(|e| anyhow!("Template {name}: {e}"))?;
            } else {
                registry
                    .register_template_string(key, text)
                    .map_err(|e| anyhow!("Template {name}: {e}"))?;
            }
        }
        let mut dictionaries = BTreeMap::new();
        for (lang, text) in LOCALES {
            let value: Value =
                serde_json::from_str(text).with_context(|| format!("Locale {lang} is not JSON"))?;
            dictionaries.insert((*lang).to_string(), value);
        }
        for (lang, text) in EXTRA_LOCALES {
            let extra: Value = serde_json::from_str(text)
                .with_context(|| format!("A locale file for {lang} is not JSON"))?;
            if let (Some(Value::Object(dict)), Value::Object(extra)) =
                (dictionaries.get_mut(*lang), extra)
            {
                dict.extend(extra);
            }
        }
        let default_lang = languages.first().cloned().unwrap_or_else(|| "zh-TW".into());
        if !dictionaries.contains_key(&default_lang) {
            return Err(anyhow!(
                "no translation for the default language {default_lang}"
            ));
        }
        Ok(Templates {
            registry,
            dictionaries,
            default_lang,
        })
    }

    /// The first supported language among the candidates (ui_locales, cookie,
    /// Accept-Language), else the default.
    pub fn pick_lang<'a>(&self, candidates: impl IntoIterator<Item = &'a str>) -> String {
        for c in candidates {
            let tag = c.split(';').next().unwrap_or_default().trim();
            if tag.is_empty() {
                continue;
            }
            if let Some(found) = self
                .dictionaries
                .keys()
                .find(|k| k.eq_ignore_ascii_case(tag))
            {
                return found.clone();
            }
            let primary = tag.split('-').next().unwrap_or_default();
            if primary.eq_ignore_ascii_case("zh") && self.dictionaries.contains_key("zh-TW") {
                return "zh-TW".into();
            }
            if let Some(found) = self
                .dictionaries
                .keys()
                .find(|k| k.eq_ignore_ascii_case(primary))
            {
                return found.clone();
            }
        }
        self.default_lang.clone()
    }

    /// A translated string, with `{{client}}`-style placeholders filled.
    pub fn text(&self, lang: &str, key: &str, vars: &[(&str, &str)]) -> String {
        let raw = self
            .dictionaries
            .get(lang)
            .and_then(|d| d.get(key))
            .and_then(|v| v.as_str())
            .unwrap_or(key)
            .to_string();
        vars.iter()
            .fold(raw, |acc, (k, v)| acc.replace(&format!("{{{{{k}}}}}"), v))
    }

    /// Renders page `name` in `lang` with `data` (an object) plus `t` (the dictionary).
    pub fn render(&self, name: &str, lang: &str, data: Value) -> anyhow::Result<String> {
        let mut ctx = match data {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        let dict = self
            .dictionaries
            .get(lang)
            .or_else(|| self.dictionaries.get(&self.default_lang))
            .cloned()
            .unwrap_or(json!({}));
        ctx.insert("t".into(), dict);
        ctx.insert("lang".into(), Value::String(lang.to_string()));
        let localized = format!("{name}.{lang}");
        let page = if self.registry.has_template(&localized) {
            localized.as_str()
        } else {
            name
        };
        self.registry
            .render(page, &Value::Object(ctx))
            .map_err(|e| anyhow!("Failed to render {page}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates() -> Templates {
        Templates::new(None, &["zh-TW".into(), "en".into()]).unwrap()
    }

    #[test]
    fn language_is_picked_from_candidates_in_order() {
        let t = templates();
        assert_eq!(t.pick_lang(["fr", "en-US"]), "en");
        assert_eq!(t.pick_lang(["zh-Hant-TW"]), "zh-TW");
        assert_eq!(t.pick_lang(["fr"]), "zh-TW");
    }

    #[test]
    fn pages_escape_html_and_speak_the_language() {
        let t = templates();
        let html = t
            .render(
                "error",
                "zh-TW",
                json!({"title": "x", "description": "<script>", "code": "invalid_request"}),
            )
            .unwrap();
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("發生錯誤"));
        let en = t
            .render("error", "en", json!({"description": "d", "code": "c"}))
            .unwrap();
        assert!(en.contains("Something went wrong"));
    }

    #[test]
    fn a_page_written_per_language_is_used_for_its_language() {
        let t = templates();
        let en = t.render("terms", "en", json!({})).unwrap();
        assert!(en.contains("the Insurer") && en.contains("<html lang=\"en\">"));
        let zh = t.render("terms", "zh-TW", json!({})).unwrap();
        assert!(zh.contains("全民健康保險保險人（以下稱保險人）"));
    }

    #[test]
    fn an_operators_page_replaces_the_built_in_translations_of_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("terms.hbs"), "operator terms {{lang}}").unwrap();
        let t = Templates::new(Some(dir.path()), &["zh-TW".into(), "en".into()]).unwrap();
        assert_eq!(
            t.render("terms", "en", json!({})).unwrap(),
            "operator terms en"
        );
        std::fs::write(dir.path().join("terms.en.hbs"), "operator terms in English").unwrap();
        let t = Templates::new(Some(dir.path()), &["zh-TW".into(), "en".into()]).unwrap();
        assert_eq!(
            t.render("terms", "en", json!({})).unwrap(),
            "operator terms in English"
        );
        assert_eq!(
            t.render("terms", "zh-TW", json!({})).unwrap(),
            "operator terms zh-TW"
        );
    }

    #[test]
    fn mails_are_written_in_both_languages() {
        let t = templates();
        let data = json!({ "name": "王小明", "link": "https://idp/x?t=a&b", "days": "5", "minutes": "30",
                           "html": { "name": "王小明", "link": "https://idp/x?t=a&amp;b" } });
        for mail in ["confirm", "reset", "email"] {
            for part in ["text", "html"] {
                let zh = t
                    .render(&format!("mail/{mail}_{part}"), "zh-TW", data.clone())
                    .unwrap();
                let en = t
                    .render(&format!("mail/{mail}_{part}"), "en", data.clone())
                    .unwrap();
                for (lang, body) in [("zh-TW", &zh), ("en", &en)] {
                    assert!(body.contains("https://idp/x?t=a"), "{mail} {part} {lang}");
                    assert!(!body.contains("{{"), "{mail} {part} {lang}");
                }
                assert!(zh.contains("健保卡"), "{mail} {part}");
                let english: String = en.replace("王小明", "");
                assert!(
                    !english
                        .chars()
                        .any(|c| ('\u{3000}'..='\u{9fff}').contains(&c)),
                    "{mail} {part}: {en}"
                );
            }
            assert_ne!(t.text("en", &format!("mail_{mail}_subject"), &[]), "");
        }
        let text = t.render("mail/confirm_text", "zh-TW", data).unwrap();
        assert!(text.starts_with("親愛的 王小明 您好：\n\n您申請「健保卡網路服務註冊」已審核完成"));
        assert!(text.contains("如您未於5日內完成健保卡註冊認證程序"));
    }

    #[test]
    fn every_language_has_every_text() {
        let t = templates();
        let keys = |lang: &str| -> Vec<String> {
            t.dictionaries
                .get(lang)
                .and_then(Value::as_object)
                .map(|d| d.keys().cloned().collect())
                .unwrap_or_default()
        };
        let (zh, en) = (keys("zh-TW"), keys("en"));
        assert!(zh.len() > 200, "{}", zh.len());
        let only_zh: Vec<_> = zh.iter().filter(|k| !en.contains(k)).collect();
        let only_en: Vec<_> = en.iter().filter(|k| !zh.contains(k)).collect();
        assert!(only_zh.is_empty(), "missing in en: {only_zh:?}");
        assert!(only_en.is_empty(), "missing in zh-TW: {only_en:?}");
    }

    #[test]
    fn placeholders_are_filled() {
        let t = templates();
        assert_eq!(
            t.text("en", "login_intro", &[("client", "eCPA")]),
            "eCPA asks you to sign in."
        );
    }
}
