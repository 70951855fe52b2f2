//! The state every handler shares, and the small helpers they have in common.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clock::SystemClock;
use crate::config::{PortalConfig, PortalKind};
use crate::notices::NoticeFeed;
use crate::provider::Provider;
use crate::sessions::{Session, SessionStore};
use crate::views::{ErrorPage, Pages, Site};

#[derive(Debug)]
pub struct Portal {
    pub config: PortalConfig,
    pub provider: Provider,
    pub sessions: SessionStore,
    pub pages: Pages,
    pub site: Site,
    pub clock: SystemClock,
    /// 重要訊息 from Cardinal's notice feed.
    pub notices: NoticeFeed,
    session_cookie: String,
    binding_cookie: String,
}

/// Fixed notices shown after a redirect (`?m=…`); never text taken from the URL.
pub fn notice(key: &str) -> Option<String> {
    let text = match key {
        "signed-out" => "您已登出。",
        "refreshed" => "個人資料已更新。",
        "refresh-failed" => "暫時無法更新個人資料，請稍後再試。",
        "session-ended" => "您在 Cardinal 的登入已結束，請重新登入。",
        _ => return None,
    };
    Some(text.to_string())
}

/// Constant-time comparison of two form tokens (through their digests).
pub fn same_token(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

impl Portal {
    pub async fn new(config: PortalConfig) -> anyhow::Result<Portal> {
        let clock = SystemClock;
        let provider = Provider::discover(&config, clock.now().timestamp()).await?;
        let prefix = config.cookie_prefix();
        Ok(Portal {
            pages: Pages::new()?,
            notices: NoticeFeed::new(&config.issuer)?,
            site: Site::new(&config),
            sessions: SessionStore::default(),
            session_cookie: format!("{prefix}_session"),
            binding_cookie: format!("{prefix}_auth"),
            provider,
            clock,
            config,
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    pub fn is_ecpa(&self) -> bool {
        self.config.kind == PortalKind::Ecpa
    }

    /// A path below the portal's base (`apps` → `/apps`).
    pub fn path(&self, relative: &str) -> String {
        format!("{}{relative}", self.site.base)
    }

    /// Where a sign-in lands when nothing else was asked for.
    pub fn after_login_path(&self) -> String {
        if self.is_ecpa() {
            self.path("apps")
        } else {
            self.path("")
        }
    }

    pub fn session_cookie_name(&self) -> &str {
        &self.session_cookie
    }

    pub fn binding_cookie_name(&self) -> &str {
        &self.binding_cookie
    }

    /// An HttpOnly, SameSite=Lax cookie below the portal's base path.
    pub fn cookie(&self, name: &str, value: String, max_age: Option<i64>) -> Cookie<'static> {
        let mut c = Cookie::build(name.to_string(), value)
            .path(self.site.base.clone())
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.config.secure_cookies())
            .finish();
        if let Some(secs) = max_age {
            c.set_max_age(CookieDuration::seconds(secs));
        }
        c
    }

    pub fn removal_cookie(&self, name: &str) -> Cookie<'static> {
        let mut c = self.cookie(name, String::new(), None);
        c.make_removal();
        c
    }

    /// The browser's portal session: (cookie value, session).
    pub fn current(&self, req: &HttpRequest) -> Option<(String, Session)> {
        let token = req.cookie(&self.session_cookie)?.value().to_string();
        let session = self.sessions.get(&token, self.now())?;
        Some((token, session))
    }

    /// A rendered page; pages can show personal data, so they are never stored.
    pub fn page<T: Serialize>(&self, status: StatusCode, name: &str, context: &T) -> HttpResponse {
        match self.pages.render(name, context) {
            Ok(body) => HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(body),
            Err(e) => {
                tracing::error!(error = %format_args!("{e:#}"), "page failed to render");
                HttpResponse::InternalServerError()
                    .content_type("text/plain; charset=utf-8")
                    .body("系統發生錯誤，請稍後再試。")
            }
        }
    }

    pub fn error_page(&self, status: StatusCode, heading: &str, message: &str) -> HttpResponse {
        self.page(
            status,
            "error",
            &ErrorPage {
                site: self.site.clone(),
                page_title: "錯誤",
                heading: heading.to_string(),
                message: message.to_string(),
            },
        )
    }

    /// 303 See Other to `location`.
    pub fn see_other(location: &str) -> actix_web::HttpResponseBuilder {
        let mut b = HttpResponse::SeeOther();
        b.insert_header((header::LOCATION, location.to_string()))
            .insert_header((header::CACHE_CONTROL, "no-store"));
        b
    }
}
