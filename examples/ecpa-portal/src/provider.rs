//! The OpenID provider as this relying party sees it: discovery, the openidconnect client,
//! the authorization request, code exchange, userinfo, refresh, end-session URL.

use std::sync::{Mutex, PoisonError, RwLock};
use std::time::Duration;

use anyhow::{anyhow, Context};
use openidconnect::core::{CoreAuthPrompt, CoreAuthenticationFlow, CoreJwsSigningAlgorithm};
use openidconnect::http::StatusCode;
use openidconnect::{
    AccessToken, AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    IssuerUrl, JsonWebKeySet, JwsSigningAlgorithm, LanguageTag, LogoutRequest, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, RefreshToken, Scope, SubjectIdentifier, UserInfoError,
};
use url::Url;

use crate::claims::{PortalClient, PortalIdToken, PortalTokenResponse, PortalUserInfoClaims};
use crate::config::PortalConfig;
use crate::i18n::Lang;
use crate::verify::TokenExpectations;

/// Scopes the portal asks for. No `offline_access`: a portal session should not outlive
/// the single sign-on session (Cardinal keeps offline grants past logout).
pub const SCOPES: [&str; 3] = ["profile", "email", "phone"];

/// The `state` sent to the end-session endpoint; the home page shows 您已登出 for it.
pub const SIGNED_OUT_STATE: &str = "signed-out";

/// The JWKS is fetched again at most this often (a token with an unknown `kid` must not
/// let anyone make the portal hammer the provider).
const JWKS_REFRESH_INTERVAL_SECS: i64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum UserinfoError {
    /// The access token is no longer accepted (its grant or session ended).
    #[error("the provider refused the access token")]
    Unauthorized,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// An authorization request to send the browser to, with what the callback needs.
pub struct AuthorizationStart {
    pub url: Url,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub pkce_verifier: PkceCodeVerifier,
}

pub struct Provider {
    http: reqwest::Client,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    redirect_url: RedirectUrl,
    metadata: RwLock<ProviderMetadataWithLogout>,
    last_jwks_refresh: Mutex<i64>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("issuer", &self.issuer().as_str())
            .field("client_id", &self.client_id.as_str())
            .finish_non_exhaustive()
    }
}

/// The issuer as Cardinal spells it: no trailing slash on a path-less URL (a `url::Url`
/// always has one; the comparison in discovery is byte for byte).
pub fn issuer_url(issuer: &Url) -> anyhow::Result<IssuerUrl> {
    let s = issuer.as_str();
    let s = if issuer.path() == "/" && issuer.query().is_none() {
        s.trim_end_matches('/')
    } else {
        s
    };
    IssuerUrl::new(s.to_string()).context("the issuer is not a valid URL")
}

impl Provider {
    /// Fetches the provider's metadata and keys.
    pub async fn discover(config: &PortalConfig, now: i64) -> anyhow::Result<Provider> {
        // openidconnect's docs: the HTTP client must not follow redirects (SSRF).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .context("Failed to build the HTTP client")?;
        let issuer = issuer_url(&config.issuer)?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer.clone(), &http)
            .await
            .with_context(|| format!("Failed to discover the OpenID provider at {}", *issuer))?;
        let redirect_url = RedirectUrl::from_url(config.redirect_uri()?);
        Ok(Provider {
            http,
            client_id: ClientId::new(config.client_id.clone()),
            client_secret: config.client_secret.clone().map(ClientSecret::new),
            redirect_url,
            metadata: RwLock::new(metadata),
            last_jwks_refresh: Mutex::new(now),
        })
    }

    fn metadata(&self) -> ProviderMetadataWithLogout {
        self.metadata
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn issuer(&self) -> IssuerUrl {
        self.metadata
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .issuer()
            .clone()
    }

    fn client(&self) -> PortalClient {
        let mut client = PortalClient::from_provider_metadata(
            self.metadata(),
            self.client_id.clone(),
            self.client_secret.clone(),
        )
        .set_redirect_uri(self.redirect_url.clone());
        if self.client_secret.is_none() {
            client = client.set_auth_type(openidconnect::AuthType::RequestBody);
        }
        client
    }

    /// What tokens must match, with the keys known now.
    pub fn expectations(&self) -> TokenExpectations {
        let m = self.metadata.read().unwrap_or_else(PoisonError::into_inner);
        let mut algs: Vec<CoreJwsSigningAlgorithm> = m
            .id_token_signing_alg_values_supported()
            .iter()
            .filter(|a| !a.uses_shared_secret() && **a != CoreJwsSigningAlgorithm::None)
            .cloned()
            .collect();
        if algs.is_empty() {
            algs.push(CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256);
        }
        TokenExpectations {
            issuer: m.issuer().clone(),
            client_id: self.client_id.clone(),
            jwks: m.jwks().clone(),
            algs,
        }
    }

    /// Fetches the JWKS again (after a token named an unknown key). Returns false when
    /// the last fetch was too recent to try again.
    pub async fn refresh_keys(&self, now: i64) -> anyhow::Result<bool> {
        {
            let mut last = self
                .last_jwks_refresh
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if now - *last < JWKS_REFRESH_INTERVAL_SECS {
                return Ok(false);
            }
            *last = now;
        }
        let uri = self.metadata().jwks_uri().clone();
        let jwks = JsonWebKeySet::fetch_async(&uri, &self.http)
            .await
            .context("Failed to fetch the provider's JWKS")?;
        let mut m = self
            .metadata
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        *m = m.clone().set_jwks(jwks);
        tracing::info!("provider keys refreshed");
        Ok(true)
    }

    /// A code-flow request with PKCE S256, `state` and `nonce`; `acr` becomes
    /// `acr_values`, `prompt_login` adds `prompt=login` (step-up), `lang` is sent as
    /// `ui_locales`.
    pub fn start_authorization(
        &self,
        acr: Option<&str>,
        prompt_login: bool,
        lang: Lang,
    ) -> AuthorizationStart {
        let (challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge)
            // Cardinal's pages speak the portal's current language.
            .add_ui_locale(LanguageTag::new(lang.tag().into()));
        for scope in SCOPES {
            request = request.add_scope(Scope::new(scope.to_string()));
        }
        if let Some(acr) = acr {
            request = request.add_auth_context_value(AuthenticationContextClass::new(acr.into()));
        }
        if prompt_login {
            request = request.add_prompt(CoreAuthPrompt::Login);
        }
        let (url, state, nonce) = request.url();
        AuthorizationStart {
            url,
            state,
            nonce,
            pkce_verifier,
        }
    }

    /// Redeems an authorization code at the token endpoint.
    pub async fn exchange_code(
        &self,
        code: String,
        pkce_verifier: String,
    ) -> anyhow::Result<PortalTokenResponse> {
        let client = self.client();
        client
            .exchange_code(AuthorizationCode::new(code))
            .context("the provider has no token endpoint")?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| anyhow!(token_error_text(&e)))
            .context("Failed to redeem the authorization code")
    }

    /// Uses a refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> anyhow::Result<PortalTokenResponse> {
        let client = self.client();
        let token = RefreshToken::new(refresh_token.to_string());
        client
            .exchange_refresh_token(&token)
            .context("the provider has no token endpoint")?
            .request_async(&self.http)
            .await
            .map_err(|e| anyhow!(token_error_text(&e)))
            .context("Failed to refresh the tokens")
    }

    /// Fetches userinfo for `sub` (the response's `sub` must match).
    pub async fn userinfo(
        &self,
        access_token: &str,
        sub: &str,
    ) -> Result<PortalUserInfoClaims, UserinfoError> {
        let client = self.client();
        let request = client
            .user_info(
                AccessToken::new(access_token.to_string()),
                Some(SubjectIdentifier::new(sub.to_string())),
            )
            .context("the provider has no userinfo endpoint")?;
        match request.request_async(&self.http).await {
            Ok(claims) => Ok(claims),
            Err(UserInfoError::Response(status, _, _))
                if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN =>
            {
                Err(UserinfoError::Unauthorized)
            }
            Err(e) => Err(UserinfoError::Other(
                anyhow!("{e}").context("Failed to fetch userinfo"),
            )),
        }
    }

    /// The RP-initiated logout URL (with `id_token_hint`, `client_id`,
    /// `post_logout_redirect_uri`, `state`), or `None` when the provider has no end-session endpoint
    /// or the stored ID token cannot be read.
    pub fn end_session_url(
        &self,
        id_token: &str,
        post_logout_redirect_uri: &Url,
        lang: Lang,
    ) -> Option<Url> {
        let endpoint = self
            .metadata()
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let hint: PortalIdToken = id_token.parse().ok()?;
        Some(
            LogoutRequest::from(endpoint)
                .set_id_token_hint(&hint)
                .set_client_id(self.client_id.clone())
                .set_post_logout_redirect_uri(PostLogoutRedirectUrl::from_url(
                    post_logout_redirect_uri.clone(),
                ))
                // Comes back on the home page, which then says 您已登出. Not a secret:
                // a forged one only shows that notice.
                .set_state(CsrfToken::new(SIGNED_OUT_STATE.to_string()))
                .add_ui_locale(LanguageTag::new(lang.tag().into()))
                .http_get_url(),
        )
    }
}

/// An error from the token endpoint, without the HTTP body (it could echo secrets).
fn token_error_text<RE, T>(e: &openidconnect::RequestTokenError<RE, T>) -> String
where
    RE: std::error::Error + 'static,
    T: openidconnect::ErrorResponse + 'static,
{
    match e {
        openidconnect::RequestTokenError::ServerResponse(r) => {
            format!("the token endpoint refused: {r}")
        }
        openidconnect::RequestTokenError::Request(r) => format!("request failed: {r}"),
        openidconnect::RequestTokenError::Parse(p, _) => {
            format!("the token response could not be read: {p}")
        }
        openidconnect::RequestTokenError::Other(o) => o.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_loses_the_trailing_slash_url_adds() {
        let u = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(issuer_url(&u).unwrap().as_str(), "http://127.0.0.1:8080");
        let with_path = Url::parse("https://idp.example.gov.tw/realm").unwrap();
        assert_eq!(
            issuer_url(&with_path).unwrap().as_str(),
            "https://idp.example.gov.tw/realm"
        );
    }
}
