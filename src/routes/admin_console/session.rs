//! Signing in to the console and out of it: `/admin/login` starts the code flow against
//! this OP as the client `cardinal-admin`, `/admin/callback` redeems the code, checks the
//! acr and the admin role and opens the console session, `/admin/logout` ends it.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{denied, flow_cookie_name, remember_lang, session_cookie_name, ConsoleForm};
use crate::admin::{Actor, CONSOLE_CLIENT_ID};
use crate::audit::AuditKind;
use crate::crypto::{ct_eq, new_secret_token, random_token, token_hash};
use crate::domain::Acr;
use crate::oidc::grants::TokenRequest;
use crate::routes::responses::{cookie, removal, see_other, session_cookie};
use crate::routes::AppState;
use crate::store::AdminSessionRecord;

#[derive(Serialize, Deserialize)]
struct Flow {
    state: String,
    verifier: String,
}

/// `GET /admin/login`: starts the code flow against this very OP.
pub async fn get_login(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let engine = &state.engine;
    let verifier = random_token(32);
    let challenge = crate::crypto::b64url(&crate::crypto::sha256(verifier.as_bytes()));
    let flow = Flow {
        state: random_token(16),
        verifier,
    };
    let sealed = match serde_json::to_vec(&flow)
        .map_err(anyhow::Error::from)
        .and_then(|b| engine.ring().seal("admin.flow", &b))
    {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = ?e, "cannot start the admin sign-in");
            return denied(&state, &req, StatusCode::INTERNAL_SERVER_ERROR, "failed");
        }
    };
    let lang = state.lang(&req, &[]);
    let redirect_uri = engine.endpoint("/admin/callback");
    let acr = engine.settings().admin.min_acr.as_str();
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", CONSOLE_CLIENT_ID),
        ("redirect_uri", redirect_uri.as_str()),
        ("scope", "openid profile"),
        ("state", flow.state.as_str()),
        ("nonce", random_token(16).as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("acr_values", acr),
        // A recent sign-in, not any SSO session of the day (an eCPA sign-in hours ago).
        ("max_age", "900"),
        ("ui_locales", lang.as_str()),
    ])
    .unwrap_or_default();
    let mut resp = see_other(&format!("/authorize?{query}"));
    let _ = resp.add_cookie(&cookie(&state, &flow_cookie_name(&state), sealed, 900));
    remember_lang(&state, &req, &mut resp);
    resp
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

/// What the callback found out.
enum Admitted {
    Yes { token: String },
    No(&'static str),
}

/// `GET /admin/callback`: redeems the code, checks acr and role, opens the console session.
pub async fn get_callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<CallbackQuery>,
) -> HttpResponse {
    let q = query.into_inner();
    let engine = state.engine.clone();
    let flow: Option<Flow> = req
        .cookie(&flow_cookie_name(&state))
        .and_then(|c| engine.ring().open("admin.flow", c.value()).ok())
        .and_then(|b| serde_json::from_slice(&b).ok());
    let (Some(flow), Some(code), Some(got_state), None) = (flow, q.code, q.state, q.error) else {
        return denied(&state, &req, StatusCode::BAD_REQUEST, "failed");
    };
    if !ct_eq(&got_state, &flow.state) || q.iss.as_deref() != Some(engine.issuer()) {
        return denied(&state, &req, StatusCode::BAD_REQUEST, "failed");
    }
    let ip = state.browser(&req).ip;
    let result = web::block(move || -> anyhow::Result<Admitted> {
        let client = engine
            .store()
            .find_client(CONSOLE_CLIENT_ID)?
            .ok_or_else(|| anyhow::anyhow!("the console client is missing"))?;
        let tokens = match engine.token(
            &client,
            TokenRequest::AuthorizationCode {
                code,
                redirect_uri: Some(engine.endpoint("/admin/callback")),
                code_verifier: Some(flow.verifier),
            },
        ) {
            Ok(t) => t,
            Err(_) => return Ok(Admitted::No("failed")),
        };
        let (claims, record) = engine
            .check_access_token(&tokens.access_token)
            .map_err(|e| anyhow::anyhow!("own access token refused: {e}"))?;
        let person_id = record
            .person_id
            .ok_or_else(|| anyhow::anyhow!("console token without a person"))?;
        let min = engine.settings().admin.min_acr;
        let event = |outcome: &str, detail: &str| {
            Actor::person(&person_id, ip.clone()).event(
                engine.now(),
                AuditKind::AdminLogin,
                outcome,
                Some(&person_id),
                Some(CONSOLE_CLIENT_ID),
                Some(detail.to_string()),
            )
        };
        let audit = |outcome: &str, detail: &str| {
            if let Err(err) = engine.store().append_audit(&event(outcome, detail)) {
                tracing::error!(error = ?err, "cannot write the audit event");
            }
        };
        let acr = claims.acr.as_deref().and_then(Acr::parse);
        if !acr.is_some_and(|a| a.satisfies(min)) {
            audit("failure", "reason=acr");
            return Ok(Admitted::No("acr"));
        }
        if !engine.store().is_admin(&person_id)? {
            audit("failure", "reason=not_admin");
            return Ok(Admitted::No("not_admin"));
        }
        let sid = claims
            .sid
            .ok_or_else(|| anyhow::anyhow!("console token without a session"))?;
        let now = engine.now();
        let token = new_secret_token();
        // The session exists only with its audit event: no sign-in goes unrecorded.
        engine.store().create_admin_session(
            &AdminSessionRecord {
                id_hash: token_hash(&token),
                person_id: person_id.clone(),
                sid,
                acr: acr.map(|a| a.as_str().to_string()).unwrap_or_default(),
                created_at: now,
                expires_at: now + engine.settings().admin.session_ttl,
                ended_at: None,
            },
            &event(
                "success",
                &format!("acr={}", claims.acr.as_deref().unwrap_or_default()),
            ),
        )?;
        Ok(Admitted::Yes { token })
    })
    .await;
    let mut resp = match result {
        Ok(Ok(Admitted::Yes { token })) => {
            let mut resp = see_other("/admin");
            let _ = resp.add_cookie(&session_cookie(&state, &session_cookie_name(&state), token));
            resp
        }
        Ok(Ok(Admitted::No(reason))) => denied(&state, &req, StatusCode::FORBIDDEN, reason),
        Ok(Err(e)) => {
            tracing::error!(error = ?e, "admin sign-in failed");
            denied(&state, &req, StatusCode::INTERNAL_SERVER_ERROR, "failed")
        }
        Err(e) => {
            tracing::error!(error = %e, "admin sign-in failed");
            denied(&state, &req, StatusCode::INTERNAL_SERVER_ERROR, "failed")
        }
    };
    let _ = resp.add_removal_cookie(&removal(&state, &flow_cookie_name(&state)));
    resp
}

/// `POST /admin/logout`: ends the console session, then offers the SSO logout.
pub async fn post_logout(form: ConsoleForm) -> HttpResponse {
    let c = form.console;
    let (person_id, token) = (c.person_id.clone(), c.token.clone());
    let _ = c
        .call(move |e, actor| {
            let audit = actor.event(
                e.now(),
                AuditKind::AdminLogout,
                "success",
                Some(&person_id),
                None,
                None,
            );
            Ok(e.store()
                .end_admin_session(&token_hash(&token), e.now(), &audit)?)
        })
        .await;
    let state = &c.state;
    let query = serde_urlencoded::to_string([
        ("client_id", CONSOLE_CLIENT_ID),
        (
            "post_logout_redirect_uri",
            state.engine.endpoint("/admin").as_str(),
        ),
    ])
    .unwrap_or_default();
    let mut resp = see_other(&format!("/logout?{query}"));
    let _ = resp.add_removal_cookie(&removal(state, &session_cookie_name(state)));
    resp
}
