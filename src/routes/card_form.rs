//! The form of every registration-site page that reads the card (register.rs, member.rs):
//! the page's fields plus `csrf_token`, `challenge` and the card's signed `token`, checked
//! here once — the CSRF token against this browser's, the token parsed. Whether the card's
//! signature answers the challenge is for `enroll` (with the page's binding).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::site::csrf;
use super::AppState;
use crate::card::{CardError, CardToken};
use crate::crypto::ct_eq;
use crate::enroll::apply::ApplyError;
use crate::enroll::login::LoginError;
use crate::enroll::recovery::RecoveryError;

/// A card form: the checked card fields and the page's own `fields`.
pub struct CardForm<T> {
    pub card: Result<CardProof, CardFormError>,
    pub fields: T,
}

/// The card's answer to a challenge, not verified yet.
pub struct CardProof {
    pub challenge: String,
    pub token: CardToken,
}

/// Why a card form cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardFormError {
    /// No browser cookie, or a CSRF token of another browser or an older key: the page is
    /// stale.
    Expired,
    /// The card token is not one.
    Unreadable,
}

impl From<CardFormError> for ApplyError {
    fn from(e: CardFormError) -> Self {
        match e {
            CardFormError::Expired => ApplyError::ProofExpired,
            CardFormError::Unreadable => ApplyError::Card(CardError::UnknownFormat),
        }
    }
}

impl From<CardFormError> for RecoveryError {
    fn from(e: CardFormError) -> Self {
        RecoveryError::Apply(e.into())
    }
}

impl From<CardFormError> for LoginError {
    fn from(e: CardFormError) -> Self {
        match e {
            CardFormError::Expired => LoginError::Card(CardError::BadChallenge),
            CardFormError::Unreadable => LoginError::Card(CardError::UnknownFormat),
        }
    }
}

/// A page without fields of its own.
#[derive(Debug, Default, Deserialize)]
pub struct NoFields {}

#[derive(Deserialize)]
struct Posted<T> {
    csrf_token: String,
    #[serde(default)]
    challenge: String,
    #[serde(default)]
    token: String,
    #[serde(flatten)]
    fields: T,
}

fn check(req: &HttpRequest, csrf_token: &str, token: &str) -> Result<CardToken, CardFormError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(CardFormError::Expired)?;
    let browser = state
        .browser(req)
        .browser_token
        .ok_or(CardFormError::Expired)?;
    if !ct_eq(csrf_token, &csrf(state, &browser)) {
        return Err(CardFormError::Expired);
    }
    serde_json::from_str(token).map_err(|_| CardFormError::Unreadable)
}

impl<T: DeserializeOwned + 'static> FromRequest for CardForm<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = web::Form::<Posted<T>>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let posted = form.await?.into_inner();
            let card = check(&req, &posted.csrf_token, &posted.token).map(|token| CardProof {
                challenge: posted.challenge,
                token,
            });
            Ok(CardForm {
                card,
                fields: posted.fields,
            })
        })
    }
}
