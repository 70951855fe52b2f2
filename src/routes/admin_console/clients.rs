//! The console's clients: the list, the form to register or change one, the secret shown
//! once, rotating the secret and deleting.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{Console, ConsoleForm, Outcome, PageQuery, WithOutcome};
use crate::admin::clients::{self, ClientInput, ClientView, ClientWithSecret};
use crate::admin::{AdminResult, MAX_LIMIT};
use crate::crypto::{ct_eq, token_hash};
use crate::domain::scope::{ADMIN_SCOPE, KNOWN_SCOPES};
use crate::domain::{Acr, AuthMethod, GrantType, SubjectType};
use crate::routes::responses::{cookie, removal, see_other};

/// The list of clients.
#[derive(Serialize)]
struct ClientsPage {
    title: String,
    nav_clients: bool,
    clients: Vec<ClientView>,
    next: Option<String>,
}

/// The list's failure.
#[derive(Serialize)]
struct ClientsNav {
    nav_clients: bool,
}

/// `GET /admin/clients`.
pub async fn get_clients(c: Console, query: web::Query<PageQuery>) -> HttpResponse {
    let q = query.into_inner();
    let cursor = q.cursor;
    let listed = c
        .call(move |e, _| clients::list(e, Some(MAX_LIMIT), cursor.as_deref()))
        .await;
    match listed {
        Ok(p) => {
            let page = ClientsPage {
                title: c.text("admin_clients"),
                nav_clients: true,
                clients: p.items,
                next: p.next_cursor,
            };
            let outcome = c.done(q.done.as_deref());
            c.render(
                "admin_clients",
                StatusCode::OK,
                &WithOutcome {
                    data: &page,
                    outcome,
                },
            )
        }
        Err(e) => c.failed("admin_clients", &ClientsNav { nav_clients: true }, &e),
    }
}

/// The values shown in the client form, and read back from its post.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct ClientForm {
    client_id: String,
    name: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: String,
    grant_types: Vec<String>,
    auth_method: String,
    scopes: Vec<String>,
    min_acr: String,
    skip_consent: bool,
    subject_type: String,
    id_token_alg: String,
    jwks: String,
}

impl ClientForm {
    fn new_client() -> Self {
        ClientForm {
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            auth_method: "client_secret_basic".into(),
            scopes: ["openid", "profile", "email", "phone", "offline_access"]
                .map(String::from)
                .to_vec(),
            subject_type: "public".into(),
            ..Default::default()
        }
    }

    fn of(v: &ClientView) -> Self {
        ClientForm {
            client_id: v.client_id.clone(),
            name: v.name.clone(),
            redirect_uris: v.redirect_uris.join("\n"),
            post_logout_redirect_uris: v.post_logout_redirect_uris.join("\n"),
            backchannel_logout_uri: v.backchannel_logout_uri.clone().unwrap_or_default(),
            grant_types: v.grant_types.clone(),
            auth_method: v.auth_method.clone(),
            scopes: v.scopes.clone(),
            min_acr: v.min_acr.clone().unwrap_or_default(),
            skip_consent: v.skip_consent,
            subject_type: v.subject_type.clone(),
            id_token_alg: v.id_token_alg.clone().unwrap_or_default(),
            jwks: String::new(),
        }
    }

    fn input(&self, is_new: bool) -> ClientInput {
        let lines = |v: &str| -> Vec<String> {
            v.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        };
        let opt = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_string());
        ClientInput {
            client_id: if is_new { opt(&self.client_id) } else { None },
            name: Some(self.name.trim().to_string()),
            redirect_uris: Some(lines(&self.redirect_uris)),
            post_logout_redirect_uris: Some(lines(&self.post_logout_redirect_uris)),
            backchannel_logout_uri: Some(opt(&self.backchannel_logout_uri)),
            grant_types: Some(self.grant_types.clone()),
            auth_method: opt(&self.auth_method),
            scopes: Some(self.scopes.clone()),
            min_acr: Some(opt(&self.min_acr)),
            skip_consent: Some(self.skip_consent),
            subject_type: opt(&self.subject_type),
            jwks: opt(&self.jwks),
            id_token_alg: opt(&self.id_token_alg),
        }
    }
}

/// A check box or radio button.
#[derive(Serialize)]
struct Choice<'a> {
    value: &'a str,
    checked: bool,
}

/// A radio button with its label.
#[derive(Serialize)]
struct Labelled<'a> {
    value: &'a str,
    label: String,
    checked: bool,
}

fn choices<'a>(values: &[&'a str], chosen: &[String]) -> Vec<Choice<'a>> {
    values
        .iter()
        .map(|v| Choice {
            value: v,
            checked: chosen.iter().any(|c| c == v),
        })
        .collect()
}

fn labelled<'a>(
    none: String,
    values: impl Iterator<Item = (&'a str, String)>,
    chosen: &str,
) -> Vec<Labelled<'a>> {
    std::iter::once(("", none))
        .chain(values)
        .map(|(value, label)| Labelled {
            value,
            label,
            checked: chosen == value,
        })
        .collect()
}

/// The form to register or change a client.
#[derive(Serialize)]
struct ClientPage<'a> {
    title: String,
    heading: String,
    nav_clients: bool,
    is_new: bool,
    action: String,
    form: &'a ClientForm,
    grant_choices: Vec<Choice<'a>>,
    auth_choices: Vec<Choice<'a>>,
    scope_choices: Vec<Choice<'a>>,
    subject_choices: Vec<Choice<'a>>,
    acr_choices: Vec<Labelled<'a>>,
    alg_choices: Vec<Labelled<'a>>,
}

fn client_page(
    c: &Console,
    status: StatusCode,
    form: &ClientForm,
    is_new: bool,
    outcome: Outcome,
) -> HttpResponse {
    let grants: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
    let methods: Vec<&str> = AuthMethod::ALL.iter().map(|m| m.as_str()).collect();
    let subjects: Vec<&str> = SubjectType::ALL.iter().map(|s| s.as_str()).collect();
    let mut scopes: Vec<&str> = KNOWN_SCOPES.to_vec();
    scopes.push(ADMIN_SCOPE);
    let acrs = [Acr::Card, Acr::Passkey, Acr::CitizenCertificate]
        .iter()
        .map(|a| (a.as_str(), c.text(&format!("acr_{}", a.as_str()))));
    let algorithms = &c.state.engine.settings().keys.algorithms;
    let algs = algorithms.iter().map(|a| (a.as_str(), a.clone()));
    let heading = c.text(if is_new {
        "admin_client_new"
    } else {
        "admin_client_edit"
    });
    let action = if is_new {
        "/admin/clients".to_string()
    } else {
        format!("/admin/clients/{}", form.client_id)
    };
    let page = ClientPage {
        title: heading.clone(),
        heading,
        nav_clients: true,
        is_new,
        action,
        form,
        grant_choices: choices(&grants, &form.grant_types),
        auth_choices: choices(&methods, std::slice::from_ref(&form.auth_method)),
        scope_choices: choices(&scopes, &form.scopes),
        subject_choices: choices(&subjects, std::slice::from_ref(&form.subject_type)),
        acr_choices: labelled(c.text("admin_acr_none"), acrs, &form.min_acr),
        alg_choices: labelled(c.text("admin_alg_default"), algs, &form.id_token_alg),
    };
    c.render(
        "admin_client",
        status,
        &WithOutcome {
            data: &page,
            outcome,
        },
    )
}

/// `GET /admin/clients/new`.
pub async fn get_new_client(c: Console) -> HttpResponse {
    let form = ClientForm::new_client();
    client_page(&c, StatusCode::OK, &form, true, Outcome::Nothing {})
}

/// `GET /admin/clients/{client_id}`.
pub async fn get_client(
    c: Console,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> HttpResponse {
    match c.call(move |e, _| clients::show(e, &id)).await {
        Ok(v) => {
            let outcome = c.done(query.done.as_deref());
            client_page(&c, StatusCode::OK, &ClientForm::of(&v), false, outcome)
        }
        Err(e) => c.failed_home(&e),
    }
}

/// How long a new secret waits for the page that shows it (the redirect right after the
/// post that made it).
const HANDOFF_SECS: i64 = 120;

/// A new secret on its way from the post that made it to the page that shows it
/// (post/redirect/get: a reload of that page never creates or rotates again). Sealed
/// (encrypted and authenticated with the key ring) into a short-lived cookie bound to the
/// console session, which the page deletes when it shows the secret: nothing is kept in
/// a server's memory, so any instance can show it, and only once.
#[derive(Serialize, Deserialize)]
struct Handoff {
    client_id: String,
    secret: String,
    /// A rotation (the old secret stopped working), not a new client.
    rotated: bool,
    /// `token_hash` of the console session that made it.
    session: String,
    expires_at: i64,
}

const HANDOFF_CONTEXT: &str = "admin.secret";

/// The cookie goes only to the secret pages (`Path=/admin/clients/`), not with every request
/// to the IdP; so `__Secure-`, since `__Host-` requires `Path=/`.
fn handoff_cookie_name(c: &Console) -> &'static str {
    if c.state.cookies.secure {
        "__Secure-cardinal_admin_secret"
    } else {
        "cardinal_admin_secret"
    }
}

const HANDOFF_PATH: &str = "/admin/clients/";

/// The answer to a post that made `secret`: to its page, with the secret sealed.
fn hand_off(c: &Console, client_id: &str, secret: String, rotated: bool) -> HttpResponse {
    let handoff = Handoff {
        client_id: client_id.to_string(),
        secret,
        rotated,
        session: token_hash(&c.token),
        expires_at: c.state.engine.now() + HANDOFF_SECS,
    };
    let sealed = serde_json::to_vec(&handoff)
        .map_err(anyhow::Error::from)
        .and_then(|b| c.state.engine.ring().seal(HANDOFF_CONTEXT, &b));
    let mut resp = see_other(&format!("/admin/clients/{client_id}/secret"));
    match sealed {
        Ok(value) => {
            let mut jar = cookie(&c.state, handoff_cookie_name(c), value, HANDOFF_SECS);
            jar.set_same_site(actix_web::cookie::SameSite::Strict);
            jar.set_path(HANDOFF_PATH);
            let _ = resp.add_cookie(&jar);
        }
        // The client exists (or was rotated) either way; its page then says the secret
        // can no longer be shown, and a rotation gives a new one.
        Err(e) => tracing::error!(error = ?e, "cannot seal the new client secret"),
    }
    resp
}

/// The new secret, shown once.
#[derive(Serialize)]
struct SecretPage<'a> {
    title: String,
    heading: String,
    nav_clients: bool,
    client_id: &'a str,
    secret: Option<&'a str>,
    rotated: bool,
}

/// `GET /admin/clients/{client_id}/secret`: the secret the previous post made, once; on a
/// reload (or without it) a page saying it was shown and how to get a new one.
pub async fn get_client_secret(c: Console, id: web::Path<String>) -> HttpResponse {
    let name = handoff_cookie_name(&c);
    let now = c.state.engine.now();
    let handoff: Option<Handoff> = c
        .req
        .cookie(name)
        .and_then(|k| c.state.engine.ring().open(HANDOFF_CONTEXT, k.value()).ok())
        .and_then(|b| serde_json::from_slice::<Handoff>(&b).ok())
        .filter(|h| {
            h.client_id == *id && h.expires_at > now && ct_eq(&h.session, &token_hash(&c.token))
        });
    let (status, heading) = match handoff {
        Some(_) => (StatusCode::OK, c.text("admin_secret_title")),
        None => (StatusCode::GONE, c.text("admin_secret_gone_title")),
    };
    let page = SecretPage {
        title: heading.clone(),
        heading,
        nav_clients: true,
        client_id: &id,
        secret: handoff.as_ref().map(|h| h.secret.as_str()),
        rotated: handoff.as_ref().is_some_and(|h| h.rotated),
    };
    let mut resp = c.render("admin_secret", status, &page);
    let mut gone = removal(&c.state, name);
    gone.set_path(HANDOFF_PATH);
    let _ = resp.add_removal_cookie(&gone);
    resp
}

/// `POST /admin/clients`: registers a client.
pub async fn post_new_client(form: ConsoleForm) -> HttpResponse {
    let values: ClientForm = match form.parse() {
        Ok(v) => v,
        Err(e) => return form.console.failed_home(&e),
    };
    let input = values.input(true);
    let c = form.console;
    let result = c.call(move |e, a| clients::create(e, a, input)).await;
    client_saved(&c, result, &values, true)
}

/// After a create or an edit: the secret (shown once), or the client's page, or the form
/// again with the error.
fn client_saved(
    c: &Console,
    result: AdminResult<ClientWithSecret>,
    values: &ClientForm,
    new: bool,
) -> HttpResponse {
    match result {
        Ok(saved) => {
            let id = saved.client.client_id;
            match saved.client_secret {
                Some(secret) => hand_off(c, &id, secret, false),
                None => {
                    let done = if new { "created" } else { "saved" };
                    see_other(&format!("/admin/clients/{id}?done={done}"))
                }
            }
        }
        Err(e) => {
            let status = crate::routes::error::reported_status(&e);
            client_page(c, status, values, new, Outcome::failed(c, &e))
        }
    }
}

/// `POST /admin/clients/{client_id}`: changes a client.
pub async fn post_client(form: ConsoleForm, id: web::Path<String>) -> HttpResponse {
    let id = id.into_inner();
    let mut values: ClientForm = match form.parse() {
        Ok(v) => v,
        Err(e) => return form.console.failed_home(&e),
    };
    values.client_id = id.clone();
    let input = values.input(false);
    let c = form.console;
    let result = c.call(move |e, a| clients::update(e, a, &id, input)).await;
    client_saved(&c, result, &values, false)
}

/// `POST /admin/clients/{client_id}/secret`: a new secret, shown once.
pub async fn post_client_secret(form: ConsoleForm, id: web::Path<String>) -> HttpResponse {
    let c = form.console;
    let client_id = id.clone();
    match c
        .call(move |e, a| clients::rotate_secret(e, a, &client_id))
        .await
    {
        Ok(r) => hand_off(&c, &id, r.client_secret, true),
        Err(e) => c.failed_home(&e),
    }
}

/// `POST /admin/clients/{client_id}/delete`.
pub async fn post_client_delete(form: ConsoleForm, id: web::Path<String>) -> HttpResponse {
    let c = form.console;
    match c.call(move |e, a| clients::delete(e, a, &id)).await {
        Ok(()) => see_other("/admin/clients?done=deleted_client"),
        Err(e) => c.failed_home(&e),
    }
}
