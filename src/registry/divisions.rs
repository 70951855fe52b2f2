//! Every 縣市 and its 鄉鎮市區 (`divisions.csv`, made from public data: see `divisions.md`):
//! the choices of the 戶籍 form's selects. They come from this list, never from the resident
//! registry, so the form tells nothing about who is registered.

const DIVISIONS: &str = include_str!("divisions.csv");

/// (縣市, 鄉鎮市區) rows, in the file's order.
fn rows() -> impl Iterator<Item = (&'static str, &'static str)> {
    DIVISIONS
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(','))
}

/// Every 縣市, in the file's order (north to south, then the islands).
pub fn counties() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for (county, _) in rows() {
        if !out.contains(&county) {
            out.push(county);
        }
    }
    out
}

/// Every 鄉鎮市區 of `county`; `None` when there is no such 縣市.
pub fn townships(county: &str) -> Option<Vec<&'static str>> {
    let county = normalize(county);
    let list: Vec<&'static str> = rows()
        .filter(|(c, _)| *c == county)
        .map(|(_, t)| t)
        .collect();
    (!list.is_empty()).then_some(list)
}

/// A place name as the lists and the registry spell it: trimmed, 台 written 臺.
pub fn normalize(name: &str) -> String {
    name.trim().replace('台', "臺")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_county_and_township_is_listed() {
        let counties = counties();
        assert_eq!(counties.len(), 22, "{counties:?}");
        assert_eq!(counties.first(), Some(&"臺北市"));
        assert_eq!(rows().count(), 368);
        let taipei = townships("臺北市").unwrap();
        assert_eq!(taipei.len(), 12);
        assert!(taipei.contains(&"中正區") && taipei.contains(&"文山區"));
        assert_eq!(townships("台北市"), Some(taipei), "台 is read as 臺");
        assert_eq!(townships("嘉義市").unwrap(), ["東區", "西區"]);
        assert_eq!(townships("高雄市").unwrap().len(), 38);
        assert!(!townships("高雄市").unwrap().contains(&"東沙群島"));
        assert_eq!(townships("火星市"), None);
        assert_eq!(townships(""), None);
    }

    #[test]
    fn every_row_is_a_county_and_a_township() {
        for line in DIVISIONS.lines().skip(1) {
            let (county, township) = line.split_once(',').unwrap();
            assert!(["市", "縣"].iter().any(|s| county.ends_with(s)), "{line}");
            assert!(
                ["鄉", "鎮", "市", "區"]
                    .iter()
                    .any(|s| township.ends_with(s)),
                "{line}"
            );
            assert!(!line.contains('台'), "{line}");
        }
    }
}
