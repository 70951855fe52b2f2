//! Every page says what happens next and leads there (issue: the guide's path by clicking):
//! each refusal of the registration site names its way forward, every notice leads back to
//! the sign-in page (and to the application that sent the person), a 404 is a page, the
//! error and 已登出 pages have a language switch, and the mails name whom to ask.

use crate::card::Issuers;
use crate::card_login::{start, submit, PASSWORD};
use crate::helpers::*;
use crate::register::{
    applying_app, confirm, forgot_by_mail, link_in, registered_app, step1, step2, wait_mail,
    wait_mail_with,
};

/// Steps 1 and 2 of the application with `card` (the demo registry's 王小明): the page
/// that answers step 2.
async fn apply(app: &TestApp, card: &serde_json::Value) -> String {
    let page2 = step1(app, card, "F1234567", "5")
        .await
        .text()
        .await
        .unwrap();
    step2(app, &page2, PASSWORD, PASSWORD, "applicant@example.gov.tw")
        .await
        .text()
        .await
        .unwrap()
}

/// The `href`s of the links inside the element that has `id`, up to its closing tag.
fn links_in(html: &str, marker: &str) -> Vec<String> {
    let Some(start) = html.find(marker) else {
        return Vec::new();
    };
    let rest = &html[start..];
    let end = rest
        .find("</p>")
        .into_iter()
        .chain(rest.find("</ul>"))
        .min()
        .unwrap_or(rest.len());
    rest[..end]
        .split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn applying_again_says_what_to_do_in_each_state_of_the_registration() {
    let issuers = Issuers::new();
    let (app, outbox) = applying_app(&issuers, |_| {}).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let page2 = step1(&app, &card, "F1234567", "5")
        .await
        .text()
        .await
        .unwrap();
    step2(&app, &page2, PASSWORD, PASSWORD, "applicant@example.gov.tw").await;

    // Pending: confirm the address, or have the mail sent again (not 已註冊 + 忘記註冊密碼).
    let html = step1(&app, &card, "F1234567", "5")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-error=\"awaiting_confirmation\"")
            && html.contains("尚未完成電子信箱認證"),
        "{html}"
    );
    assert_eq!(
        links_in(&html, "id=\"form-error\""),
        vec!["/register/resend"]
    );

    // Active: sign in, or reset the password.
    let got = wait_mail(outbox.path(), 1).await;
    let link = link_in(&got[0], &format!("{}/register/confirm?t=", app.address));
    assert!(confirm(&app, &link, &card)
        .await
        .text()
        .await
        .unwrap()
        .contains("confirmed"));
    let html = step1(&app, &card, "F1234567", "5")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-error=\"already_registered\""), "{html}");
    assert_eq!(
        links_in(&html, "id=\"form-error\""),
        vec!["/register", "/register/forgot"]
    );

    // Deactivated: no way online (忘記註冊密碼 would loop); the counter.
    let person = {
        let engine = app.engine.clone();
        tokio::task::spawn_blocking(move || {
            engine
                .store()
                .find_by_card("000012345678")
                .unwrap()
                .unwrap()
                .0
                .id
        })
        .await
        .unwrap()
    };
    let engine = app.engine.clone();
    tokio::task::spawn_blocking(move || {
        cardinal::admin::registrations::deactivate(
            &engine,
            &cardinal::admin::Actor::cli(),
            &person,
            "在櫃檯申請停用",
        )
    })
    .await
    .unwrap()
    .unwrap();
    let html = step1(&app, &card, "F1234567", "5")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-error=\"deactivated\"") && html.contains("臨櫃辦理"),
        "{html}"
    );
    let links = links_in(&html, "id=\"form-error\"");
    assert!(
        !links.iter().any(|l| l.contains("forgot")),
        "no 忘記註冊密碼 loop for a deactivated registration: {links:?}"
    );
}

#[tokio::test]
async fn a_used_confirmation_link_leads_to_resend_and_every_notice_back_to_sign_in() {
    let issuers = Issuers::new();
    let (app, outbox) = applying_app(&issuers, |_| {}).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let done = apply(&app, &card).await;
    assert!(done.contains("data-outcome=\"applied\""), "{done}");
    assert!(
        done.contains("id=\"next-step\"") && done.contains("認證通知信"),
        "the applied page says what happens next: {done}"
    );
    assert!(links_in(&done, "id=\"next-links\"").contains(&"/register".to_string()));
    // The switch of the page that answered the form opens the same notice in English.
    let switch = attr_of(&done, "id=\"lang-switch\"", "href")
        .replace("&amp;", "&")
        .replace("&#x3D;", "=");
    let r = app.get(&switch).await;
    assert_eq!(r.status(), 200, "{switch}");
    let english = r.text().await.unwrap();
    assert!(
        english.contains("data-outcome=\"applied\"") && english.contains("What happens next"),
        "{english}"
    );
    // (The choice is remembered: back to Chinese for the rest.)
    app.get("/register?lang=zh-TW").await;

    let got = wait_mail(outbox.path(), 1).await;
    let link = link_in(&got[0], &format!("{}/register/confirm?t=", app.address));
    let html = confirm(&app, &link, &card).await.text().await.unwrap();
    assert!(html.contains("data-outcome=\"confirmed\""), "{html}");
    assert!(
        links_in(&html, "id=\"next-links\"").contains(&"/register".to_string()),
        "回登入頁 after the confirmation: {html}"
    );

    // The link again: 「請點選「重寄認證信」」 with the link to it.
    let r = app.get(&link).await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("重寄認證信"), "{html}");
    assert_eq!(
        links_in(&html, "id=\"next-links\""),
        vec!["/register/resend", "/register"]
    );
}

#[tokio::test]
async fn the_notices_lead_back_to_the_application_that_sent_the_person() {
    let issuers = Issuers::new();
    let (app, _outbox) = applying_app(&issuers, |_| {}).await;
    let client = app.add_client(|d| d.name = Some("人事服務網".into()));
    // The application's link into the registration site names it.
    let r = app
        .get(&format!("/register?client_id={}", client.client_id))
        .await;
    assert_eq!(r.status(), 200);
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let done = apply(&app, &card).await;
    assert!(
        done.contains("id=\"back-to-client\"") && done.contains("回到 人事服務網"),
        "{done}"
    );
    assert!(
        links_in(&done, "id=\"next-links\"").contains(&"http://127.0.0.1:9/logged-out".to_string()),
        "the application's own registered landing page: {done}"
    );

    // An unknown client id leads nowhere (and is not echoed back as a link).
    let other = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let html = other
        .get(app.url("/register/notice?n=x&client_id=https%3A%2F%2Fevil.example"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("evil.example\""), "{html}");
}

#[tokio::test]
async fn the_sign_in_page_sends_a_newcomer_to_the_registration_site_naming_the_application() {
    let issuers = Issuers::new();
    let (app, _outbox) = applying_app(&issuers, |_| {}).await;
    let client = app.add_client(|d| d.name = Some("人事服務網".into()));
    let (_, challenge_s256) = pkce();
    let interaction = start(&app, &client, &challenge_s256).await;
    let page = app
        .get(&format!("{interaction}/card"))
        .await
        .text()
        .await
        .unwrap()
        .replace("&#x3D;", "=");
    let first_time = attr_of(&page, "id=\"first-time\"", "href");
    assert_eq!(
        first_time,
        format!("/register/terms?client_id={}", client.client_id)
    );
    // Following it, the application is remembered: the notice after applying leads back.
    app.get(&first_time).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let done = apply(&app, &card).await;
    assert!(done.contains("回到 人事服務網"), "{done}");
}

#[tokio::test]
async fn forgot_while_locked_does_not_promise_that_the_old_password_still_works() {
    let issuers = Issuers::new();
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let (app, outbox) = registered_app(&issuers, &card, |_| {}).await;
    let client = app.add_client(|_| {});
    let (_, challenge_s256) = pkce();
    let interaction = start(&app, &client, &challenge_s256).await;

    // Not locked: the old password keeps working until the reset, and both say so.
    let html = forgot_by_mail(&app, &card).await;
    assert!(html.contains("完成前您仍可使用原註冊密碼登入"), "{html}");

    for _ in 0..5 {
        submit(&app, &interaction, &card, "Wrong~pass1").await;
    }
    let html = forgot_by_mail(&app, &card).await;
    assert!(html.contains("data-outcome=\"reset_sent\""), "{html}");
    assert!(
        html.contains("已被鎖定") && !html.contains("仍可使用原註冊密碼"),
        "locked: the notice must not promise the old password: {html}"
    );
    let mails = wait_mail_with(outbox.path(), "已被鎖定").await;
    let locked_mail = mails
        .iter()
        .find(|m| m.contains("已被鎖定"))
        .expect("the reset mail of a locked registration says it is locked");
    assert!(
        !locked_mail.contains("未變更前註冊密碼登入"),
        "{locked_mail}"
    );
}

#[tokio::test]
async fn the_mails_name_the_service_phone_and_the_feedback_address() {
    let issuers = Issuers::new();
    let (app, outbox) = applying_app(&issuers, |s| {
        s.mail.service_phone = "0800-030598".into();
        s.mail.feedback_url = "https://www.example.gov.tw/feedback".into();
    })
    .await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let page2 = step1(&app, &card, "F1234567", "5")
        .await
        .text()
        .await
        .unwrap();
    step2(&app, &page2, PASSWORD, PASSWORD, "applicant@example.gov.tw").await;
    let got = wait_mail(outbox.path(), 1).await;
    assert!(
        got[0].contains("0800-030598") && got[0].contains("https://www.example.gov.tw/feedback"),
        "{}",
        got[0]
    );
    // Without them configured, the sentence is left out (no empty phone number).
    let (plain, plain_outbox) = applying_app(&issuers, |_| {}).await;
    let page2 = step1(&plain, &card, "F1234567", "5")
        .await
        .text()
        .await
        .unwrap();
    step2(
        &plain,
        &page2,
        PASSWORD,
        PASSWORD,
        "applicant@example.gov.tw",
    )
    .await;
    let got = wait_mail(plain_outbox.path(), 1).await;
    assert!(!got[0].contains("服務電話"), "{}", got[0]);
}

#[tokio::test]
async fn an_unknown_address_answers_a_page_in_the_chosen_language() {
    let app = spawn_app().await;
    let r = app
        .browser
        .get(app.url("/no/such/page"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("找不到網頁") && html.contains("href=\"/register\""),
        "{html}"
    );
    assert!(
        html.replace("&#x3D;", "=")
            .contains("href=\"/no/such/page?lang=en\""),
        "{html}"
    );
    let html = app
        .browser
        .get(app.url("/no/such/page?lang=en"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Page not found") && html.contains("lang=\"en\""),
        "{html}"
    );
    // An address that starts with two slashes stays on this site in the switch.
    let html = app
        .browser
        .get(format!("{}//evil.example/x", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .replace("&#x3D;", "=");
    assert!(
        html.contains("href=\"/evil.example/x?lang=en\"") && !html.contains("href=\"//"),
        "{html}"
    );
    // Not a browser: a short answer. The admin API keeps its JSON error.
    let r = app.api.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().len() < 40);
    let r = app
        .api
        .get(app.url("/admin/api/v1/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("openapi.json"));
}

#[tokio::test]
async fn the_error_page_keeps_the_english_detail_folded_away_and_switches_language() {
    let app = spawn_app().await;
    let r = app
        .get("/authorize?client_id=nobody&response_type=code&scope=openid")
        .await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("發生錯誤"), "{html}");
    // The technical description is English: folded away, marked as English.
    let visible: String = html
        .split("<details")
        .next()
        .unwrap()
        .split("</header>")
        .last()
        .unwrap()
        .to_string();
    assert!(
        !visible.contains("client"),
        "no English before the folded technical details: {visible}"
    );
    assert!(html.contains("<p lang=\"en\">"), "{html}");
    assert!(html.contains("id=\"lang-switch\""), "{html}");
    assert!(html.contains("href=\"/register\""), "{html}");
}

#[tokio::test]
async fn the_signed_out_page_switches_language_without_signing_out_again() {
    let app = spawn_app().await;
    let client = app.add_client(|_| {});
    let person = app.add_person("申");
    let (verifier, challenge) = pkce();
    let url = app
        .sign_in(&auth_params(&client, &challenge, &[]), &person.id)
        .await;
    let tokens: serde_json::Value = app
        .redeem(&client, &query_param(&url, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    assert!(tokens["id_token"].is_string());
    let page = app.get("/logout").await.text().await.unwrap();
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let done = app
        .browser
        .post(app.url("/logout/confirm"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        done.contains("已登出") && done.contains("<li>Test RP</li>"),
        "{done}"
    );
    assert!(done.contains("id=\"back-to-sign-in\""), "{done}");
    let switch = attr_of(&done, "id=\"lang-switch\"", "href");
    assert!(switch.starts_with("/logout/done?"), "{switch}");
    let english = app
        .get(&switch.replace("&amp;", "&").replace("&#x3D;", "="))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        english.contains("Signed out") && english.contains("<li>Test RP</li>"),
        "{english}"
    );
    // A forged list is not shown.
    let forged = app
        .get("/logout/done?s=eyJmb28iOiJiYXIifQ&lang=en")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !forged.contains("signed-out-apps") && forged.contains("Signed out"),
        "{forged}"
    );
}

/// The value of attribute `attr` of the tag that contains `marker`.
fn attr_of(html: &str, marker: &str, attr: &str) -> String {
    let at = html.find(marker).unwrap_or_else(|| panic!("no {marker}"));
    let tag_start = html[..at].rfind('<').unwrap();
    let tag_end = at + html[at..].find('>').unwrap();
    let tag = &html[tag_start..tag_end];
    let needle = format!("{attr}=\"");
    let from = tag
        .find(&needle)
        .unwrap_or_else(|| panic!("no {attr} in {tag}"))
        + needle.len();
    tag[from..].split('"').next().unwrap().to_string()
}
