//! The OpenID Provider engine: typed requests in, typed responses out. No HTTP framework
//! here; routes translate. Storage comes in through the role traits of `store`, time
//! through a [`Clock`].

pub mod authorize;
pub mod claims;
pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod grants;
pub mod interaction;
pub mod introspect;

pub mod logout;
pub mod request;
pub mod tokens;
pub mod userinfo;

pub use crate::context::Context;
use crate::crypto::KeyPurpose;
use crate::domain::{Client, Scope, SubjectType};
use crate::store::Person;

pub use crate::keys::{KeyManager, SigningAlg};
pub use error::{ErrorCode, OAuthError, OAuthResult};

/// The OpenID Provider: the [`Context`] every service shares, plus what only the
/// protocol needs (the default signing algorithm). Derefs to the context, so protocol code
/// reads `engine.store()`, `engine.now()`, … directly.
#[derive(Clone)]
pub struct Engine {
    ctx: Context,
    default_alg: SigningAlg,
}

impl std::ops::Deref for Engine {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("issuer", &self.issuer())
            .finish_non_exhaustive()
    }
}

/// Who the user is, how they proved it and when: what an authentication method hands
/// to the engine when a sign-in succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResult {
    pub person_id: String,
    pub acr: crate::domain::Acr,
    /// RFC 8176 method references, e.g. `["sc", "pwd", "mfa"]`.
    pub amr: Vec<String>,
    /// The name of the method, for metrics and audit (e.g. `card`).
    pub method: String,
}

impl Engine {
    pub fn new(ctx: Context) -> anyhow::Result<Engine> {
        let default_alg = SigningAlg::parse(&ctx.settings().keys.default_algorithm)
            .map_err(anyhow::Error::msg)?;
        Ok(Engine { ctx, default_alg })
    }

    /// The shared context this provider runs on.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The `sub` of `person_id` as `client` sees it.
    pub fn subject_for(&self, client: &Client, person_id: &str) -> String {
        match client.subject_type {
            SubjectType::Public => person_id.to_string(),
            SubjectType::Pairwise => {
                let input = format!("{}|{}", client.sector_identifier(), person_id);
                self.ring()
                    .keyed_hash(KeyPurpose::Pairwise, input.as_bytes())
            }
        }
    }

    /// Signing algorithm for `client`'s ID tokens.
    pub fn id_token_alg(&self, client: &Client) -> SigningAlg {
        client
            .id_token_alg
            .as_deref()
            .and_then(|a| SigningAlg::parse(a).ok())
            .unwrap_or(self.default_alg)
    }

    pub fn access_token_alg(&self) -> SigningAlg {
        self.default_alg
    }

    /// Claims about `person` released for `scope` (OIDC Core §5.4). Claims asked for
    /// with the `claims` parameter were turned into their covering scopes at authorization.
    pub fn user_claims(&self, person: &Person, scope: &Scope) -> claims::UserClaims {
        let email = scope.contains("email");
        claims::UserClaims {
            name: scope.contains("profile").then(|| person.name.clone()),
            email: if email { person.email.clone() } else { None },
            email_verified: (email && person.email.is_some()).then_some(person.email_verified),
            phone_number: if scope.contains("phone") {
                person.phone_number.clone()
            } else {
                None
            },
        }
    }
}
