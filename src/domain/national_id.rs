//! 身分證統一編號 (national ID): one letter and nine digits with a check digit.

use std::fmt;

/// A national ID that passed the format and check-digit test. `Debug` and `Display`
/// show it masked (`A12****789`): the full value is never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct NationalId(String);

fn letter_value(c: char) -> Option<u32> {
    const ORDER: &str = "ABCDEFGHJKLMNPQRSTUVXYWZIO";
    ORDER.find(c).map(|i| i as u32 + 10)
}

impl NationalId {
    pub fn parse(value: &str) -> Result<NationalId, String> {
        let v = value.trim().to_ascii_uppercase();
        let mut chars = v.chars();
        let bad = || {
            "national ID must be one letter and nine digits (e.g. A123456789) with a valid check digit".to_string()
        };
        let letter = chars.next().ok_or_else(bad)?;
        let digits: Vec<u32> = chars
            .map(|c| c.to_digit(10))
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        if digits.len() != 9 || !matches!(digits.first(), Some(1 | 2 | 8 | 9)) {
            return Err(bad());
        }
        let lv = letter_value(letter).ok_or_else(bad)?;
        let weights = [8u32, 7, 6, 5, 4, 3, 2, 1, 1];
        let sum =
            (lv / 10) + (lv % 10) * 9 + digits.iter().zip(weights).map(|(d, w)| d * w).sum::<u32>();
        if sum % 10 != 0 {
            return Err(bad());
        }
        Ok(NationalId(v))
    }

    /// The full value, for encryption at rest and keyed hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `A12****789`.
    pub fn masked(&self) -> String {
        let (head, tail) = (
            self.0.get(..3).unwrap_or_default(),
            self.0.get(7..).unwrap_or_default(),
        );
        format!("{head}****{tail}")
    }
}

impl fmt::Debug for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NationalId({})", self.masked())
    }
}

impl fmt::Display for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ids_pass_and_are_masked() {
        let id = NationalId::parse("A123456789").unwrap();
        assert_eq!(id.masked(), "A12****789");
        assert_eq!(format!("{id:?}"), "NationalId(A12****789)");
        assert!(NationalId::parse("f131104093").is_ok());
    }

    #[test]
    fn wrong_check_digit_or_shape_fails() {
        assert!(NationalId::parse("A123456788").is_err());
        assert!(NationalId::parse("A323456789").is_err());
        assert!(NationalId::parse("1234567890").is_err());
        assert!(NationalId::parse("A12345678").is_err());
    }
}
