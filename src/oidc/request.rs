//! Authorization requests: parsed once from the raw parameters into a typed value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{ErrorCode, OAuthError};
use crate::domain::{Acr, ClientId, CodeChallenge, Prompt, RedirectUri, Scope};

/// `response_mode` values this OP supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Query,
    FormPost,
}

/// One entry of the `claims` request parameter (OIDC Core §5.5.1).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ClaimSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ClaimsRequest {
    #[serde(default)]
    pub userinfo: BTreeMap<String, Option<ClaimSpec>>,
    #[serde(default)]
    pub id_token: BTreeMap<String, Option<ClaimSpec>>,
}

impl ClaimsRequest {
    /// The scopes that cover the requested claims (`name` → `profile`, …).
    pub fn covering_scopes(&self) -> Scope {
        let mut tokens = Vec::new();
        for claim in self.userinfo.keys().chain(self.id_token.keys()) {
            match claim.as_str() {
                "name" => tokens.push("profile"),
                "email" | "email_verified" => tokens.push("email"),
                "phone_number" => tokens.push("phone"),
                _ => {}
            }
        }
        Scope::from_tokens(tokens)
    }

    /// `acr` values requested in `id_token.acr`, and whether they are essential.
    pub fn acr(&self) -> (Vec<String>, bool) {
        match self.id_token.get("acr") {
            Some(Some(spec)) => {
                let mut values: Vec<String> = Vec::new();
                if let Some(v) = spec.value.as_ref().and_then(|v| v.as_str()) {
                    values.push(v.to_string());
                }
                for v in spec.values.iter().flatten() {
                    if let Some(s) = v.as_str() {
                        values.push(s.to_string());
                    }
                }
                (values, spec.essential.unwrap_or(false))
            }
            _ => (Vec::new(), false),
        }
    }
}

/// A validated authorization request, as kept while the user signs in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    pub client_id: ClientId,
    pub redirect_uri: RedirectUri,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// Requested scope after narrowing to what the client may ask for.
    pub scope: Scope,
    pub code_challenge: Option<CodeChallenge>,
    pub prompt: Vec<Prompt>,
    pub max_age: Option<i64>,
    /// Requested `acr` values that a sign-in here can reach, most preferred first.
    pub acr_values: Vec<Acr>,
    /// Whether the acr requirement is essential (claims parameter) — unmet means error.
    pub essential_acr: bool,
    pub claims: Option<ClaimsRequest>,
    pub login_hint: Option<String>,
    pub ui_locales: Vec<String>,
    /// `sub` of a valid `id_token_hint`.
    pub id_token_hint_sub: Option<String>,
}

impl AuthorizeRequest {
    pub fn has_prompt(&self, value: Prompt) -> bool {
        self.prompt.contains(&value)
    }

    pub fn scope(&self) -> Scope {
        self.scope.clone()
    }

    /// The acr values this request asks for, most preferred first.
    pub fn requested_acrs(&self) -> Vec<Acr> {
        self.acr_values.clone()
    }
}

/// Raw parameters, with duplicates detected (RFC 6749 §3.1: parameters must not repeat).
#[derive(Debug, Clone, Default)]
pub struct RawParams {
    map: BTreeMap<String, String>,
    duplicates: Vec<String>,
}

impl RawParams {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        let mut map = BTreeMap::new();
        let mut duplicates = Vec::new();
        for (k, v) in pairs {
            match map.entry(k) {
                std::collections::btree_map::Entry::Occupied(e) => duplicates.push(e.key().clone()),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(v);
                }
            }
        }
        Self { map, duplicates }
    }

    /// A parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn is_duplicated(&self, key: &str) -> bool {
        self.duplicates.iter().any(|d| d == key)
    }

    pub fn first_duplicate(&self) -> Option<&str> {
        self.duplicates.first().map(String::as_str)
    }
}

pub(crate) fn parse_prompt(value: Option<&str>) -> Result<Vec<Prompt>, OAuthError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let out = value
        .split(' ')
        .filter(|p| !p.is_empty())
        .map(Prompt::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(OAuthError::invalid_request)?;
    if out.contains(&Prompt::None) && out.len() > 1 {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(out)
}

pub(crate) fn parse_max_age(value: Option<&str>) -> Result<Option<i64>, OAuthError> {
    match value {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| {
                OAuthError::invalid_request(
                    "max_age must be a non-negative whole number of seconds",
                )
            }),
    }
}

pub(crate) fn parse_code_challenge(
    params: &RawParams,
) -> Result<Option<CodeChallenge>, OAuthError> {
    match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge_method was sent without code_challenge",
        )),
        (Some(c), m) => CodeChallenge::parse(c, m)
            .map(Some)
            .map_err(OAuthError::invalid_request),
    }
}

pub(crate) fn parse_claims(value: Option<&str>) -> Result<Option<ClaimsRequest>, OAuthError> {
    match value {
        None => Ok(None),
        Some(v) => serde_json::from_str::<ClaimsRequest>(v)
            .map(Some)
            .map_err(|_| {
                OAuthError::new(
                    ErrorCode::InvalidRequest,
                    "claims must be a JSON object as in OIDC Core §5.5",
                )
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_detected_and_empty_values_are_absent() {
        let p = RawParams::new(vec![
            ("scope".into(), "openid".into()),
            ("scope".into(), "email".into()),
            ("state".into(), "".into()),
        ]);
        assert!(p.is_duplicated("scope"));
        assert_eq!(p.get("scope"), Some("openid"));
        assert_eq!(p.get("state"), None);
    }

    #[test]
    fn prompt_none_stands_alone() {
        assert!(parse_prompt(Some("none login")).is_err());
        assert_eq!(
            parse_prompt(Some("login consent")).unwrap(),
            vec!["login", "consent"]
        );
        assert!(parse_prompt(Some("bogus")).is_err());
    }

    #[test]
    fn claims_parameter_yields_covering_scopes_and_essential_acr() {
        let c = parse_claims(Some(
            r#"{"userinfo":{"name":{"essential":true},"email":null},"id_token":{"acr":{"essential":true,"values":["urn:cardinal:acr:citizen-certificate"]}}}"#,
        ))
        .unwrap()
        .unwrap();
        assert_eq!(c.covering_scopes().to_string(), "email profile");
        assert_eq!(
            c.acr(),
            (
                vec!["urn:cardinal:acr:citizen-certificate".to_string()],
                true
            )
        );
        assert!(parse_claims(Some("not json")).is_err());
    }
}
