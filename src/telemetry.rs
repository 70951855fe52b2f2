//! Logging with tracing: text or JSON, filter from config or `RUST_LOG`.

use tracing_subscriber::{fmt, EnvFilter};

use crate::configuration::{LogFormat, LogSettings};

/// Installs the global subscriber (once; later calls are ignored).
pub fn init(settings: &LogSettings) {
    let filter = quiet_template_engine(
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.level)),
    );
    let result = match settings.format {
        LogFormat::Json => fmt()
            .json()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .with_target(false)
            .try_init(),
    };
    // A subscriber may already be set (tests, `cardinal demo`); that is fine.
    let _ = result;
}

/// Handlebars logs the values it renders at debug level (links with single-use tokens,
/// CSRF tokens): it never logs below `warn`, whatever the configured level.
pub fn quiet_template_engine(filter: EnvFilter) -> EnvFilter {
    match "handlebars=warn".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

/// Runs blocking work (diesel, argon2) off the async executor, keeping the current span.
pub async fn spawn_blocking_with_tracing<F, R>(f: F) -> Result<R, tokio::task::JoinError>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f)).await
}
