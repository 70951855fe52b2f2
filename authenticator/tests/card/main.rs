//! Virtual card, card operations and local API tests (one test binary).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../support/mod.rs"]
mod support;

mod card_ops;
mod local_api;
mod virtual_card;
mod vpcd;
