//! Typed protocol values: parsed once, no I/O.

pub mod acr;
pub mod client;
pub mod national_id;
pub mod password;
pub mod pkce;
pub mod redirect_uri;
pub mod scope;

pub use acr::Acr;
pub use client::{AuthMethod, Client, ClientId, GrantType, SubjectType};
pub use national_id::NationalId;
pub use pkce::{CodeChallenge, CodeVerifier};
pub use redirect_uri::RedirectUri;
pub use scope::Scope;
