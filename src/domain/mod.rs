//! Typed protocol values: parsed once, no I/O.

/// Serializes a value as its text and deserializes it through its parser, so a value read
/// back (an interaction kept while the user signs in) is checked like one from a request.
macro_rules! serde_as_text {
    ($ty:ty, $parse:expr) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                let text = String::deserialize(d)?;
                $parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

pub mod acr;
pub mod client;
pub mod national_id;
pub mod password;
pub mod pkce;
pub mod prompt;
pub mod redirect_uri;
pub mod scope;

pub use acr::Acr;
pub use client::{AuthMethod, Client, ClientId, GrantType, SubjectType};
pub use national_id::NationalId;
pub use pkce::{CodeChallenge, CodeVerifier};
pub use prompt::Prompt;
pub use redirect_uri::RedirectUri;
pub use scope::Scope;
