//! `scope`: a set of space-separated tokens (RFC 6749 §3.3).

use std::collections::BTreeSet;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope(BTreeSet<String>);

pub const OPENID: &str = "openid";
pub const OFFLINE_ACCESS: &str = "offline_access";

/// Scopes this OP understands; a client is registered with a subset.
pub const KNOWN_SCOPES: [&str; 5] = ["openid", "profile", "email", "phone", "offline_access"];

/// The scope of the admin API (`/admin/api/v1`). Granted only through client_credentials,
/// and only to a confidential client registered with it explicitly; never to a person's
/// token (the authorization endpoint drops it).
pub const ADMIN_SCOPE: &str = "cardinal:admin";

impl Scope {
    /// Parses a scope string. Empty tokens from repeated spaces are an error, as are
    /// characters outside RFC 6749's NQCHAR.
    pub fn parse(value: &str) -> Result<Scope, String> {
        let mut set = BTreeSet::new();
        for token in value.split(' ') {
            if token.is_empty() {
                if value.is_empty() {
                    break;
                }
                return Err("scope has an empty token (two spaces in a row?)".into());
            }
            if !token
                .chars()
                .all(|c| c == '!' || ('#'..='[').contains(&c) || (']'..='~').contains(&c))
            {
                return Err(format!(
                    "scope token {token:?} has a character RFC 6749 does not allow"
                ));
            }
            set.insert(token.to_string());
        }
        Ok(Scope(set))
    }

    pub fn from_tokens<I: IntoIterator<Item = S>, S: Into<String>>(tokens: I) -> Scope {
        Scope(tokens.into_iter().map(Into::into).collect())
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The tokens present in both.
    pub fn intersect(&self, other: &Scope) -> Scope {
        Scope(self.0.intersection(&other.0).cloned().collect())
    }

    pub fn is_subset(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn without(&self, token: &str) -> Scope {
        Scope(self.0.iter().filter(|t| *t != token).cloned().collect())
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.0.iter().cloned().collect()
    }
}

serde_as_text!(Scope, Scope::parse);

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let joined = self
            .0
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        f.write_str(&joined)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_in_a_stable_order() {
        let s = Scope::parse("profile openid email").unwrap();
        assert_eq!(s.to_string(), "email openid profile");
        assert!(s.contains("openid"));
    }

    #[test]
    fn rejects_double_spaces_and_quotes() {
        assert!(Scope::parse("openid  email").is_err());
        assert!(Scope::parse("open\"id").is_err());
        assert!(Scope::parse("").unwrap().is_empty());
    }

    #[test]
    fn intersection_narrows() {
        let a = Scope::parse("openid email phone").unwrap();
        let b = Scope::parse("openid phone offline_access").unwrap();
        assert_eq!(a.intersect(&b).to_string(), "openid phone");
    }
}
