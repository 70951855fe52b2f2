//! `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0, RFC 8414).

use serde_json::{json, Value};

use super::Engine;
use crate::domain::Acr;

impl Engine {
    pub fn discovery(&self) -> Value {
        let s = self.settings();
        let algs: Vec<&str> = s.keys.algorithms.iter().map(String::as_str).collect();
        let auth_methods = [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ];
        json!({
            "issuer": self.issuer(),
            "authorization_endpoint": self.endpoint("/authorize"),
            "token_endpoint": self.endpoint("/token"),
            "userinfo_endpoint": self.endpoint("/userinfo"),
            "jwks_uri": self.endpoint("/jwks"),
            "end_session_endpoint": self.endpoint("/logout"),
            "revocation_endpoint": self.endpoint("/revoke"),
            "introspection_endpoint": self.endpoint("/introspect"),
            "scopes_supported": crate::domain::scope::KNOWN_SCOPES,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "form_post"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": algs,
            "token_endpoint_auth_methods_supported": auth_methods,
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA"],
            "revocation_endpoint_auth_methods_supported": auth_methods,
            "introspection_endpoint_auth_methods_supported": auth_methods,
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp",
                                  "name", "email", "email_verified", "phone_number"],
            "claims_parameter_supported": true,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "code_challenge_methods_supported": ["S256"],
            "acr_values_supported": Acr::OFFERED.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            "ui_locales_supported": s.oidc.ui_locales,
            "claim_types_supported": ["normal"],
            "authorization_response_iss_parameter_supported": true,
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
            "frontchannel_logout_supported": false,
        })
    }
}
