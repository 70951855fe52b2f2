//! The household registry (戶籍資料) over diesel: resident rows and the address lists.

use diesel::prelude::*;

use super::Database;
use crate::store::enrollment::{RegistryStore, Resident};
use crate::store::schema::*;
use crate::store::StoreResult;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = residents)]
struct ResidentRow {
    national_id_hash: String,
    household_no: String,
    county: String,
    township: String,
    village: String,
    neighborhood: i32,
    updated_at: i64,
}

impl From<&Resident> for ResidentRow {
    fn from(r: &Resident) -> Self {
        ResidentRow {
            national_id_hash: r.national_id_hash.clone(),
            household_no: r.household_no.clone(),
            county: r.county.clone(),
            township: r.township.clone(),
            village: r.village.clone(),
            neighborhood: r.neighborhood,
            updated_at: r.updated_at,
        }
    }
}

impl From<ResidentRow> for Resident {
    fn from(r: ResidentRow) -> Self {
        Resident {
            national_id_hash: r.national_id_hash,
            household_no: r.household_no,
            county: r.county,
            township: r.township,
            village: r.village,
            neighborhood: r.neighborhood,
            updated_at: r.updated_at,
        }
    }
}

impl RegistryStore for Database {
    fn upsert_residents(&self, rows: &[Resident]) -> StoreResult<usize> {
        self.write_tx(|c| {
            for r in rows {
                let row = ResidentRow::from(r);
                let n = diesel::update(residents::table.find(&row.national_id_hash))
                    .set(&row)
                    .execute(c)?;
                if n == 0 {
                    diesel::insert_into(residents::table)
                        .values(&row)
                        .execute(c)?;
                }
            }
            Ok(rows.len())
        })
    }

    fn find_resident(&self, national_id_hash: &str) -> StoreResult<Option<Resident>> {
        let row = self.with(|c| {
            residents::table
                .find(national_id_hash)
                .select(ResidentRow::as_select())
                .first(c)
                .optional()
        })?;
        Ok(row.map(Resident::from))
    }
}
