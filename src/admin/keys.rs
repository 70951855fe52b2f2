//! Signing keys: list with their state (next, active, retired, expired) and rotation.

use serde::{Deserialize, Serialize};

use super::{Actor, AdminError, AdminResult};
use crate::audit::AuditKind;
use crate::context::Context;
use crate::keys::SigningAlg;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    pub kid: String,
    /// RS256, ES256 or EdDSA.
    pub alg: String,
    /// `next` (published, not signing yet), `active`, `retired` (published for
    /// verification) or `expired`.
    pub state: String,
    pub created_at: i64,
    /// When the key signs (or signed) from.
    pub active_from: i64,
    pub retired_at: Option<i64>,
}

/// What to rotate: every configured algorithm by default; `now` makes the new keys sign at
/// once (after a key compromise) instead of after `keys.prepublish_secs`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    #[serde(default)]
    pub alg: Vec<String>,
    #[serde(default)]
    pub now: bool,
}

/// A key made by a rotation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RotatedKey {
    pub kid: String,
    pub alg: String,
    /// When it starts signing.
    pub active_from: i64,
}

pub fn list(ctx: &Context) -> AdminResult<Vec<KeyView>> {
    Ok(ctx
        .keys()
        .list(ctx.now())?
        .into_iter()
        .map(|k| KeyView {
            kid: k.kid,
            alg: k.alg.as_str().into(),
            state: k.state.as_str().into(),
            created_at: k.created_at,
            active_from: k.active_from,
            retired_at: k.retired_at,
        })
        .collect())
}

pub fn rotate(ctx: &Context, by: &Actor, request: &RotateRequest) -> AdminResult<Vec<RotatedKey>> {
    let names: Vec<String> = if request.alg.is_empty() {
        ctx.settings().keys.algorithms.clone()
    } else {
        request.alg.clone()
    };
    let mut algs = Vec::new();
    for name in &names {
        let alg = SigningAlg::parse(name)
            .map_err(|e| AdminError::invalid("alg", e).coded("alg_unknown"))?;
        if !ctx.settings().keys.algorithms.iter().any(|a| a == name) {
            return Err(AdminError::invalid(
                "alg",
                format!(
                    "{name} is not among this deployment's keys.algorithms ({})",
                    ctx.settings().keys.algorithms.join(", ")
                ),
            )
            .coded("alg_not_deployed"));
        }
        algs.push(alg);
    }
    let now = ctx.now();
    let delay = if request.now {
        0
    } else {
        ctx.settings().keys.prepublish_secs
    };
    let mut made = Vec::new();
    for alg in algs {
        let kid = ctx.keys().rotate_audited(alg, now, delay, |kid| {
            Some(by.event(
                ctx.now(),
                AuditKind::KeyRotate,
                "success",
                None,
                None,
                Some(format!("alg={} kid={kid}", alg.as_str())),
            ))
        })?;
        made.push(RotatedKey {
            kid,
            alg: alg.as_str().into(),
            active_from: now + delay,
        });
    }
    Ok(made)
}
