//! The pages: handlebars templates embedded in the binary (so it runs from any directory)
//! and the typed contexts they are rendered with. No logic in the templates beyond
//! `{{#if}}` and `{{#each}}`.

use anyhow::Context;
use chrono::{DateTime, FixedOffset};
use handlebars::Handlebars;
use serde::Serialize;

use crate::catalog::{self, App};
use crate::claims::acr;
use crate::config::{PortalConfig, PortalKind};
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
        for (name, source) in TEMPLATES {
            registry
                .register_template_string(name, *source)
                .with_context(|| format!("template {name} does not compile"))?;
        }
        Ok(Pages { registry })
    }

    pub fn render<T: Serialize>(&self, name: &str, context: &T) -> anyhow::Result<String> {
        self.registry
            .render(name, context)
            .with_context(|| format!("Failed to render page {name}"))
    }
}

/// What every page shows: the portal's name and links.
#[derive(Debug, Clone, Serialize)]
pub struct Site {
    pub title: String,
    pub kind: &'static str,
    pub ecpa: bool,
    /// Path prefix of every link, ending in `/`.
    pub base: String,
    pub help_url: Option<String>,
    /// Entry of WebHR (its `/login`, so that single sign-on takes one click).
    pub webhr_url: Option<String>,
    /// eCPA's 應用系統 page, linked from WebHR.
    pub ecpa_url: Option<String>,
}

impl Site {
    pub fn new(config: &PortalConfig) -> Site {
        let join = |u: &url::Url, path: &str| {
            let mut base = u.clone();
            if !base.path().ends_with('/') {
                let p = format!("{}/", base.path());
                base.set_path(&p);
            }
            base.join(path).map(|j| j.to_string()).ok()
        };
        Site {
            title: config.effective_title(),
            kind: config.kind.slug(),
            ecpa: config.kind == PortalKind::Ecpa,
            base: config.base_url().path().to_string(),
            help_url: config.help_url.as_ref().map(url::Url::to_string),
            webhr_url: config.webhr_url.as_ref().and_then(|u| join(u, "login")),
            ecpa_url: config.ecpa_url.as_ref().and_then(|u| join(u, "apps")),
        }
    }
}

/// 個人資料 of the signed-in user, masked where it identifies a person.
#[derive(Debug, Clone, Serialize)]
pub struct WhoAmI {
    pub name: String,
    /// 健保卡 / 自然人憑證 / 行動裝置.
    pub label: &'static str,
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
    pub fn of(session: &Session) -> WhoAmI {
        let id = &session.identity;
        let acr_value = id.acr.clone().unwrap_or_default();
        WhoAmI {
            name: id
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "（未提供姓名）".into()),
            label: acr::label(&acr_value),
            citizen_certificate: acr::is_citizen_certificate(id.acr.as_deref()),
            acr: if acr_value.is_empty() {
                "（未提供）".into()
            } else {
                acr_value
            },
            amr: if id.amr.is_empty() {
                "（未提供）".into()
            } else {
                id.amr.join(" ")
            },
            auth_time: id
                .auth_time
                .map(format_taipei)
                .unwrap_or_else(|| "（未提供）".into()),
            sub: mask_middle(&id.sub),
            email: id.email.as_deref().map(mask_email),
            phone: id.phone_number.as_deref().map(mask_middle),
            csrf: session.csrf.clone(),
        }
    }
}

/// `2025-03-06 04:00:00 (UTC+8)`.
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

/// One link of 應用系統.
#[derive(Debug, Clone, Serialize)]
pub struct AppLink {
    pub element_id: String,
    pub code: String,
    pub name: String,
    pub href: String,
    /// Needs the citizen certificate and the session does not have it: shown grey, the
    /// link starts the step-up.
    pub greyed: bool,
}

impl AppLink {
    pub fn new(app: &App, base: &str, citizen_certificate: bool, id_prefix: &str) -> AppLink {
        let greyed = app.needs_citizen_certificate && !citizen_certificate;
        AppLink {
            element_id: format!("{id_prefix}{}", app.code),
            code: app.code.into(),
            name: app.name.into(),
            href: if greyed {
                format!("{base}step-up?target={}", app.code)
            } else {
                format!("{base}apps/{}", app.code)
            },
            greyed,
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
    pub page_title: &'static str,
    pub user: Option<WhoAmI>,
    pub message: Option<String>,
    /// 重要訊息 published by Cardinal (`crate::notices`).
    pub notices: Vec<crate::notices::PortalNotice>,
}

#[derive(Debug, Serialize)]
pub struct AppsPage {
    pub site: Site,
    pub page_title: &'static str,
    pub user: WhoAmI,
    pub favourites: Vec<AppLink>,
    pub groups: Vec<AppGroup>,
    pub show_stepup_note: bool,
    /// The last sign-in asked for the citizen certificate and did not get it.
    pub stepup_unmet: bool,
    pub message: Option<String>,
}

impl AppsPage {
    pub fn new(site: Site, session: &Session, message: Option<String>) -> AppsPage {
        let user = WhoAmI::of(session);
        let cc = user.citizen_certificate;
        let base = site.base.clone();
        let favourites = catalog::FAVOURITES
            .iter()
            .filter_map(|code| catalog::find(code))
            .map(|a| AppLink::new(a, &base, cc, "fav-"))
            .collect();
        let groups: Vec<AppGroup> = catalog::GROUPS
            .iter()
            .map(|g| AppGroup {
                id: g.id,
                title: g.title,
                apps: g
                    .apps
                    .iter()
                    .map(|a| AppLink::new(a, &base, cc, "app-"))
                    .collect(),
                webhr_url: (g.id == "X").then(|| site.webhr_url.clone()).flatten(),
            })
            .collect();
        let show_stepup_note = groups.iter().flat_map(|g| &g.apps).any(|a| a.greyed);
        AppsPage {
            page_title: "應用系統",
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
    pub page_title: &'static str,
    pub user: Option<WhoAmI>,
    pub message: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ErrorPage {
    pub site: Site,
    pub page_title: &'static str,
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

    fn config() -> PortalConfig {
        PortalConfig {
            issuer: url::Url::parse("http://127.0.0.1:8080").unwrap(),
            client_id: "ecpa".into(),
            client_secret: None,
            public_url: url::Url::parse("http://127.0.0.1:8081/").unwrap(),
            title: String::new(),
            kind: PortalKind::Ecpa,
            webhr_url: Some(url::Url::parse("http://127.0.0.1:8082/").unwrap()),
            ecpa_url: None,
            help_url: Some(url::Url::parse("http://127.0.0.1:8080/help/environment").unwrap()),
        }
    }

    fn session(acr_value: &str) -> Session {
        Session {
            identity: crate::verify::Identity {
                sub: "person-1".into(),
                sid: Some("sid-1".into()),
                acr: Some(acr_value.into()),
                amr: vec!["hwk".into(), "pwd".into()],
                auth_time: Some(0),
                name: Some("王小明".into()),
                email: None,
                phone_number: None,
                issued_at: 0,
                expires_at: 600,
            },
            id_token: "x.y.z".into(),
            access_token: "at".into(),
            refresh_token: None,
            nonce: None,
            csrf: "csrf-token".into(),
            unmet_acr: None,
            created_at: 0,
            expires_at: 600,
        }
    }

    #[test]
    fn card_sign_in_greys_the_citizen_certificate_links_and_says_why() {
        let page = AppsPage::new(Site::new(&config()), &session(acr::CARD), None);
        let html = Pages::new().unwrap().render("apps", &page).unwrap();

        assert!(html.contains("現在位置：<a href=\"/\">首頁</a> &gt; 我的專區 &gt; 應用系統"));
        assert!(html.contains(r#"id="app-B5" class="greyed" aria-disabled="true""#));
        assert!(html.contains("/step-up?target"));
        assert!(html.contains(r#"id="stepup-note""#));
        assert!(html.contains("上述反灰的連結請使用自然人憑證登入才可使用"));
        assert!(html.contains(r#"id="app-A1" href="/apps/A1""#));
        assert!(html.contains(r#"id="webhr-link" href="http://127.0.0.1:8082/login""#));
        assert!(html.contains(r#"id="acr">urn:cardinal:acr:card<"#));
    }

    #[test]
    fn citizen_certificate_sign_in_enables_every_link() {
        let page = AppsPage::new(
            Site::new(&config()),
            &session(acr::CITIZEN_CERTIFICATE),
            None,
        );
        let html = Pages::new().unwrap().render("apps", &page).unwrap();

        assert!(!html.contains("class=\"greyed\""));
        assert!(!html.contains(r#"id="stepup-note""#));
        assert!(html.contains(r#"id="app-B5" href="/apps/B5""#));
        assert!(html.contains("(自然人憑證)"));
    }

    #[test]
    fn home_shows_the_notice_and_the_three_login_boxes() {
        let page = HomePage {
            site: Site::new(&config()),
            page_title: "首頁",
            user: None,
            message: None,
            notices: vec![crate::notices::PortalNotice {
                id: "n1".into(),
                text: "3月6日4時將暫停註冊服務，敬請見諒".into(),
                window: Some("維護時間：2026-03-06 04:00 至 06:00".into()),
            }],
        };
        let html = Pages::new().unwrap().render("home", &page).unwrap();
        assert!(html.contains(
            "<strong>重要訊息：</strong>3月6日4時將暫停註冊服務，敬請見諒（維護時間：2026-03-06 04:00 至 06:00）"
        ));

        assert!(
            html.contains("<strong>重要訊息：</strong>本系統之個人資料僅供作必要人事資料管理之用")
        );
        for id in ["login-account", "login-citizen", "login-card", "nhi-help"] {
            assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(html.contains("使用健保卡注意事項"));
        assert!(html.contains(r#"href="/login/card""#));
    }
}
