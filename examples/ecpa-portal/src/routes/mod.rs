//! The route table and the response headers every answer gets.
//!
//! | route | handler |
//! |---|---|
//! | `GET /` | home: 重要訊息 and the login box, or 個人資料 when signed in (WebHR: its page) |
//! | `GET /guide` | 使用健保卡登入人事服務網操作說明 (the guide's steps, linking Cardinal's registration site) |
//! | `GET /login`, `/login/card`, `/login/citizen-certificate` | start the code flow (no acr, acr card, acr citizen certificate) |
//! | `GET /login/certificate?method=card` | 憑證登入 form of the login box (`card` or `citizen-certificate`) |
//! | `GET /step-up?target=B5` | new authorization with the citizen certificate and `prompt=login`, then B5 |
//! | `GET /callback` | authorization response: code exchange, ID-token validation, userinfo |
//! | `GET /apps` | 我的專區 > 應用系統 (eCPA) |
//! | `GET /apps/{code}` | placeholder page of one system |
//! | `POST /refresh` | refresh tokens (if any) and userinfo |
//! | `POST /logout` | end the portal session, then RP-initiated logout at the provider |
//! | `POST /backchannel-logout` | back-channel logout receiver (`logout_token`) |
//! | `GET /static/portal.css`, `GET /healthz` | stylesheet, liveness |
//!
//! Every page takes `?lang=zh-TW` or `?lang=en` (its switch), remembered in a cookie.

mod pages;
mod signin;
mod signout;

use actix_web::middleware::DefaultHeaders;
use actix_web::web;

/// `form-action` must allow the provider: the logout form is answered with a redirect
/// to its end-session endpoint, and browsers check every hop of a form's redirects.
pub fn security_headers(issuer_origin: &str) -> DefaultHeaders {
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' {issuer_origin}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    DefaultHeaders::new()
        .add(("Content-Security-Policy", csp))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        // The callback URL carries the code; it must not leak to other sites.
        .add(("Referrer-Policy", "no-referrer"))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(pages::get_home))
        .route("/guide", web::get().to(pages::get_guide))
        .route("/apps", web::get().to(pages::get_apps))
        .route("/apps/{code}", web::get().to(pages::get_app))
        .route("/static/portal.css", web::get().to(pages::get_stylesheet))
        .route("/healthz", web::get().to(pages::get_healthz))
        .route("/login", web::get().to(signin::get_login))
        .route("/login/card", web::get().to(signin::get_login_card))
        .route(
            "/login/certificate",
            web::get().to(signin::get_login_certificate),
        )
        .route(
            "/login/citizen-certificate",
            web::get().to(signin::get_login_citizen_certificate),
        )
        .route("/step-up", web::get().to(signin::get_step_up))
        .route("/callback", web::get().to(signin::get_callback))
        .route("/refresh", web::post().to(signin::post_refresh))
        .route("/logout", web::post().to(signout::post_logout))
        .route(
            "/backchannel-logout",
            web::post().to(signout::post_backchannel_logout),
        );
}
