//! Codes, grants, access and refresh tokens, client-assertion `jti`s.

use diesel::prelude::*;

use super::{AnyConnection, Database};
use crate::clock::UnixTime;
use crate::store::models::*;
use crate::store::schema::*;
use crate::store::*;

/// Marks a grant and all its tokens revoked (inside the caller's transaction).
pub(super) fn revoke_grant_rows(c: &mut AnyConnection, id: &str, now: UnixTime) -> QueryResult<()> {
    diesel::update(grants::table.find(id).filter(grants::revoked_at.is_null()))
        .set(grants::revoked_at.eq(Some(now)))
        .execute(c)?;
    diesel::update(
        access_tokens::table
            .filter(access_tokens::grant_id.eq(id))
            .filter(access_tokens::revoked_at.is_null()),
    )
    .set(access_tokens::revoked_at.eq(Some(now)))
    .execute(c)?;
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::grant_id.eq(id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Some(now)))
    .execute(c)?;
    Ok(())
}

fn insert_bundle(c: &mut AnyConnection, bundle: &IssueBundle) -> QueryResult<()> {
    if let Some(grant) = &bundle.new_grant {
        diesel::insert_into(grants::table)
            .values(GrantRow::from(grant))
            .execute(c)?;
    }
    diesel::insert_into(access_tokens::table)
        .values(AccessTokenRow::from(&bundle.access_token))
        .execute(c)?;
    if let Some(rt) = &bundle.refresh_token {
        diesel::insert_into(refresh_tokens::table)
            .values(RefreshTokenRow::from(rt))
            .execute(c)?;
    }
    Ok(())
}

impl CodeStore for Database {
    fn create_code(&self, code: &CodeRecord) -> StoreResult<()> {
        let row = CodeRow::from(code);
        self.with(|c| {
            diesel::insert_into(authorization_codes::table)
                .values(&row)
                .execute(c)
        })
        .map(|_| ())
    }

    fn find_code(&self, code_hash: &str) -> StoreResult<Option<CodeRecord>> {
        let row = self.with(|c| {
            authorization_codes::table
                .find(code_hash)
                .select(CodeRow::as_select())
                .first(c)
                .optional()
        })?;
        row.map(CodeRecord::try_from)
            .transpose()
            .map_err(StoreError::Db)
    }

    fn burn_code(&self, code_hash: &str, now: UnixTime) -> StoreResult<bool> {
        let n = self.with(|c| {
            diesel::update(
                authorization_codes::table
                    .find(code_hash)
                    .filter(authorization_codes::consumed_at.is_null()),
            )
            .set(authorization_codes::consumed_at.eq(Some(now)))
            .execute(c)
        })?;
        Ok(n == 1)
    }

    fn redeem_code(
        &self,
        code_hash: &str,
        now: UnixTime,
        bundle: &IssueBundle,
    ) -> StoreResult<bool> {
        self.write_tx(|c| {
            let n = diesel::update(
                authorization_codes::table
                    .find(code_hash)
                    .filter(authorization_codes::consumed_at.is_null())
                    .filter(authorization_codes::expires_at.gt(now)),
            )
            .set(authorization_codes::consumed_at.eq(Some(now)))
            .execute(c)?;
            if n != 1 {
                return Ok(false);
            }
            insert_bundle(c, bundle)?;
            Ok(true)
        })
    }
}

impl TokenStore for Database {
    fn issue_tokens(&self, bundle: &IssueBundle) -> StoreResult<()> {
        self.write_tx(|c| insert_bundle(c, bundle))
    }

    fn rotate_refresh_token(
        &self,
        old_hash: &str,
        now: UnixTime,
        bundle: &IssueBundle,
    ) -> StoreResult<bool> {
        self.write_tx(|c| {
            let n = diesel::update(
                refresh_tokens::table
                    .find(old_hash)
                    .filter(refresh_tokens::consumed_at.is_null())
                    .filter(refresh_tokens::revoked_at.is_null())
                    .filter(refresh_tokens::expires_at.gt(now)),
            )
            .set(refresh_tokens::consumed_at.eq(Some(now)))
            .execute(c)?;
            if n != 1 {
                return Ok(false);
            }
            insert_bundle(c, bundle)?;
            Ok(true)
        })
    }

    fn find_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshTokenRecord>> {
        let row = self.with(|c| {
            refresh_tokens::table
                .find(token_hash)
                .select(RefreshTokenRow::as_select())
                .first(c)
                .optional()
        })?;
        Ok(row.map(RefreshTokenRecord::from))
    }

    fn find_grant(&self, id: &str) -> StoreResult<Option<GrantRecord>> {
        let row = self.with(|c| {
            grants::table
                .find(id)
                .select(GrantRow::as_select())
                .first(c)
                .optional()
        })?;
        row.map(GrantRecord::try_from)
            .transpose()
            .map_err(StoreError::Db)
    }

    fn find_access_token(&self, jti_hash: &str) -> StoreResult<Option<AccessTokenRecord>> {
        let row = self.with(|c| {
            access_tokens::table
                .find(jti_hash)
                .select(AccessTokenRow::as_select())
                .first(c)
                .optional()
        })?;
        Ok(row.map(AccessTokenRecord::from))
    }

    fn revoke_grant(&self, id: &str, now: UnixTime) -> StoreResult<()> {
        self.write_tx(|c| revoke_grant_rows(c, id, now))
    }

    fn revoke_access_token(&self, jti_hash: &str, now: UnixTime) -> StoreResult<()> {
        self.with(|c| {
            diesel::update(
                access_tokens::table
                    .find(jti_hash)
                    .filter(access_tokens::revoked_at.is_null()),
            )
            .set(access_tokens::revoked_at.eq(Some(now)))
            .execute(c)
        })
        .map(|_| ())
    }

    fn record_jti(
        &self,
        jti_hash: &str,
        client_id: &str,
        expires_at: UnixTime,
    ) -> StoreResult<bool> {
        let result = self.with(|c| {
            diesel::insert_into(used_jtis::table)
                .values((
                    used_jtis::jti_hash.eq(jti_hash),
                    used_jtis::client_id.eq(client_id),
                    used_jtis::expires_at.eq(expires_at),
                ))
                .execute(c)
        });
        match result {
            Ok(_) => Ok(true),
            Err(StoreError::Duplicate) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
