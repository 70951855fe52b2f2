//! The token and client types of the portal: openidconnect's core types, with the `sid`
//! claim (OpenID Connect Front/Back-Channel Logout §2/§3) added to ID tokens so that a
//! back-channel logout can find the sessions it ends.

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreRevocableToken,
    CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, Client, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdToken, IdTokenClaims, IdTokenFields, StandardErrorResponse, StandardTokenResponse,
    UserInfoClaims,
};
use serde::{Deserialize, Serialize};

/// Claims beyond OpenID Connect Core that the portal reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalClaims {
    /// The OP's session id; the key of back-channel logout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl AdditionalClaims for PortalClaims {}

pub type PortalIdToken = IdToken<
    PortalClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

pub type PortalIdTokenClaims = IdTokenClaims<PortalClaims, CoreGenderClaim>;

pub type PortalUserInfoClaims = UserInfoClaims<PortalClaims, CoreGenderClaim>;

pub type PortalIdTokenFields = IdTokenFields<
    PortalClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

pub type PortalTokenResponse = StandardTokenResponse<PortalIdTokenFields, CoreTokenType>;

/// The client as discovery builds it: authorization endpoint set, token and userinfo
/// endpoints as the provider announced them.
pub type PortalClient = Client<
    PortalClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    PortalTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The `acr` values of Cardinal (docs/requirements.md R-OIDC-5).
pub mod acr {
    pub const CARD: &str = "urn:cardinal:acr:card";
    pub const PASSKEY: &str = "urn:cardinal:acr:passkey";
    pub const CITIZEN_CERTIFICATE: &str = "urn:cardinal:acr:citizen-certificate";

    /// The dictionary key of how the portal names a sign-in level, as the guide does:
    /// 個人資料 (健保卡).
    pub fn label_key(acr: &str) -> &'static str {
        match acr {
            CARD => "method_card",
            PASSKEY => "method_passkey",
            CITIZEN_CERTIFICATE => "method_citizen_certificate",
            _ => "method_other",
        }
    }

    /// Whether a sign-in at `acr` may open links that need the citizen certificate.
    pub fn is_citizen_certificate(acr: Option<&str>) -> bool {
        acr == Some(CITIZEN_CERTIFICATE)
    }
}
