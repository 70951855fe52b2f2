//! Pages: home, 應用系統, the placeholder page of a system, the instructions
//! (使用健保卡登入人事服務網操作說明), the stylesheet.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::signin;
use crate::catalog;
use crate::claims::acr;
use crate::i18n::Lang;
use crate::portal::{notice, Portal};
use crate::views::{AppPage, AppsPage, GuidePage, HomePage, WebHrPage, WhoAmI, STYLESHEET};

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
    fn message(&self, lang: Lang) -> Option<String> {
        let key = self.m.as_deref().or(self
            .state
            .as_deref()
            .filter(|s| *s == crate::provider::SIGNED_OUT_STATE))?;
        notice(key, lang)
    }
}

pub async fn get_home(
    req: HttpRequest,
    portal: web::Data<Portal>,
    query: web::Query<NoticeQuery>,
) -> HttpResponse {
    let view = portal.view(&req);
    let user = portal.current(&req).map(|(_, s)| WhoAmI::of(&s, view.lang));
    let message = query.message(view.lang);
    let page_title = view.text("title_home");
    if portal.is_ecpa() {
        let notices = portal.notices.current(portal.now(), view.lang).await;
        let page = HomePage {
            site: view.site.clone(),
            page_title,
            user,
            message,
            notices,
        };
        portal.page(&view, StatusCode::OK, "home", &page)
    } else {
        let page = WebHrPage {
            site: view.site.clone(),
            page_title,
            user,
            message,
        };
        portal.page(&view, StatusCode::OK, "webhr", &page)
    }
}

/// 使用健保卡登入人事服務網操作說明: the guide's steps, with links to Cardinal's
/// registration site, 電腦環境說明 and 忘記註冊密碼.
pub async fn get_guide(req: HttpRequest, portal: web::Data<Portal>) -> HttpResponse {
    let view = portal.view(&req);
    let page = GuidePage {
        site: view.site.clone(),
        page_title: view.text("title_guide"),
        user: portal.current(&req).map(|(_, s)| WhoAmI::of(&s, view.lang)),
    };
    portal.page(&view, StatusCode::OK, "guide", &page)
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
    let view = portal.view(&req);
    let page = AppsPage::new(
        view.site.clone(),
        &session,
        query.message(view.lang),
        view.lang,
    );
    if session.unmet_acr.is_some() {
        // The note about an unmet step-up is shown once.
        portal.sessions.update(&token, |s| s.unmet_acr = None);
    }
    portal.page(&view, StatusCode::OK, "apps", &page)
}

/// The placeholder page of one system. The server enforces what the grey entries show:
/// a system that needs the citizen certificate sends a card session to the step-up,
/// which comes back here.
pub async fn get_app(
    req: HttpRequest,
    portal: web::Data<Portal>,
    code: web::Path<String>,
) -> HttpResponse {
    let view = portal.view(&req);
    let Some(app) = catalog::find(&code).filter(|_| portal.is_ecpa()) else {
        return portal.error_page(
            &view,
            StatusCode::NOT_FOUND,
            "error_no_app",
            "error_no_app_text",
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
    let name = app.name_in(view.lang).to_string();
    let page = AppPage {
        site: view.site.clone(),
        page_title: format!("{}:{name}", app.code),
        user: WhoAmI::of(&session, view.lang),
        code: app.code.to_string(),
        name,
    };
    portal.page(&view, StatusCode::OK, "app", &page)
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
