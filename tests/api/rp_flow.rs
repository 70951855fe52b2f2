//! The whole flow driven by the `openidconnect` crate as the relying party: discovery,
//! code + PKCE + nonce, ID-token validation against the JWKS, userinfo, refresh.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, TokenResponse,
};

use crate::helpers::*;

fn http_client() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

async fn rp_sign_in(alg: Option<&str>) {
    let app = spawn_app().await;
    let person = app.add_person("王小明");
    let tc = app.add_client(|d| d.id_token_alg = alg.map(str::to_string));
    let http = http_client();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.address.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(tc.client_id.clone()),
        tc.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(tc.redirect_uri.clone()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The browser: authorize → sign in → consent → back to the client.
    let resp = app.browser.get(auth_url.as_str()).send().await.unwrap();
    let interaction = location(&resp);
    let r = app.test_login(&interaction, &person.id, None).await;
    assert_eq!(location(&r), interaction);
    let r = app.approve_consent(&interaction).await;
    assert_eq!(r.status(), 303);
    let back = url::Url::parse(&location(&r)).unwrap();
    assert!(back.as_str().starts_with(&tc.redirect_uri));
    assert_eq!(
        query_param(&back, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(
        query_param(&back, "iss").as_deref(),
        Some(app.address.as_str())
    );
    let code = query_param(&back, "code").unwrap();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token exchange");
    let id_token = tokens.id_token().expect("id token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("ID token verifies against the JWKS");
    assert_eq!(claims.subject().as_str(), person.id);
    assert_eq!(claims.issuer().as_str(), app.address);
    assert_eq!(
        claims.auth_context_ref().map(|a| a.as_str()),
        Some("urn:cardinal:acr:card")
    );
    assert!(claims.auth_time().is_some());
    if let Some(alg) = alg {
        assert_eq!(jwt_header(&id_token.to_string())["alg"], alg);
    }

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), person.id);
    assert_eq!(info.email().map(|e| e.as_str().to_string()), person.email);
    let name = info
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_string());
    assert_eq!(name.as_deref(), Some("王小明"));

    // Refresh with rotation: the new token works, the old one is now a reuse.
    let rt = tokens
        .refresh_token()
        .expect("refresh token for offline_access")
        .clone();
    let refreshed = client
        .exchange_refresh_token(&rt)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    assert_ne!(refreshed.refresh_token().unwrap().secret(), rt.secret());
    let reuse = client
        .exchange_refresh_token(&rt)
        .unwrap()
        .request_async(&http)
        .await;
    assert!(
        reuse.is_err(),
        "a rotated refresh token must not work twice"
    );
    let newer = refreshed.refresh_token().unwrap().clone();
    let after_reuse = client
        .exchange_refresh_token(&RefreshToken::new(newer.secret().clone()))
        .unwrap()
        .request_async(&http)
        .await;
    assert!(
        after_reuse.is_err(),
        "reuse detection revokes the whole family"
    );
}

#[tokio::test]
async fn openidconnect_client_signs_in_with_rs256() {
    rp_sign_in(None).await;
}

#[tokio::test]
async fn openidconnect_client_signs_in_with_es256() {
    rp_sign_in(Some("ES256")).await;
}
