//! The portal's two languages: zh-TW (the default, as the guide) and English. Every text
//! of the pages is a key of the dictionaries (`i18n/zh-TW.json`, `i18n/en.json`), shown
//! in a page as `t.key`; a long page (the instructions) is written once per language.
//! The choice is made with the switch on every page (`?lang=`) and kept in a cookie.

use std::sync::LazyLock;

use serde_json::Value;

/// A language of the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    ZhTw,
    En,
}

impl Lang {
    /// The BCP 47 tag (`lang` attribute, `ui_locales`, the cookie's value).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhTw => "zh-TW",
            Lang::En => "en",
        }
    }

    /// `zh-TW`, `zh`, `zh-Hant…` → zh-TW; `en`, `en-…` → English; anything else: none.
    pub fn parse(value: &str) -> Option<Lang> {
        let v = value.trim().to_ascii_lowercase();
        if v == "zh" || v.starts_with("zh-") {
            Some(Lang::ZhTw)
        } else if v == "en" || v.starts_with("en-") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The language the switch offers.
    pub fn other(self) -> Lang {
        match self {
            Lang::ZhTw => Lang::En,
            Lang::En => Lang::ZhTw,
        }
    }

    fn dictionary(self) -> &'static Value {
        match self {
            Lang::ZhTw => &ZH_TW,
            Lang::En => &EN,
        }
    }

    /// The whole dictionary, for a page's `t`.
    pub fn texts(self) -> &'static Value {
        self.dictionary()
    }

    /// One text; a missing key shows as the key (and fails the dictionary test).
    pub fn text(self, key: &str) -> String {
        self.dictionary()
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or(key)
            .to_string()
    }
}

fn load(source: &str) -> Value {
    serde_json::from_str(source).unwrap_or_else(|e| {
        tracing::error!(error = %e, "a dictionary of the portal is not JSON");
        Value::Object(serde_json::Map::new())
    })
}

static ZH_TW: LazyLock<Value> = LazyLock::new(|| load(include_str!("../i18n/zh-TW.json")));
static EN: LazyLock<Value> = LazyLock::new(|| load(include_str!("../i18n/en.json")));

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(lang: Lang) -> Vec<String> {
        lang.texts()
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap()
    }

    #[test]
    fn both_languages_have_every_text() {
        let (zh, en) = (keys(Lang::ZhTw), keys(Lang::En));
        assert!(zh.len() > 50, "{}", zh.len());
        let only_zh: Vec<_> = zh.iter().filter(|k| !en.contains(k)).collect();
        let only_en: Vec<_> = en.iter().filter(|k| !zh.contains(k)).collect();
        assert!(only_zh.is_empty(), "missing in en: {only_zh:?}");
        assert!(only_en.is_empty(), "missing in zh-TW: {only_en:?}");
    }

    #[test]
    fn english_texts_are_english() {
        let en = Lang::En.texts().as_object().unwrap();
        for (key, value) in en {
            let text = value.as_str().unwrap();
            // The switch names the other language in its own words.
            if key == "other_lang_name" {
                continue;
            }
            assert!(
                !text.chars().any(|c| ('\u{3000}'..='\u{9fff}').contains(&c)
                    || ('\u{ff00}'..='\u{ffef}').contains(&c)),
                "{key}: {text}"
            );
        }
    }

    #[test]
    fn tags_parse_back() {
        for lang in [Lang::ZhTw, Lang::En] {
            assert_eq!(Lang::parse(lang.tag()), Some(lang));
        }
        assert_eq!(Lang::parse("zh-Hant-TW"), Some(Lang::ZhTw));
        assert_eq!(Lang::parse("en-US"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::ZhTw.other(), Lang::En);
    }
}
