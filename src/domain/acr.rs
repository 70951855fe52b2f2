//! Authentication context classes (docs/requirements.md R-OIDC-5) and their order of
//! strength.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Acr {
    /// NHI card with the signing applet plus the registration password.
    Card,
    /// A bound mobile device (passkey).
    Passkey,
    /// MOICA citizen-certificate card plus PIN.
    CitizenCertificate,
}

impl Acr {
    pub const ALL: [Acr; 3] = [Acr::Card, Acr::Passkey, Acr::CitizenCertificate];

    /// The levels a sign-in can reach today: what discovery advertises and what requests
    /// and clients may ask for. Passkeys (行動裝置認證) join when they exist.
    pub const OFFERED: [Acr; 2] = [Acr::Card, Acr::CitizenCertificate];

    /// A level that some sign-in method here can reach.
    pub fn is_offered(self) -> bool {
        Acr::OFFERED.contains(&self)
    }

    /// `value` as a level that is offered; `None` for unknown and not (yet) offered ones.
    pub fn parse_offered(value: &str) -> Option<Acr> {
        Acr::parse(value).filter(|a| a.is_offered())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Acr::Card => "urn:cardinal:acr:card",
            Acr::Passkey => "urn:cardinal:acr:passkey",
            Acr::CitizenCertificate => "urn:cardinal:acr:citizen-certificate",
        }
    }

    pub fn parse(value: &str) -> Option<Acr> {
        Acr::ALL.into_iter().find(|a| a.as_str() == value)
    }

    /// Card and passkey are both two-factor (AAL2); the citizen certificate with PIN is
    /// the highest level.
    pub fn rank(self) -> u8 {
        match self {
            Acr::Card | Acr::Passkey => 2,
            Acr::CitizenCertificate => 3,
        }
    }

    /// Whether a session authenticated at `self` satisfies a requirement of `required`.
    pub fn satisfies(self, required: Acr) -> bool {
        self == required || self.rank() > required.rank()
    }
}

/// A level as written in settings, clients and the API: `card`, `citizen-certificate` or a
/// full acr URN. Only offered levels are accepted (passkey is known but not offered yet).
impl std::str::FromStr for Acr {
    type Err = String;

    fn from_str(value: &str) -> Result<Acr, String> {
        let acr = Acr::parse(value)
            .or_else(|| Acr::parse(&format!("urn:cardinal:acr:{value}")))
            .ok_or_else(|| format!("unknown acr {value:?}; use card or citizen-certificate"))?;
        if !acr.is_offered() {
            return Err(format!(
                "acr {value:?} is not offered yet (no sign-in could reach it); use card or citizen-certificate"
            ));
        }
        Ok(acr)
    }
}

impl serde::Serialize for Acr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Acr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Acr, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Acr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citizen_certificate_satisfies_card_but_not_the_reverse() {
        assert!(Acr::CitizenCertificate.satisfies(Acr::Card));
        assert!(!Acr::Card.satisfies(Acr::CitizenCertificate));
        assert!(Acr::Card.satisfies(Acr::Card));
        assert!(!Acr::Passkey.satisfies(Acr::Card));
    }

    #[test]
    fn acr_values_round_trip() {
        for a in Acr::ALL {
            assert_eq!(Acr::parse(a.as_str()), Some(a));
        }
        assert_eq!(Acr::parse("urn:other"), None);
    }

    #[test]
    fn passkey_is_known_but_not_offered_yet() {
        assert_eq!(Acr::parse(Acr::Passkey.as_str()), Some(Acr::Passkey));
        assert_eq!(Acr::parse_offered(Acr::Passkey.as_str()), None);
        assert_eq!(Acr::parse_offered(Acr::Card.as_str()), Some(Acr::Card));
        assert!(Acr::OFFERED.iter().all(|a| Acr::ALL.contains(a)));
    }
}
