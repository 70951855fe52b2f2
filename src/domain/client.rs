//! Relying-party clients as registered by an operator.

use std::fmt;

use super::{Acr, RedirectUri, Scope};

/// A `client_id`: 1–128 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(value: &str) -> Result<ClientId, String> {
        // URL-unreserved characters only, starting with a letter or digit: an id goes into
        // paths (/admin/clients/{id}), HTML and command lines (where `-x` is an option).
        let starts_well = value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        let unreserved = value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'));
        if value.len() > 128 || !starts_well || !unreserved {
            return Err(
                "client_id must be 1 to 128 characters of A–Z, a–z, 0–9, '-', '.', '_' or '~', starting with a letter or digit"
                    .into(),
            );
        }
        Ok(ClientId(value.to_string()))
    }

    /// A fresh random id (128 bits, hex).
    pub fn generate() -> ClientId {
        let mut bytes = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        ClientId(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
}

serde_as_text!(ClientId, ClientId::parse);

impl AsRef<str> for ClientId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            pub fn parse(value: &str) -> Result<$name, String> {
                match value {
                    $($s => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown {} {other:?}; expected one of: {}",
                        stringify!($name),
                        [$($s),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// How a client authenticates at the token, introspection and revocation endpoints.
    AuthMethod {
        ClientSecretBasic => "client_secret_basic",
        ClientSecretPost => "client_secret_post",
        PrivateKeyJwt => "private_key_jwt",
        None => "none",
    }
);

string_enum!(
    /// Grant types a client may use.
    GrantType {
        AuthorizationCode => "authorization_code",
        RefreshToken => "refresh_token",
        ClientCredentials => "client_credentials",
    }
);

string_enum!(
    /// Whether `sub` is the same for every client or differs per client (pairwise).
    SubjectType {
        Public => "public",
        Pairwise => "pairwise",
    }
);

impl AuthMethod {
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }
}

/// A registered client.
#[derive(Clone)]
pub struct Client {
    pub client_id: ClientId,
    pub name: String,
    /// Keyed hash of the secret; `None` for public and private_key_jwt clients.
    pub secret_hash: Option<String>,
    pub auth_method: AuthMethod,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Scope,
    pub min_acr: Option<Acr>,
    pub skip_consent: bool,
    pub subject_type: SubjectType,
    /// The client's public keys for private_key_jwt (a JWKS document).
    pub jwks: Option<String>,
    /// `id_token_signed_response_alg`; the OP default when `None`.
    pub id_token_alg: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bumped by every stored change; a change based on an older read is refused.
    pub version: i64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("auth_method", &self.auth_method)
            .field(
                "secret_hash",
                &self.secret_hash.as_ref().map(|_| "[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// The registered redirect URI that `requested` matches, if any.
    pub fn find_redirect_uri(&self, requested: &str) -> Option<&RedirectUri> {
        self.redirect_uris.iter().find(|r| r.matches(requested))
    }

    pub fn allows_post_logout_redirect(&self, requested: &str) -> bool {
        self.post_logout_redirect_uris
            .iter()
            .any(|r| r.as_ref() == requested)
    }

    /// The pairwise sector: the host of the redirect URIs (which must agree, checked at
    /// registration).
    pub fn sector_identifier(&self) -> String {
        self.redirect_uris
            .first()
            .and_then(RedirectUri::host)
            .unwrap_or_else(|| self.client_id.to_string())
    }

    /// Checks that the registration is coherent; returns what an operator must fix.
    /// Checks the rules that tie the fields together; the error names the field to fix.
    pub fn validate(&self) -> Result<(), InvalidClient> {
        if self.name.trim().is_empty() {
            return Err(invalid("name", "name_empty", "name must not be empty"));
        }
        if self.allows_grant(GrantType::AuthorizationCode) && self.redirect_uris.is_empty() {
            return Err(invalid(
                "redirect_uris",
                "redirect_uri_required",
                "a client with the authorization_code grant needs at least one redirect URI",
            ));
        }
        if self.grant_types.is_empty() {
            return Err(invalid(
                "grant_types",
                "grant_types_empty",
                "a client needs at least one grant type",
            ));
        }
        if self.is_public() && self.allows_grant(GrantType::ClientCredentials) {
            return Err(invalid(
                "auth_method",
                "public_client_credentials",
                "a public client (auth method none) cannot use client_credentials",
            ));
        }
        if self.auth_method == AuthMethod::PrivateKeyJwt && self.jwks.is_none() {
            return Err(invalid(
                "jwks",
                "jwks_required",
                "private_key_jwt needs the client's public keys (jwks)",
            ));
        }
        if self.subject_type == SubjectType::Pairwise {
            let hosts: std::collections::BTreeSet<_> = self
                .redirect_uris
                .iter()
                .filter_map(RedirectUri::host)
                .collect();
            if hosts.len() > 1 {
                return Err(invalid(
                    "subject_type",
                    "pairwise_hosts",
                    "pairwise subjects need all redirect URIs on one host",
                ));
            }
        }
        for s in self.scopes.iter() {
            if !super::scope::KNOWN_SCOPES.contains(&s) && s != super::scope::ADMIN_SCOPE {
                return Err(invalid(
                    "scopes",
                    "scope_unknown",
                    format!(
                        "unknown scope {s:?}; known scopes: {}, {}",
                        super::scope::KNOWN_SCOPES.join(", "),
                        super::scope::ADMIN_SCOPE
                    ),
                ));
            }
        }
        if self.scopes.contains(super::scope::ADMIN_SCOPE)
            && (self.is_public() || !self.allows_grant(GrantType::ClientCredentials))
        {
            return Err(invalid(
                "scopes",
                "admin_scope",
                format!(
                    "the {} scope is only for confidential clients with the client_credentials grant",
                    super::scope::ADMIN_SCOPE
                ),
            ));
        }
        if let Some(alg) = &self.id_token_alg {
            if !matches!(alg.as_str(), "RS256" | "ES256" | "EdDSA") {
                return Err(invalid(
                    "id_token_alg",
                    "id_token_alg_unsupported",
                    format!("id_token_alg {alg:?} is not supported (RS256, ES256, EdDSA)"),
                ));
            }
        }
        if let Some(uri) = &self.backchannel_logout_uri {
            RedirectUri::parse(uri).map_err(|e| {
                invalid(
                    "backchannel_logout_uri",
                    "backchannel_uri_invalid",
                    format!("back-channel logout URI: {e}"),
                )
            })?;
            if !(uri.starts_with("https://") || uri.starts_with("http://")) {
                return Err(invalid(
                    "backchannel_logout_uri",
                    "backchannel_uri_invalid",
                    "back-channel logout URI must be an https URL (http only on loopback)",
                ));
            }
            if uri.contains('#') {
                return Err(invalid(
                    "backchannel_logout_uri",
                    "backchannel_uri_invalid",
                    "back-channel logout URI must not contain a fragment",
                ));
            }
        }
        Ok(())
    }
}

/// A client that breaks a rule: the field to fix, the rule (a stable code that pages
/// translate) and what is wrong (English, for the API and the CLI).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidClient {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, code: &'static str, message: impl Into<String>) -> InvalidClient {
    InvalidClient {
        field,
        code,
        message: message.into(),
    }
}

#[cfg(test)]
mod client_id_tests {
    use super::ClientId;

    #[test]
    fn client_ids_are_url_and_command_line_safe() {
        for good in ["ecpa", "desktop-app", "a.b_c~d", "0abc"] {
            assert!(ClientId::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "-f", "a/b", "a b", "a?b", "a#b", "é", &"x".repeat(129)] {
            assert!(ClientId::parse(bad).is_err(), "{bad:?}");
        }
        for _ in 0..64 {
            let id = ClientId::generate();
            assert_eq!(id.as_ref().len(), 32);
            assert!(ClientId::parse(id.as_ref()).is_ok(), "{}", id.as_ref());
        }
    }
}
