//! Signing in to a relying party with the NHI card and the registration password, through
//! the OIDC flow; what the page's JavaScript does (challenge, sign) is done here directly.

use cardinal::domain::password::Password;
use cardinal::store::*;
use serde_json::json;

use crate::card::{sign_token, Issuers};
use crate::helpers::*;

pub const PASSWORD: &str = "Tq7~vLm9";

/// An app whose card issuers are `issuers`, with cheap argon2 for tests.
pub async fn card_app(
    issuers: &Issuers,
    configure: impl FnOnce(&mut cardinal::configuration::Settings),
) -> TestApp {
    spawn_app_with(|s| {
        issuers.configure(s);
        s.password.argon2_memory_kib = 1024;
        s.password.argon2_iterations = 1;
        configure(s);
    })
    .await
}

/// Registers the holder of `card` (active unless `pending`), password [`PASSWORD`].
pub fn register(app: &TestApp, card: &serde_json::Value, pending: bool) -> String {
    let engine = &app.engine;
    let hasher = cardinal::auth::PasswordHasher::new(&engine.settings().password).unwrap();
    let now = engine.now();
    let id = cardinal::domain::NationalId::parse(card["national_id"].as_str().unwrap()).unwrap();
    let person_id = uuid::Uuid::new_v4().to_string();
    let token = cardinal::crypto::random_token(16);
    let mail = cardinal::mail::MailContent {
        to: "holder@example.gov.tw".into(),
        subject: "s".into(),
        text: "t".into(),
        html: "h".into(),
    };
    let application = NewApplication {
        person: Person {
            id: person_id.clone(),
            name: card["name"].as_str().unwrap().into(),
            email: Some("holder@example.gov.tw".into()),
            email_verified: false,
            phone_number: Some("0912345678".into()),
            created_at: now,
            updated_at: now,
        },
        national_id_hash: cardinal::registry::national_id_hash(engine.ring(), &id),
        national_id_sealed: engine
            .ring()
            .seal("persons.national_id", id.expose().as_bytes())
            .unwrap(),
        birth_date: card["birth_date"].as_str().unwrap().into(),
        card_number: card["card_number"].as_str().unwrap().into(),
        card_kind: "nhi".into(),
        registration: Registration {
            person_id: person_id.clone(),
            status: RegistrationStatus::Pending,
            password_hash: hasher.hash(&Password::new(PASSWORD)).unwrap(),
            failed_attempts: 0,
            phone_area: None,
            phone_number: None,
            phone_ext: None,
            mobile: Some("0912345678".into()),
            email_backup: None,
            created_at: now,
            confirmed_at: None,
            locked_at: None,
            deactivated_at: None,
            deactivation_reason: None,
            password_changed_at: now,
            updated_at: now,
        },
        token: MailTokenRecord {
            token_hash: cardinal::crypto::token_hash(&token),
            person_id: person_id.clone(),
            purpose: MailTokenPurpose::Confirm,
            new_email: None,
            created_at: now,
            expires_at: now + 3600,
            consumed_at: None,
        },
        mail: cardinal::mail::outbox_message(engine.ring(), &mail, "confirm", now).unwrap(),
        audit: AuditEvent {
            at: now,
            event: "apply".into(),
            outcome: "pending".into(),
            actor: None,
            person_id: None,
            client_id: None,
            ip: None,
            detail: None,
        },
    };
    engine.store().apply(&application).unwrap();
    if !pending {
        let audit = AuditEvent {
            at: now,
            event: "confirm".into(),
            outcome: "success".into(),
            actor: None,
            person_id: None,
            client_id: None,
            ip: None,
            detail: None,
        };
        engine
            .store()
            .confirm_registration(&cardinal::crypto::token_hash(&token), now, &audit)
            .unwrap()
            .unwrap();
    }
    person_id
}

/// Starts an authorization and opens the card sign-in page; returns the interaction path.
pub async fn start(app: &TestApp, client: &TestClient, challenge: &str) -> String {
    let interaction = location(&app.authorize(&auth_params(client, challenge, &[])).await);
    let login = app.get(&interaction).await.text().await.unwrap();
    assert!(
        login.contains(&format!("{interaction}/card")),
        "the login page offers the card: {login}"
    );
    interaction
}

/// What the page's script does after 讀取, then posts the form.
pub async fn submit(
    app: &TestApp,
    interaction: &str,
    card: &serde_json::Value,
    password: &str,
) -> reqwest::Response {
    submit_on(app, interaction, "card", "card", card, password).await
}

/// [`submit`] with the form of the page `{interaction}/{page}`, posted to
/// `{interaction}/{post_to}` (`card` or `citizen-certificate`).
pub async fn submit_on(
    app: &TestApp,
    interaction: &str,
    page: &str,
    post_to: &str,
    card: &serde_json::Value,
    password: &str,
) -> reqwest::Response {
    let page = app.get(&format!("{interaction}/{page}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let csrf = hidden_value(&html, "csrf_token").unwrap();
    let flow = interaction.rsplit('/').next().unwrap();
    let c: serde_json::Value = app
        .browser
        .post(app.url("/card/challenge"))
        .header("origin", &app.address)
        .json(&json!({ "purpose": "login", "flow": flow }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let challenge = c["challenge"].as_str().unwrap();
    let token = sign_token(card, &app.address, challenge);
    app.browser
        .post(app.url(&format!("{interaction}/{post_to}")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("challenge", challenge),
            ("token", &serde_json::to_string(&token).unwrap()),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn card_and_password_sign_in_to_a_client_with_acr_card() {
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let person_id = register(&app, &card, false);
    let client = app.add_client(|_| {});
    let (verifier, challenge) = pkce();
    let interaction = start(&app, &client, &challenge).await;
    let r = submit(&app, &interaction, &card, PASSWORD).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    assert_eq!(location(&r), interaction);
    let r = app.approve_consent(&interaction).await;
    let url = url::Url::parse(&location(&r)).unwrap();
    let code = query_param(&url, "code").expect("code");
    let tokens: serde_json::Value = app
        .redeem(&client, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], person_id.as_str());
    assert_eq!(id["acr"], "urn:cardinal:acr:card");
    assert_eq!(id["amr"], json!(["sc", "pwd", "mfa"]));
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("cardinal_logins_total{method=\"card\",outcome=\"success\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("cardinal_registrations{state=\"active\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("cardinal_registrations{state=\"locked\"} 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn wrong_passwords_lock_the_registration_at_the_threshold() {
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let person_id = register(&app, &card, false);
    let client = app.add_client(|_| {});
    let (_, challenge) = pkce();
    let interaction = start(&app, &client, &challenge).await;
    for remaining in (1..=4).rev() {
        let r = submit(&app, &interaction, &card, "Wrong~pass1").await;
        assert_eq!(r.status(), 400);
        let html = r.text().await.unwrap();
        assert!(
            html.contains(&format!("再錯誤 {remaining} 次將鎖定")),
            "{html}"
        );
    }
    let r = submit(&app, &interaction, &card, "Wrong~pass1").await;
    assert!(
        r.text().await.unwrap().contains("忘記註冊密碼"),
        "the locked page points to 忘記註冊密碼"
    );
    let r = submit(&app, &interaction, &card, PASSWORD).await;
    assert_eq!(
        r.status(),
        400,
        "locked: even the right password is refused"
    );
    assert!(r.text().await.unwrap().contains("鎖定"));
    let reg = app
        .engine
        .store()
        .find_registration(&person_id)
        .unwrap()
        .unwrap();
    assert_eq!(reg.status, RegistrationStatus::Locked);
    let audit = app.engine.store().list_audit(50).unwrap();
    assert!(audit
        .iter()
        .any(|e| e.event == "login" && e.outcome == "locked"));
    assert!(
        audit
            .iter()
            .filter(|e| e.event == "login" && e.outcome == "failure")
            .count()
            >= 5
    );
}

#[tokio::test]
async fn unregistered_pending_and_citizen_certificate_cards_get_clear_answers() {
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    let client = app.add_client(|_| {});
    let (_, challenge) = pkce();
    let interaction = start(&app, &client, &challenge).await;
    let stranger = issuers.issue("nhi", "nhi", "000011112222", "李小華", 365);
    let html = submit(&app, &interaction, &stranger, PASSWORD)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("首次登入請先申請"), "{html}");
    let pending = issuers.issue("nhi", "nhi", "000033334444", "陳大文", 365);
    register(&app, &pending, true);
    let html = submit(&app, &interaction, &pending, PASSWORD)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("重寄認證信"), "{html}");
    let rogue = issuers.issue("rogue", "nhi", "000055556666", "冒名者", 365);
    let html = submit(&app, &interaction, &rogue, PASSWORD)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-error=\"untrusted_issuer\""), "{html}");
}

#[tokio::test]
async fn a_challenge_from_another_flow_or_purpose_is_refused() {
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    let card = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    register(&app, &card, false);
    let client = app.add_client(|_| {});
    let (_, challenge) = pkce();
    let interaction = start(&app, &client, &challenge).await;
    let html = app
        .get(&format!("{interaction}/card"))
        .await
        .text()
        .await
        .unwrap();
    let csrf = hidden_value(&html, "csrf_token").unwrap();
    // A challenge issued for the environment check, not for this sign-in.
    let c: serde_json::Value = app
        .browser
        .post(app.url("/card/challenge"))
        .header("origin", &app.address)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ch = c["challenge"].as_str().unwrap();
    let token = sign_token(&card, &app.address, ch);
    let r = app
        .browser
        .post(app.url(&format!("{interaction}/card")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("challenge", ch),
            ("token", &serde_json::to_string(&token).unwrap()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("data-error=\"bad_challenge\""));
}

/// The text of the page's error paragraph.
fn form_error(html: &str) -> String {
    html.split("id=\"form-error\"")
        .nth(1)
        .and_then(|s| s.split("</p>").next())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_citizen_certificate_card_signs_in_at_the_highest_level_without_the_password() {
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    let nhi = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    let person_id = register(&app, &nhi, false);
    // The same person's MOICA card (the certificate names the same national ID).
    let moica = issuers.issue("moica", "moica", "000087654321", "王小明", 365);
    let client = app.add_client(|d| d.min_acr = Some(Some("citizen-certificate".into())));
    let (verifier, challenge) = pkce();
    let interaction = location(&app.authorize(&auth_params(&client, &challenge, &[])).await);
    let login = app.get(&interaction).await.text().await.unwrap();
    assert!(
        login.contains(&format!("{interaction}/citizen-certificate"))
            && !login.contains(&format!("{interaction}/card\"")),
        "only the methods that reach the client's level are offered: {login}"
    );
    // The NHI card page is not the way in: it sends the person to the citizen certificate.
    let r = app.get(&format!("{interaction}/card")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("{interaction}/citizen-certificate"));
    let page = app
        .get(&format!("{interaction}/citizen-certificate"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<h1>自然人憑證登入</h1>") && page.contains("請您以自然人憑證登入"),
        "{page}"
    );
    assert!(
        !page.contains("健保卡登入") && !page.contains("註冊密碼登入"),
        "{page}"
    );
    assert!(
        !page.contains("name=\"password\""),
        "no 註冊密碼 field: {page}"
    );
    let form = &page[page.find("<form").unwrap()..];
    assert!(
        form.find("<input").unwrap() == form.find("<input id=\"pin\"").unwrap(),
        "the PIN comes first: {form}"
    );
    // An NHI card does not reach the client's minimum level: the page says so and waits
    // for the right card (nothing is counted against the registration).
    let r = submit_on(
        &app,
        &interaction,
        "citizen-certificate",
        "card",
        &nhi,
        PASSWORD,
    )
    .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("data-error=\"acr_unmet\"") && page.contains("需要自然人憑證登入"),
        "{page}"
    );
    // On the citizen-certificate page, whatever its script did, the server refuses the NHI
    // card and says which card to insert; nothing is counted against the registration.
    for password in [PASSWORD, "wrong-password"] {
        let r = submit_on(
            &app,
            &interaction,
            "citizen-certificate",
            "citizen-certificate",
            &nhi,
            password,
        )
        .await;
        assert_eq!(r.status(), 400);
        let page = r.text().await.unwrap();
        assert!(
            page.contains("data-error=\"needs_citizen_certificate\"")
                && form_error(&page).contains("請改插自然人憑證並輸入 PIN 碼"),
            "{page}"
        );
        assert!(
            page.contains("<h1>自然人憑證登入</h1>"),
            "the same page again"
        );
    }
    let registration = app
        .engine
        .store()
        .find_by_card("000012345678")
        .unwrap()
        .unwrap()
        .1
        .unwrap();
    assert_eq!(
        registration.failed_attempts, 0,
        "the wrong password was never checked"
    );

    // The citizen certificate in the same sign-in; a password sent along is not read.
    let r = submit_on(
        &app,
        &interaction,
        "citizen-certificate",
        "citizen-certificate",
        &moica,
        "wrong-password",
    )
    .await;
    assert_eq!(
        r.status(),
        303,
        "no registration password needed with card + PIN"
    );
    let r = app.approve_consent(&interaction).await;
    let url = url::Url::parse(&location(&r)).unwrap();
    let tokens: serde_json::Value = app
        .redeem(&client, &query_param(&url, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], person_id.as_str());
    assert_eq!(id["acr"], "urn:cardinal:acr:citizen-certificate");
    assert_eq!(id["amr"], json!(["sc", "pin", "mfa"]));
}

#[tokio::test]
async fn the_nhi_card_page_refuses_a_citizen_certificate_and_points_to_its_page() {
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    let nhi = issuers.issue("nhi", "nhi", "000012345678", "王小明", 365);
    register(&app, &nhi, false);
    let moica = issuers.issue("moica", "moica", "000087654321", "王小明", 365);
    let client = app.add_client(|_| {});
    let (_, challenge) = pkce();
    // What eCPA's 健保卡 button sends.
    let interaction = location(
        &app.authorize(&auth_params(
            &client,
            &challenge,
            &[("acr_values", "urn:cardinal:acr:card")],
        ))
        .await,
    );
    let page = app
        .get(&format!("{interaction}/card"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<h1>健保卡登入</h1>") && page.contains("name=\"password\""));
    assert!(
        !page.contains("id=\"pin\""),
        "no PIN on the NHI card page: {page}"
    );
    assert!(
        page.contains(&format!("href=\"{interaction}/citizen-certificate\"")),
        "the NHI page links to the citizen-certificate page: {page}"
    );
    let r = submit(&app, &interaction, &moica, "").await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("data-error=\"needs_nhi_card\"")
            && form_error(&page).contains("您插入的是自然人憑證"),
        "{page}"
    );
    // In English too.
    let page = app
        .get(&format!("{interaction}/card?lang=en"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sign in with your NHI card"), "{page}");
    let r = submit(&app, &interaction, &moica, "").await;
    let page = r.text().await.unwrap();
    assert!(
        form_error(&page).contains("the card in the reader is a citizen digital certificate"),
        "{page}"
    );
    // The NHI card signs in there as before.
    let r = submit(&app, &interaction, &nhi, PASSWORD).await;
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn the_sign_in_offers_the_methods_that_can_meet_the_request() {
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    let client = app.add_client(|_| {});
    let (_, challenge) = pkce();
    let offered = |html: &str, interaction: &str| -> Vec<String> {
        ["card", "citizen-certificate"]
            .into_iter()
            .filter(|m| html.contains(&format!("href=\"{interaction}/{m}\"")))
            .map(str::to_string)
            .collect()
    };
    for (acr_values, expected) in [
        (None, vec!["card", "citizen-certificate"]),
        (Some("urn:cardinal:acr:card"), vec!["card"]),
        (
            Some("urn:cardinal:acr:citizen-certificate"),
            vec!["citizen-certificate"],
        ),
        // The first level asked for is the one the sign-in must reach.
        (
            Some("urn:cardinal:acr:citizen-certificate urn:cardinal:acr:card"),
            vec!["citizen-certificate"],
        ),
        (
            Some("urn:cardinal:acr:card urn:cardinal:acr:citizen-certificate"),
            vec!["card", "citizen-certificate"],
        ),
    ] {
        let extra: Vec<(&str, &str)> = acr_values.map(|a| ("acr_values", a)).into_iter().collect();
        let interaction = location(
            &app.authorize(&auth_params(&client, &challenge, &extra))
                .await,
        );
        let r = app.get(&interaction).await;
        // This app also has the tests' own sign-in, which meets any request: the chooser
        // stays (the browser tests, on the real methods only, see it skipped).
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert_eq!(offered(&html, &interaction), expected, "{acr_values:?}");
        assert!(html.contains("Test sign-in") || html.contains("/test-login/"));
    }
}

#[tokio::test]
async fn a_language_the_person_chose_beats_the_clients_ui_locales() {
    let issuers = Issuers::new();
    let app = card_app(&issuers, |_| {}).await;
    let client = app.add_client(|_| {});
    let (_, challenge) = pkce();
    // eCPA always sends ui_locales=zh-TW.
    let zh = [("ui_locales", "zh-TW")];
    let r = app.authorize(&auth_params(&client, &challenge, &zh)).await;
    assert!(
        !r.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("cardinal_lang=")),
        "the client's ui_locales is not remembered as a choice"
    );
    let interaction = location(&r);
    let page = app
        .get(&format!("{interaction}/card"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<html lang=\"zh-TW\">") && page.contains("<h1>健保卡登入</h1>"));
    assert!(
        page.contains(&format!(
            "id=\"lang-switch\" href=\"{interaction}/card?lang&#x3D;en\""
        )),
        "the card page has a language switch: {page}"
    );
    // The person picks English on the card page: it stays English on the next pages of
    // this sign-in and of the next one, although the client still asks for zh-TW.
    let page = app
        .get(&format!("{interaction}/card?lang=en"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<html lang=\"en\">"), "{page}");
    let page = app
        .get(&format!("{interaction}/card"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<html lang=\"en\">"), "{page}");
    let again = location(&app.authorize(&auth_params(&client, &challenge, &zh)).await);
    let page = app.get(&again).await.text().await.unwrap();
    assert!(page.contains("<html lang=\"en\">"), "{page}");
    let page = app
        .get(&format!("{again}/citizen-certificate"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<h1>Sign in with your citizen digital certificate</h1>"),
        "{page}"
    );
    // Switching back is a choice too.
    let page = app
        .get(&format!("{again}/citizen-certificate?lang=zh-TW"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<h1>自然人憑證登入</h1>"), "{page}");
    let page = app
        .get(&format!("{again}/card"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<html lang=\"zh-TW\">"), "{page}");
}
