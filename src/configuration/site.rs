//! The registration site's links to other services (健康存摺, 個人健保資料, 網路服務作業).

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use url::Url;

/// The registration site (docs/requirements.md R-REG-1).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SiteSettings {
    /// Links to related services shown under the help area of the registration home and on
    /// the help center (the guide: 健康存摺, 個人健保資料, 網路服務作業). None by default:
    /// which services a deployment points to, and their addresses, are the operator's.
    pub related_links: Vec<RelatedLink>,
}

/// One related service: its address and its name per language (`zh-TW`, `en`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelatedLink {
    pub url: String,
    pub label: BTreeMap<String, String>,
}

impl RelatedLink {
    /// The name in `lang`, else in zh-TW, else the first one given.
    pub fn label_in(&self, lang: &str) -> &str {
        self.label
            .get(lang)
            .or_else(|| self.label.get("zh-TW"))
            .or_else(|| self.label.values().next())
            .map_or("", String::as_str)
    }
}

impl SiteSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        for (i, link) in self.related_links.iter().enumerate() {
            let at = format!("site.related_links[{i}]");
            let url = Url::parse(&link.url)
                .with_context(|| format!("{at}.url {:?} is not an absolute URL", link.url))?;
            if !matches!(url.scheme(), "https" | "http") {
                bail!("{at}.url must be an https:// (or http://) address");
            }
            if link.label.is_empty() {
                bail!("{at}.label needs the service's name, e.g. label = {{ \"zh-TW\" = \"健康存摺\", en = \"My Health Bank\" }}");
            }
            if let Some((lang, _)) = link.label.iter().find(|(_, v)| v.trim().is_empty()) {
                bail!("{at}.label.{lang} is empty: give the service's name");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(url: &str, labels: &[(&str, &str)]) -> RelatedLink {
        RelatedLink {
            url: url.into(),
            label: labels
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        }
    }

    #[test]
    fn related_links_need_a_web_address_and_a_name() {
        let ok = link(
            "https://myhealthbank.nhi.gov.tw/",
            &[("zh-TW", "健康存摺"), ("en", "My Health Bank")],
        );
        let settings = |l: RelatedLink| SiteSettings {
            related_links: vec![l],
        };
        assert!(settings(ok.clone()).validate().is_ok());
        let e = settings(link("javascript:alert(1)", &[("zh-TW", "x")]))
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("https://"), "{e}");
        let e = settings(link("/relative", &[("zh-TW", "x")]))
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("absolute URL"), "{e}");
        let e = settings(link("https://x.example", &[]))
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("label"), "{e}");
        let e = settings(link("https://x.example", &[("en", " ")]))
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("label.en"), "{e}");
        assert_eq!(ok.label_in("en"), "My Health Bank");
        assert_eq!(ok.label_in("fr"), "健康存摺");
    }
}
