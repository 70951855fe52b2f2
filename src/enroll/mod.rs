//! The NHI card network-service registration site (SPEC R-REG) as services without HTTP:
//! card + 註冊密碼 sign-in now; applications, confirmation, reset and member services use
//! the same pieces.

pub mod apply;
pub mod login;
pub mod member;
pub mod recovery;

use crate::auth::PasswordHasher;
use crate::card::CardService;
use crate::oidc::Engine;

/// What the enrollment services need.
#[derive(Clone, Debug)]
pub struct Enrollment {
    pub engine: Engine,
    pub card: CardService,
    pub hasher: PasswordHasher,
}

/// A challenge binding: purpose, flow (e.g. the interaction) and the browser.
pub fn binding(purpose: &str, flow: &str, browser_token: &str) -> String {
    format!(
        "{purpose}:{flow}:{}",
        crate::crypto::token_hash(browser_token)
    )
}
