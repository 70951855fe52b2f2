//! One integration-test binary (kanidm style): one module per area.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::field_reassign_with_default
)]

mod admin_api;
mod admin_cli;
mod admin_console;
mod authorize;
mod browser;
mod card;
mod card_login;
mod card_revocation;
mod cli;
mod client_auth;
mod crash;
#[cfg(feature = "demo")]
mod demo;
mod discovery;
mod enrollment_store;
mod help;
mod helpers;
mod logout;
mod mail;
mod multi_instance;
mod notices;
mod pcsc;
mod register;
mod register_i18n;
mod rp_flow;
mod sign_in_limits;
mod surfaces;
mod token_code;
mod token_refresh;
mod trust;
mod userinfo;
mod wayfinding;
