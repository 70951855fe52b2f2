//! The resident registry (戶籍資料, docs/requirements.md R-ID-2): `cardinal registry import
//! FILE.csv` and the identity-proofing check of the apply page.
//!
//! CSV columns (header row required, UTF-8):
//! `national_id,household_no,county,township,village,neighborhood`, e.g.
//! `A123456789,F1234567,臺北市,中正區,黎明里,5`. An import is all or nothing: one bad row
//! (with its line number in the error) and nothing is written.

pub mod divisions;

use std::io::Read;

use anyhow::{bail, Context};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::crypto::{KeyPurpose, KeyRing};
use crate::domain::NationalId;
use crate::store::{Resident, Storage};

#[derive(Debug, Deserialize)]
struct Row {
    national_id: String,
    household_no: String,
    county: String,
    township: String,
    village: String,
    neighborhood: String,
}

/// The keyed hash under which a national ID is stored and looked up.
pub fn national_id_hash(ring: &KeyRing, id: &NationalId) -> String {
    ring.keyed_hash(KeyPurpose::NationalIdIndex, id.expose().as_bytes())
}

fn clean(value: &str, what: &str, line: u64) -> anyhow::Result<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 32 {
        bail!("line {line}: {what} must be 1–32 characters");
    }
    Ok(v.to_string())
}

/// Parses and checks a registry CSV.
pub fn parse_csv(input: impl Read, ring: &KeyRing, now: i64) -> anyhow::Result<Vec<Resident>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let mut out = Vec::new();
    for (i, record) in reader.deserialize::<Row>().enumerate() {
        let line = i as u64 + 2;
        let row = record.with_context(|| format!("line {line}: expected national_id,household_no,county,township,village,neighborhood"))?;
        let id =
            NationalId::parse(&row.national_id).map_err(|e| anyhow::anyhow!("line {line}: {e}"))?;
        let household_no = clean(&row.household_no, "household_no (戶號)", line)?;
        if !household_no.chars().all(|c| c.is_ascii_alphanumeric()) {
            bail!("line {line}: household_no (戶號) must be letters and digits");
        }
        let neighborhood: i32 = row
            .neighborhood
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=999).contains(n))
            .with_context(|| {
                format!("line {line}: neighborhood (鄰) must be a number from 1 to 999")
            })?;
        out.push(Resident {
            national_id_hash: national_id_hash(ring, &id),
            household_no: household_no.to_ascii_uppercase(),
            county: clean(&row.county, "county (縣市)", line)?,
            township: clean(&row.township, "township (鄉鎮市區)", line)?,
            village: clean(&row.village, "village (村里)", line)?,
            neighborhood,
            updated_at: now,
        });
    }
    if out.is_empty() {
        bail!("the file holds no residents");
    }
    Ok(out)
}

/// Imports a registry CSV; returns the number of residents written.
pub fn import(
    store: &dyn Storage,
    ring: &KeyRing,
    input: impl Read,
    now: i64,
) -> anyhow::Result<usize> {
    let rows = parse_csv(input, ring, now)?;
    Ok(store.upsert_residents(&rows)?)
}

/// What an applicant typed on 申請 step 1.
#[derive(Debug, Clone)]
pub struct ProofInput {
    pub household_no: String,
    pub county: String,
    pub township: String,
    pub village: String,
    pub neighborhood: i32,
}

/// Whether the registry holds exactly this household for the national ID. Every field is
/// compared, in constant time, so neither the answer nor its timing tells which one was
/// wrong (R-REG-3). Place names are compared as [`divisions::normalize`] writes them (台 =
/// 臺); the typed 村里 may leave out its 村 or 里.
pub fn matches(resident: Option<&Resident>, input: &ProofInput) -> bool {
    let dummy = Resident {
        national_id_hash: String::new(),
        household_no: String::new(),
        county: String::new(),
        township: String::new(),
        village: String::new(),
        neighborhood: -1,
        updated_at: 0,
    };
    let r = resident.unwrap_or(&dummy);
    let eq = |a: &str, b: &str| a.as_bytes().ct_eq(b.as_bytes());
    let place = |a: &str, b: &str| eq(&divisions::normalize(a), &divisions::normalize(b));
    let village = divisions::normalize(&input.village);
    let village_ok = place(&r.village, &village)
        | place(&r.village, &format!("{village}里"))
        | place(&r.village, &format!("{village}村"));
    let all = eq(
        &r.household_no,
        input.household_no.trim().to_ascii_uppercase().as_str(),
    ) & place(&r.county, &input.county)
        & place(&r.township, &input.township)
        & village_ok
        & r.neighborhood.ct_eq(&input.neighborhood);
    bool::from(all) && resident.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::new(vec![9; 32])
    }

    #[test]
    fn the_demo_registry_parses() {
        let rows = parse_csv(
            include_str!("../examples/demo/residents.csv").as_bytes(),
            &ring(),
            1,
        )
        .unwrap();
        assert_eq!(rows.len(), 6);
        assert!(!rows[0].national_id_hash.contains("A123456789"));
        assert_eq!(rows[0].county, "臺北市");
    }

    #[test]
    fn bad_rows_are_reported_with_their_line() {
        let csv = "national_id,household_no,county,township,village,neighborhood\nA123456789,F1234567,臺北市,中正區,黎明里,5\nA123456788,F1,臺北市,中正區,黎明里,5\n";
        let err = parse_csv(csv.as_bytes(), &ring(), 1)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 3") && err.contains("check digit"),
            "{err}"
        );
        let csv = "national_id,household_no,county,township,village,neighborhood\nA123456789,F1234567,臺北市,中正區,黎明里,0\n";
        assert!(parse_csv(csv.as_bytes(), &ring(), 1)
            .unwrap_err()
            .to_string()
            .contains("neighborhood"));
        assert!(parse_csv("a,b\n1,2\n".as_bytes(), &ring(), 1).is_err());
    }

    #[test]
    fn proof_needs_every_field_and_reveals_none() {
        let rows = parse_csv(
            include_str!("../examples/demo/residents.csv").as_bytes(),
            &ring(),
            1,
        )
        .unwrap();
        let r = &rows[0];
        let good = ProofInput {
            household_no: "f1234567".into(),
            county: "臺北市".into(),
            township: "中正區".into(),
            village: "黎明里".into(),
            neighborhood: 5,
        };
        assert!(matches(Some(r), &good));
        assert!(!matches(
            Some(r),
            &ProofInput {
                neighborhood: 6,
                ..good.clone()
            }
        ));
        assert!(!matches(
            Some(r),
            &ProofInput {
                village: "其他里".into(),
                ..good.clone()
            }
        ));
        assert!(!matches(None, &good));
        // As people type them: 台 for 臺, the 村里 without its 里, spaces around.
        assert!(matches(
            Some(r),
            &ProofInput {
                county: "台北市".into(),
                village: " 黎明 ".into(),
                ..good.clone()
            }
        ));
        assert!(!matches(
            Some(r),
            &ProofInput {
                village: "黎明村".into(),
                ..good.clone()
            }
        ));
        assert!(!matches(
            Some(r),
            &ProofInput {
                village: String::new(),
                ..good.clone()
            }
        ));
    }
}
