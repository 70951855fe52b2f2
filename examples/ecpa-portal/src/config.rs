//! What one portal instance is: which OP it trusts, who it is at that OP, where it lives.

use std::fmt;

use url::Url;

use crate::i18n::Lang;

/// The two faces of the example: the eCPA portal itself and WebHR, the second relying
/// party that shows single sign-on and single logout (docs/requirements.md R-RP-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PortalKind {
    /// 人事服務網 (eCPA): login box, 我的專區 > 應用系統, step-up to the citizen certificate.
    #[default]
    Ecpa,
    /// 人力資源管理資訊系統 (WebHR): a simpler page with the user's name.
    WebHr,
}

impl PortalKind {
    /// Short name used in cookie names and logs.
    pub fn slug(self) -> &'static str {
        match self {
            PortalKind::Ecpa => "ecpa",
            PortalKind::WebHr => "webhr",
        }
    }

    /// The page title when none is configured.
    pub fn default_title(self) -> &'static str {
        match self {
            PortalKind::Ecpa => "人事服務網 eCPA",
            PortalKind::WebHr => "人力資源管理資訊系統",
        }
    }

    /// The default title in English.
    pub fn default_title_en(self) -> &'static str {
        match self {
            PortalKind::Ecpa => "eCPA Personnel Portal",
            PortalKind::WebHr => "WebHR Human Resource Management System",
        }
    }

    pub fn parse(value: &str) -> Option<PortalKind> {
        match value.to_ascii_lowercase().as_str() {
            "ecpa" => Some(PortalKind::Ecpa),
            "webhr" => Some(PortalKind::WebHr),
            _ => None,
        }
    }
}

impl fmt::Display for PortalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

/// Configuration of one portal instance.
///
/// The portal registers (out of band, e.g. `cardinal client create` or `cardinal demo`):
/// redirect URI `{public_url}callback`, back-channel logout URI
/// `{public_url}backchannel-logout`, post-logout redirect URI `{public_url}`.
#[derive(Clone)]
pub struct PortalConfig {
    /// The OP's issuer (Cardinal), e.g. `http://127.0.0.1:8080`. A trailing slash is ignored.
    pub issuer: Url,
    pub client_id: String,
    /// `None` for a public client (PKCE only); otherwise sent with `client_secret_basic`.
    pub client_secret: Option<String>,
    /// Where browsers reach this portal, e.g. `http://127.0.0.1:8081/`.
    pub public_url: Url,
    /// The page title; empty means [`PortalKind::default_title`].
    pub title: String,
    pub kind: PortalKind,
    /// On eCPA: the WebHR portal, linked from 應用系統.
    pub webhr_url: Option<Url>,
    /// On WebHR: the eCPA portal, linked back.
    pub ecpa_url: Option<Url>,
    /// 電腦環境說明 and 人事服務網環境檢測程式: Cardinal's environment help page (`None`:
    /// `{issuer}/help/environment`).
    pub help_url: Option<Url>,
    /// 健保卡網路服務註冊: Cardinal's registration site (`None`: `{issuer}/register`).
    pub register_url: Option<Url>,
    /// 使用手冊: Cardinal's manual (`None`: `{issuer}/help/manual`).
    pub manual_url: Option<Url>,
}

impl fmt::Debug for PortalConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortalConfig")
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("public_url", &self.public_url.as_str())
            .field("title", &self.title)
            .field("kind", &self.kind)
            .field("webhr_url", &self.webhr_url.as_ref().map(Url::as_str))
            .field("ecpa_url", &self.ecpa_url.as_ref().map(Url::as_str))
            .field("help_url", &self.help_url.as_ref().map(Url::as_str))
            .field("register_url", &self.register_url.as_ref().map(Url::as_str))
            .field("manual_url", &self.manual_url.as_ref().map(Url::as_str))
            .finish()
    }
}

impl PortalConfig {
    /// `public_url` with a trailing slash, so that relative joins stay below it.
    pub fn base_url(&self) -> Url {
        with_trailing_slash(&self.public_url)
    }

    /// The redirect URI to register: `{public_url}callback`.
    pub fn redirect_uri(&self) -> anyhow::Result<Url> {
        Ok(self.base_url().join("callback")?)
    }

    /// The back-channel logout URI to register: `{public_url}backchannel-logout`.
    pub fn backchannel_logout_uri(&self) -> anyhow::Result<Url> {
        Ok(self.base_url().join("backchannel-logout")?)
    }

    /// The post-logout redirect URI to register: `{public_url}`.
    pub fn post_logout_redirect_uri(&self) -> Url {
        self.base_url()
    }

    pub fn effective_title(&self) -> String {
        if self.title.trim().is_empty() {
            self.kind.default_title().to_string()
        } else {
            self.title.clone()
        }
    }

    /// The title in `lang`: a configured title as it is, the default one translated.
    pub fn title_in(&self, lang: Lang) -> String {
        let default = self.title.trim().is_empty() || self.title == self.kind.default_title();
        match (default, lang) {
            (true, Lang::En) => self.kind.default_title_en().to_string(),
            _ => self.effective_title(),
        }
    }

    /// Cookie names carry the kind and port: browsers do not separate cookies by port,
    /// and in the demo eCPA (8081), WebHR (8082) and Cardinal (8080) share `127.0.0.1`.
    pub fn cookie_prefix(&self) -> String {
        match self.public_url.port() {
            Some(port) => format!("{}_{port}", self.kind.slug()),
            None => self.kind.slug().to_string(),
        }
    }

    /// Cookies get `Secure` when the portal is served over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

fn with_trailing_slash(url: &Url) -> Url {
    let mut u = url.clone();
    if !u.path().ends_with('/') {
        let path = format!("{}/", u.path());
        u.set_path(&path);
    }
    u.set_query(None);
    u.set_fragment(None);
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(public: &str) -> PortalConfig {
        PortalConfig {
            issuer: Url::parse("http://127.0.0.1:8080").unwrap(),
            client_id: "ecpa".into(),
            client_secret: Some("s3cret".into()),
            public_url: Url::parse(public).unwrap(),
            title: String::new(),
            kind: PortalKind::Ecpa,
            webhr_url: None,
            ecpa_url: None,
            help_url: None,
            register_url: None,
            manual_url: None,
        }
    }

    #[test]
    fn registered_uris_hang_off_the_public_url() {
        let c = config("http://127.0.0.1:8081");
        assert_eq!(
            c.redirect_uri().unwrap().as_str(),
            "http://127.0.0.1:8081/callback"
        );
        assert_eq!(
            c.backchannel_logout_uri().unwrap().as_str(),
            "http://127.0.0.1:8081/backchannel-logout"
        );
        assert_eq!(
            c.post_logout_redirect_uri().as_str(),
            "http://127.0.0.1:8081/"
        );
        let nested = config("https://portal.example.gov.tw/ecpa");
        assert_eq!(
            nested.redirect_uri().unwrap().as_str(),
            "https://portal.example.gov.tw/ecpa/callback"
        );
    }

    #[test]
    fn debug_output_hides_the_client_secret() {
        let shown = format!("{:?}", config("http://127.0.0.1:8081/"));
        assert!(!shown.contains("s3cret"));
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn cookie_names_differ_per_port_and_kind() {
        let mut a = config("http://127.0.0.1:8081/");
        assert_eq!(a.cookie_prefix(), "ecpa_8081");
        a.kind = PortalKind::WebHr;
        a.public_url = Url::parse("http://127.0.0.1:8082/").unwrap();
        assert_eq!(a.cookie_prefix(), "webhr_8082");
    }

    #[test]
    fn the_default_title_is_translated_a_chosen_one_is_not() {
        let mut c = config("http://127.0.0.1:8081/");
        assert_eq!(c.title_in(Lang::ZhTw), "人事服務網 eCPA");
        assert_eq!(c.title_in(Lang::En), "eCPA Personnel Portal");
        c.title = "人事服務網 eCPA".into();
        assert_eq!(c.title_in(Lang::En), "eCPA Personnel Portal");
        c.title = "臺北市人事服務網".into();
        assert_eq!(c.title_in(Lang::En), "臺北市人事服務網");
    }
}
