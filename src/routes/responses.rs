//! Every mapping from engine results to HTTP: JSON errors with `WWW-Authenticate`,
//! HTML error pages, authorization responses (303 redirect or form_post).

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::json;

use super::AppState;
use crate::crypto::random_token;
use crate::oidc::authorize::AuthorizationResponse;
use crate::oidc::request::ResponseMode;
use crate::oidc::{ErrorCode, OAuthError};

fn log_if_server_error(err: &OAuthError) {
    if err.code == ErrorCode::ServerError {
        tracing::error!(error = ?err, "request failed");
    } else {
        tracing::info!(error = %err.code, description = %err.description, "request refused");
    }
}

/// RFC 6749 §5.2 JSON error. `basic` adds `WWW-Authenticate: Basic` to a 401.
pub fn oauth_json_error(err: &OAuthError, basic: bool) -> HttpResponse {
    log_if_server_error(err);
    let status = StatusCode::from_u16(err.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = HttpResponse::build(status);
    resp.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    if status == StatusCode::UNAUTHORIZED && basic {
        // RFC 6749 §5.2: answer a failed Basic authentication with its scheme.
        resp.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"cardinal\""));
    }
    resp.json(json!({ "error": err.code.as_str(), "error_description": err.description }))
}

/// RFC 6750 §3 error for the UserInfo endpoint.
/// The token of an `Authorization: Bearer TOKEN` header (the scheme in any case), if one
/// was sent: the one place the web layer reads bearer tokens (UserInfo, the admin API).
pub fn bearer_token(req: &actix_web::HttpRequest) -> Option<String> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

pub fn bearer_error(err: &OAuthError) -> HttpResponse {
    log_if_server_error(err);
    let status = StatusCode::from_u16(err.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let description = err.description.replace('"', "'");
    let challenge = format!(
        "Bearer error=\"{}\", error_description=\"{}\"",
        err.code.as_str(),
        description
    );
    HttpResponse::build(status)
        .insert_header((header::WWW_AUTHENTICATE, challenge))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "error": err.code.as_str(), "error_description": err.description }))
}

/// `200 OK` JSON that must not be cached (tokens, introspection).
pub fn no_store_json<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

/// Renders an HTML page; a template failure becomes a plain 500.
pub fn page(
    state: &AppState,
    name: &str,
    lang: &str,
    status: StatusCode,
    mut data: serde_json::Value,
) -> HttpResponse {
    super::notices::add_to_page(state, lang, &mut data);
    match state.templates.render(name, lang, data) {
        Ok(html) => HttpResponse::build(status)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(e) => {
            tracing::error!(error = ?e, "template failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Internal error")
        }
    }
}

/// `path` with `query` and `lang` (any earlier `lang`/`ui_locales` dropped).
pub fn with_lang(path: &str, query: &[(String, String)], lang: &str) -> String {
    // One leading slash, whatever the request had: `//evil.example/x` must stay a path on
    // this site, not become a link to another (a protocol-relative address).
    let path = format!("/{}", path.trim_start_matches(['/', '\\']));
    let mut pairs: Vec<(&str, &str)> = query
        .iter()
        .filter(|(k, _)| k != "lang" && k != "ui_locales")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.push(("lang", lang));
    format!(
        "{path}?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

/// The language switch of a fetched page: the same address in the other language.
fn switch_of(state: &AppState, req: &HttpRequest, lang: &str) -> Option<String> {
    if req.method() != actix_web::http::Method::GET {
        return None;
    }
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let other = state.templates.text(lang, "other_lang", &[]);
    Some(with_lang(req.path(), &query, &other))
}

/// Any address no route answers: a page (找不到網頁) with the way back, in the page's
/// language with the switch; a short text for what is not a page.
pub async fn not_found(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let wants_page = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if !wants_page || req.method() != actix_web::http::Method::GET {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("Not found");
    }
    let lang = state.lang(&req, &[]);
    page(
        &state,
        "not_found",
        &lang,
        StatusCode::NOT_FOUND,
        json!({ "title": state.templates.text(&lang, "not_found_title", &[]),
                "lang_switch": switch_of(&state, &req, &lang) }),
    )
}

/// The HTML error page (never a redirect).
pub fn error_page(state: &AppState, req: &HttpRequest, err: &OAuthError) -> HttpResponse {
    log_if_server_error(err);
    // `ui_locales` of an authorization request counts even when the request is refused.
    let lang = state.lang(req, &[]);
    let status = if err.code == ErrorCode::ServerError {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::BAD_REQUEST
    };
    let title = state.templates.text(&lang, "error_title", &[]);
    let explanation = state
        .templates
        .text(&lang, &format!("error_{}", err.code.as_str()), &[]);
    let explanation = if explanation.starts_with("error_") {
        state.templates.text(&lang, "error_generic", &[])
    } else {
        explanation
    };
    page(
        state,
        "error",
        &lang,
        status,
        json!({ "title": title, "code": err.code.as_str(), "description": err.description, "explanation": explanation,
                "lang_switch": switch_of(state, req, &lang) }),
    )
}

/// Sends an authorization response to the client: a 303 redirect (RFC 9700 §4.12) or
/// an auto-submitting form (form_post).
pub fn authorization_response(
    state: &AppState,
    lang: &str,
    resp: &AuthorizationResponse,
) -> HttpResponse {
    match resp.mode {
        ResponseMode::Query => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, resp.location()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        ResponseMode::FormPost => {
            let nonce = random_token(16);
            let mut r = page(
                state,
                "form_post",
                lang,
                StatusCode::OK,
                json!({ "action": resp.redirect_uri, "params": resp.params, "nonce": nonce }),
            );
            let csp = format!("default-src 'none'; script-src 'nonce-{nonce}'; frame-ancestors 'none'; base-uri 'none'");
            if let Ok(v) = HeaderValue::from_str(&csp) {
                r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            r
        }
    }
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// A cookie with the flags of ASVS 3.3: HttpOnly, SameSite=Lax, Secure over TLS, Path=/.
pub fn cookie<'a>(state: &AppState, name: &'a str, value: String, max_age_secs: i64) -> Cookie<'a> {
    let mut c = Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.cookies.secure)
        .finish();
    c.set_max_age(actix_web::cookie::time::Duration::seconds(max_age_secs));
    c
}

/// A sign-in cookie: the flags of [`cookie`] but no Max-Age or Expires, so that it ends when
/// the browser closes (the next person at a shared PC is not signed in as the last one). The
/// server ends the session itself after its idle and absolute timeouts.
pub fn session_cookie<'a>(state: &AppState, name: &'a str, value: String) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.cookies.secure)
        .finish()
}

/// An expired cookie, to delete one.
pub fn removal<'a>(state: &AppState, name: &'a str) -> Cookie<'a> {
    let mut c = cookie(state, name, String::new(), 0);
    c.make_removal();
    c
}

/// `web::block` failed: the thread pool is gone or the closure panicked.
pub fn blocking_failed(e: impl std::fmt::Display) -> OAuthError {
    OAuthError::server(anyhow::anyhow!("blocking task failed: {e}"))
}

/// The CSP of pages whose script talks to the local card authenticator. `forms_stay_here`
/// adds `form-action 'self'` — only for pages whose forms never end at another site (Chromium
/// applies it to the redirect after the post too).
pub fn card_page_csp(resp: &mut HttpResponse, authenticator: &str, forms_stay_here: bool) {
    let form_action = if forms_stay_here {
        " form-action 'self';"
    } else {
        ""
    };
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' {authenticator};{form_action} frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_keeps_the_address_and_replaces_the_language() {
        let query = vec![
            ("t".to_string(), "a b&c".to_string()),
            ("lang".to_string(), "zh-TW".to_string()),
            ("ui_locales".to_string(), "zh-TW".to_string()),
        ];
        assert_eq!(
            with_lang("/register/reset", &query, "en"),
            "/register/reset?t=a+b%26c&lang=en"
        );
        assert_eq!(with_lang("/register", &[], "zh-TW"), "/register?lang=zh-TW");
        assert_eq!(
            with_lang("//evil.example/x", &[], "en"),
            "/evil.example/x?lang=en",
            "never a link to another site"
        );
        assert_eq!(
            with_lang("/\\evil.example", &[], "en"),
            "/evil.example?lang=en"
        );
    }
}
