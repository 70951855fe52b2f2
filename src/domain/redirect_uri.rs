//! Redirect URIs: registration rules (RFC 9700 §2.1, §4.1; RFC 8252) and exact matching.

use url::{Host, Url};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

impl RedirectUri {
    /// Validates a URI for registration. Allowed: `https` URIs; `http` only on a loopback
    /// host (native apps); private-use schemes with a dot (`tw.gov.app:/cb`, RFC 8252 §7.1).
    /// Refused: fragments, wildcards, `javascript:`, `data:`, `file:` and the like.
    pub fn parse(value: &str) -> Result<RedirectUri, String> {
        if value.contains('*') {
            return Err(format!("redirect URI {value:?}: wildcards are not allowed"));
        }
        let url = Url::parse(value)
            .map_err(|e| format!("redirect URI {value:?} is not an absolute URI: {e}"))?;
        if url.fragment().is_some() || value.contains('#') {
            return Err(format!(
                "redirect URI {value:?} must not contain a fragment"
            ));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(format!(
                    "redirect URI {value:?}: http is allowed only for loopback (127.0.0.1, [::1], localhost); use https"
                ))
            }
            "javascript" | "data" | "file" | "vbscript" | "blob" | "about" | "ftp" | "ws" | "wss" => {
                return Err(format!("redirect URI {value:?}: scheme {} is not allowed", url.scheme()))
            }
            s if s.contains('.') => {}
            s => {
                return Err(format!(
                    "redirect URI {value:?}: scheme {s} is not allowed (private-use schemes need a reverse domain name, RFC 8252)"
                ))
            }
        }
        if url.username() != "" || url.password().is_some() {
            return Err(format!(
                "redirect URI {value:?} must not contain user information"
            ));
        }
        Ok(RedirectUri(value.to_string()))
    }

    /// A value that was validated when it was stored.
    pub fn from_stored(value: String) -> Self {
        RedirectUri(value)
    }

    /// Whether a requested `redirect_uri` matches this registered one: byte-exact, except the
    /// port of an `http` loopback URI (RFC 8252 §7.3).
    pub fn matches(&self, requested: &str) -> bool {
        if self.0 == requested {
            return true;
        }
        let (Ok(reg), Ok(req)) = (Url::parse(&self.0), Url::parse(requested)) else {
            return false;
        };
        if reg.scheme() != "http" || !is_loopback(&reg) || req.scheme() != "http" {
            return false;
        }
        let (Some(Host::Ipv4(_) | Host::Ipv6(_)), true) = (reg.host(), reg.host() == req.host())
        else {
            return false;
        };
        let mut req_without_port = req.clone();
        let mut reg_without_port = reg.clone();
        if req_without_port.set_port(None).is_err() || reg_without_port.set_port(None).is_err() {
            return false;
        }
        req_without_port.as_str() == reg_without_port.as_str()
            && requested.split_once('#').is_none()
    }

    /// The host, for pairwise sector identifiers.
    pub fn host(&self) -> Option<String> {
        Url::parse(&self.0)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
    }
}

impl std::fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

serde_as_text!(RedirectUri, RedirectUri::parse);

impl AsRef<str> for RedirectUri {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_and_loopback_http_are_accepted() {
        assert!(RedirectUri::parse("https://rp.example.gov.tw/cb").is_ok());
        assert!(RedirectUri::parse("http://127.0.0.1:8081/cb").is_ok());
        assert!(RedirectUri::parse("http://localhost:8081/cb").is_ok());
        assert!(RedirectUri::parse("tw.gov.ecpa:/oauth").is_ok());
    }

    #[test]
    fn dangerous_uris_are_refused() {
        for bad in [
            "http://rp.example.gov.tw/cb",
            "https://rp.example.gov.tw/cb#frag",
            "https://*.example.gov.tw/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "myapp:/cb",
            "/relative",
            "https://user:pw@rp.example.gov.tw/cb",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn matching_is_exact_except_loopback_ip_port() {
        let r = RedirectUri::parse("https://rp.example.gov.tw/cb").unwrap();
        assert!(r.matches("https://rp.example.gov.tw/cb"));
        assert!(!r.matches("https://rp.example.gov.tw/cb/"));
        assert!(!r.matches("https://rp.example.gov.tw/cb?x=1"));
        assert!(!r.matches("https://RP.example.gov.tw/cb"));
        let l = RedirectUri::parse("http://127.0.0.1/cb").unwrap();
        assert!(l.matches("http://127.0.0.1:51234/cb"));
        assert!(!l.matches("http://127.0.0.1:51234/other"));
        assert!(!l.matches("http://127.0.0.2:51234/cb"));
    }
}
