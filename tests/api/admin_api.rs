//! The admin REST API `/admin/api/v1`: every operation, the authorization refusals (no
//! token, wrong scope, a person's token even of an admin), validation errors with the
//! field, paging, and the OpenAPI document.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::admin_cli::{national_id, resident};
use crate::helpers::*;

/// A client allowed the admin scope, and a client_credentials token with it.
pub async fn admin_token(app: &TestApp) -> (TestClient, String) {
    let client = machine_client(app, &["cardinal:admin"]);
    let token = client_token(app, &client, "cardinal:admin").await;
    (client, token)
}

/// A fresh app, with an admin client and its token ([`admin_token`]).
async fn spawn_with_admin_token() -> (TestApp, TestClient, String) {
    let app = spawn_app().await;
    let (client, token) = admin_token(&app).await;
    (app, client, token)
}

/// A confidential client_credentials-only client with `scopes`.
pub fn machine_client(app: &TestApp, scopes: &[&str]) -> TestClient {
    let draft = cardinal::admin::clients::ClientDraft {
        name: Some("Counter system".into()),
        grant_types: Some(vec!["client_credentials".into()]),
        scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    };
    let (client, secret) = cardinal::admin::clients::records::create(&app.engine, &draft).unwrap();
    TestClient {
        client_id: client.client_id.to_string(),
        secret,
        redirect_uri: String::new(),
    }
}

async fn client_token(app: &TestApp, client: &TestClient, scope: &str) -> String {
    let r = app
        .api
        .post(app.url("/token"))
        .basic_auth(&client.client_id, client.secret.as_deref())
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let body: Value = r.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

/// Calls the API; (status, JSON body or Null).
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    // No pooled connections: a slow step between two calls (argon2 in `resident`) must not
    // race the server's keep-alive timeout on an idle connection.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut r = http.request(method, app.url(&format!("/admin/api/v1{path}")));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn assert_invalid(got: &(u16, Value), field: &str, hint: &str) {
    assert_eq!(got.0, 422, "{}", got.1);
    assert_eq!(got.1["error"], "invalid_request");
    assert_eq!(got.1["field"], field, "{}", got.1);
    assert!(
        got.1["error_description"].as_str().unwrap().contains(hint),
        "{hint}: {}",
        got.1
    );
}

/// POST /clients with `body`; (status, JSON body).
async fn post_client(app: &TestApp, token: Option<&str>, body: Value) -> (u16, Value) {
    call(app, Method::POST, "/clients", token, Some(body)).await
}

#[tokio::test]
async fn the_api_refuses_no_token_a_bad_token_the_wrong_scope_and_persons() {
    let app = spawn_app().await;

    // No token: 401 with a Bearer challenge.
    let r = app
        .api
        .get(app.url("/admin/api/v1/clients"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"].to_str().unwrap(),
        "Bearer realm=\"cardinal-admin\""
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    // Not a query parameter either.
    let (status, _) = call(&app, Method::GET, "/clients?access_token=x", None, None).await;
    assert_eq!(status, 401);

    // A token that is not one: 401 invalid_token.
    let r = app
        .api
        .get(app.url("/admin/api/v1/clients"))
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));

    // A client without the admin scope cannot ask for it, and its own tokens get 403.
    let plain = machine_client(&app, &["email"]);
    let r = app
        .api
        .post(app.url("/token"))
        .basic_auth(&plain.client_id, plain.secret.as_deref())
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "cardinal:admin"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_scope");
    let plain_token = {
        let r = app
            .api
            .post(app.url("/token"))
            .basic_auth(&plain.client_id, plain.secret.as_deref())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let r = app
        .api
        .get(app.url("/admin/api/v1/keys"))
        .bearer_auth(&plain_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "insufficient_scope"
    );

    // A person's token is never an admin credential, even a person with the admin role, and
    // the authorization endpoint never grants the admin scope to a person.
    let person = resident(&app, 21, "000033330001", "林主任", false);
    cardinal::admin::roles::grant(&app.engine, &cardinal::admin::Actor::system(), &person).unwrap();
    let rp = app.add_client(|d| {
        d.grant_types = Some(vec![
            "authorization_code".into(),
            "client_credentials".into(),
        ]);
        d.scopes = Some(vec!["openid".into(), "cardinal:admin".into()]);
    });
    let (verifier, challenge) = pkce();
    let params = auth_params(&rp, &challenge, &[("scope", "openid cardinal:admin")]);
    let back = app.sign_in(&params, &person).await;
    let code = query_param(&back, "code").expect("code");
    let tokens: Value = app
        .redeem(&rp, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        tokens["scope"], "openid",
        "admin scope never granted to a person"
    );
    let person_token = tokens["access_token"].as_str().unwrap();
    let (status, body) = call(&app, Method::GET, "/keys", Some(person_token), None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "insufficient_scope");
}

#[tokio::test]
async fn the_admin_scope_is_refused_to_public_clients_and_ends_with_the_scope_or_client() {
    let app = spawn_app().await;

    // Registering the admin scope on a public client or one without client_credentials is
    // refused with the field.
    let (_, token) = admin_token(&app).await;
    let got = post_client(
        &app,
        Some(&token),
        json!({"name": "x", "redirect_uris": ["https://rp.example.gov.tw/cb"], "scopes": ["openid", "cardinal:admin"]}),
    )
    .await;
    assert_invalid(&got, "scopes", "client_credentials");
    assert_eq!(
        got.1["code"], "admin_scope",
        "the rule, for programs: {}",
        got.1
    );

    // Taking the scope away from a client stops its live tokens at once.
    let (status, _) = call(&app, Method::GET, "/keys", Some(&token), None).await;
    assert_eq!(status, 200);
    let (other, other_token) = admin_token(&app).await;
    let got = call(
        &app,
        Method::PATCH,
        &format!("/clients/{}", other.client_id),
        Some(&token),
        Some(json!({"scopes": ["email"]})),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    let (status, body) = call(&app, Method::GET, "/keys", Some(&other_token), None).await;
    assert_eq!(status, 403, "{body}");

    // A deleted client's tokens are dead.
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/clients/{}", other.client_id),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(&app, Method::GET, "/keys", Some(&other_token), None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn clients_are_listed_created_changed_rotated_and_deleted_over_the_api() {
    let (app, caller, token) = spawn_with_admin_token().await;
    let t = Some(token.as_str());

    let (id, secret) = create_ecpa_and_a_native_client(&app, t).await;
    update_ecpa(&app, t, &id).await;
    let new_secret = rotate_ecpa_secret(&app, t, &id, &secret).await;

    // List with paging.
    let seen = list_clients_by_two(&app, t).await;
    let all: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(all.len(), seen.len(), "no client twice");
    for expected in [
        id.as_str(),
        "desktop-app",
        "cardinal-admin",
        caller.client_id.as_str(),
    ] {
        assert!(all.contains(expected), "{expected} missing from {all:?}");
    }
    assert!(!seen.is_empty() && !format!("{seen:?}").contains(&new_secret));
    let (status, body) = call(&app, Method::GET, "/clients?limit=0", t, None).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("limit")));
    let (status, _) = call(&app, Method::GET, "/clients?limit=many", t, None).await;
    assert_eq!(status, 400);
    let (status, body) = call(&app, Method::GET, "/clients?cursor=%%%", t, None).await;
    assert!(
        status == 400 || body["field"] == "cursor",
        "{status} {body}"
    );

    // Delete: 204, then 404; the console's own client stays.
    delete_ecpa_but_not_the_console(&app, t, &id).await;

    // Each change is audited with the API client as the actor.
    let actor = format!("client:{}", caller.client_id);
    let (_, audit) = call(
        &app,
        Method::GET,
        &format!("/audit?client_id={id}&actor={actor}"),
        t,
        None,
    )
    .await;
    assert_eq!(
        item_strings(&audit, "event"),
        [
            "client_delete",
            "client_rotate_secret",
            "client_update",
            "client_create"
        ],
        "{audit}"
    );
    assert_not_logged(&[&secret, &new_secret, &token]);
}

/// Creates eCPA (its secret shown once) and the public `desktop-app`; returns eCPA's id and secret.
async fn create_ecpa_and_a_native_client(app: &TestApp, t: Option<&str>) -> (String, String) {
    // Create: 201 with the secret once.
    let (status, created) = post_client(
        app,
        t,
        json!({
            "name": "eCPA",
            "redirect_uris": ["https://ecpa.example.gov.tw/cb"],
            "post_logout_redirect_uris": ["https://ecpa.example.gov.tw/"],
            "backchannel_logout_uri": "https://ecpa.example.gov.tw/bc",
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "auth_method": "client_secret_post",
            "scopes": ["openid", "profile", "email"],
            "min_acr": "citizen-certificate",
            "skip_consent": true,
            "subject_type": "pairwise",
            "id_token_alg": "ES256"
        }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["client_id"].as_str().unwrap().to_string();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    assert_eq!(created["min_acr"], "urn:cardinal:acr:citizen-certificate");
    assert_eq!(created["auth_method"], "client_secret_post");
    assert_eq!(created["subject_type"], "pairwise");
    let (status, shown) = call(app, Method::GET, &format!("/clients/{id}"), t, None).await;
    assert_eq!(status, 200);
    assert!(
        shown.get("client_secret").is_none(),
        "the secret is shown once"
    );
    assert_eq!(
        shown["backchannel_logout_uri"],
        "https://ecpa.example.gov.tw/bc"
    );

    // Native client: http on loopback is fine for a public client.
    let (status, native) = post_client(
        app,
        t,
        json!({"name": "Desktop", "client_id": "desktop-app", "auth_method": "none", "redirect_uris": ["http://127.0.0.1/cb"]}),
    )
    .await;
    assert_eq!(status, 201, "{native}");
    assert!(native.get("client_secret").is_none());
    let (status, dup) = post_client(
        app,
        t,
        json!({"name": "Again", "client_id": "desktop-app", "auth_method": "none", "redirect_uris": ["http://127.0.0.1/cb"]}),
    )
    .await;
    assert_eq!(status, 409, "{dup}");
    assert_eq!(dup["error"], "conflict");
    (id, secret)
}

/// Changes client `id` (given fields replace, null removes); a wildcard and an unknown id fail.
async fn update_ecpa(app: &TestApp, t: Option<&str>, id: &str) {
    let path = format!("/clients/{id}");
    let change = json!({"name": "eCPA 2", "min_acr": null, "backchannel_logout_uri": null});
    let (status, updated) = call(app, Method::PATCH, &path, t, Some(change)).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "eCPA 2");
    assert!(updated["min_acr"].is_null() && updated["backchannel_logout_uri"].is_null());
    assert_eq!(
        updated["redirect_uris"],
        json!(["https://ecpa.example.gov.tw/cb"])
    );
    assert!(updated.get("client_secret").is_none());
    let wildcard = json!({"redirect_uris": ["https://*.x/cb"]});
    let got = call(app, Method::PATCH, &path, t, Some(wildcard)).await;
    assert_invalid(&got, "redirect_uris", "wildcard");
    assert_eq!(got.1["code"], "uri_invalid", "{}", got.1);
    let rename = json!({"name": "n"});
    let (status, _) = call(app, Method::PATCH, "/clients/nope", t, Some(rename)).await;
    assert_eq!(status, 404);
}

/// The status of a client_credentials request by client `id` with `secret` in the form.
async fn client_credentials_status(app: &TestApp, id: &str, secret: &str) -> u16 {
    app.api
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("scope", ""),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Rotates `id`'s secret (the old one dies; a public client has none); returns the new one.
async fn rotate_ecpa_secret(app: &TestApp, t: Option<&str>, id: &str, secret: &str) -> String {
    let (status, rotated) =
        call(app, Method::POST, &format!("/clients/{id}/secret"), t, None).await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    assert_eq!(client_credentials_status(app, id, secret).await, 401);
    assert_ne!(client_credentials_status(app, id, new_secret).await, 401);
    let (status, _) = call(app, Method::POST, "/clients/desktop-app/secret", t, None).await;
    assert_eq!(status, 422, "a public client has no secret");
    new_secret.to_string()
}

/// The client_ids of one page of a client list (`GET path`), and its next cursor.
async fn client_page(app: &TestApp, t: Option<&str>, path: &str) -> (Vec<String>, Option<String>) {
    let (status, page) = call(app, Method::GET, path, t, None).await;
    assert_eq!(status, 200);
    let ids = item_strings(&page, "client_id")
        .into_iter()
        .map(str::to_string)
        .collect();
    (ids, page["next_cursor"].as_str().map(str::to_string))
}

/// Walks the client list two at a time; every client_id seen, in order.
async fn list_clients_by_two(app: &TestApp, t: Option<&str>) -> Vec<String> {
    let (mut seen, mut cursor) = client_page(app, t, "/clients?limit=2").await;
    assert_eq!(seen.len(), 2);
    while let Some(c) = cursor {
        let (ids, next) = client_page(app, t, &format!("/clients?limit=2&cursor={c}")).await;
        seen.extend(ids);
        cursor = next;
    }
    seen
}

/// Deletes client `id` (204, then 404); the console's own client cannot be deleted or changed.
async fn delete_ecpa_but_not_the_console(app: &TestApp, t: Option<&str>, id: &str) {
    let path = format!("/clients/{id}");
    let (status, _) = call(app, Method::DELETE, &path, t, None).await;
    assert_eq!(status, 204);
    let (status, body) = call(app, Method::GET, &path, t, None).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let (status, _) = call(app, Method::DELETE, &path, t, None).await;
    assert_eq!(status, 404);
    let console = "/clients/cardinal-admin";
    let (status, _) = call(app, Method::DELETE, console, t, None).await;
    assert_eq!(status, 409);
    let edit = json!({"redirect_uris": ["https://evil.example/cb"]});
    let (status, body) = call(app, Method::PATCH, console, t, Some(edit)).await;
    assert_eq!(status, 409, "the console's client cannot be edited: {body}");
    let (status, _) = call(app, Method::POST, &format!("{console}/secret"), t, None).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn client_drafts_that_rfc_9700_forbids_or_that_are_malformed_are_refused_over_the_api() {
    let (app, _, token) = spawn_with_admin_token().await;
    let t = Some(token.as_str());

    // What RFC 9700 forbids, refused with the field and the reason.
    for (uri, hint) in [
        ("http://ecpa.example.gov.tw/cb", "https"),
        ("https://ecpa.example.gov.tw/cb#x", "fragment"),
        ("https://*.example.gov.tw/cb", "wildcard"),
        ("javascript:alert(1)", "not allowed"),
        ("data:text/html,hi", "not allowed"),
    ] {
        let got = post_client(&app, t, json!({"name": "x", "redirect_uris": [uri]})).await;
        assert_invalid(&got, "redirect_uris", hint);
        let got = post_client(
            &app,
            t,
            json!({"name": "x", "redirect_uris": ["https://ok.example/cb"], "post_logout_redirect_uris": [uri]}),
        )
        .await;
        assert_invalid(&got, "post_logout_redirect_uris", hint);
    }
    for (draft, field, hint) in [
        (
            json!({"redirect_uris": ["https://ok.example/cb"]}),
            "name",
            "required",
        ),
        (
            json!({"name": "x", "redirect_uris": ["https://ok.example/cb"], "auth_method": "magic"}),
            "auth_method",
            "client_secret_basic",
        ),
        (
            json!({"name": "x", "redirect_uris": ["https://ok.example/cb"], "min_acr": "password"}),
            "min_acr",
            "citizen-certificate",
        ),
        (
            json!({"name": "x", "grant_types": ["authorization_code"]}),
            "redirect_uris",
            "redirect URI",
        ),
    ] {
        assert_invalid(&post_client(&app, t, draft).await, field, hint);
    }
    // Malformed JSON and unknown fields: 400 naming the problem.
    let (status, body) = post_client(
        &app,
        t,
        json!({"name": "x", "redirect_uri": "https://ok.example/cb"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("redirect_uri"),
        "{body}"
    );
    let r = app
        .api
        .post(app.url("/admin/api/v1/clients"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(MALFORMED_JSON)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

/// Searches by name, card number and national ID (masked) and pages; a bad `q` or cursor fails.
async fn search_registrations(app: &TestApp, t: Option<&str>, wang: &str, full: &str) {
    let (status, found) = call(app, Method::GET, "/registrations?q=%E7%8E%8B", t, None).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["items"].as_array().unwrap().len(), 2);
    assert!(!found.to_string().contains(full));
    let (_, by_card) = call(app, Method::GET, "/registrations?q=000044440001", t, None).await;
    assert_eq!(by_card["items"][0]["person_id"], wang);
    assert_eq!(by_card["items"][0]["cards"], json!(["000044440001"]));
    assert_eq!(
        by_card["items"][0]["national_id"],
        format!("{}****{}", &full[..3], &full[7..])
    );
    let (_, by_id) = call(
        app,
        Method::GET,
        &format!("/registrations?q={full}"),
        t,
        None,
    )
    .await;
    assert_eq!(by_id["items"][0]["person_id"], wang);
    let (_, page1) = call(app, Method::GET, "/registrations?limit=2", t, None).await;
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = call(
        app,
        Method::GET,
        &format!("/registrations?limit=2&cursor={cursor}"),
        t,
        None,
    )
    .await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    assert_invalid(
        &call(app, Method::GET, "/registrations?q=1234", t, None).await,
        "q",
        "12 digits",
    );
    assert_invalid(
        &call(app, Method::GET, "/registrations?cursor=bm9wZQ", t, None).await,
        "cursor",
        "next_cursor",
    );
}

/// POST /registrations/{person}/{action} with `body`; (status, JSON body).
async fn registration_action(
    app: &TestApp,
    t: Option<&str>,
    person: &str,
    action: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let path = format!("/registrations/{person}/{action}");
    call(app, Method::POST, &path, t, body).await
}

/// Deactivating needs a reason (given, not blank, at most 500 characters) and a person.
async fn deactivation_without_a_good_reason_is_refused(app: &TestApp, t: Option<&str>, wang: &str) {
    let (status, body) = registration_action(app, t, wang, "deactivate", Some(json!({}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("reason"));
    let blank = json!({"reason": " "});
    assert_invalid(
        &registration_action(app, t, wang, "deactivate", Some(blank)).await,
        "reason",
        "required",
    );
    let long = json!({"reason": "x".repeat(501)});
    assert_invalid(
        &registration_action(app, t, wang, "deactivate", Some(long)).await,
        "reason",
        "500",
    );
    let (status, body) =
        registration_action(app, t, "nobody", "deactivate", Some(json!({"reason": "r"}))).await;
    assert_eq!(status, 404, "{body}");
}

/// Reactivates `wang` (again is a conflict), then locks it with wrong passwords and unlocks it.
async fn reactivate_then_unlock(app: &TestApp, t: Option<&str>, wang: &str) {
    let (status, done) = registration_action(app, t, wang, "reactivate", None).await;
    assert_eq!((status, done["status"].as_str()), (200, Some("active")));
    let (status, _) = registration_action(app, t, wang, "reactivate", None).await;
    assert_eq!(status, 409);

    // Locked by wrong passwords → unlock.
    for _ in 0..5 {
        app.engine
            .store()
            .record_failed_login(wang, 5, app.engine.now())
            .unwrap();
    }
    let (status, done) = registration_action(app, t, wang, "unlock", None).await;
    assert_eq!(
        (status, done["status"].as_str()),
        (200, Some("active")),
        "{done}"
    );
    assert_eq!(done["failed_attempts"], 0);
}

/// Only a pending application can be deleted: `wang`'s is refused, `pending`'s goes.
async fn only_a_pending_application_is_deleted(
    app: &TestApp,
    t: Option<&str>,
    wang: &str,
    pending: &str,
) {
    let (wang, pending) = (
        format!("/registrations/{wang}"),
        format!("/registrations/{pending}"),
    );
    let (status, body) = call(app, Method::DELETE, &wang, t, None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("pending"));
    let (status, _) = call(app, Method::DELETE, &pending, t, None).await;
    assert_eq!(status, 204);
    let (status, _) = call(app, Method::GET, &pending, t, None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn registrations_are_searched_shown_deactivated_reactivated_unlocked_deleted_over_the_api() {
    let (app, caller, token) = spawn_with_admin_token().await;
    let t = Some(token.as_str());
    let wang = resident(&app, 31, "000044440001", "王小明", false);
    let pending = resident(&app, 32, "000044440002", "王大同", true);
    resident(&app, 33, "000044440003", "李美玲", false);

    // Search by name, card number, national ID; IDs masked.
    let full = national_id(31);
    search_registrations(&app, t, &wang, &full).await;

    // A signed-in person with tokens.
    let rp = app.add_client(|_| {});
    let (verifier, challenge) = pkce();
    let back = app
        .sign_in(
            &auth_params(&rp, &challenge, &[("scope", "openid offline_access")]),
            &wang,
        )
        .await;
    let tokens: Value = app
        .redeem(&rp, &query_param(&back, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(app.introspect(&rp, access).await["active"], true);
    let (_, shown) = call(
        &app,
        Method::GET,
        &format!("/registrations/{wang}"),
        t,
        None,
    )
    .await;
    assert_eq!(shown["status"], "active");
    assert_eq!(shown["active_sessions"], 1);

    // Deactivate: reason required; then every session and token of the person is dead.
    deactivation_without_a_good_reason_is_refused(&app, t, &wang).await;
    let reason = json!({"reason": "臨櫃申請停用（申請書 115-0042）"});
    let (status, done) = registration_action(&app, t, &wang, "deactivate", Some(reason)).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "deactivated");
    assert_eq!(
        done["deactivation_reason"],
        "臨櫃申請停用（申請書 115-0042）"
    );
    assert_eq!(done["active_sessions"], 0);
    assert_eq!(app.introspect(&rp, access).await["active"], false);
    assert_eq!(
        app.introspect(&rp, refresh).await["active"],
        false,
        "offline grants too"
    );
    let again = json!({"reason": "again"});
    let (status, _) = registration_action(&app, t, &wang, "deactivate", Some(again)).await;
    assert_eq!(status, 409);
    let (status, body) = registration_action(&app, t, &wang, "unlock", None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "conflict");

    // Reactivate; reactivate again is a conflict; locked by wrong passwords → unlock.
    reactivate_then_unlock(&app, t, &wang).await;

    // End sessions.
    let (verifier, challenge) = pkce();
    let back = app.sign_in(&auth_params(&rp, &challenge, &[]), &wang).await;
    let tokens: Value = app
        .redeem(&rp, &query_param(&back, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let (status, done) = registration_action(&app, t, &wang, "end-sessions", None).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["active_sessions"], 0);
    assert_eq!(app.introspect(&rp, access).await["active"], false);

    // Delete: only a pending application.
    only_a_pending_application_is_deleted(&app, t, &wang, &pending).await;

    // The trail: each step, by this client.
    let (_, shown) = call(
        &app,
        Method::GET,
        &format!("/registrations/{wang}"),
        t,
        None,
    )
    .await;
    let actor = format!("client:{}", caller.client_id);
    let trail: Vec<&str> = shown["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == actor.as_str())
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        trail,
        [
            "sessions_end",
            "registration_unlock",
            "registration_reactivate",
            "registration_deactivate"
        ]
    );
    assert_not_logged(&[&full, &national_id(32)]);
}

#[tokio::test]
async fn the_audit_log_is_filtered_paged_and_exported() {
    let (app, caller, token) = spawn_with_admin_token().await;
    let t = Some(token.as_str());
    let wang = resident(&app, 41, "000055550001", "王小明", false);
    for reason in ["one", "two", "three"] {
        call(
            &app,
            Method::POST,
            &format!("/registrations/{wang}/deactivate"),
            t,
            Some(json!({"reason": reason})),
        )
        .await;
        call(
            &app,
            Method::POST,
            &format!("/registrations/{wang}/reactivate"),
            t,
            None,
        )
        .await;
    }
    // Filters: event, person (by card number), outcome, actor, time.
    let (status, page) = call(
        &app,
        Method::GET,
        "/audit?event=registration_deactivate&person=000055550001&outcome=success",
        t,
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        item_strings(&page, "detail"),
        ["reason=three", "reason=two", "reason=one"]
    );
    assert_eq!(
        page["items"][0]["actor"],
        format!("client:{}", caller.client_id)
    );
    let (_, none) = call(&app, Method::GET, "/audit?person=000099999999", t, None).await;
    assert_eq!(none["items"], json!([]));
    let (_, future) = call(&app, Method::GET, "/audit?from=2999-01-01", t, None).await;
    assert_eq!(future["items"], json!([]));
    let (_, past) = call(&app, Method::GET, "/audit?to=2000-01-01T00:00:00Z", t, None).await;
    assert_eq!(past["items"], json!([]));
    assert_invalid(
        &call(&app, Method::GET, "/audit?from=yesterday", t, None).await,
        "from",
        "RFC 3339",
    );
    assert_invalid(
        &call(
            &app,
            Method::GET,
            "/audit?from=2026-02-01&to=2026-01-01",
            t,
            None,
        )
        .await,
        "to",
        "later",
    );
    // Paging walks every event once.
    let (_, all) = call(
        &app,
        Method::GET,
        "/audit?limit=200&person=000055550001",
        t,
        None,
    )
    .await;
    let total = all["items"].as_array().unwrap().len();
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/audit?limit=2&person=000055550001&cursor={c}"),
            None => "/audit?limit=2&person=000055550001".into(),
        };
        let (_, page) = call(&app, Method::GET, &path, t, None).await;
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(ids.len(), total);
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );

    // CSV export.
    let r = app
        .api
        .get(app.url("/admin/api/v1/audit.csv?event=registration_deactivate"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.starts_with("id,time,event,outcome,actor,person_id,client_id,ip,detail\n"));
    assert!(csv.contains("reason=two"));
    let r = app
        .api
        .get(app.url("/admin/api/v1/audit.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn keys_are_listed_and_rotated_over_the_api() {
    let (app, _, token) = spawn_with_admin_token().await;
    let t = Some(token.as_str());
    let (status, keys) = call(&app, Method::GET, "/keys", t, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        keys.as_array()
            .unwrap()
            .iter()
            .filter(|k| k["state"] == "active")
            .count(),
        3
    );
    let (status, made) = call(
        &app,
        Method::POST,
        "/keys/rotate",
        t,
        Some(json!({"alg": ["ES256"]})),
    )
    .await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(made.as_array().unwrap().len(), 1);
    let kid = made[0]["kid"].as_str().unwrap();
    let (_, keys) = call(&app, Method::GET, "/keys", t, None).await;
    let next: Vec<&Value> = keys
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["state"] == "next")
        .collect();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0]["kid"], kid);
    assert_invalid(
        &call(
            &app,
            Method::POST,
            "/keys/rotate",
            t,
            Some(json!({"alg": ["HS256"]})),
        )
        .await,
        "alg",
        "unsupported",
    );
    let (status, made) = call(&app, Method::POST, "/keys/rotate", t, None).await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(
        made.as_array().unwrap().len(),
        3,
        "every configured algorithm"
    );
    let (_, rotations) = call(&app, Method::GET, "/audit?event=key_rotate", t, None).await;
    assert_eq!(rotations["items"].as_array().unwrap().len(), 4);
}

/// (method, path) of every operation of the API.
const OPERATIONS: [(&str, &str); 23] = [
    ("get", "/admin/api/v1/clients"),
    ("post", "/admin/api/v1/clients"),
    ("get", "/admin/api/v1/clients/{client_id}"),
    ("patch", "/admin/api/v1/clients/{client_id}"),
    ("delete", "/admin/api/v1/clients/{client_id}"),
    ("post", "/admin/api/v1/clients/{client_id}/secret"),
    ("get", "/admin/api/v1/registrations"),
    ("get", "/admin/api/v1/registrations/{person_id}"),
    ("delete", "/admin/api/v1/registrations/{person_id}"),
    ("post", "/admin/api/v1/registrations/{person_id}/deactivate"),
    ("post", "/admin/api/v1/registrations/{person_id}/reactivate"),
    ("post", "/admin/api/v1/registrations/{person_id}/unlock"),
    (
        "post",
        "/admin/api/v1/registrations/{person_id}/end-sessions",
    ),
    ("get", "/admin/api/v1/audit"),
    ("get", "/admin/api/v1/audit.csv"),
    ("get", "/admin/api/v1/keys"),
    ("post", "/admin/api/v1/keys/rotate"),
    ("get", "/admin/api/v1/notices"),
    ("post", "/admin/api/v1/notices"),
    ("get", "/admin/api/v1/notices/{notice_id}"),
    ("patch", "/admin/api/v1/notices/{notice_id}"),
    ("delete", "/admin/api/v1/notices/{notice_id}"),
    ("get", "/admin/api/v1/openapi.json"),
];

#[tokio::test]
async fn the_openapi_document_validates_and_lists_every_route_of_the_api() {
    let app = spawn_app().await;
    let r = app
        .api
        .get(app.url("/admin/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let spec = oas3::from_json(&text).expect("a valid OpenAPI document");
    spec.validate_version()
        .expect("a supported OpenAPI version");
    assert_eq!(spec.info.title, "Cardinal admin API");

    // Every documented operation exists, and every route of the API is documented.
    let documented: BTreeSet<(String, String)> = spec
        .operations()
        .map(|(path, method, _)| (method.as_str().to_ascii_lowercase(), path))
        .collect();
    let expected: BTreeSet<(String, String)> = OPERATIONS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, expected);

    // Every reference resolves; every protected operation declares the bearer scheme.
    for (path, method, op) in spec.operations() {
        if let Some(body) = &op.request_body {
            let body = body
                .resolve(&spec)
                .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            for media in body.content.values() {
                if let Some(schema) = &media.schema {
                    schema
                        .resolve(&spec)
                        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
                }
            }
        }
        for (status, response) in op.responses.iter().flatten() {
            let response = response
                .resolve(&spec)
                .unwrap_or_else(|e| panic!("{method} {path} {status}: {e}"));
            for media in response.content.values() {
                if let Some(schema) = &media.schema {
                    schema
                        .resolve(&spec)
                        .unwrap_or_else(|e| panic!("{method} {path} {status}: {e}"));
                }
            }
        }
        if !path.ends_with("openapi.json") {
            assert!(
                !op.security.is_empty(),
                "{method} {path} declares no security"
            );
        }
    }
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    // Each documented route answers (401 without a token: routed, not 404).
    for (method, path) in OPERATIONS
        .iter()
        .filter(|(_, p)| !p.ends_with("openapi.json"))
    {
        let concrete = path
            .replace("{client_id}", "some-client")
            .replace("{person_id}", "some-person")
            .replace("{notice_id}", "some-notice")
            .trim_start_matches("/admin/api/v1")
            .to_string();
        let m = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
        let (status, body) = call(&app, m, &concrete, None, None).await;
        assert_eq!(status, 401, "{method} {path}: {body}");
    }
    let (status, body) = call(&app, Method::GET, "/nothing-here", None, None).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn a_rotated_secret_ends_the_clients_live_tokens_and_a_stale_edit_is_refused() {
    let app = spawn_app().await;
    let operator = machine_client(&app, &["cardinal:admin"]);
    let robot = machine_client(&app, &["cardinal:admin"]);
    let t_operator = client_token(&app, &operator, "cardinal:admin").await;
    let t_robot = client_token(&app, &robot, "cardinal:admin").await;
    let (status, _) = call(&app, Method::GET, "/clients", Some(&t_robot), None).await;
    assert_eq!(status, 200);

    // The operator rotates the robot's secret (say it leaked): the robot's token dies with it.
    let (status, rotated) = call(
        &app,
        Method::POST,
        &format!("/clients/{}/secret", robot.client_id),
        Some(&t_operator),
        None,
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let (status, _) = call(&app, Method::GET, "/clients", Some(&t_robot), None).await;
    assert_eq!(status, 401, "a token issued with the old secret is revoked");
    let (status, _) = call(&app, Method::GET, "/clients", Some(&t_operator), None).await;
    assert_eq!(status, 200, "other clients' tokens live on");

    // An edit based on a read from before the rotation is refused (optimistic locking): it
    // can neither bring the old secret back nor undo another admin's change.
    let stale = cardinal::admin::clients::records::find(&app.engine, &operator.client_id).unwrap();
    let (status, rotated) = call(
        &app,
        Method::POST,
        &format!("/clients/{}/secret", operator.client_id),
        Some(&t_operator),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let fresh_secret = rotated["client_secret"].as_str().unwrap().to_string();
    let mut edited = stale.clone();
    edited.name = "Counter system (renamed)".into();
    let audit = cardinal::store::AuditEvent {
        at: app.engine.now(),
        event: "client_update".into(),
        outcome: "success".into(),
        actor: Some("test".into()),
        person_id: None,
        client_id: Some(operator.client_id.clone()),
        ip: None,
        detail: None,
    };
    for change in [
        cardinal::store::ClientChange::Update(&edited),
        cardinal::store::ClientChange::UpdateWithSecret(&edited),
        cardinal::store::ClientChange::RotateSecret(&edited),
    ] {
        assert!(matches!(
            app.engine.store().write_client(&change, &audit),
            Err(cardinal::store::StoreError::Stale)
        ));
    }
    let now = cardinal::admin::clients::records::find(&app.engine, &operator.client_id).unwrap();
    assert_eq!(now.name, "Counter system");
    assert_ne!(
        now.secret_hash, stale.secret_hash,
        "the old secret stays dead"
    );
    // Based on a fresh read, the same edit goes through.
    let mut edited = now.clone();
    edited.name = "Counter system (renamed)".into();
    assert!(app
        .engine
        .store()
        .write_client(&cardinal::store::ClientChange::Update(&edited), &audit)
        .unwrap());
    let renamed =
        cardinal::admin::clients::records::find(&app.engine, &operator.client_id).unwrap();
    assert_eq!(renamed.name, "Counter system (renamed)");
    assert_eq!(renamed.version, now.version + 1);
    assert_eq!(renamed.secret_hash, now.secret_hash);
    let fresh = TestClient {
        secret: Some(fresh_secret),
        ..operator
    };
    client_token(&app, &fresh, "cardinal:admin").await;
}
