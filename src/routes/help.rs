//! The help center (說明): `/help` and its pages — 健保卡網路註冊FAQ (`/help/faq`),
//! 讀取健保卡發生錯誤說明 (`/help/card-errors`, one section per error code, anchored by the
//! code), 健保卡網路服務註冊使用說明 (`/help/manual`, with screenshots the browser tests
//! take) and 環境安裝說明 (`/help/setup`). 電腦環境說明 (`/help/environment`) is the check
//! page in `card.rs`.
//!
//! Every page is a template an operator can override (`templates/help/*.hbs`, written per
//! language); the numbers they state (link lifetimes, the lockout, the password rule) come
//! from the configuration.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::site::Site;
use super::AppState;

pub use super::help_links::{card_error_link, CARD_ERROR_CODES};

/// The screenshots of the manual (`templates/static/manual/`, written by the browser test
/// `tests/api/browser/manual.rs` with `UPDATE_SCREENSHOTS=1`), served at
/// `/help/manual/<name>`.
const MANUAL_IMAGES: &[(&str, &[u8])] = &[
    (
        "applied.png",
        include_bytes!("../../templates/static/manual/applied.png"),
    ),
    (
        "apply-step1.png",
        include_bytes!("../../templates/static/manual/apply-step1.png"),
    ),
    (
        "apply-step2.png",
        include_bytes!("../../templates/static/manual/apply-step2.png"),
    ),
    (
        "card-login.png",
        include_bytes!("../../templates/static/manual/card-login.png"),
    ),
    (
        "confirm.png",
        include_bytes!("../../templates/static/manual/confirm.png"),
    ),
    (
        "confirmed.png",
        include_bytes!("../../templates/static/manual/confirmed.png"),
    ),
    (
        "delete.png",
        include_bytes!("../../templates/static/manual/delete.png"),
    ),
    (
        "forgot.png",
        include_bytes!("../../templates/static/manual/forgot.png"),
    ),
    (
        "home.png",
        include_bytes!("../../templates/static/manual/home.png"),
    ),
    (
        "member-password.png",
        include_bytes!("../../templates/static/manual/member-password.png"),
    ),
    (
        "member-profile.png",
        include_bytes!("../../templates/static/manual/member-profile.png"),
    ),
    (
        "member.png",
        include_bytes!("../../templates/static/manual/member.png"),
    ),
    (
        "resend.png",
        include_bytes!("../../templates/static/manual/resend.png"),
    ),
    (
        "reset-done.png",
        include_bytes!("../../templates/static/manual/reset-done.png"),
    ),
    (
        "reset.png",
        include_bytes!("../../templates/static/manual/reset.png"),
    ),
    (
        "sign-in.png",
        include_bytes!("../../templates/static/manual/sign-in.png"),
    ),
    (
        "terms.png",
        include_bytes!("../../templates/static/manual/terms.png"),
    ),
];

/// The related services an operator configured (`[site] related_links`), named in `lang`.
pub fn related_links(state: &AppState, lang: &str) -> Value {
    let links: Vec<Value> = state
        .engine
        .settings()
        .site
        .related_links
        .iter()
        .map(|l| json!({ "url": l.url, "label": l.label_in(lang) }))
        .collect();
    json!(links)
}

/// What the pages say that the configuration decides.
fn facts(state: &AppState, lang: &str) -> Value {
    let settings = state.engine.settings();
    let registration = &settings.registration;
    let policy = settings.password.policy();
    let excluded: Vec<String> = policy
        .excluded
        .chars()
        .map(|c| match c {
            ' ' => state.templates.text(lang, "help_space", &[]),
            c => c.to_string(),
        })
        .collect();
    json!({
        "confirm_days": (registration.confirm_link_ttl + 86_399) / 86_400,
        "reset_minutes": registration.reset_link_ttl / 60,
        "lockout": registration.lockout_threshold,
        "password_min": policy.min_length,
        "password_max": policy.max_length,
        "password_excluded": excluded.join(" "),
        "challenge_minutes": (settings.card.challenge_ttl + 59) / 60,
        "authenticator_url": settings.card.authenticator_url,
        "origin": settings.issuer,
        "related_links": related_links(state, lang),
    })
}

/// A help page: `name` (a template under `templates/help/`), titled by dictionary entry
/// `title`.
fn help_page(state: &AppState, req: &HttpRequest, name: &str, title: &str) -> HttpResponse {
    let site = Site::new(state, req);
    let mut data = facts(state, &site.lang);
    if let Value::Object(map) = &mut data {
        map.insert("title".into(), json!(site.text(title, &[])));
    }
    site.page(name, StatusCode::OK, data)
}

/// `GET /help`: the help center.
pub async fn get_index(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    help_page(&state, &req, "help/index", "help_title")
}

/// `GET /help/faq`: 健保卡網路註冊FAQ.
pub async fn get_faq(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    help_page(&state, &req, "help/faq", "help_faq")
}

/// `GET /help/card-errors`: 讀取健保卡發生錯誤說明.
pub async fn get_card_errors(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    help_page(&state, &req, "help/card_errors", "help_card_errors")
}

/// `GET /help/manual`: 健保卡網路服務註冊使用說明.
pub async fn get_manual(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    help_page(&state, &req, "help/manual", "help_manual")
}

/// `GET /help/setup`: 環境安裝說明.
pub async fn get_setup(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    help_page(&state, &req, "help/setup", "help_setup")
}

/// `GET /help/manual/{name}`: a screenshot of the manual.
pub async fn get_manual_image(name: web::Path<String>) -> HttpResponse {
    match MANUAL_IMAGES.iter().find(|(n, _)| *n == name.as_str()) {
        Some((_, png)) => HttpResponse::Ok()
            .content_type("image/png")
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .body(*png),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("No such image in the manual: see /help/manual for its pages."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::CardError;
    use crate::templates::Templates;
    use cardinal_authenticator::error::Error as AuthenticatorError;

    /// Every refusal of the IdP's card check. The match fails to compile when a variant is
    /// added, so that it gets its place here (and its section).
    fn card_errors() -> Vec<CardError> {
        let all = CardError::ALL.to_vec();
        for e in &all {
            match e {
                CardError::UnknownFormat
                | CardError::UnknownKind
                | CardError::BadCertificate
                | CardError::UntrustedIssuer
                | CardError::Expired
                | CardError::WrongKeyUsage
                | CardError::WrongKind
                | CardError::Revoked
                | CardError::NotEndEntity
                | CardError::IssuerNotValid
                | CardError::RevocationUnknown
                | CardError::BadSignature
                | CardError::BadChallenge
                | CardError::WrongCard
                | CardError::Internal => {}
            }
        }
        all
    }

    /// Every error of the authenticator (exhaustive in the same way).
    fn authenticator_errors() -> Vec<AuthenticatorError> {
        let io = || std::io::Error::other("x");
        let all = vec![
            AuthenticatorError::NoReader {
                message: "x".into(),
            },
            AuthenticatorError::NoCard { reader: None },
            AuthenticatorError::CardUnsupported {
                message: "x".into(),
            },
            AuthenticatorError::PinRequired,
            AuthenticatorError::PinWrong { tries_left: 2 },
            AuthenticatorError::PinBlocked,
            AuthenticatorError::OriginNotAllowed { origin: "x".into() },
            AuthenticatorError::bad_request("x"),
            AuthenticatorError::card("x"),
            AuthenticatorError::io("x", io()),
            AuthenticatorError::Config("x".into()),
        ];
        for e in &all {
            match e {
                AuthenticatorError::NoReader { .. }
                | AuthenticatorError::NoCard { .. }
                | AuthenticatorError::CardUnsupported { .. }
                | AuthenticatorError::PinRequired
                | AuthenticatorError::PinWrong { .. }
                | AuthenticatorError::PinBlocked
                | AuthenticatorError::OriginNotAllowed { .. }
                | AuthenticatorError::BadRequest { .. }
                | AuthenticatorError::CardError { .. }
                | AuthenticatorError::Io { .. }
                | AuthenticatorError::Config(_) => {}
            }
        }
        all
    }

    /// The codes in a page's hidden message list (`data-code="…"`) that are errors.
    fn listed_codes(template: &str) -> Vec<String> {
        const NOT_ERRORS: [&str; 9] = [
            "kind_nhi",
            "kind_moica",
            "working",
            "read_ok",
            "env_ok",
            "reader",
            "card_present",
            "card_absent",
            "card_ok",
        ];
        template
            .split("data-code=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|code| !NOT_ERRORS.contains(code))
            .map(str::to_string)
            .collect()
    }

    /// Every code the code can produce: the authenticator's, the IdP's card check, the
    /// card refusals of sign-in and registration, and the pages' message lists.
    fn produced_codes() -> Vec<String> {
        use crate::enroll::apply::ApplyError;
        use crate::enroll::login::LoginError;
        let mut codes: Vec<String> = Vec::new();
        codes.extend(authenticator_errors().iter().map(|e| e.code().to_string()));
        codes.extend(card_errors().iter().map(|e| e.code().to_string()));
        for e in [
            LoginError::UnsupportedCard,
            LoginError::NeedsStrongerCard,
            LoginError::NotHintedPerson,
            LoginError::Internal,
        ] {
            codes.push(e.code().into());
        }
        for e in [
            ApplyError::UnsupportedCard,
            ApplyError::ProofExpired,
            ApplyError::WrongCard,
            ApplyError::Internal,
        ] {
            codes.push(e.code().into());
        }
        for template in [
            include_str!("../../templates/environment.hbs"),
            include_str!("../../templates/card_login.hbs"),
            include_str!("../../templates/citizen_login.hbs"),
            include_str!("../../templates/partials/card_messages.hbs"),
        ] {
            codes.extend(listed_codes(template));
        }
        codes.sort();
        codes.dedup();
        codes
    }

    #[test]
    fn every_card_error_the_code_can_produce_has_a_help_section() {
        let codes = produced_codes();
        assert!(codes.len() > 25, "{codes:?}");
        let missing: Vec<_> = codes
            .iter()
            .filter(|c| card_error_link(c).is_none())
            .collect();
        assert!(missing.is_empty(), "no help section for {missing:?}");
        let t = Templates::new(None, &["zh-TW".into(), "en".into()]).unwrap();
        for lang in ["zh-TW", "en"] {
            let page = t.render("help/card_errors", lang, json!({})).unwrap();
            for code in CARD_ERROR_CODES {
                let id = format!("id=\"{code}\"");
                assert_eq!(
                    page.matches(&id).count(),
                    1,
                    "{lang}: one section {id} on /help/card-errors"
                );
            }
        }
    }

    #[test]
    fn only_card_errors_link_to_the_card_error_help() {
        assert_eq!(
            card_error_link("no_reader").as_deref(),
            Some("/help/card-errors#no_reader")
        );
        assert_eq!(card_error_link("wrong_password"), None);
        assert_eq!(card_error_link("registry_mismatch"), None);
    }
}
