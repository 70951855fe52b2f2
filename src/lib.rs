//! Cardinal: an OpenID Connect identity provider with NHI-card sign-in.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod backchannel;
pub mod card;
pub mod clock;
pub mod configuration;
pub mod context;
pub mod crypto;
#[cfg(feature = "demo")]
pub mod demo;
pub mod domain;
pub mod enroll;
pub mod keys;
pub mod limits;
pub mod mail;
pub mod maintenance;
pub mod metrics;
pub mod notices;
pub mod oidc;
pub mod registry;
pub mod routes;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod templates;
