//! The pages as rendered: the login box, 應用系統 with grey systems, the instructions
//! and its links to Cardinal, in both languages.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ecpa_portal::claims::acr;
use ecpa_portal::i18n::Lang;
use ecpa_portal::sessions::Session;
use ecpa_portal::verify::Identity;
use ecpa_portal::views::{AppsPage, GuidePage, HomePage, Pages, Site};
use ecpa_portal::{PortalConfig, PortalKind};
use url::Url;

fn config() -> PortalConfig {
    PortalConfig {
        issuer: Url::parse("http://127.0.0.1:8080").unwrap(),
        client_id: "ecpa".into(),
        client_secret: None,
        public_url: Url::parse("http://127.0.0.1:8081/").unwrap(),
        title: String::new(),
        kind: PortalKind::Ecpa,
        webhr_url: Some(Url::parse("http://127.0.0.1:8082/").unwrap()),
        ecpa_url: None,
        help_url: None,
        register_url: None,
        manual_url: None,
    }
}

fn site(lang: Lang) -> Site {
    Site::new(&config(), lang, format!("/?lang={}", lang.other().tag()))
}

fn session(acr_value: &str) -> Session {
    Session {
        identity: Identity {
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

fn render<T: serde::Serialize>(name: &str, lang: Lang, page: &T) -> String {
    Pages::new().unwrap().render(name, lang, page).unwrap()
}

fn apps(acr_value: &str, lang: Lang) -> String {
    let page = AppsPage::new(site(lang), &session(acr_value), None, lang);
    render("apps", lang, &page)
}

#[test]
fn a_card_sign_in_shows_grey_systems_as_text_with_the_reason_and_a_step_up_link() {
    let html = apps(acr::CARD, Lang::ZhTw);

    assert!(html.contains("現在位置：<a href=\"/\">首頁</a> &gt; 我的專區 &gt; 應用系統"));
    // The grey system is not a link: no href, not focusable, the reason in words.
    assert!(
        html.contains(r#"<span id="app-B5" class="greyed">B5:公務人員個人資料校對網站</span> <span class="greyed-reason">（需使用自然人憑證登入）</span>"#),
        "{html}"
    );
    assert!(
        !html.contains("aria-disabled"),
        "no link pretends to be disabled"
    );
    assert!(!html.contains(r#"<a id="app-B5""#));
    // A real link signs in again and names the system it opens.
    assert!(html.contains(r#"<a id="app-B5-stepup" class="stepup" href="/step-up?target=B5">以自然人憑證登入後開啟<span class="sr-only"> B5:公務人員個人資料校對網站</span></a>"#));
    assert!(html.contains(r#"id="stepup-note""#));
    assert!(html.contains("上述反灰的連結請使用自然人憑證登入才可使用"));
    assert!(html.contains(r#"<a id="app-A1" href="/apps/A1">A1:人事資料報送 (連結)</a>"#));
    assert!(html.contains(r#"id="webhr-link" href="http://127.0.0.1:8082/login?lang=zh-TW""#));
    assert!(html.contains(r#"id="acr" class="token">urn:cardinal:acr:card<"#));
    assert!(html.contains("1970-01-01 08:00:00 (UTC+8)"), "Taipei time");
}

#[test]
fn a_citizen_certificate_sign_in_opens_every_system() {
    let html = apps(acr::CITIZEN_CERTIFICATE, Lang::ZhTw);

    assert!(!html.contains("class=\"greyed\""));
    assert!(!html.contains(r#"id="stepup-note""#));
    assert!(html.contains(r#"id="app-B5" href="/apps/B5""#));
    assert!(html.contains("(自然人憑證)"));
}

#[test]
fn the_apps_page_in_english_has_no_chinese_but_the_persons_name() {
    let html = apps(acr::CARD, Lang::En);

    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains("B5:Civil servant personal data check"));
    assert!(html.contains("(needs a sign-in with the citizen certificate)"));
    assert!(html.contains(r#"id="lang-switch" href="/?lang=zh-TW" lang="zh-TW""#));
    let text = html.replace("王小明", "").replace(">中文<", "><");
    let chinese: String = text
        .chars()
        .filter(|c| ('\u{3000}'..='\u{9fff}').contains(c) || ('\u{ff00}'..='\u{ffef}').contains(c))
        .collect();
    assert!(chinese.is_empty(), "{chinese}: {html}");
}

#[test]
fn the_login_box_links_the_instructions_and_the_environment_check_and_can_be_cleared() {
    for lang in [Lang::ZhTw, Lang::En] {
        let page = HomePage {
            site: site(lang),
            page_title: lang.text("title_home"),
            user: None,
            message: None,
            notices: Vec::new(),
        };
        let html = render("home", lang, &page);
        for id in [
            "login-account",
            "login-certificate",
            "login-card",
            "login-clear",
        ] {
            assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(html.contains(r#"<button type="reset" class="secondary" id="login-clear">"#));
        assert!(html.contains(r#"action="/login/certificate""#));
        // 使用健保卡注意事項, 如果您為第一次登入… and 新手上路 open the instructions.
        for id in ["nhi-help", "first-time", "menu-guide"] {
            assert!(
                html.contains(&format!(r#"id="{id}" href="/guide""#)),
                "{id}"
            );
        }
        let tag = lang.tag();
        assert!(html.contains(&format!(
            r#"id="env-check" href="http://127.0.0.1:8080/help/environment?client_id=ecpa&amp;ui_locales={tag}""#
        )));
        assert!(html.contains(&format!(
            r#"id="menu-manual" href="http://127.0.0.1:8080/help/manual?client_id=ecpa&amp;ui_locales={tag}""#
        )));
        assert!(html.contains(r#"href="/login/card""#));
    }
    let zh = render(
        "home",
        Lang::ZhTw,
        &HomePage {
            site: site(Lang::ZhTw),
            page_title: "首頁".into(),
            user: None,
            message: None,
            notices: vec![ecpa_portal::notices::PortalNotice {
                id: "n1".into(),
                text: "3月6日4時將暫停註冊服務，敬請見諒".into(),
                window: Some("（維護時間：2026-03-06 04:00 至 06:00）".into()),
            }],
        },
    );
    // Cardinal's notices (its feed) in 重要訊息, with the window in Taiwan time.
    assert!(zh.contains(
        "<strong>重要訊息：</strong>3月6日4時將暫停註冊服務，敬請見諒（維護時間：2026-03-06 04:00 至 06:00）"
    ));
    assert!(zh.contains("<strong>重要訊息：</strong>本系統之個人資料僅供作必要人事資料管理之用"));
    assert!(zh.contains("如果您為第一次登入或使用上有疑問，請先點選這裡"));
    assert!(zh.contains(">清除</button>"));
}

#[test]
fn the_instructions_follow_the_guide_and_lead_to_the_registration_site() {
    let page = |lang: Lang| GuidePage {
        site: site(lang),
        page_title: lang.text("title_guide"),
        user: None,
    };
    let zh = render("guide", Lang::ZhTw, &page(Lang::ZhTw));
    assert!(zh.contains("使用健保卡登入人事服務網(eCPA)操作說明"));
    assert!(zh.contains(
        r#"id="guide-register" href="http://127.0.0.1:8080/register?client_id=ecpa&amp;ui_locales=zh-TW""#
    ));
    assert!(zh.contains(
        r#"id="guide-environment" href="http://127.0.0.1:8080/help/environment?client_id=ecpa&amp;ui_locales=zh-TW""#
    ));
    assert!(
        zh.contains(r#"id="guide-forgot" href="http://127.0.0.1:8080/register/forgot?client_id=ecpa&amp;ui_locales=zh-TW""#)
    );
    assert!(zh.contains(r#"id="guide-home" href="/""#));
    for words in [
        "首次登入請先申請",
        "我已閱讀完畢，並瞭解相關規定",
        "戶籍鄉鎮里鄰",
        "確認申請",
        "已完成電子信箱認證",
        "修改電子郵件信箱寄送重設註冊密碼信",
        "註冊密碼變更成功，下次使用【健保卡】登入系統請用新的註冊密碼！",
    ] {
        assert!(zh.contains(words), "{words}");
    }
    let en = render("guide", Lang::En, &page(Lang::En));
    assert!(en.contains(r#"<html lang="en">"#));
    assert!(en.contains(
        r#"id="guide-register" href="http://127.0.0.1:8080/register?client_id=ecpa&amp;ui_locales=en""#
    ));
    assert!(
        en.contains(r#"id="guide-forgot" href="http://127.0.0.1:8080/register/forgot?client_id=ecpa&amp;ui_locales=en""#)
    );
    assert!(!en.contains("首次登入"));
}

#[test]
fn a_configured_registration_site_is_linked_instead() {
    let mut c = config();
    c.register_url = Some(Url::parse("https://idp.example.gov.tw/register").unwrap());
    let s = Site::new(&c, Lang::ZhTw, "/?lang=en".into());
    assert_eq!(
        s.register_url,
        "https://idp.example.gov.tw/register?client_id=ecpa&ui_locales=zh-TW"
    );
    assert_eq!(
        s.forgot_url,
        "https://idp.example.gov.tw/register/forgot?client_id=ecpa&ui_locales=zh-TW"
    );
}
