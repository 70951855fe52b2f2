//! The admin console `/admin` over HTTP (the browser test drives it with a card): sign-in
//! through Cardinal's own /authorize, the role check, CSRF on every form, the pages in
//! zh-TW and English, and the operations.

use crate::admin_cli::{national_id, resident};
use crate::helpers::*;

/// Follows the console sign-in as `person_id` (test sign-in method, acr card); returns the
/// final response (the console, or the refusal).
pub async fn console_sign_in(app: &TestApp, person_id: &str) -> reqwest::Response {
    let r = app.get("/admin").await;
    assert_eq!(location(&r), "/admin/login");
    let r = app.get("/admin/login").await;
    let authorize = location(&r);
    assert!(authorize.starts_with("/authorize?"), "{authorize}");
    assert!(authorize.contains("client_id=cardinal-admin"));
    assert!(authorize.contains("code_challenge_method=S256"));
    let mut next = authorize;
    // Through /authorize (the sign-in unless already signed in; no consent for the
    // first-party console) to the console's callback and back to /admin.
    for _ in 0..8 {
        if next == "/admin" {
            return app.get("/admin").await;
        }
        let r = if next.starts_with("/interaction/") && !next.contains("/test-login") {
            let page = app.get(&next).await;
            if page.status() == 200 {
                app.test_login(&next, person_id, None).await
            } else {
                page
            }
        } else {
            app.get(&next).await
        };
        if r.status() != 303 {
            return r;
        }
        next = location(&r);
    }
    panic!("the sign-in did not come back to the console: {next}");
}

/// The secret on the page that shows it once.
pub fn shown_secret(page: &str) -> String {
    let marker = "id=\"client-secret\" readonly size=\"50\" value=\"";
    let start = page.find(marker).expect("the secret is shown") + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end].to_string()
}

fn csrf(html: &str) -> String {
    hidden_value(html, "csrf_token").expect("a CSRF token in the page")
}

/// Posts `form` to the console's `path` with the browser's cookies.
async fn post_form<T: serde::Serialize + ?Sized>(
    app: &TestApp,
    path: &str,
    form: &T,
) -> reqwest::Response {
    app.browser
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn only_admins_get_in_and_every_form_needs_its_csrf_token() {
    let app = spawn_app().await;
    let someone = resident(&app, 61, "000066660001", "路人甲", false);
    let r = console_sign_in(&app, &someone).await;
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("data-reason=\"not_admin\""), "{page}");
    let audit = app
        .engine
        .store()
        .query_audit(
            &cardinal::store::AuditFilter {
                event: Some("admin_login".into()),
                ..Default::default()
            },
            None,
            10,
        )
        .unwrap();
    assert_eq!(audit[0].event.outcome, "failure");
    assert_eq!(audit[0].event.detail.as_deref(), Some("reason=not_admin"));

    // The same person, granted the role, gets in.
    cardinal::admin::roles::grant(&app.engine, &cardinal::admin::Actor::cli(), "000066660001")
        .unwrap();
    let r = console_sign_in(&app, &someone).await;
    assert_eq!(r.status(), 200);
    let home = r.text().await.unwrap();
    assert!(
        home.contains("管理後台") && home.contains("路人甲"),
        "{home}"
    );

    // A form without (or with a wrong) CSRF token is refused.
    for token in ["", "forged"] {
        let r = post_form(&app, "/admin/keys/rotate", &[("csrf_token", token)]).await;
        assert_eq!(r.status(), 403);
        assert!(r.text().await.unwrap().contains("data-reason=\"csrf\""));
    }
    let keys = app.get("/admin/keys").await.text().await.unwrap();
    let rotate = [("csrf_token", csrf(&keys)), ("alg", "ES256".into())];
    let r = post_form(&app, "/admin/keys/rotate", &rotate).await;
    assert_eq!(location(&r), "/admin/keys?done=rotated");
    let keys = app
        .get("/admin/keys?done=rotated")
        .await
        .text()
        .await
        .unwrap();
    assert!(keys.contains("data-state=\"next\""), "{keys}");

    // English pages.
    let en = app
        .get("/admin/clients?lang=en")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        en.contains("<html lang=\"en\">") && en.contains("New client"),
        "{en}"
    );
    let en = app.get("/admin/registrations").await.text().await.unwrap();
    assert!(
        en.contains("Card number, national ID or name"),
        "the choice stays"
    );
    // A field error on an English page is in English.
    let search = [("csrf_token", csrf(&en)), ("q", "12345".into())];
    let r = post_form(&app, "/admin/registrations", &search).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        form_error(&page).contains("a card number has 12 digits"),
        "{page}"
    );
    // And in Chinese on a zh-TW page.
    let zh = app
        .get("/admin/registrations?lang=zh-TW")
        .await
        .text()
        .await
        .unwrap();
    let search = [("csrf_token", csrf(&zh)), ("q", "12345".into())];
    let page = post_form(&app, "/admin/registrations", &search)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(form_error(&page), "健保卡卡號為 12 位數字。");

    // Revoking the role ends the console at once.
    cardinal::admin::roles::revoke(&app.engine, &cardinal::admin::Actor::cli(), &someone).unwrap();
    let r = app.get("/admin/clients").await;
    assert_eq!(location(&r), "/admin/login");
}

/// On the new-client form: a bad redirect URI is refused, then `ecpa` is made; returns its secret.
async fn create_ecpa_on_the_form(app: &TestApp) -> String {
    let form = app.get("/admin/clients/new").await.text().await.unwrap();
    assert!(
        form.contains("<label for=\"redirect_uris\">"),
        "labelled fields"
    );
    let token = csrf(&form);
    let post = |fields: Vec<(&'static str, String)>| async move {
        post_form(app, "/admin/clients", &fields).await
    };
    let r = post(vec![
        ("csrf_token", token.clone()),
        ("name", "eCPA".into()),
        ("redirect_uris", "http://ecpa.example.gov.tw/cb".into()),
        ("grant_types", "authorization_code".into()),
        ("auth_method", "client_secret_basic".into()),
        ("scopes", "openid".into()),
    ])
    .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("data-field=\"redirect_uris\""), "{page}");
    assert!(page.contains("aria-invalid=\"true\""));
    assert!(
        page.contains("http://ecpa.example.gov.tw/cb"),
        "the input is kept"
    );
    // Said in Chinese on a zh-TW page (the rule, not the API's English message).
    let error = form_error(&page);
    assert!(error.contains("URI 不符規定：須為 https"), "{error}");
    assert!(
        !error.contains("must"),
        "no English on a zh-TW page: {error}"
    );
    assert_eq!(client_count(app), 1, "only the console's own client");
    let r = post(vec![
        ("csrf_token", token.clone()),
        ("client_id", "ecpa".into()),
        ("name", "eCPA".into()),
        (
            "redirect_uris",
            "https://ecpa.example.gov.tw/cb\r\nhttps://ecpa.example.gov.tw/cb2".into(),
        ),
        ("grant_types", "authorization_code".into()),
        ("grant_types", "refresh_token".into()),
        ("auth_method", "client_secret_basic".into()),
        ("scopes", "openid".into()),
        ("scopes", "profile".into()),
        ("min_acr", "urn:cardinal:acr:card".into()),
        ("subject_type", "public".into()),
        ("skip_consent", "true".into()),
    ])
    .await;
    // Post/redirect/get: the secret is shown by the page the post leads to.
    assert_eq!(location(&r), "/admin/clients/ecpa/secret");
    let r = app.get("/admin/clients/ecpa/secret").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let page = r.text().await.unwrap();
    let secret = shown_secret(&page);
    assert!(secret.len() >= 43, "{page}");
    assert!(page.contains("新用戶端已建立"), "{page}");
    assert!(
        !page.contains("舊密鑰已失效"),
        "a new client had no old secret"
    );
    let client = cardinal::admin::clients::records::find(&app.engine, "ecpa").unwrap();
    assert_eq!(client.redirect_uris.len(), 2);
    assert!(client.skip_consent);

    // A reload neither shows the secret again nor makes a second client.
    let again = app.get("/admin/clients/ecpa/secret").await;
    assert_eq!(again.status(), 410);
    let page = again.text().await.unwrap();
    assert!(
        !page.contains(&secret) && page.contains("id=\"secret-gone\""),
        "{page}"
    );
    assert_eq!(client_count(app), 2, "the console's client and ecpa");
    secret
}

/// How many clients are registered.
fn client_count(app: &TestApp) -> usize {
    app.engine.store().list_clients().unwrap().len()
}

/// The text of the page's error.
fn form_error(page: &str) -> String {
    let start = page
        .find("id=\"form-error\"")
        .expect("an error on the page");
    let start = start + page[start..].find('>').unwrap() + 1;
    let end = start + page[start..].find("</p>").unwrap();
    page[start..end].to_string()
}

/// How many `kind` events the audit log has.
fn audit_count(app: &TestApp, kind: &str) -> usize {
    let filter = cardinal::store::AuditFilter {
        event: Some(kind.into()),
        ..Default::default()
    };
    app.engine
        .store()
        .query_audit(&filter, None, 100)
        .unwrap()
        .len()
}

/// Finds `target` by national ID `national` and deactivates it, first refused without a reason.
async fn find_and_deactivate_on_the_console(app: &TestApp, target: &str, national: &str) {
    // The search is posted (a national ID never goes into a URL); without the form's
    // token it is refused.
    let list = app.get("/admin/registrations").await.text().await.unwrap();
    let forged = [("csrf_token", "forged"), ("q", national)];
    let forged = post_form(app, "/admin/registrations", &forged).await;
    assert_eq!(forged.status(), 403);
    let token = csrf(&list);
    let search = [("csrf_token", token.as_str()), ("q", national)];
    let found = post_form(app, "/admin/registrations", &search)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !found.contains("/admin/registrations?q="),
        "no link carries the query"
    );
    assert!(
        found.contains(&format!("/admin/registrations/{target}")),
        "{found}"
    );
    assert_eq!(
        found.matches(national).count(),
        1,
        "only in the search box: the results show it masked"
    );
    let detail = app
        .get(&format!("/admin/registrations/{target}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        detail.contains("(健保卡)") && !detail.contains("(nhi)"),
        "the card kind in words: {detail}"
    );
    let deactivate = format!("/admin/registrations/{target}/deactivate");
    let token = csrf(&detail);
    let no_reason = [("csrf_token", token.as_str()), ("reason", "")];
    let r = post_form(app, &deactivate, &no_reason).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("data-field=\"reason\""));
    assert_eq!(form_error(&page), "停用註冊須填寫原因。");
    let reason = [("csrf_token", token.as_str()), ("reason", "臨櫃停用")];
    let r = post_form(app, &deactivate, &reason).await;
    assert_eq!(
        location(&r),
        format!("/admin/registrations/{target}?done=deactivated")
    );
    let detail = app.get(&location(&r)).await.text().await.unwrap();
    assert!(detail.contains("data-status=\"deactivated\""), "{detail}");
    assert!(detail.contains("臨櫃停用"));
}

#[tokio::test]
async fn the_console_manages_clients_registrations_and_exports_the_audit_log() {
    let app = spawn_app().await;
    let admin = resident(&app, 71, "000077770001", "管理員", false);
    let target = resident(&app, 72, "000077770002", "王小明", false);
    cardinal::admin::roles::grant(&app.engine, &cardinal::admin::Actor::cli(), &admin).unwrap();
    assert_eq!(console_sign_in(&app, &admin).await.status(), 200);

    // A new client: a forbidden redirect URI is refused on the form, with the field marked.
    let secret = create_ecpa_on_the_form(&app).await;

    // Rotate its secret.
    let edit = app.get("/admin/clients/ecpa").await.text().await.unwrap();
    assert!(!edit.contains(&secret), "the secret is shown once");
    let r = post_form(
        &app,
        "/admin/clients/ecpa/secret",
        &[("csrf_token", csrf(&edit))],
    )
    .await;
    assert_eq!(location(&r), "/admin/clients/ecpa/secret");
    let page = app
        .get("/admin/clients/ecpa/secret")
        .await
        .text()
        .await
        .unwrap();
    let rotated = shown_secret(&page);
    assert_ne!(rotated, secret);
    assert!(page.contains("舊密鑰已失效"), "a rotation says so: {page}");
    // A reload does not rotate again: the secret shown still works, one rotation audited.
    assert_eq!(app.get("/admin/clients/ecpa/secret").await.status(), 410);
    assert_eq!(audit_count(&app, "client_rotate_secret"), 1);
    let introspect = app
        .api
        .post(app.url("/introspect"))
        .basic_auth("ecpa", Some(&rotated))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(introspect.status(), 200);
    // The handoff is bound to this console session: another browser gets nothing.
    let other = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = other
        .get(app.url("/admin/clients/ecpa/secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/admin/login");

    // Find the registration and deactivate it: a reason is required.
    find_and_deactivate_on_the_console(&app, &target, &national_id(72)).await;

    // The audit log shows each step by this admin; the CSV export has them.
    let actor = format!("person:{admin}");
    let page = app
        .get(&format!("/admin/audit?actor={actor}"))
        .await
        .text()
        .await
        .unwrap();
    for (event, label) in [
        ("admin_login", "管理後台登入"),
        ("client_create", "建立應用系統"),
        ("client_rotate_secret", "更換用戶端密鑰"),
        ("registration_deactivate", "停用註冊"),
    ] {
        assert!(
            page.contains(&format!("data-event=\"{event}\"")),
            "{event}: {page}"
        );
        assert!(page.contains(label), "{event} labelled {label}");
    }
    // Times in Taiwan time with the zone named; no UTC time on the page.
    assert!(page.contains(" (UTC+8)</td>"), "{page}");
    assert!(!page.contains("Z</td>"), "{page}");
    assert!(page.contains(">成功</td>"));
    let en = app
        .get(&format!("/admin/audit?actor={actor}&lang=en"))
        .await
        .text()
        .await
        .unwrap();
    assert!(en.contains("Client created") && en.contains("Registration deactivated"));
    assert!(en.contains(" (UTC+8)</td>"));
    let keys = app.get("/admin/keys").await.text().await.unwrap();
    assert!(
        keys.contains("(UTC+8)") && !keys.contains("Z</td>"),
        "{keys}"
    );
    // Back to zh-TW for what follows.
    app.get("/admin?lang=zh-TW").await;
    let r = app.get(&format!("/admin/audit.csv?actor={actor}")).await;
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    assert!(csv.contains("registration_deactivate") && csv.contains("reason=臨櫃停用"));
    let r = app.get("/admin/audit?from=someday").await;
    assert_eq!(r.status(), 422);
    // A filter that cannot be read is an error, never the whole log taken for a filtered one.
    for bad in ["limit=x&actor=nobody", "actor=a&actor=b"] {
        let r = app.get(&format!("/admin/audit?{bad}")).await;
        assert_eq!(r.status(), 422, "{bad}");
        let page = r.text().await.unwrap();
        assert!(!page.contains("臨櫃停用"), "no unfiltered rows for {bad}");
        let r = app.get(&format!("/admin/audit.csv?{bad}")).await;
        assert_eq!(r.status(), 422, "{bad}");
    }

    // Logout ends the console session and offers the SSO logout.
    let home = app.get("/admin").await.text().await.unwrap();
    let r = post_form(&app, "/admin/logout", &[("csrf_token", csrf(&home))]).await;
    assert!(location(&r).starts_with("/logout?client_id=cardinal-admin"));
    assert_eq!(location(&app.get("/admin").await), "/admin/login");
    assert_not_logged(&[&secret, &national_id(71), &national_id(72)]);
}

#[tokio::test]
async fn the_console_asks_for_its_minimum_acr() {
    let app = spawn_app_with(|s| s.admin.min_acr = "citizen-certificate".parse().unwrap()).await;
    let client = cardinal::admin::clients::records::find(&app.engine, "cardinal-admin").unwrap();
    assert_eq!(
        client.min_acr,
        Some(cardinal::domain::Acr::CitizenCertificate),
        "the console's client carries admin.min_acr"
    );
    let admin = resident(&app, 91, "000099990001", "管理員", false);
    cardinal::admin::roles::grant(&app.engine, &cardinal::admin::Actor::cli(), &admin).unwrap();
    // A card-level sign-in (acr card) does not open the console.
    let r = console_sign_in(&app, &admin).await;
    let page = r.text().await.unwrap_or_default();
    assert!(
        !page.contains("id=\"admin-name\""),
        "a card-level sign-in got into a citizen-certificate console: {page}"
    );
    assert_eq!(location(&app.get("/admin").await), "/admin/login");
}
