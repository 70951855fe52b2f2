//! The CLI's commands, run against the configured database.

pub mod admin;
pub mod card;
pub mod client;
pub mod keys;
pub mod notice;

use std::sync::Arc;

use cardinal::clock::SystemClock;
use cardinal::configuration::Settings;
use cardinal::startup::Services;

/// Builds the services the same way `serve` does (migrating and creating keys if needed).
pub fn services(settings: &Settings) -> anyhow::Result<Services> {
    Services::build(settings.clone(), Arc::new(SystemClock))
}
