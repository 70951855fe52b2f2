//! Cardinal: an OpenID Connect identity provider with NHI-card sign-in.

pub mod admin;
pub mod auth;
pub mod backchannel;
pub mod card;
pub mod cli;
pub mod clients;
pub mod clock;
pub mod commands;
pub mod configuration;
pub mod crypto;
#[cfg(feature = "demo")]
pub mod demo;
pub mod domain;
pub mod enroll;
pub mod limits;
pub mod mail;
pub mod maintenance;
pub mod metrics;
pub mod oidc;
pub mod registry;
pub mod routes;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod templates;
