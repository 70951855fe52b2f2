//! Handlebars pages in zh-TW (default) and English. Built once at startup; a configured
//! `templates_dir` may override any page (e.g. the terms an operator must publish).

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
    ("terms", include_str!("../templates/terms.hbs")),
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
];

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
        for (name, source) in BUILT_IN {
            let text = match override_dir.map(|d| d.join(format!("{name}.hbs"))) {
                Some(path) if path.exists() => std::fs::read_to_string(&path)
                    .with_context(|| format!("Failed to read template {}", path.display()))?,
                _ => (*source).to_string(),
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
        self.registry
            .render(name, &Value::Object(ctx))
            .map_err(|e| anyhow!("Failed to render {name}: {e}"))
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
    fn placeholders_are_filled() {
        let t = templates();
        assert_eq!(
            t.text("en", "login_intro", &[("client", "eCPA")]),
            "eCPA asks you to sign in."
        );
    }
}
