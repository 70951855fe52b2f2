//! The authenticator's one error enum. Its codes are those of docs/card-protocol.md §3;
//! messages say what to do about the problem.

use std::fmt;

/// Every failure of the authenticator, the virtual card and their transports.
///
/// No variant holds a PIN, so the derived-looking `Debug` below prints everything.
#[derive(thiserror::Error)]
pub enum Error {
    /// pcscd is not running, or no reader is attached.
    #[error("{message}")]
    NoReader { message: String },
    #[error("no card in {}: insert the card and try again", reader.as_deref().unwrap_or("any reader"))]
    NoCard { reader: Option<String> },
    #[error("{message}")]
    CardUnsupported { message: String },
    #[error("this card needs its PIN: send \"pin\" with the request")]
    PinRequired,
    #[error("wrong PIN: {tries_left} tries left before the card blocks")]
    PinWrong { tries_left: u8 },
    #[error("the card's PIN is blocked: unblock it with the card issuer")]
    PinBlocked,
    #[error("origin {origin:?} is not allowed: add it with --allow-origin if it is your identity provider")]
    OriginNotAllowed { origin: String },
    #[error("{message}")]
    BadRequest { message: String },
    /// The card answered something the profile does not allow, or the transport failed.
    #[error("{message}")]
    CardError { message: String },
    /// Startup and file problems (not an API answer; reported as `card_error` if one ever is).
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// The error code of docs/card-protocol.md §3.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoReader { .. } => "no_reader",
            Self::NoCard { .. } => "no_card",
            Self::CardUnsupported { .. } => "card_unsupported",
            Self::PinRequired => "pin_required",
            Self::PinWrong { .. } => "pin_wrong",
            Self::PinBlocked => "pin_blocked",
            Self::OriginNotAllowed { .. } => "origin_not_allowed",
            Self::BadRequest { .. } => "bad_request",
            Self::CardError { .. } | Self::Io { .. } | Self::Config(_) => "card_error",
        }
    }

    /// The HTTP status of the local API's answer.
    ///
    /// `no_reader` is 503 (the PC/SC service or reader is unavailable), `no_card` is
    /// 404 (the reader is there, the card is not).
    pub fn http_status(&self) -> u16 {
        match self {
            Self::NoReader { .. } => 503,
            Self::NoCard { .. } => 404,
            Self::CardUnsupported { .. } => 422,
            Self::PinRequired | Self::PinWrong { .. } => 401,
            Self::PinBlocked => 423,
            Self::OriginNotAllowed { .. } => 403,
            Self::BadRequest { .. } => 400,
            Self::CardError { .. } => 502,
            Self::Io { .. } | Self::Config(_) => 500,
        }
    }

    pub fn card(message: impl Into<String>) -> Self {
        Self::CardError {
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

impl fmt::Debug for Error {
    // Written by hand so the cause chain is printed, one cause per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        error_chain_fmt(self, f)
    }
}

/// Writes an error and its sources, one per line.
pub fn error_chain_fmt(e: &dyn std::error::Error, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{e}")?;
    let mut current = e.source();
    while let Some(cause) = current {
        write!(f, "\n  caused by: {cause}")?;
        current = cause.source();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_follow_the_profile() {
        assert_eq!(Error::PinWrong { tries_left: 2 }.code(), "pin_wrong");
        assert_eq!(Error::PinBlocked.http_status(), 423);
        assert_eq!(
            Error::NoReader {
                message: String::new()
            }
            .http_status(),
            503
        );
        assert_eq!(Error::NoCard { reader: None }.http_status(), 404);
        assert_eq!(Error::bad_request("x").code(), "bad_request");
    }

    #[test]
    fn debug_prints_the_cause_chain() {
        let e = Error::io(
            "Failed to read card file x.json",
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        );
        assert_eq!(
            format!("{e:?}"),
            "Failed to read card file x.json\n  caused by: no such file"
        );
    }
}
