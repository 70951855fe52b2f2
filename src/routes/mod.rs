//! HTTP routes: thin handlers that extract, call the engine off the executor, and map
//! the result to a response. All error-to-HTTP mapping lives in `responses.rs`.

pub mod admin_api;
pub mod admin_console;
pub mod authorize;
pub mod card;
pub mod card_form;
pub mod card_login;
pub mod csrf;
pub mod error;
pub mod health;
pub mod help;
pub mod help_links;
pub mod interaction;
pub mod introspect;
pub mod limits;
pub mod logout;
pub mod member;
pub mod messages;
pub mod notices;
pub mod password_check;
pub mod recovery;
pub mod register;
pub mod responses;
pub mod site;
pub mod token;
pub mod userinfo;
pub mod well_known;

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::HttpRequest;

use crate::backchannel::BackchannelSender;
use crate::card::CardService;
use crate::domain::Acr;
use crate::oidc::authorize::BrowserContext;
use crate::oidc::Engine;
use crate::templates::Templates;

/// A way to sign in, listed on the login page. `path` contains `{id}`, replaced by the
/// interaction id. `acr` is the level a sign-in with it reaches (`None`: a method that can
/// reach any level, such as the tests' sign-in).
#[derive(Debug, Clone)]
pub struct LoginMethod {
    pub labels: Vec<(String, String)>,
    pub path: String,
    pub acr: Option<Acr>,
}

impl LoginMethod {
    /// Whether this method reaches `required` (the strongest of the client's minimum and
    /// the first requested level).
    fn reaches(&self, required: Option<Acr>) -> bool {
        match (self.acr, required) {
            (None, _) | (_, None) => true,
            (Some(acr), Some(r)) => acr.satisfies(r),
        }
    }

    /// The methods that can meet a sign-in that must reach `required`: of those, the ones
    /// the request named (`acr_values`, `requested`) when it named any that can; otherwise
    /// every one that reaches the level (a request for the card level that the client
    /// raises to the citizen certificate still offers the citizen certificate).
    pub fn usable<'a>(
        methods: &'a [LoginMethod],
        requested: &[Acr],
        required: Option<Acr>,
    ) -> Vec<&'a LoginMethod> {
        let reaching: Vec<&LoginMethod> = methods.iter().filter(|m| m.reaches(required)).collect();
        let named: Vec<&LoginMethod> = reaching
            .iter()
            .copied()
            .filter(|m| m.acr.is_none_or(|a| requested.contains(&a)))
            .collect();
        if requested.is_empty() || named.is_empty() {
            reaching
        } else {
            named
        }
    }

    /// The address of this method for interaction `id`.
    pub fn href(&self, id: &str) -> String {
        self.path.replace("{id}", id)
    }

    pub fn label(&self, lang: &str) -> String {
        self.labels
            .iter()
            .find(|(l, _)| l == lang)
            .or_else(|| self.labels.first())
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub card: CardService,
    pub mailer: crate::mail::Mailer,
    pub enroll: crate::enroll::Enrollment,
    pub templates: Arc<Templates>,
    pub backchannel: BackchannelSender,
    pub login_methods: Arc<Vec<LoginMethod>>,
    pub cookies: CookieNames,
    pub trusted_proxies: Arc<Vec<IpAddr>>,
}

/// Cookie names: `__Host-` prefixed when served over TLS (ASVS 3.3.1). The language cookie
/// is written only by a language switch (`?lang=`, or a switch that posts its form), so it
/// always holds a choice the person made; it is never set from `ui_locales` or
/// Accept-Language.
#[derive(Debug, Clone)]
pub struct CookieNames {
    pub session: String,
    pub browser: String,
    pub lang: String,
    /// The application that sent the person to the registration site (its client id).
    pub from: String,
    pub secure: bool,
}

impl CookieNames {
    pub fn new(secure: bool) -> Self {
        let prefix = if secure { "__Host-" } else { "" };
        CookieNames {
            session: format!("{prefix}cardinal_session"),
            browser: format!("{prefix}cardinal_browser"),
            lang: format!("{prefix}cardinal_lang"),
            from: format!("{prefix}cardinal_from"),
            secure,
        }
    }
}

impl AppState {
    /// The cookies and client address of a request.
    pub fn browser(&self, req: &HttpRequest) -> BrowserContext {
        BrowserContext {
            session_token: req
                .cookie(&self.cookies.session)
                .map(|c| c.value().to_string()),
            browser_token: req
                .cookie(&self.cookies.browser)
                .map(|c| c.value().to_string()),
            ip: Some(client_ip(req, &self.trusted_proxies).to_string()),
        }
    }

    /// The page language, in order: a `lang` chosen with a language switch (query); the
    /// language cookie, which only a switch writes (the person's earlier choice); then
    /// `ui_locales` (of the authorization request, or in the query); Accept-Language; the
    /// default. An explicit choice beats what the client asked for: eCPA always sends
    /// `ui_locales=zh-TW`, and a person who picked English keeps English.
    pub fn lang(&self, req: &HttpRequest, ui_locales: &[String]) -> String {
        let query: Vec<(String, String)> =
            serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
        let in_query = |name: &str| -> Vec<String> {
            query
                .iter()
                .filter(|(k, _)| k == name)
                .flat_map(|(_, v)| v.split_whitespace().map(str::to_string))
                .collect()
        };
        let cookie = req
            .cookie(&self.cookies.lang)
            .map(|c| c.value().to_string());
        let accept = accept_languages(
            req.headers()
                .get(actix_web::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default(),
        );
        let mut candidates: Vec<String> = in_query("lang");
        candidates.extend(cookie);
        candidates.extend(ui_locales.iter().cloned());
        candidates.extend(in_query("ui_locales"));
        candidates.extend(accept);
        self.templates
            .pick_lang(candidates.iter().map(String::as_str))
    }

    /// Remembers a `?lang=` the person chose with a switch in the language cookie.
    pub fn remember_lang(&self, req: &HttpRequest, resp: &mut actix_web::HttpResponse) {
        let chosen: Option<String> =
            serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
                .ok()
                .and_then(|q| q.into_iter().find(|(k, _)| k == "lang").map(|(_, v)| v));
        if let Some(lang) = chosen {
            let picked = self.templates.pick_lang([lang.as_str()]);
            let _ = resp.add_cookie(&responses::cookie(
                self,
                &self.cookies.lang,
                picked,
                365 * 24 * 3600,
            ));
        }
    }
}

/// The languages of an `Accept-Language` header, most wanted first (by `q`; `q=0` means
/// not wanted and is dropped).
pub fn accept_languages(header: &str) -> Vec<String> {
    accept_language::parse_with_quality(header)
        .into_iter()
        .filter(|(_, q)| *q > 0.0)
        .map(|(lang, _)| lang)
        .collect()
}

/// The client's address: the peer, or — only when the peer is a configured proxy — the
/// last address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(req: &HttpRequest, trusted: &[IpAddr]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    forwarded_ip(
        peer,
        req.headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok()),
        trusted,
    )
}

fn forwarded_ip(peer: IpAddr, header: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let Some(header) = header else { return peer };
    let hops: Vec<IpAddr> = header
        .split(',')
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    hops.into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_is_read_by_quality_not_by_position() {
        let t = Templates::new(None, &["zh-TW".into(), "en".into()]).unwrap();
        let pick = |h: &str| t.pick_lang(accept_languages(h).iter().map(String::as_str));
        assert_eq!(pick("en;q=0.1, zh-TW;q=0.9"), "zh-TW");
        assert_eq!(pick("zh-TW;q=0.2, en;q=0.8"), "en");
        assert_eq!(pick("fr, en;q=0.5, zh;q=0.4"), "en");
        assert_eq!(pick("en;q=0, zh-Hant;q=0.3"), "zh-TW");
        assert_eq!(pick("en;q=0"), "zh-TW", "q=0 is not wanted");
        assert_eq!(pick(""), "zh-TW", "the default");
    }

    #[test]
    fn the_usable_methods_meet_the_level_and_prefer_what_the_request_named() {
        let method = |acr| LoginMethod {
            labels: Vec::new(),
            path: format!("/{}", acr_name(acr)),
            acr: Some(acr),
        };
        fn acr_name(a: Acr) -> &'static str {
            a.as_str()
        }
        let methods = vec![method(Acr::Card), method(Acr::CitizenCertificate)];
        let paths = |requested: &[Acr], required: Option<Acr>| -> Vec<String> {
            LoginMethod::usable(&methods, requested, required)
                .into_iter()
                .map(|m| m.path.clone())
                .collect()
        };
        let (card, citizen) = (Acr::Card, Acr::CitizenCertificate);
        let both = vec![
            format!("/{}", card.as_str()),
            format!("/{}", citizen.as_str()),
        ];
        assert_eq!(paths(&[], None), both, "nothing asked: both");
        assert_eq!(
            paths(&[card], Some(card)),
            vec![both[0].clone()],
            "the card asked"
        );
        assert_eq!(paths(&[citizen], Some(citizen)), vec![both[1].clone()]);
        // The card asked for, the client's minimum the citizen certificate: never nothing.
        assert_eq!(paths(&[card], Some(citizen)), vec![both[1].clone()]);
        assert_eq!(paths(&[], Some(citizen)), vec![both[1].clone()]);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let attacker: IpAddr = "203.0.113.9".parse().unwrap();
        let trusted = vec![proxy];
        assert_eq!(forwarded_ip(attacker, Some("1.2.3.4"), &trusted), attacker);
        assert_eq!(
            forwarded_ip(proxy, Some("1.2.3.4"), &trusted),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            forwarded_ip(proxy, Some("6.6.6.6, 1.2.3.4, 10.0.0.1"), &trusted),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        assert_eq!(forwarded_ip(proxy, None, &trusted), proxy);
    }
}
