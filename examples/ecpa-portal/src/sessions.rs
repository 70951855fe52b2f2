//! Sessions of the portal and sign-ins in progress.
//!
//! This is an example relying party: everything lives in memory in one process and is
//! lost on restart. A production portal would keep sessions in a shared store so that
//! several instances (and a back-channel logout reaching any of them) agree. Sessions
//! are keyed by the SHA-256 of the random cookie value, never the value itself.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use openidconnect::{CsrfToken, Nonce};
use sha2::{Digest, Sha256};

use crate::verify::Identity;

/// How long a sign-in may take at the provider.
pub const PENDING_TTL_SECS: i64 = 10 * 60;
/// Started sign-ins kept at once (see [`SessionStore::add_pending`]).
pub const MAX_PENDING: usize = 10_000;
/// How long a portal session lasts without a new sign-in.
pub const SESSION_TTL_SECS: i64 = 8 * 60 * 60;

/// A random token for cookies and CSRF fields: 32 bytes, base64url.
pub fn random_token() -> String {
    CsrfToken::new_random_len(32).secret().clone()
}

/// SHA-256 of a token, base64url: what the store keeps instead of cookie values.
pub fn fingerprint(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// An authorization request on its way; keyed by `state`, bound to the browser by a
/// short-lived cookie that carries the same `state`.
#[derive(Clone)]
pub struct PendingLogin {
    /// [`fingerprint`] of the browser-binding cookie that started the sign-in.
    pub browser: String,
    pub nonce: Nonce,
    pub pkce_verifier: String,
    /// The acr asked for with `acr_values`, if any.
    pub requested_acr: Option<String>,
    /// Sent with `prompt=login` (step-up): the sign-in must be newer than the request.
    pub prompt_login: bool,
    /// Path to show after the sign-in.
    pub return_to: String,
    pub created_at: i64,
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("requested_acr", &self.requested_acr)
            .field("prompt_login", &self.prompt_login)
            .field("return_to", &self.return_to)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A signed-in browser.
#[derive(Clone)]
pub struct Session {
    pub identity: Identity,
    /// The raw ID token, sent back as `id_token_hint` at logout.
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// The nonce of the sign-in, for ID tokens from a refresh.
    pub nonce: Option<Nonce>,
    /// The CSRF token of this session's forms (登出, 更新).
    pub csrf: String,
    /// The acr the last sign-in asked for but did not get (shown as a note once).
    pub unmet_acr: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("sub", &self.identity.sub)
            .field("sid", &self.identity.sid)
            .field("acr", &self.identity.acr)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    pending: HashMap<String, PendingLogin>,
    sessions: HashMap<String, Session>,
    /// `jti` of logout tokens seen, until their expiry.
    seen_logout_jti: HashMap<String, i64>,
}

#[derive(Default)]
pub struct SessionStore {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionStore { .. }")
    }
}

impl SessionStore {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves plain maps behind; keep going.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn purge(inner: &mut Inner, now: i64) {
        inner
            .pending
            .retain(|_, p| p.created_at + PENDING_TTL_SECS > now);
        inner.sessions.retain(|_, s| s.expires_at > now);
        inner.seen_logout_jti.retain(|_, exp| *exp > now);
    }

    /// Remembers a started sign-in. At most [`MAX_PENDING`] are kept (anyone can start
    /// one): beyond that the oldest is dropped, so a flood costs memory for ten minutes at
    /// most up to that bound.
    pub fn add_pending(&self, state: &str, pending: PendingLogin) {
        let mut inner = self.lock();
        Self::purge(&mut inner, pending.created_at);
        if inner.pending.len() >= MAX_PENDING {
            let oldest = inner
                .pending
                .iter()
                .min_by_key(|(_, p)| p.created_at)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                inner.pending.remove(&k);
            }
        }
        inner.pending.insert(state.to_string(), pending);
    }

    /// Takes (single use) the sign-in started with `state`, if it has not expired.
    pub fn take_pending(&self, state: &str, now: i64) -> Option<PendingLogin> {
        let mut inner = self.lock();
        let p = inner.pending.remove(state)?;
        (p.created_at + PENDING_TTL_SECS > now).then_some(p)
    }

    /// Stores a new session and returns its cookie value. `replaces` (the browser's old
    /// cookie) is removed: a new sign-in gets a new cookie (no session fixation).
    pub fn create(&self, session: Session, replaces: Option<&str>) -> String {
        let token = random_token();
        let mut inner = self.lock();
        Self::purge(&mut inner, session.created_at);
        if let Some(old) = replaces {
            inner.sessions.remove(&fingerprint(old));
        }
        inner.sessions.insert(fingerprint(&token), session);
        token
    }

    pub fn get(&self, token: &str, now: i64) -> Option<Session> {
        let inner = self.lock();
        inner
            .sessions
            .get(&fingerprint(token))
            .filter(|s| s.expires_at > now)
            .cloned()
    }

    /// Replaces the session named by `token` (after a refresh), if it still exists.
    pub fn update(&self, token: &str, f: impl FnOnce(&mut Session)) -> bool {
        let mut inner = self.lock();
        match inner.sessions.get_mut(&fingerprint(token)) {
            Some(s) => {
                f(s);
                true
            }
            None => false,
        }
    }

    pub fn remove(&self, token: &str) -> Option<Session> {
        self.lock().sessions.remove(&fingerprint(token))
    }

    /// Ends every session of the OP session `sid` (and, with no `sid`, every session of
    /// `sub`). With both, a session must match both. Returns how many ended.
    pub fn end_matching(&self, sid: Option<&str>, sub: Option<&str>) -> usize {
        let mut inner = self.lock();
        let before = inner.sessions.len();
        inner.sessions.retain(|_, s| {
            let sid_hit = sid.is_none_or(|sid| s.identity.sid.as_deref() == Some(sid));
            let sub_hit = sub.is_none_or(|sub| s.identity.sub == sub);
            let targeted = (sid.is_some() || sub.is_some()) && sid_hit && sub_hit;
            !targeted
        });
        before - inner.sessions.len()
    }

    /// Records a logout token's `jti`; false when it was seen before (a replay).
    pub fn first_use_of_logout_jti(&self, jti: &str, expires_at: i64, now: i64) -> bool {
        let mut inner = self.lock();
        Self::purge(&mut inner, now);
        if inner.seen_logout_jti.contains_key(jti) {
            return false;
        }
        inner
            .seen_logout_jti
            .insert(jti.to_string(), expires_at.max(now + 60));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(sub: &str, sid: Option<&str>) -> Identity {
        Identity {
            sub: sub.into(),
            sid: sid.map(str::to_string),
            acr: Some("urn:cardinal:acr:card".into()),
            amr: vec!["hwk".into(), "pwd".into()],
            auth_time: Some(1_000),
            name: None,
            email: None,
            phone_number: None,
            issued_at: 1_000,
            expires_at: 1_600,
        }
    }

    fn session(sub: &str, sid: Option<&str>) -> Session {
        Session {
            identity: identity(sub, sid),
            id_token: "x.y.z".into(),
            access_token: "at".into(),
            refresh_token: None,
            nonce: None,
            csrf: random_token(),
            unmet_acr: None,
            created_at: 1_000,
            expires_at: 1_000 + SESSION_TTL_SECS,
        }
    }

    #[test]
    fn backchannel_logout_by_sid_ends_only_that_op_session() {
        let store = SessionStore::default();
        let a = store.create(session("alice", Some("sid-1")), None);
        let b = store.create(session("alice", Some("sid-1")), None);
        let c = store.create(session("alice", Some("sid-2")), None);
        assert_eq!(store.end_matching(Some("sid-1"), Some("alice")), 2);
        assert!(store.get(&a, 1_001).is_none());
        assert!(store.get(&b, 1_001).is_none());
        assert!(store.get(&c, 1_001).is_some());
    }

    #[test]
    fn backchannel_logout_by_sub_alone_ends_all_of_that_user() {
        let store = SessionStore::default();
        let a = store.create(session("alice", Some("sid-1")), None);
        let b = store.create(session("bob", Some("sid-3")), None);
        assert_eq!(store.end_matching(None, Some("alice")), 1);
        assert!(store.get(&a, 1_001).is_none());
        assert!(store.get(&b, 1_001).is_some());
        assert_eq!(store.end_matching(None, None), 0);
    }

    #[test]
    fn pending_sign_in_is_single_use_and_expires() {
        let store = SessionStore::default();
        let pending = PendingLogin {
            browser: fingerprint("b"),
            nonce: Nonce::new("n".into()),
            pkce_verifier: "v".into(),
            requested_acr: None,
            prompt_login: false,
            return_to: "/apps".into(),
            created_at: 1_000,
        };
        store.add_pending("s1", pending.clone());
        assert!(store.take_pending("s1", 1_001).is_some());
        assert!(store.take_pending("s1", 1_001).is_none());
        store.add_pending("s2", pending);
        assert!(store.take_pending("s2", 1_000 + PENDING_TTL_SECS).is_none());
    }

    #[test]
    fn a_flood_of_started_sign_ins_is_bounded_and_drops_the_oldest() {
        let store = SessionStore::default();
        let pending = |at: i64| PendingLogin {
            browser: fingerprint("b"),
            nonce: Nonce::new("n".into()),
            pkce_verifier: "v".into(),
            requested_acr: None,
            prompt_login: false,
            return_to: "/apps".into(),
            created_at: at,
        };
        for i in 0..MAX_PENDING as i64 + 5 {
            // s0 is the one oldest; the rest started a second later.
            store.add_pending(&format!("s{i}"), pending(if i == 0 { 999 } else { 1_000 }));
        }
        assert_eq!(store.lock().pending.len(), MAX_PENDING);
        assert!(store.take_pending("s0", 1_100).is_none(), "the oldest went");
        let last = format!("s{}", MAX_PENDING + 4);
        assert!(store.take_pending(&last, 1_100).is_some());
    }

    #[test]
    fn a_logout_token_id_is_accepted_once() {
        let store = SessionStore::default();
        assert!(store.first_use_of_logout_jti("j1", 1_120, 1_000));
        assert!(!store.first_use_of_logout_jti("j1", 1_120, 1_001));
    }
}
