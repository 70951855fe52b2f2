//! The state every handler shares, and the small helpers they have in common.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clock::SystemClock;
use crate::config::{PortalConfig, PortalKind};
use crate::i18n::Lang;
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
    pub clock: SystemClock,
    /// Path prefix of every link, ending in `/`.
    base: String,
    /// 重要訊息 from Cardinal's notice feed.
    pub notices: NoticeFeed,
    session_cookie: String,
    binding_cookie: String,
    lang_cookie: String,
}

/// Fixed notices shown after a redirect (`?m=…`), in `lang`; never text taken from the URL.
pub fn notice(key: &str, lang: Lang) -> Option<String> {
    let key = match key {
        "signed-out" => "notice_signed_out",
        "refreshed" => "notice_refreshed",
        "refresh-failed" => "notice_refresh_failed",
        "session-ended" => "notice_session_ended",
        "choose-certificate" => "notice_choose_certificate",
        _ => return None,
    };
    Some(lang.text(key))
}

/// What a request is shown in: its language (`?lang=` if chosen now, else the cookie,
/// else zh-TW) and the site's links in that language.
#[derive(Debug, Clone)]
pub struct View {
    pub lang: Lang,
    /// `?lang=` was given: the answer remembers it in the cookie.
    pub chosen: bool,
    pub site: Site,
}

impl View {
    pub fn text(&self, key: &str) -> String {
        self.lang.text(key)
    }
}

/// The language a request asked for with `?lang=`.
fn lang_in_query(req: &HttpRequest) -> Option<Lang> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Lang::parse(&v))
}

/// This page in `lang`: the same path and query with `lang` replaced. The callback (whose
/// code is single-use) switches on the home page instead.
fn switch_href(req: &HttpRequest, base: &str, lang: Lang) -> String {
    let path = req.path();
    if path.ends_with("/callback") || path.ends_with("/step-up") || path.contains("/login") {
        return format!("{base}?lang={}", lang.tag());
    }
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if k != "lang" && k != "m" && k != "state" {
            query.append_pair(&k, &v);
        }
    }
    query.append_pair("lang", lang.tag());
    // `path` is the request's own (below the base: a reverse proxy strips the rest).
    let relative = path.trim_start_matches('/');
    format!("{base}{relative}?{}", query.finish())
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
            base: config.base_url().path().to_string(),
            notices: NoticeFeed::new(&config.issuer)?,
            sessions: SessionStore::default(),
            session_cookie: format!("{prefix}_session"),
            binding_cookie: format!("{prefix}_auth"),
            lang_cookie: format!("{prefix}_lang"),
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
        format!("{}{relative}", self.base)
    }

    /// The request's language and the site in it.
    pub fn view(&self, req: &HttpRequest) -> View {
        let asked = lang_in_query(req);
        let lang = asked
            .or_else(|| {
                req.cookie(&self.lang_cookie)
                    .and_then(|c| Lang::parse(c.value()))
            })
            .unwrap_or_default();
        let href = switch_href(req, &self.base, lang.other());
        View {
            lang,
            chosen: asked.is_some(),
            site: Site::new(&self.config, lang, href),
        }
    }

    /// Remembers a language chosen with `?lang=` (a year; not a secret, so readable).
    pub fn remember_lang(&self, view: &View, response: &mut HttpResponse) {
        if view.chosen {
            let mut c = self.cookie(
                &self.lang_cookie,
                view.lang.tag().to_string(),
                Some(365 * 24 * 3600),
            );
            c.set_http_only(false);
            if let Err(e) = response.add_cookie(&c) {
                tracing::warn!(error = %e, "the language cookie was not set");
            }
        }
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
            .path(self.base.clone())
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

    /// A rendered page in the view's language; pages can show personal data, so they are
    /// never stored.
    pub fn page<T: Serialize>(
        &self,
        view: &View,
        status: StatusCode,
        name: &str,
        context: &T,
    ) -> HttpResponse {
        let mut response = match self.pages.render(name, view.lang, context) {
            Ok(body) => HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((header::CONTENT_LANGUAGE, view.lang.tag()))
                .body(body),
            Err(e) => {
                tracing::error!(error = %format_args!("{e:#}"), "page failed to render");
                return HttpResponse::InternalServerError()
                    .content_type("text/plain; charset=utf-8")
                    .body(view.text("server_error"));
            }
        };
        self.remember_lang(view, &mut response);
        response
    }

    /// The error page: `heading` and `message` are dictionary keys.
    pub fn error_page(
        &self,
        view: &View,
        status: StatusCode,
        heading: &str,
        message: &str,
    ) -> HttpResponse {
        self.page(
            view,
            status,
            "error",
            &ErrorPage {
                site: view.site.clone(),
                page_title: view.text("title_error"),
                heading: view.text(heading),
                message: view.text(message),
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
