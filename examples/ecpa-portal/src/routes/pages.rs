//! Pages: home, 應用系統, the placeholder page of a system, the stylesheet.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::signin;
use crate::catalog;
use crate::claims::acr;
use crate::portal::{notice, Portal};
use crate::views::{AppPage, AppsPage, HomePage, WebHrPage, WhoAmI, STYLESHEET};

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    /// A notice key (see [`notice`]).
    #[serde(default)]
    m: Option<String>,
    /// The `state` Cardinal returns to the post-logout redirect URI.
    #[serde(default)]
    state: Option<String>,
}

impl NoticeQuery {
    fn message(&self) -> Option<String> {
        let key = self.m.as_deref().or(self
            .state
            .as_deref()
            .filter(|s| *s == crate::provider::SIGNED_OUT_STATE))?;
        notice(key)
    }
}

pub async fn get_home(
    req: HttpRequest,
    portal: web::Data<Portal>,
    query: web::Query<NoticeQuery>,
) -> HttpResponse {
    let user = portal.current(&req).map(|(_, s)| WhoAmI::of(&s));
    let message = query.message();
    if portal.is_ecpa() {
        let notices = portal.notices.current(portal.now()).await;
        portal.page(
            StatusCode::OK,
            "home",
            &HomePage {
                site: portal.site.clone(),
                page_title: "首頁",
                user,
                message,
                notices,
            },
        )
    } else {
        portal.page(
            StatusCode::OK,
            "webhr",
            &WebHrPage {
                site: portal.site.clone(),
                page_title: "首頁",
                user,
                message,
            },
        )
    }
}

/// 我的專區 > 應用系統. Without a session, signing in starts (and comes back here).
pub async fn get_apps(
    req: HttpRequest,
    portal: web::Data<Portal>,
    query: web::Query<NoticeQuery>,
) -> HttpResponse {
    if !portal.is_ecpa() {
        return Portal::see_other(&portal.path("")).finish();
    }
    let Some((token, session)) = portal.current(&req) else {
        return signin::start(&req, &portal, None, false, portal.path("apps"));
    };
    let page = AppsPage::new(portal.site.clone(), &session, query.message());
    if session.unmet_acr.is_some() {
        // The note about an unmet step-up is shown once.
        portal.sessions.update(&token, |s| s.unmet_acr = None);
    }
    portal.page(StatusCode::OK, "apps", &page)
}

/// The placeholder page of one system. The server enforces what the grey links show:
/// a system that needs the citizen certificate sends a card session to the step-up.
pub async fn get_app(
    req: HttpRequest,
    portal: web::Data<Portal>,
    code: web::Path<String>,
) -> HttpResponse {
    let Some(app) = catalog::find(&code).filter(|_| portal.is_ecpa()) else {
        return portal.error_page(
            StatusCode::NOT_FOUND,
            "找不到這個應用系統",
            "請回應用系統頁重新選擇。",
        );
    };
    let Some((_, session)) = portal.current(&req) else {
        return signin::start(
            &req,
            &portal,
            None,
            false,
            portal.path(&format!("apps/{}", app.code)),
        );
    };
    if app.needs_citizen_certificate
        && !acr::is_citizen_certificate(session.identity.acr.as_deref())
    {
        return Portal::see_other(&portal.path(&format!("step-up?target={}", app.code))).finish();
    }
    portal.page(
        StatusCode::OK,
        "app",
        &AppPage {
            site: portal.site.clone(),
            page_title: format!("{}:{}", app.code, app.name),
            user: WhoAmI::of(&session),
            code: app.code.to_string(),
            name: app.name.to_string(),
        },
    )
}

pub async fn get_stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(STYLESHEET)
}

pub async fn get_healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok")
}
