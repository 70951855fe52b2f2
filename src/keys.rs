//! Signing keys: generation, encryption at rest, rotation with pre-publication, JWKS.
//!
//! A key's state follows from times alone, so every instance computes the same answer:
//! per algorithm, the newest key whose `active_from` has passed is **active** (it signs);
//! keys whose `active_from` is still ahead are **next** (published, not signing); older
//! keys are **retired** (published until every token they signed has expired), then
//! **expired** (no longer published).

use std::sync::{Arc, RwLock};

use anyhow::{anyhow, bail, Context};
use josekit::jwe::{Dir, JweHeader};
use josekit::jwk::alg::ec::EcCurve;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jwk::Jwk;
use josekit::jws::{EdDSA, JwsHeader, JwsSigner, JwsVerifier, ES256, RS256};
use serde::Serialize;

use crate::clock::UnixTime;
use crate::crypto;
use crate::store::AuditEvent;
use crate::store::{KeyRecord, Storage};

/// JWS algorithms the OP signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum SigningAlg {
    RS256,
    ES256,
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }

    pub fn parse(value: &str) -> Result<SigningAlg, String> {
        SigningAlg::ALL
            .into_iter()
            .find(|a| a.as_str() == value)
            .ok_or_else(|| {
                format!("unsupported signing algorithm {value:?} (use RS256, ES256 or EdDSA)")
            })
    }

    fn generate(self) -> anyhow::Result<Jwk> {
        let jwk = match self {
            SigningAlg::RS256 => Jwk::generate_rsa_key(2048),
            SigningAlg::ES256 => Jwk::generate_ec_key(EcCurve::P256),
            SigningAlg::EdDSA => Jwk::generate_ed_key(EdCurve::Ed25519),
        };
        jwk.map_err(|e| anyhow!("Failed to generate a {} key: {e}", self.as_str()))
    }

    pub(crate) fn signer(self, jwk: &Jwk) -> anyhow::Result<Box<dyn JwsSigner>> {
        Ok(match self {
            SigningAlg::RS256 => Box::new(RS256.signer_from_jwk(jwk)?),
            SigningAlg::ES256 => Box::new(ES256.signer_from_jwk(jwk)?),
            SigningAlg::EdDSA => Box::new(EdDSA.signer_from_jwk(jwk)?),
        })
    }

    pub(crate) fn verifier(self, jwk: &Jwk) -> anyhow::Result<Box<dyn JwsVerifier>> {
        Ok(match self {
            SigningAlg::RS256 => Box::new(RS256.verifier_from_jwk(jwk)?),
            SigningAlg::ES256 => Box::new(ES256.verifier_from_jwk(jwk)?),
            SigningAlg::EdDSA => Box::new(EdDSA.verifier_from_jwk(jwk)?),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    Next,
    Active,
    Retired,
    Expired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
            KeyState::Expired => "expired",
        }
    }
}

#[derive(Clone)]
struct LoadedKey {
    kid: String,
    alg: SigningAlg,
    public: Jwk,
    private: Jwk,
    created_at: UnixTime,
    active_from: UnixTime,
}

/// One line of `cardinal keys list`.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: SigningAlg,
    pub state: KeyState,
    pub created_at: UnixTime,
    pub active_from: UnixTime,
    /// When a newer key took over (retired keys only).
    pub retired_at: Option<UnixTime>,
}

struct Cache {
    keys: Vec<LoadedKey>,
    loaded_at: UnixTime,
}

/// Loads, caches and rotates the signing keys kept in the database.
#[derive(Clone)]
pub struct KeyManager {
    store: Arc<dyn Storage>,
    kek: [u8; 32],
    /// How long after retirement a key stays in the JWKS (the longest token lifetime).
    retention_secs: i64,
    cache: Arc<RwLock<Cache>>,
}

/// How often each instance re-reads the keys (seconds): rotations by another instance
/// or the CLI are seen within this time.
const RELOAD_SECS: i64 = 30;

impl std::fmt::Debug for KeyManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyManager { .. }")
    }
}

impl KeyManager {
    pub fn new(store: Arc<dyn Storage>, kek: [u8; 32], retention_secs: i64) -> Self {
        Self {
            store,
            kek,
            retention_secs,
            cache: Arc::new(RwLock::new(Cache {
                keys: Vec::new(),
                loaded_at: i64::MIN,
            })),
        }
    }

    fn encrypt(&self, jwk: &Jwk) -> anyhow::Result<String> {
        let mut header = JweHeader::new();
        header.set_content_encryption("A256GCM");
        let encrypter = Dir.encrypter_from_bytes(self.kek)?;
        josekit::jwe::serialize_compact(jwk.to_string().as_bytes(), &header, &encrypter)
            .map_err(|e| anyhow!("Failed to encrypt a signing key: {e}"))
    }

    fn decrypt(&self, jwe: &str, kid: &str) -> anyhow::Result<Jwk> {
        let decrypter = Dir.decrypter_from_bytes(self.kek)?;
        let (bytes, _) = josekit::jwe::deserialize_compact(jwe, &decrypter).map_err(|_| {
            anyhow!(
                "Cannot decrypt signing key {kid}: keys.secret_key is not the key it was encrypted with \
                 (every instance on one database needs the same keys.secret_key)"
            )
        })?;
        Jwk::from_bytes(bytes).with_context(|| format!("Signing key {kid} is not a JWK"))
    }

    fn load_record(&self, r: &KeyRecord) -> anyhow::Result<LoadedKey> {
        let alg = SigningAlg::parse(&r.alg).map_err(|e| anyhow!("Stored key {}: {e}", r.kid))?;
        let public = Jwk::from_bytes(r.public_jwk.as_bytes())
            .with_context(|| format!("Stored key {} public JWK", r.kid))?;
        let private = self.decrypt(&r.private_jwe, &r.kid)?;
        Ok(LoadedKey {
            kid: r.kid.clone(),
            alg,
            public,
            private,
            created_at: r.created_at,
            active_from: r.active_from,
        })
    }

    /// Re-reads the keys from the database.
    pub fn reload(&self, now: UnixTime) -> anyhow::Result<()> {
        let records = self
            .store
            .list_keys()
            .context("Failed to read signing keys")?;
        let mut keys = records
            .iter()
            .map(|r| self.load_record(r))
            .collect::<anyhow::Result<Vec<_>>>()?;
        keys.sort_by(|a, b| {
            (a.active_from, a.created_at, &a.kid).cmp(&(b.active_from, b.created_at, &b.kid))
        });
        let mut cache = self
            .cache
            .write()
            .map_err(|_| anyhow!("key cache lock poisoned"))?;
        *cache = Cache {
            keys,
            loaded_at: now,
        };
        Ok(())
    }

    fn keys(&self, now: UnixTime) -> anyhow::Result<Vec<LoadedKey>> {
        let stale = {
            let cache = self
                .cache
                .read()
                .map_err(|_| anyhow!("key cache lock poisoned"))?;
            now - cache.loaded_at >= RELOAD_SECS || cache.keys.is_empty()
        };
        if stale {
            self.reload(now)?;
        }
        let cache = self
            .cache
            .read()
            .map_err(|_| anyhow!("key cache lock poisoned"))?;
        Ok(cache.keys.clone())
    }

    /// Creates a key, active at once, for every configured algorithm that has none.
    pub fn ensure_keys(
        &self,
        algorithms: &[SigningAlg],
        now: UnixTime,
    ) -> anyhow::Result<Vec<String>> {
        self.reload(now)?;
        let existing = self.keys(now)?;
        let mut created = Vec::new();
        for alg in algorithms {
            if !existing.iter().any(|k| k.alg == *alg) {
                created.push(self.add_key(*alg, now, now)?);
            }
        }
        if !created.is_empty() {
            self.reload(now)?;
        }
        Ok(created)
    }

    /// Adds a new key for `alg` that starts signing at `active_from`.
    pub fn add_key(
        &self,
        alg: SigningAlg,
        now: UnixTime,
        active_from: UnixTime,
    ) -> anyhow::Result<String> {
        self.add_key_audited(alg, now, active_from, |_| None)
    }

    /// [`Self::add_key`], with the audit event `audit(kid)` written in the same transaction.
    fn add_key_audited(
        &self,
        alg: SigningAlg,
        now: UnixTime,
        active_from: UnixTime,
        audit: impl FnOnce(&str) -> Option<AuditEvent>,
    ) -> anyhow::Result<String> {
        let mut private = alg.generate()?;
        let kid = crypto::random_token(12);
        private.set_key_id(kid.clone());
        private.set_algorithm(alg.as_str());
        private.set_key_use("sig");
        let mut public = private
            .to_public_key()
            .map_err(|e| anyhow!("Failed to derive a public key: {e}"))?;
        public.set_key_id(kid.clone());
        public.set_algorithm(alg.as_str());
        public.set_key_use("sig");
        let record = KeyRecord {
            kid: kid.clone(),
            alg: alg.as_str().into(),
            public_jwk: public.to_string(),
            private_jwe: self.encrypt(&private)?,
            created_at: now,
            active_from,
        };
        let event = audit(&kid);
        self.store
            .insert_key(&record, event.as_ref())
            .context("Failed to store a signing key")?;
        Ok(kid)
    }

    /// Rotation: the new key is published now and signs after `prepublish_secs`.
    pub fn rotate(
        &self,
        alg: SigningAlg,
        now: UnixTime,
        prepublish_secs: i64,
    ) -> anyhow::Result<String> {
        self.rotate_audited(alg, now, prepublish_secs, |_| None)
    }

    /// [`Self::rotate`], with the audit event `audit(kid)` stored with the key, atomically.
    pub fn rotate_audited(
        &self,
        alg: SigningAlg,
        now: UnixTime,
        prepublish_secs: i64,
        audit: impl FnOnce(&str) -> Option<AuditEvent>,
    ) -> anyhow::Result<String> {
        let kid = self.add_key_audited(alg, now, now + prepublish_secs.max(0), audit)?;
        self.reload(now)?;
        Ok(kid)
    }

    fn states(
        &self,
        keys: &[LoadedKey],
        now: UnixTime,
    ) -> Vec<(LoadedKey, KeyState, Option<UnixTime>)> {
        let mut out = Vec::new();
        for alg in SigningAlg::ALL {
            let of_alg: Vec<&LoadedKey> = keys.iter().filter(|k| k.alg == alg).collect();
            for (i, key) in of_alg.iter().enumerate() {
                if key.active_from > now {
                    out.push(((*key).clone(), KeyState::Next, None));
                    continue;
                }
                let successor = of_alg.iter().skip(i + 1).find(|k| k.active_from <= now);
                match successor {
                    None => out.push(((*key).clone(), KeyState::Active, None)),
                    Some(s) => {
                        let retired_at = s.active_from;
                        let state = if retired_at + self.retention_secs < now {
                            KeyState::Expired
                        } else {
                            KeyState::Retired
                        };
                        out.push(((*key).clone(), state, Some(retired_at)));
                    }
                }
            }
        }
        out
    }

    pub fn list(&self, now: UnixTime) -> anyhow::Result<Vec<KeyInfo>> {
        self.reload(now)?;
        let keys = self.keys(now)?;
        Ok(self
            .states(&keys, now)
            .into_iter()
            .map(|(k, state, retired_at)| KeyInfo {
                kid: k.kid,
                alg: k.alg,
                state,
                created_at: k.created_at,
                active_from: k.active_from,
                retired_at,
            })
            .collect())
    }

    /// The public JWKS: next, active and retired keys.
    pub fn jwks(&self, now: UnixTime) -> anyhow::Result<serde_json::Value> {
        let keys = self.keys(now)?;
        let published: Vec<serde_json::Value> = self
            .states(&keys, now)
            .into_iter()
            .filter(|(_, state, _)| *state != KeyState::Expired)
            .map(|(k, _, _)| serde_json::Value::Object(k.public.as_ref().clone()))
            .collect();
        Ok(serde_json::json!({ "keys": published }))
    }

    /// Whether at least one key is active for every algorithm in `algorithms`.
    pub fn ready(&self, algorithms: &[SigningAlg], now: UnixTime) -> bool {
        match self.keys(now) {
            Ok(keys) => {
                let states = self.states(&keys, now);
                algorithms.iter().all(|alg| {
                    states
                        .iter()
                        .any(|(k, s, _)| k.alg == *alg && *s == KeyState::Active)
                })
            }
            Err(_) => false,
        }
    }

    /// Signs `payload` with the active key for `alg`, with the given `typ`.
    pub fn sign(
        &self,
        alg: SigningAlg,
        typ: &str,
        payload: &[u8],
        now: UnixTime,
    ) -> anyhow::Result<String> {
        let keys = self.keys(now)?;
        let active = self
            .states(&keys, now)
            .into_iter()
            .find(|(k, s, _)| k.alg == alg && *s == KeyState::Active)
            .map(|(k, _, _)| k)
            .ok_or_else(|| {
                anyhow!(
                    "No active {} signing key (run `cardinal keys rotate --alg {}`)",
                    alg.as_str(),
                    alg.as_str()
                )
            })?;
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(active.kid.clone());
        let signer = alg.signer(&active.private)?;
        josekit::jws::serialize_compact(payload, &header, signer.as_ref())
            .map_err(|e| anyhow!("Failed to sign: {e}"))
    }

    /// Verifies a JWS made by this OP (any published key). Returns the payload and `typ`.
    /// The algorithm comes from the key, never from the token's header.
    pub fn verify(&self, token: &str, now: UnixTime) -> anyhow::Result<(Vec<u8>, Option<String>)> {
        let header = decode_header(token)?;
        let kid = header
            .get("kid")
            .and_then(|v| v.as_str())
            .ok_or_else(|| anyhow!("token has no kid"))?
            .to_string();
        let mut keys = self.keys(now)?;
        if !keys.iter().any(|k| k.kid == kid) {
            // Perhaps another instance has just rotated.
            self.reload(now)?;
            keys = self.keys(now)?;
        }
        let states = self.states(&keys, now);
        let (key, _, _) = states
            .into_iter()
            .find(|(k, s, _)| k.kid == kid && *s != KeyState::Expired)
            .ok_or_else(|| anyhow!("token was not signed by a published key"))?;
        if header.get("alg").and_then(|v| v.as_str()) != Some(key.alg.as_str()) {
            bail!("token alg does not match its key");
        }
        let verifier = key.alg.verifier(&key.public)?;
        let (payload, header) = josekit::jws::deserialize_compact(token, verifier.as_ref())
            .map_err(|_| anyhow!("token signature is not valid"))?;
        Ok((payload, header.token_type().map(str::to_string)))
    }
}

/// The JOSE header of a compact JWS, without verifying anything.
pub(crate) fn decode_header(
    token: &str,
) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let first = token
        .split('.')
        .next()
        .ok_or_else(|| anyhow!("not a JWT"))?;
    if token.split('.').count() != 3 {
        bail!("not a compact JWS (three parts)");
    }
    let bytes =
        crypto::b64url_decode(first).ok_or_else(|| anyhow!("JWT header is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| anyhow!("JWT header is not a JSON object"))
}
