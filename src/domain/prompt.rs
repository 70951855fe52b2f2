//! `prompt` (OIDC Core §3.1.2.1): what the client asks of the sign-in.

use std::fmt;

/// One value of `prompt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prompt {
    /// Fail rather than show any page (`login_required`, `consent_required`, …).
    None,
    /// Sign in again even with a live session.
    Login,
    /// Ask for consent even when it was given before.
    Consent,
    /// Accepted; there is one account per browser, so it changes nothing.
    SelectAccount,
}

impl Prompt {
    pub const ALL: [Prompt; 4] = [
        Prompt::None,
        Prompt::Login,
        Prompt::Consent,
        Prompt::SelectAccount,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Prompt::None => "none",
            Prompt::Login => "login",
            Prompt::Consent => "consent",
            Prompt::SelectAccount => "select_account",
        }
    }

    pub fn parse(value: &str) -> Result<Prompt, String> {
        Prompt::ALL
            .into_iter()
            .find(|p| p.as_str() == value)
            .ok_or_else(|| format!("prompt value {value:?} is not supported"))
    }
}

impl fmt::Display for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

serde_as_text!(Prompt, Prompt::parse);

/// Compares with the wire value (`Prompt::Login == "login"`).
impl PartialEq<&str> for Prompt {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_values_round_trip_and_unknown_ones_are_refused() {
        for p in Prompt::ALL {
            assert_eq!(Prompt::parse(p.as_str()), Ok(p));
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<Prompt>(&json).unwrap(), p);
        }
        assert!(Prompt::parse("create").unwrap_err().contains("create"));
    }
}
