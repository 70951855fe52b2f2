//! The CSRF token of the site's forms, one type for all of them: a keyed hash
//! (`KeyPurpose::Csrf`) of what the form is for and the secret cookie it is bound to — the
//! browser token for the registration site, the console session for the admin console.
//! (The logout confirmation's token is made by `oidc::logout`, which must stay HTTP-free;
//! it hashes the same way, bound to the SSO session.)

use serde::Serialize;

use crate::crypto::{ct_eq, KeyPurpose};
use crate::oidc::Engine;

/// The CSRF token a form of `purpose` must carry, bound to one cookie's secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Csrf(String);

impl Csrf {
    /// The token of the forms of `purpose` (`admin`, `register`) bound to `secret`.
    pub fn new(engine: &Engine, purpose: &str, secret: &str) -> Self {
        Csrf(
            engine
                .ring()
                .keyed_hash(KeyPurpose::Csrf, format!("{purpose}|{secret}").as_bytes()),
        )
    }

    /// The admin console's forms, bound to the console session.
    pub fn console(engine: &Engine, session_token: &str) -> Self {
        Csrf::new(engine, "admin", session_token)
    }

    /// The registration site's forms, bound to the browser token.
    pub fn site(engine: &Engine, browser: &str) -> Self {
        Csrf::new(engine, "register", browser)
    }

    /// Whether a form sent this token (in constant time).
    pub fn matches(&self, sent: &str) -> bool {
        ct_eq(sent, &self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Csrf> for String {
    fn from(c: Csrf) -> Self {
        c.0
    }
}
