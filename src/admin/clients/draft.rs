//! A client as requested ([`ClientDraft`]) and the rules that turn it into a [`Client`]
//! ([`apply`]): one place for them, whichever surface (API, console, CLI, demo) asks.

use serde::Serialize;

use crate::domain::client::InvalidClient;
use crate::domain::{
    Acr, AuthMethod, Client, ClientId, GrantType, RedirectUri, Scope, SubjectType,
};
use crate::store::StoreError;

/// Requested values; `None` / empty keeps the current value (or the default on create).
#[derive(Debug, Clone, Default)]
pub struct ClientDraft {
    pub client_id: Option<String>,
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// `Some(None)` removes the URI.
    pub backchannel_logout_uri: Option<Option<String>>,
    pub grant_types: Option<Vec<String>>,
    pub auth_method: Option<String>,
    pub scopes: Option<Vec<String>>,
    /// `Some(None)` removes the minimum.
    pub min_acr: Option<Option<String>>,
    pub skip_consent: Option<bool>,
    pub subject_type: Option<String>,
    pub jwks: Option<String>,
    pub id_token_alg: Option<String>,
}

/// A value an operator must fix, with the field it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field of [`ClientDraft`] (and of the admin API) the message is about.
    pub field: &'static str,
    /// The rule broken, a stable code (`redirect_uri_invalid`, `name_empty`, …): the
    /// console shows it in the page's language; the API returns it with the message.
    pub code: &'static str,
    /// What to fix, in English (API, CLI).
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            code,
            message: message.into(),
        }
    }

    /// The field, code and message of a [`Client::validate`] refusal.
    fn from_validation(e: InvalidClient) -> Self {
        FieldError {
            field: e.field,
            code: e.code,
            message: e.message,
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why a registration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Invalid(FieldError),
    #[error("no client {0}")]
    NotFound(String),
    #[error("client_id {0} is taken")]
    Taken(String),
    #[error("client {0} was changed by someone else at the same time; reload it and try again")]
    Changed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A client as shown to operators (never the secret hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub auth_method: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub min_acr: Option<String>,
    pub skip_consent: bool,
    pub subject_type: String,
    pub id_token_alg: Option<String>,
    pub has_jwks: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        ClientView {
            client_id: c.client_id.to_string(),
            name: c.name.clone(),
            auth_method: c.auth_method.as_str().into(),
            redirect_uris: c
                .redirect_uris
                .iter()
                .map(|u| u.as_ref().to_string())
                .collect(),
            post_logout_redirect_uris: c
                .post_logout_redirect_uris
                .iter()
                .map(|u| u.as_ref().to_string())
                .collect(),
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.as_str().to_string())
                .collect(),
            scopes: c.scopes.to_vec(),
            min_acr: c.min_acr.map(|a| a.as_str().to_string()),
            skip_consent: c.skip_consent,
            subject_type: c.subject_type.as_str().into(),
            id_token_alg: c.id_token_alg.clone(),
            has_jwks: c.jwks.is_some(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

fn uris(values: &[String], field: &'static str) -> Result<Vec<RedirectUri>, FieldError> {
    values
        .iter()
        .map(|v| RedirectUri::parse(v).map_err(|e| FieldError::new(field, "uri_invalid", e)))
        .collect()
}

/// Splits repeated and space-separated values.
fn tokens(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split([' ', ',']))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Applies `draft` over `base` (or the defaults) and validates the result.
pub fn apply(draft: &ClientDraft, base: Option<&Client>, now: i64) -> Result<Client, FieldError> {
    let f =
        |field: &'static str, code: &'static str| move |e: String| FieldError::new(field, code, e);
    let client_id = match (base, &draft.client_id) {
        (Some(b), _) => b.client_id.clone(),
        (None, Some(id)) => ClientId::parse(id).map_err(f("client_id", "client_id_invalid"))?,
        (None, None) => ClientId::generate(),
    };
    let grant_types = match &draft.grant_types {
        Some(g) if !g.is_empty() => tokens(g)
            .iter()
            .map(|s| GrantType::parse(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(f("grant_types", "grant_type_unknown"))?,
        _ => base
            .map(|b| b.grant_types.clone())
            .unwrap_or_else(|| vec![GrantType::AuthorizationCode, GrantType::RefreshToken]),
    };
    let auth_method = match &draft.auth_method {
        Some(m) => AuthMethod::parse(m).map_err(f("auth_method", "auth_method_unknown"))?,
        None => base
            .map(|b| b.auth_method)
            .unwrap_or(AuthMethod::ClientSecretBasic),
    };
    let scopes = match &draft.scopes {
        Some(s) if !s.is_empty() => {
            Scope::parse(&tokens(s).join(" ")).map_err(f("scopes", "scope_invalid"))?
        }
        _ => base.map(|b| b.scopes.clone()).unwrap_or_else(|| {
            let mut s = vec!["openid", "profile", "email", "phone"];
            if grant_types.contains(&GrantType::RefreshToken) {
                s.push("offline_access");
            }
            Scope::from_tokens(s)
        }),
    };
    let min_acr = match &draft.min_acr {
        Some(Some(a)) => Some(a.parse::<Acr>().map_err(f("min_acr", "min_acr_unknown"))?),
        Some(None) => None,
        None => base.and_then(|b| b.min_acr),
    };
    let client = Client {
        client_id,
        name: draft
            .name
            .clone()
            .or_else(|| base.map(|b| b.name.clone()))
            .unwrap_or_default(),
        secret_hash: base.and_then(|b| b.secret_hash.clone()),
        auth_method,
        redirect_uris: match &draft.redirect_uris {
            Some(v) if !v.is_empty() => uris(v, "redirect_uris")?,
            _ => base.map(|b| b.redirect_uris.clone()).unwrap_or_default(),
        },
        post_logout_redirect_uris: match &draft.post_logout_redirect_uris {
            Some(v) if !v.is_empty() => uris(v, "post_logout_redirect_uris")?,
            _ => base
                .map(|b| b.post_logout_redirect_uris.clone())
                .unwrap_or_default(),
        },
        backchannel_logout_uri: match &draft.backchannel_logout_uri {
            Some(v) => v.clone(),
            None => base.and_then(|b| b.backchannel_logout_uri.clone()),
        },
        grant_types,
        scopes,
        min_acr,
        skip_consent: draft
            .skip_consent
            .or(base.map(|b| b.skip_consent))
            .unwrap_or(false),
        subject_type: match &draft.subject_type {
            Some(s) => SubjectType::parse(s).map_err(f("subject_type", "subject_type_unknown"))?,
            None => base.map(|b| b.subject_type).unwrap_or(SubjectType::Public),
        },
        jwks: draft
            .jwks
            .clone()
            .or_else(|| base.and_then(|b| b.jwks.clone())),
        id_token_alg: draft
            .id_token_alg
            .clone()
            .or_else(|| base.and_then(|b| b.id_token_alg.clone())),
        created_at: base.map(|b| b.created_at).unwrap_or(now),
        version: base.map(|b| b.version).unwrap_or(0),
        updated_at: now,
    };
    if let Some(jwks) = &client.jwks {
        let parsed: serde_json::Value = serde_json::from_str(jwks)
            .map_err(|_| FieldError::new("jwks", "jwks_not_json", "the JWKS is not JSON"))?;
        let keys = parsed
            .get("keys")
            .and_then(|k| k.as_array())
            .ok_or_else(|| {
                FieldError::new("jwks", "jwks_no_keys", "the JWKS has no \"keys\" array")
            })?;
        if keys.iter().any(|k| k.get("d").is_some()) {
            return Err(FieldError::new(
                "jwks",
                "jwks_private",
                "the JWKS contains a private key; register only public keys",
            ));
        }
    }
    client.validate().map_err(FieldError::from_validation)?;
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> ClientDraft {
        ClientDraft {
            name: Some("eCPA".into()),
            redirect_uris: Some(vec!["https://ecpa.example.gov.tw/cb".into()]),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_make_a_confidential_code_client() {
        let c = apply(&draft(), None, 1).unwrap();
        assert_eq!(c.auth_method, AuthMethod::ClientSecretBasic);
        assert!(c.allows_grant(GrantType::AuthorizationCode));
        assert!(c.scopes.contains("openid") && c.scopes.contains("offline_access"));
    }

    #[test]
    fn forbidden_redirect_uris_are_refused_with_a_reason() {
        let mut d = draft();
        d.redirect_uris = Some(vec!["http://ecpa.example.gov.tw/cb".into()]);
        let err = apply(&d, None, 1).unwrap_err();
        assert!(err.message.contains("https"), "{err}");
        assert_eq!(err.field, "redirect_uris");
        assert_eq!(err.code, "uri_invalid");
    }

    #[test]
    fn public_clients_cannot_use_client_credentials() {
        let mut d = draft();
        d.auth_method = Some("none".into());
        d.grant_types = Some(vec!["authorization_code client_credentials".into()]);
        assert!(apply(&d, None, 1).is_err());
    }

    #[test]
    fn update_keeps_unmentioned_values() {
        let c = apply(&draft(), None, 1).unwrap();
        let d = ClientDraft {
            min_acr: Some(Some("citizen-certificate".into())),
            ..Default::default()
        };
        let u = apply(&d, Some(&c), 2).unwrap();
        assert_eq!(u.redirect_uris, c.redirect_uris);
        assert_eq!(u.min_acr, Some(Acr::CitizenCertificate));
        assert_eq!(u.created_at, 1);
        assert_eq!(u.updated_at, 2);
    }

    #[test]
    fn backchannel_logout_uri_must_be_http() {
        let mut d = draft();
        d.backchannel_logout_uri = Some(Some("tw.gov.ecpa:/logout".into()));
        assert!(apply(&d, None, 1).unwrap_err().message.contains("https"));
        d.backchannel_logout_uri = Some(Some("https://ecpa.example.gov.tw/bc".into()));
        assert!(apply(&d, None, 1).is_ok());
    }

    #[test]
    fn private_jwks_are_refused() {
        let mut d = draft();
        d.auth_method = Some("private_key_jwt".into());
        d.jwks =
            Some(r#"{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"secret"}]}"#.into());
        assert!(apply(&d, None, 1).unwrap_err().message.contains("private"));
    }
}
