//! The help center (`/help`): every page in zh-TW and English with its language switch and
//! the configured numbers; a section of 讀取健保卡發生錯誤說明 per card error code, linked
//! from every card error a page shows; the manual's pictures served; the related-service
//! links an operator configures; pages an operator's `templates_dir` replaces.

use cardinal::configuration::RelatedLink;
use cardinal::routes::help::CARD_ERROR_CODES;

use crate::card::Issuers;
use crate::card_login::{card_app, register, start, submit, PASSWORD};
use crate::helpers::*;
use crate::register::{card_form_post, import_demo_registry};

const HELP_PAGES: &[(&str, &str, &str)] = &[
    (
        "/help",
        "健保卡網路服務註冊－說明",
        "NHI Card Network Service Registration — Help",
    ),
    (
        "/help/faq",
        "健保卡網路註冊FAQ",
        "NHI card registration FAQ",
    ),
    (
        "/help/card-errors",
        "讀取健保卡發生錯誤說明",
        "Problems reading your NHI card",
    ),
    (
        "/help/manual",
        "健保卡網路服務註冊使用說明",
        "User manual for NHI card network service registration",
    ),
    ("/help/setup", "環境安裝說明", "Installation guide"),
];

/// Characters of Chinese text (CJK punctuation, ideographs, full-width forms).
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303f}' | '\u{3400}'..='\u{9fff}' | '\u{ff00}'..='\u{ffef}')
}

/// The text between the tags of `html`, without the language switch (which names 繁體中文).
fn text_of(html: &str) -> String {
    let html = html.replace(">繁體中文<", "><");
    let mut text = String::new();
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => text.push(c),
            _ => {}
        }
    }
    text
}

async fn get_page(app: &TestApp, path: &str) -> (u16, String) {
    let r = app.api.get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn every_help_page_answers_in_both_languages_with_a_language_switch() {
    let app = spawn_app().await;
    for (path, zh, en) in HELP_PAGES {
        for (lang, other, title) in [("zh-TW", "en", zh), ("en", "zh-TW", en)] {
            let (status, html) = get_page(&app, &format!("{path}?lang={lang}")).await;
            assert_eq!(status, 200, "{path} {lang}");
            assert!(
                html.contains(&format!("<html lang=\"{lang}\">")),
                "{path}: {html}"
            );
            assert!(
                html.contains(&format!("<h1>{title}</h1>")),
                "{path} {lang}: {html}"
            );
            let switch = format!("id=\"lang-switch\" href=\"{path}?lang&#x3D;{other}\"");
            assert!(
                html.contains(&switch),
                "{path} {lang} has no switch: {html}"
            );
            // Back to the help center (from its pages) and to the registration site's sign-in.
            assert!(
                *path == "/help" || html.contains("href=\"/help\""),
                "{path} {lang}"
            );
            assert!(html.contains("href=\"/register\""), "{path} {lang}");
            if lang == "en" {
                let chinese: String = text_of(&html).chars().filter(|c| is_cjk(*c)).collect();
                assert!(
                    chinese.is_empty(),
                    "Chinese on {path} in English: {chinese}"
                );
            }
        }
    }
    // The help center links every help page, 電腦環境說明 included.
    let (_, index) = get_page(&app, "/help?lang=zh-TW").await;
    for link in [
        "/help/faq",
        "/help/card-errors",
        "/help/environment",
        "/help/setup",
        "/help/manual",
        "/register/terms",
        "/register/forgot",
    ] {
        assert!(
            index.contains(&format!("href=\"{link}\"")),
            "{link}: {index}"
        );
    }
    // The setup page has a part per operating system.
    let (_, setup) = get_page(&app, "/help/setup?lang=zh-TW").await;
    for os in ["windows", "macos", "linux"] {
        assert!(setup.contains(&format!("<section id=\"{os}\"")), "{os}");
    }
    assert!(
        setup.contains(&format!("--allow-origin {}", app.address)),
        "{setup}"
    );
}

#[tokio::test]
async fn the_faq_states_the_configured_rules() {
    let app = spawn_app_with(|s| {
        s.registration.lockout_threshold = 7;
        s.registration.confirm_link_ttl = 2 * 86_400;
        s.registration.reset_link_ttl = 20 * 60;
        s.password.min_length = Some(8);
    })
    .await;
    let (_, zh) = get_page(&app, "/help/faq?lang=zh-TW").await;
    for said in [
        "連續輸入錯誤 7 次",
        "請於 2 日內點選信中的連結",
        "請於 20 分鐘內點選重設註冊密碼信中的連結",
        "長度必需 8-12 碼",
    ] {
        assert!(zh.contains(said), "{said}: {zh}");
    }
    let (_, en) = get_page(&app, "/help/faq?lang=en").await;
    for said in [
        "After 7 wrong registration passwords",
        "Within 2 days",
        "Within 20 minutes",
        "8–12 characters long",
    ] {
        assert!(en.contains(said), "{said}: {en}");
    }
}

#[tokio::test]
async fn the_card_error_page_has_one_section_per_code() {
    let app = spawn_app().await;
    for lang in ["zh-TW", "en"] {
        let (status, html) = get_page(&app, &format!("/help/card-errors?lang={lang}")).await;
        assert_eq!(status, 200);
        for code in CARD_ERROR_CODES {
            assert_eq!(
                html.matches(&format!("<section id=\"{code}\"")).count(),
                1,
                "{lang}: the section of {code}"
            );
        }
    }
}

/// The hidden message lists of a page (`data-code`) and its help label.
fn message_codes(html: &str, list: &str) -> (Vec<String>, Option<String>) {
    let start = html
        .find(&format!("id=\"{list}\""))
        .unwrap_or_else(|| panic!("no #{list}: {html}"));
    let rest = &html[start..];
    let end = rest.find("</ul>").unwrap();
    let ul = &rest[..end];
    let label = ul
        .split("data-help-label=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(str::to_string);
    let codes = ul
        .split("data-code=\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .map(str::to_string)
        .collect();
    (codes, label)
}

#[tokio::test]
async fn every_card_error_a_page_shows_links_to_its_section() {
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    import_demo_registry(&app).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    register(&app, &card, false);
    let rogue = issuers.issue("rogue", "nhi", "000055556666", "冒名者", 365);
    let link = |code: &str| format!("<a href=\"/help/card-errors#{code}\" class=\"error-help\">");

    // Server-rendered: an application's card sign-in page …
    let client = app.add_client(|_| {});
    let (_, challenge) = pkce();
    let interaction = start(&app, &client, &challenge).await;
    let html = submit(&app, &interaction, &rogue, PASSWORD)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-error=\"untrusted_issuer\""), "{html}");
    assert!(html.contains(&link("untrusted_issuer")), "{html}");
    // … and a wrong password is not a card error: no card help there.
    let html = submit(&app, &interaction, &card, "Wrong~pass1")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-error=\"wrong_password\""), "{html}");
    assert!(!html.contains("class=\"error-help\""), "{html}");

    // … and the registration site's forms, in the page's language.
    type Form<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);
    let forms: [Form; 2] = [
        ("/register/resend?lang=en", "resend", &[]),
        (
            "/register/forgot?lang=zh-TW",
            "forgot",
            &[("mode", "registered")],
        ),
    ];
    for (path, purpose, extra) in forms {
        let html = card_form_post(&app, path, purpose, &rogue, extra)
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("data-error=\"untrusted_issuer\""),
            "{path}: {html}"
        );
        assert!(html.contains(&link("untrusted_issuer")), "{path}: {html}");
        let label = if path.ends_with("en") {
            ">Help</a>"
        } else {
            ">說明</a>"
        };
        assert!(html.contains(label), "{path}: {html}");
    }

    // The messages the scripts show (card.js, environment.js) come from the pages' hidden
    // lists: each list carries the link's label, and every error code in it has a section.
    let (_, card_errors) = get_page(&app, "/help/card-errors").await;
    let card_login = app
        .get(&format!("{interaction}/card"))
        .await
        .text()
        .await
        .unwrap();
    let pages = [
        ("/register?lang=en", "card-messages", "Help"),
        ("/register/apply?lang=zh-TW", "card-messages", "說明"),
        ("/help/environment?lang=zh-TW", "env-messages", "說明"),
    ];
    let mut lists = Vec::new();
    for (path, list, label) in pages {
        let (_, html) = get_page(&app, path).await;
        lists.push((path.to_string(), message_codes(&html, list), label));
    }
    lists.push((
        "card sign-in".into(),
        message_codes(&card_login, "card-messages"),
        "說明",
    ));
    let not_errors = [
        "kind_nhi",
        "kind_moica",
        "working",
        "read_ok",
        "env_ok",
        "reader",
        "card_present",
        "card_absent",
        "card_ok",
    ];
    for (page, (codes, help_label), label) in lists {
        assert_eq!(help_label.as_deref(), Some(label), "{page}");
        let errors: Vec<_> = codes
            .iter()
            .filter(|c| !not_errors.contains(&c.as_str()))
            .collect();
        assert!(errors.len() >= 5, "{page}: {codes:?}");
        for code in errors {
            assert!(
                card_errors.contains(&format!("<section id=\"{code}\"")),
                "{page} shows {code}, which has no help section"
            );
        }
    }
}

#[tokio::test]
async fn the_manuals_pictures_are_served() {
    let app = spawn_app().await;
    for lang in ["zh-TW", "en"] {
        let (_, html) = get_page(&app, &format!("/help/manual?lang={lang}")).await;
        let pictures: Vec<&str> = html
            .split("<img src=\"")
            .skip(1)
            .filter_map(|r| r.split('"').next())
            .collect();
        assert!(pictures.len() >= 15, "{lang}: {pictures:?}");
        for src in pictures {
            assert!(
                src.starts_with("/help/manual/") && src.ends_with(".png"),
                "{src}"
            );
            let r = app.api.get(app.url(src)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{src}");
            assert_eq!(r.headers()["content-type"], "image/png", "{src}");
            assert!(
                r.headers()["cache-control"]
                    .to_str()
                    .unwrap()
                    .starts_with("public, max-age="),
                "{src}"
            );
            let png = r.bytes().await.unwrap();
            assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{src}");
        }
        // Each picture says what it shows.
        assert_eq!(
            html.matches("<img ").count(),
            html.matches(" alt=\"").count()
        );
    }
    let r = app
        .api
        .get(app.url("/help/manual/nope.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = app
        .api
        .get(app.url("/help/manual/..%2Fcardinal.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn the_registration_home_links_the_help_and_the_configured_services() {
    // None configured: the help area without related services.
    let app = spawn_app().await;
    let (_, home) = get_page(&app, "/register?lang=zh-TW").await;
    for (href, text) in [
        ("/help/faq", "健保卡網路註冊FAQ"),
        ("/help/card-errors", "讀取健保卡發生錯誤說明"),
        ("/help/environment", "電腦環境說明"),
        ("/help/setup", "環境安裝說明"),
        ("/help/manual", "健保卡網路服務註冊使用說明"),
    ] {
        assert!(
            home.contains(&format!("<a href=\"{href}\">{text}</a>")),
            "{href}: {home}"
        );
    }
    assert!(home.contains("系統設定須知"), "{home}");
    assert!(!home.contains("id=\"related-links\""), "{home}");

    let links = vec![
        RelatedLink {
            url: "https://myhealthbank.example.gov.tw/".into(),
            label: [("zh-TW", "健康存摺"), ("en", "My Health Bank")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
        },
        RelatedLink {
            url: "https://services.example.gov.tw/personal".into(),
            label: [("zh-TW", "個人健保資料")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
        },
    ];
    let app = spawn_app_with(|s| s.site.related_links = links).await;
    for path in ["/register", "/help"] {
        let (_, zh) = get_page(&app, &format!("{path}?lang=zh-TW")).await;
        assert!(
            zh.contains("<a href=\"https://myhealthbank.example.gov.tw/\" rel=\"noopener noreferrer\">健康存摺</a>"),
            "{path}: {zh}"
        );
        assert!(zh.contains(">個人健保資料</a>"), "{path}: {zh}");
        let (_, en) = get_page(&app, &format!("{path}?lang=en")).await;
        assert!(en.contains(">My Health Bank</a>"), "{path}: {en}");
        // A name given only in zh-TW is shown as given.
        assert!(en.contains(">個人健保資料</a>"), "{path}: {en}");
    }
}

#[tokio::test]
async fn an_operators_help_page_replaces_the_built_in_one_in_every_language() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("help")).unwrap();
    std::fs::write(
        dir.path().join("help/faq.hbs"),
        "{{> header}}<h1>本機關常見問題 {{lang}}</h1>{{> footer}}",
    )
    .unwrap();
    let templates = dir.path().to_path_buf();
    let app = spawn_app_with(|s| s.templates_dir = Some(templates)).await;
    for lang in ["zh-TW", "en"] {
        let (status, html) = get_page(&app, &format!("/help/faq?lang={lang}")).await;
        assert_eq!(status, 200);
        assert!(
            html.contains(&format!("<h1>本機關常見問題 {lang}</h1>")),
            "{html}"
        );
    }
    // The other help pages stay the built-in ones.
    let (_, html) = get_page(&app, "/help/setup?lang=en").await;
    assert!(html.contains("<h1>Installation guide</h1>"), "{html}");
}
