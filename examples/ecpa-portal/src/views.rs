//! The pages: handlebars templates embedded in the binary (so it runs from any directory)
//! and the typed contexts they are rendered with. No logic in the templates beyond
//! `{{#if}}` and `{{#each}}`.

use anyhow::Context;
use chrono::{DateTime, FixedOffset};
use handlebars::Handlebars;
use serde::Serialize;
use serde_json::Value;
use url::Url;

use crate::catalog::{self, App};
use crate::claims::acr;
use crate::config::{PortalConfig, PortalKind};
use crate::i18n::Lang;
use crate::sessions::Session;

const TEMPLATES: &[(&str, &str)] = &[
    ("header", include_str!("../templates/partials/header.hbs")),
    ("footer", include_str!("../templates/partials/footer.hbs")),
    (
        "login_box",
        include_str!("../templates/partials/login_box.hbs"),
    ),
    ("whoami", include_str!("../templates/partials/whoami.hbs")),
    ("my_area", include_str!("../templates/partials/my_area.hbs")),
    (
        "guide_menu",
        include_str!("../templates/partials/guide_menu.hbs"),
    ),
    (
        "app_link",
        include_str!("../templates/partials/app_link.hbs"),
    ),
    (
        "cardinal_notices",
        include_str!("../templates/partials/cardinal_notices.hbs"),
    ),
    ("home", include_str!("../templates/home.hbs")),
    ("apps", include_str!("../templates/apps.hbs")),
    ("app", include_str!("../templates/app.hbs")),
    ("webhr", include_str!("../templates/webhr.hbs")),
    ("error", include_str!("../templates/error.hbs")),
    ("guide.zh-TW", include_str!("../templates/guide.zh-TW.hbs")),
    ("guide.en", include_str!("../templates/guide.en.hbs")),
];

/// The stylesheet, served at `/static/portal.css`.
pub const STYLESHEET: &str = include_str!("../static/portal.css");

/// Taiwan time, for showing `auth_time`.
const TAIPEI_OFFSET_SECS: i32 = 8 * 60 * 60;

#[derive(Debug)]
pub struct Pages {
    registry: Handlebars<'static>,
}

impl Pages {
    pub fn new() -> anyhow::Result<Pages> {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(escape);
        for (name, source) in TEMPLATES {
            registry
                .register_template_string(name, *source)
                .with_context(|| format!("template {name} does not compile"))?;
        }
        Ok(Pages { registry })
    }

    /// Renders page `name` in `lang`: the context plus `t` (the dictionary). A page
    /// written per language (`guide.en`) is used for its language.
    pub fn render<T: Serialize>(
        &self,
        name: &str,
        lang: Lang,
        context: &T,
    ) -> anyhow::Result<String> {
        let mut data = serde_json::to_value(context).context("page data")?;
        if let Value::Object(map) = &mut data {
            map.insert("t".into(), lang.texts().clone());
        }
        let localized = format!("{name}.{}", lang.tag());
        let page = if self.registry.has_template(&localized) {
            localized.as_str()
        } else {
            name
        };
        self.registry
            .render(page, &data)
            .with_context(|| format!("Failed to render page {page}"))
    }
}

/// HTML escaping for text and double-quoted attributes (every attribute of the templates
/// is quoted), leaving `=` and `` ` `` readable in addresses.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// What every page shows: the portal's name, its links and the language switch.
#[derive(Debug, Clone, Serialize)]
pub struct Site {
    pub title: String,
    pub kind: &'static str,
    pub ecpa: bool,
    /// Path prefix of every link, ending in `/`.
    pub base: String,
    /// The page's language (`lang` attribute) and the one the switch offers.
    pub lang: &'static str,
    pub other_lang: &'static str,
    /// This page in the other language.
    pub switch_href: String,
    /// 使用健保卡登入人事服務網操作說明 (this portal's `/guide`).
    pub guide_url: String,
    /// Cardinal's pages, in the page's language: 電腦環境說明, 健保卡網路服務註冊,
    /// 忘記註冊密碼, 使用手冊.
    pub help_url: String,
    pub register_url: String,
    pub forgot_url: String,
    pub manual_url: String,
    /// Entry of WebHR (its `/login`, so that single sign-on takes one click).
    pub webhr_url: Option<String>,
    /// eCPA's 應用系統 page, linked from WebHR.
    pub ecpa_url: Option<String>,
}

/// `url` with `lang` in its query (Cardinal's pages and the other portal follow it).
fn with_lang(url: &Url, lang: Lang) -> String {
    with_param(url, "lang", lang)
}

/// `url` with the query parameter `name` set to `lang`'s tag.
fn with_param(url: &Url, name: &str, lang: Lang) -> String {
    let mut u = url.clone();
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    u.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair(name, lang.tag());
    u.to_string()
}

/// `path` below `url`'s path (`url` taken as a directory).
fn below(url: &Url, path: &str) -> Option<Url> {
    let mut base = url.clone();
    if !base.path().ends_with('/') {
        let p = format!("{}/", base.path());
        base.set_path(&p);
    }
    base.set_query(None);
    base.join(path).ok()
}

impl Site {
    /// The site in `lang`; `switch_href` is this page in the other language.
    pub fn new(config: &PortalConfig, lang: Lang, switch_href: String) -> Site {
        // Links into Cardinal's registration and help pages name this portal (`client_id`),
        // so that the page that ends a task there leads back here.
        let named = |url: Url| {
            let mut url = url;
            if !url.query_pairs().any(|(k, _)| k == "client_id") {
                url.query_pairs_mut()
                    .append_pair("client_id", &config.client_id);
            }
            url
        };
        // The portal's language goes to Cardinal as a hint (`ui_locales`), not as the
        // person's choice (`lang`): a language chosen on Cardinal's own switch stays.
        let cardinal = |configured: &Option<Url>, default: &str| {
            let url = configured
                .clone()
                .or_else(|| config.issuer.join(default).ok())
                .unwrap_or_else(|| config.issuer.clone());
            (with_param(&named(url.clone()), "ui_locales", lang), url)
        };
        let (help_url, _) = cardinal(&config.help_url, "/help/environment");
        let (register_url, register) = cardinal(&config.register_url, "/register");
        let (manual_url, _) = cardinal(&config.manual_url, "/help/manual");
        let forgot_url = below(&register, "forgot")
            .map(|u| with_param(&named(u), "ui_locales", lang))
            .unwrap_or_else(|| register_url.clone());
        let base = config.base_url().path().to_string();
        Site {
            title: config.title_in(lang),
            kind: config.kind.slug(),
            ecpa: config.kind == PortalKind::Ecpa,
            guide_url: format!("{base}guide"),
            base,
            lang: lang.tag(),
            other_lang: lang.other().tag(),
            switch_href,
            help_url,
            register_url,
            forgot_url,
            manual_url,
            webhr_url: config
                .webhr_url
                .as_ref()
                .and_then(|u| below(u, "login"))
                .map(|u| with_lang(&u, lang)),
            ecpa_url: config
                .ecpa_url
                .as_ref()
                .and_then(|u| below(u, "apps"))
                .map(|u| with_lang(&u, lang)),
        }
    }
}

/// 個人資料 of the signed-in user, masked where it identifies a person.
#[derive(Debug, Clone, Serialize)]
pub struct WhoAmI {
    pub name: String,
    /// 健保卡 / 自然人憑證 / 行動裝置.
    pub label: String,
    pub citizen_certificate: bool,
    pub acr: String,
    pub amr: String,
    pub auth_time: String,
    pub sub: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub csrf: String,
}

impl WhoAmI {
    pub fn of(session: &Session, lang: Lang) -> WhoAmI {
        let id = &session.identity;
        let acr_value = id.acr.clone().unwrap_or_default();
        let missing = || lang.text("not_provided");
        WhoAmI {
            name: id
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| lang.text("no_name")),
            label: lang.text(acr::label_key(&acr_value)),
            citizen_certificate: acr::is_citizen_certificate(id.acr.as_deref()),
            acr: if acr_value.is_empty() {
                missing()
            } else {
                acr_value
            },
            amr: if id.amr.is_empty() {
                missing()
            } else {
                id.amr.join(" ")
            },
            auth_time: id.auth_time.map(format_taipei).unwrap_or_else(missing),
            sub: mask_middle(&id.sub),
            email: id.email.as_deref().map(mask_email),
            phone: id.phone_number.as_deref().map(mask_middle),
            csrf: session.csrf.clone(),
        }
    }
}

/// `2025-03-06 04:00:00 (UTC+8)`: every time the portal shows is Taiwan time, the zone
/// named (the same in both languages).
pub fn format_taipei(unix: i64) -> String {
    let offset = FixedOffset::east_opt(TAIPEI_OFFSET_SECS);
    match (DateTime::from_timestamp(unix, 0), offset) {
        (Some(t), Some(o)) => t
            .with_timezone(&o)
            .format("%Y-%m-%d %H:%M:%S (UTC+8)")
            .to_string(),
        _ => unix.to_string(),
    }
}

/// Keeps the first and last three characters (`A12****789` style).
pub fn mask_middle(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    if n <= 4 {
        return "*".repeat(n.max(4));
    }
    let keep = if n >= 9 { 3 } else { 1 };
    let head: String = chars.iter().take(keep).collect();
    let tail: String = chars.iter().skip(n - keep).collect();
    format!("{head}{}{tail}", "*".repeat(n - 2 * keep))
}

/// Keeps two characters of the mailbox name and the whole domain.
pub fn mask_email(value: &str) -> String {
    match value.split_once('@') {
        Some((local, domain)) => {
            let head: String = local.chars().take(2).collect();
            format!("{head}***@{domain}")
        }
        None => mask_middle(value),
    }
}

/// One system of 應用系統: a link, or — when it needs the citizen certificate and the
/// session does not have it — grey text that says why, with a separate link that signs
/// in again with the citizen certificate and then opens the system.
#[derive(Debug, Clone, Serialize)]
pub struct AppLink {
    pub element_id: String,
    pub code: String,
    pub name: String,
    /// The system (`apps/B5`), or for a grey one the step-up (`step-up?target=B5`).
    pub href: String,
    pub greyed: bool,
    /// `(連結)`, or why the system is grey.
    pub note: String,
    /// The step-up link's text (grey systems).
    pub stepup_label: String,
}

impl AppLink {
    pub fn new(
        app: &App,
        base: &str,
        citizen_certificate: bool,
        id_prefix: &str,
        lang: Lang,
    ) -> AppLink {
        let greyed = app.needs_citizen_certificate && !citizen_certificate;
        AppLink {
            element_id: format!("{id_prefix}{}", app.code),
            code: app.code.into(),
            name: app.name_in(lang).into(),
            href: if greyed {
                format!("{base}step-up?target={}", app.code)
            } else {
                format!("{base}apps/{}", app.code)
            },
            greyed,
            note: lang.text(if greyed { "greyed_reason" } else { "link" }),
            stepup_label: lang.text("stepup_open"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AppGroup {
    pub id: &'static str,
    pub title: &'static str,
    pub apps: Vec<AppLink>,
    /// The WebHR link goes into 非人事總處機關及系統.
    pub webhr_url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct HomePage {
    pub site: Site,
    pub page_title: String,
    pub user: Option<WhoAmI>,
    pub message: Option<String>,
    /// 重要訊息 published by Cardinal (`crate::notices`).
    pub notices: Vec<crate::notices::PortalNotice>,
}

#[derive(Debug, Serialize)]
pub struct AppsPage {
    pub site: Site,
    pub page_title: String,
    pub user: WhoAmI,
    pub favourites: Vec<AppLink>,
    pub groups: Vec<AppGroup>,
    pub show_stepup_note: bool,
    /// The last sign-in asked for the citizen certificate and did not get it.
    pub stepup_unmet: bool,
    pub message: Option<String>,
}

impl AppsPage {
    pub fn new(site: Site, session: &Session, message: Option<String>, lang: Lang) -> AppsPage {
        let user = WhoAmI::of(session, lang);
        let cc = user.citizen_certificate;
        let base = site.base.clone();
        let favourites = catalog::FAVOURITES
            .iter()
            .filter_map(|code| catalog::find(code))
            .map(|a| AppLink::new(a, &base, cc, "fav-", lang))
            .collect();
        let groups: Vec<AppGroup> = catalog::GROUPS
            .iter()
            .map(|g| AppGroup {
                id: g.id,
                title: g.title_in(lang),
                apps: g
                    .apps
                    .iter()
                    .map(|a| AppLink::new(a, &base, cc, "app-", lang))
                    .collect(),
                webhr_url: (g.id == "X").then(|| site.webhr_url.clone()).flatten(),
            })
            .collect();
        let show_stepup_note = groups.iter().flat_map(|g| &g.apps).any(|a| a.greyed);
        AppsPage {
            page_title: lang.text("title_apps"),
            favourites,
            groups,
            show_stepup_note,
            stepup_unmet: session.unmet_acr.is_some() && !cc,
            message,
            user,
            site,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AppPage {
    pub site: Site,
    pub page_title: String,
    pub user: WhoAmI,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct WebHrPage {
    pub site: Site,
    pub page_title: String,
    pub user: Option<WhoAmI>,
    pub message: Option<String>,
}

/// 使用健保卡登入人事服務網操作說明 (written per language).
#[derive(Debug, Serialize)]
pub struct GuidePage {
    pub site: Site,
    pub page_title: String,
    pub user: Option<WhoAmI>,
}

#[derive(Debug, Serialize)]
pub struct ErrorPage {
    pub site: Site,
    pub page_title: String,
    pub heading: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_the_ends() {
        assert_eq!(mask_middle("A123456789"), "A12****789");
        assert_eq!(mask_middle("+886912345678"), "+88*******678");
        assert_eq!(mask_middle("abc"), "****");
        assert_eq!(
            mask_email("dop-a@mail.taipei.gov.tw"),
            "do***@mail.taipei.gov.tw"
        );
    }

    #[test]
    fn auth_time_is_shown_in_taiwan_time() {
        assert_eq!(format_taipei(0), "1970-01-01 08:00:00 (UTC+8)");
    }

    #[test]
    fn every_template_compiles() {
        Pages::new().unwrap();
    }

    #[test]
    fn text_is_escaped_for_html() {
        assert_eq!(
            escape(r#"<a href="x?a=1&b='2'">"#),
            "&lt;a href=&quot;x?a=1&amp;b=&#x27;2&#x27;&quot;&gt;"
        );
    }

    #[test]
    fn the_stylesheet_never_cuts_words() {
        assert!(!STYLESHEET.contains("break-all"));
    }
}
