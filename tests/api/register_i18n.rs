//! The registration site in English (R-X-1): every page by Accept-Language, by the language
//! cookie the switch sets, and by `ui_locales`; zh-TW stays the default; the switch keeps
//! the page (also a notice shown by a form post, and step 2); the 戶籍 selects survive a
//! registry mismatch.

use crate::card::{sign_token, Issuers};
use crate::card_login::{card_app, register, PASSWORD};
use crate::helpers::*;
use crate::register::{
    applying_app, challenge, confirm, import_demo_registry, step1, step2, wait_mail,
};

/// Characters of Chinese text (CJK punctuation, ideographs, full-width forms).
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303f}' | '\u{3400}'..='\u{9fff}' | '\u{ff00}'..='\u{ffef}')
}

/// Removes every `<tag …>…</tag>` element whose opening tag contains `marker`.
fn drop_elements(html: &str, tag: &str, marker: &str) -> String {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let tag_end = rest[start..]
            .find('>')
            .map_or(rest.len(), |e| start + e + 1);
        if !rest[start..tag_end].contains(marker) {
            out.push_str(&rest[..tag_end]);
            rest = &rest[tag_end..];
            continue;
        }
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find(&close)
            .map_or("", |e| &rest[start + e + close.len()..]);
    }
    out.push_str(rest);
    out
}

/// What a person reads or hears on a page: the text between tags and the attributes a
/// screen reader speaks — without scripts, the place names of the registry (the selects'
/// options, as the household registration writes them), the language switch (which names
/// 繁體中文 in Chinese) and `data` (e.g. the holder's name from the card).
fn readable(html: &str, data: &[&str]) -> String {
    let mut html = drop_elements(html, "script", "");
    html = drop_elements(&html, "option", "value=\"");
    html = drop_elements(&html, "a", "id=\"lang-switch\"");
    html = drop_elements(&html, "button", "id=\"lang-switch\"");
    let mut text = String::new();
    let mut rest = html.as_str();
    while let Some(lt) = rest.find('<') {
        text.push_str(&rest[..lt]);
        text.push(' ');
        let gt = rest[lt..].find('>').map_or(rest.len(), |e| lt + e + 1);
        let tag = &rest[lt..gt];
        for attr in ["aria-label=\"", "title=\"", "placeholder=\"", "alt=\""] {
            if let Some(a) = tag.find(attr) {
                let value = &tag[a + attr.len()..];
                text.push_str(&value[..value.find('"').unwrap_or(value.len())]);
                text.push(' ');
            }
        }
        rest = &rest[gt..];
    }
    text.push_str(rest);
    data.iter().fold(text, |t, d| t.replace(d, ""))
}

/// Fails unless `html` is an English page with no Chinese a person would read.
fn assert_english(html: &str, data: &[&str], expected: &[&str]) {
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    for e in expected {
        assert!(html.contains(e), "the page lacks {e:?}: {html}");
    }
    let text = readable(html, data);
    let chinese: String = text.chars().filter(|c| is_cjk(*c)).collect();
    assert!(
        chinese.is_empty(),
        "Chinese on an English page: {chinese:?} in {text}"
    );
    assert!(
        html.contains("id=\"lang-switch\"") && html.contains(">繁體中文<"),
        "the switch to 繁體中文 is on the page: {html}"
    );
}

/// The pages anyone can fetch, with English they must show.
const PAGES: &[(&str, &[&str])] = &[
    (
        "/register",
        &[
            "NHI Card Network Service Registration",
            "First time? Apply here",
            "Forgot your registration password",
            "Registration password",
        ],
    ),
    (
        "/register/terms",
        &[
            "Directions Governing Registration",
            "I have read the above and understand the rules",
            "the Insurer",
        ],
    ),
    (
        "/register/apply",
        &["Household number", "Township or district", ">Next<"],
    ),
    (
        "/register/forgot",
        &[
            "How to send the password reset mail",
            "Change my e-mail address and send the reset mail there",
        ],
    ),
    (
        "/register/resend",
        &[
            "Resend the Verification E-mail",
            "Insert the NHI card you applied with",
        ],
    ),
    ("/register/delete", &["Delete an Application"]),
    (
        "/register/confirm?t=no-such-link",
        &["This verification link has expired or was already used"],
    ),
    (
        "/register/reset?t=no-such-link",
        &["This password reset link has expired or was already used"],
    ),
    ("/help/environment", &["Check card sign-in"]),
];

async fn page_with(client: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> String {
    let mut req = client.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn every_registration_page_is_english_by_accept_language_or_the_language_cookie() {
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    import_demo_registry(&app).await;
    let client = reqwest::Client::new();
    for (path, expected) in PAGES {
        let url = app.url(path);
        let by_header = page_with(&client, &url, &[("accept-language", "en-US,en;q=0.9")]).await;
        assert_english(&by_header, &[], expected);
        // The cookie of the switch wins over the browser's language.
        let by_cookie = page_with(
            &client,
            &url,
            &[
                ("cookie", "cardinal_lang=en"),
                ("accept-language", "zh-TW,zh;q=0.9"),
            ],
        )
        .await;
        assert_english(&by_cookie, &[], expected);
        // ui_locales wins over the browser's language…
        let sep = if path.contains('?') { '&' } else { '?' };
        let by_ui_locales = page_with(
            &client,
            &format!("{url}{sep}ui_locales=en"),
            &[("accept-language", "zh-TW,zh;q=0.9")],
        )
        .await;
        assert_english(&by_ui_locales, &[], expected);
        // …but not over the person's own choice (the switch's cookie): a client that always
        // sends ui_locales=zh-TW does not undo it.
        let chosen = page_with(
            &client,
            &format!("{url}{sep}ui_locales=zh-TW"),
            &[("cookie", "cardinal_lang=en")],
        )
        .await;
        assert_english(&chosen, &[], expected);
    }
}

#[tokio::test]
async fn zh_tw_is_the_default_and_the_switch_remembers_english() {
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    import_demo_registry(&app).await;
    // No language asked for, or one the site does not speak: the guide's zh-TW.
    for accept in [None, Some("fr-FR,fr;q=0.9")] {
        let client = reqwest::Client::new();
        let mut req = client.get(app.url("/register"));
        if let Some(a) = accept {
            req = req.header("accept-language", a);
        }
        let home = req.send().await.unwrap().text().await.unwrap();
        assert!(home.contains("<html lang=\"zh-TW\">"), "{home}");
        for guide in [
            "健保卡網路服務註冊",
            "首次登入請先申請",
            "重寄認證信",
            "忘記註冊密碼",
            "刪除註冊申請",
            "請插入健保卡後，按『讀取』驗證健保卡",
        ] {
            assert!(home.contains(guide), "home lacks {guide}");
        }
        assert!(
            home.contains("href=\"/register?lang&#x3D;en\"") && home.contains(">English</a>"),
            "{home}"
        );
        // The check of the English pages sees Chinese where there is some.
        assert!(readable(&home, &[]).chars().any(is_cjk));
    }

    // The switch (a link to the same page with lang=en) sets the language cookie: the
    // next pages are English without asking again, until the switch back.
    let r = app.get("/register/terms?lang=en").await;
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("cardinal_lang="))
        .map(str::to_string);
    assert!(
        cookie
            .as_deref()
            .is_some_and(|c| c.starts_with("cardinal_lang=en;")),
        "{cookie:?}"
    );
    assert_english(&r.text().await.unwrap(), &[], &["the Insurer"]);
    let apply = app.get("/register/apply").await.text().await.unwrap();
    assert_english(&apply, &[], &["Household number"]);
    assert!(
        apply.contains("href=\"/register/apply?lang&#x3D;zh-TW\""),
        "the switch back keeps the page: {apply}"
    );
    let back = app
        .get("/register/apply?lang=zh-TW")
        .await
        .text()
        .await
        .unwrap();
    assert!(back.contains("<html lang=\"zh-TW\">") && back.contains("戶號"));
    let home = app.get("/register").await.text().await.unwrap();
    assert!(home.contains("<html lang=\"zh-TW\">"), "{home}");
}

/// The options of the select `id` that are selected.
fn selected(html: &str, id: &str) -> Vec<String> {
    let start = html.find(&format!("<select id=\"{id}\"")).unwrap();
    let end = start + html[start..].find("</select>").unwrap();
    html[start..end]
        .split("<option ")
        .filter(|o| o.contains(" selected>"))
        .filter_map(|o| o.split('"').nth(1).map(str::to_string))
        .collect()
}

#[tokio::test]
async fn the_place_selections_survive_a_registry_mismatch() {
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    import_demo_registry(&app).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);

    let page = step1(&app, &card, "F0000000", "5")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-error=\"registry_mismatch\""), "{page}");
    assert_eq!(selected(&page, "county"), vec!["臺北市"]);
    assert_eq!(selected(&page, "township"), vec!["中正區"]);
    assert!(
        page.contains("name=\"village\" type=\"text\" required maxlength=\"32\" size=\"8\" autocomplete=\"off\" value=\"黎明里\""),
        "the 村里 stays: {page}"
    );
    assert!(
        page.contains("name=\"neighborhood\" type=\"number\" inputmode=\"numeric\" min=\"1\" max=\"999\" required size=\"4\" value=\"5\""),
        "the 鄰 stays: {page}"
    );
    assert!(page.contains("value=\"F0000000\""), "the 戶號 stays");
    // The message names no field, so every field it may be about is marked.
    for field in [
        "household_no",
        "county",
        "township",
        "village",
        "neighborhood",
    ] {
        let at = page.find(&format!("id=\"{field}\"")).unwrap();
        let tag = &page[at..at + page[at..].find('>').unwrap()];
        assert!(tag.contains("aria-invalid=\"true\""), "{field}: {tag}");
    }

    // The same in English.
    app.get("/register/apply?lang=en").await;
    let page = step1(&app, &card, "F0000000", "5")
        .await
        .text()
        .await
        .unwrap();
    assert_english(
        &page,
        &[],
        &["The household number or registered address you entered does not match"],
    );
    assert_eq!(selected(&page, "township"), vec!["中正區"]);
    assert!(page.contains("value=\"黎明里\""), "{page}");
}

#[tokio::test]
async fn the_application_walk_in_english_with_the_switch_on_pages_shown_by_a_post() {
    let issuers = Issuers::new();
    let (app, outbox) = applying_app(&issuers, |_| {}).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    app.get("/register?lang=en").await;

    // Step 2 in English; its switch posts the form again and shows step 2 in zh-TW.
    let page2 = step1(&app, &card, "F1234567", "5")
        .await
        .text()
        .await
        .unwrap();
    assert_english(
        &page2,
        &["王小明"],
        &[
            "Registration password",
            "The registration password must be 6–12 characters long.",
            ">Weak<",
            ">Strong<",
            "E-mail (primary)",
            "Submit the application",
        ],
    );
    assert!(page2.contains("action=\"/register/apply/submit\""));
    let switch_step2 = |lang: &'static str| {
        let csrf = hidden_value(&page2, "csrf_token").unwrap();
        let proof = hidden_value(&page2, "proof").unwrap();
        let app = &app;
        async move {
            let form = [
                ("csrf_token", csrf.as_str()),
                ("proof", proof.as_str()),
                ("lang", lang),
            ];
            let r = app
                .browser
                .post(app.url("/register/apply/submit"))
                .form(&form);
            r.send().await.unwrap().text().await.unwrap()
        }
    };
    let zh = switch_step2("zh-TW").await;
    assert!(
        zh.contains("<html lang=\"zh-TW\">")
            && zh.contains("請輸入註冊密碼")
            && zh.contains("王小明")
            && !zh.contains("form-error"),
        "{zh}"
    );
    let en = switch_step2("en").await;
    assert_english(&en, &["王小明"], &["Submit the application"]);

    // A refusal in English, tied to its field; the contact data comes back.
    let bad = step2(&app, &en, PASSWORD, "Other~pass1", "a@example.gov.tw")
        .await
        .text()
        .await
        .unwrap();
    assert_english(
        &bad,
        &["王小明"],
        &[
            "data-error=\"password_mismatch\"",
            "The two passwords you entered do not match.",
            "aria-describedby=\"password-hint form-error\" aria-invalid=\"true\"",
            "value=\"0912345678\"",
        ],
    );

    // The notice after the post; its switch opens the same notice (sealed) in zh-TW.
    let done = step2(&app, &en, PASSWORD, PASSWORD, "applicant@example.gov.tw")
        .await
        .text()
        .await
        .unwrap();
    assert_english(
        &done,
        &[],
        &[
            "data-outcome=\"applied\"",
            "A verification e-mail was sent to a****@example.gov.tw. Within 5 days",
        ],
    );
    let switch = done
        .split("id=\"lang-switch\" href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .replace("&#x3D;", "=")
        .replace("&amp;", "&");
    assert!(switch.starts_with("/register/notice?n="), "{switch}");
    let zh = app.get(&switch).await.text().await.unwrap();
    assert!(
        zh.contains("認證通知信已寄至 a****@example.gov.tw，請於5日內至信箱點選信中連結"),
        "{zh}"
    );
    // Sealed for this browser: another one gets the home page.
    let other = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(&switch))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&other), "/register");

    // The confirmation link page and its answer in English (the switch chose zh-TW last).
    app.get("/register?lang=en").await;
    let got = wait_mail(outbox.path(), 1).await;
    // The 認證通知信 in the language of the page that sent it.
    assert!(
        got[0].contains("Dear 王小明,")
            && got[0].contains("If you do not complete it within 5 days")
            && !got[0].contains("親愛的"),
        "{}",
        got[0]
    );
    let link = crate::register::link_in(&got[0], &app.url("/register/confirm?t="));
    let page = app.get(&link).await.text().await.unwrap();
    assert_english(
        &page,
        &[],
        &[
            "E-mail Verification",
            "Insert your NHI card into the smart-card reader and press Read",
        ],
    );
    let html = confirm(&app, &link, &card).await.text().await.unwrap();
    assert_english(
        &html,
        &[],
        &[
            "data-outcome=\"confirmed\"",
            "Your e-mail address is verified.",
        ],
    );
}

#[tokio::test]
async fn member_pages_and_their_errors_in_english() {
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    register(&app, &card, false);
    app.get("/register?lang=en").await;

    let login = |password: &'static str| {
        let app = &app;
        let card = &card;
        async move {
            let home = app.get("/register").await.text().await.unwrap();
            let csrf = hidden_value(&home, "csrf_token").unwrap();
            let c = challenge(app, "home").await;
            let token = serde_json::to_string(&sign_token(card, &app.address, &c)).unwrap();
            app.browser
                .post(app.url("/register/login"))
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("challenge", c.as_str()),
                    ("token", token.as_str()),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let wrong = login("Wrong~pass1").await.text().await.unwrap();
    assert_english(
        &wrong,
        &[],
        &[
            "data-error=\"wrong_password\"",
            "Wrong registration password. 4 more wrong attempts will lock your registration.",
            "href=\"/register?lang&#x3D;zh-TW\"",
        ],
    );
    assert_eq!(location(&login(PASSWORD).await), "/register/member");

    let member = app.get("/register/member").await.text().await.unwrap();
    assert_english(
        &member,
        &["王小明"],
        &[
            "Hello, 王小明 (national ID number A12****789)",
            "Update your details",
        ],
    );
    let page = app
        .get("/register/member/password")
        .await
        .text()
        .await
        .unwrap();
    assert_english(
        &page,
        &[],
        &[
            "Current registration password",
            "Confirm the new registration password",
        ],
    );
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let changed = app
        .browser
        .post(app.url("/register/member/password"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("old_password", PASSWORD),
            ("password", "Nw8~pQz5"),
            ("password_confirm", "Nw8~pQz5"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_english(
        &changed,
        &["王小明"],
        &[
            "data-outcome=\"password_changed\"",
            "Your registration password has been changed.",
            // The switch of the member page shown by the post goes to the member page.
            "href=\"/register/member?lang&#x3D;zh-TW\"",
        ],
    );
    let profile = app
        .get("/register/member/profile")
        .await
        .text()
        .await
        .unwrap();
    assert_english(
        &profile,
        &[],
        &[
            "Mobile phone",
            "E-mail (backup)",
            "aria-label=\"Area code\"",
        ],
    );
    let email = app
        .get("/register/email?t=whatever")
        .await
        .text()
        .await
        .unwrap();
    assert_english(
        &email,
        &[],
        &["Once you confirm, your new primary e-mail address takes effect."],
    );
}
