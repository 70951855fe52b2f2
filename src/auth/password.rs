//! argon2id for registration passwords (never for client secrets: see `crypto::KeyRing`).
//!
//! At most one argon2 computation per core runs at a time (a [`Gate`]): a burst of sign-ins
//! queues here instead of taking every core from the token endpoint, and what must be
//! decided just before a check (a failure budget) is decided while holding the turn, so
//! parallel checks cannot all pass a budget read before any of them is counted.

use std::sync::{Arc, Condvar, Mutex};

use anyhow::anyhow;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::configuration::PasswordSettings;
use crate::domain::password::Password;

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A real hash of a random password, verified against when the account is unknown,
    /// so that the time taken does not tell whether it exists.
    dummy: String,
    gate: Arc<Gate>,
}

/// A counting semaphore for blocking threads (argon2 runs on the blocking pool).
#[derive(Debug)]
struct Gate {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Gate {
    fn new(turns: usize) -> Gate {
        Gate {
            free: Mutex::new(turns.max(1)),
            freed: Condvar::new(),
        }
    }

    fn enter(&self) -> Turn<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        Turn { gate: self }
    }
}

/// A turn at the password hasher: argon2 work done through it does not queue again.
pub struct Turn<'a> {
    gate: &'a Gate,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut free = self.gate.free.lock().unwrap_or_else(|e| e.into_inner());
        *free += 1;
        self.gate.freed.notify_one();
    }
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    pub fn new(settings: &PasswordSettings) -> anyhow::Result<PasswordHasher> {
        let params = Params::new(
            settings.argon2_memory_kib,
            settings.argon2_iterations,
            settings.argon2_parallelism,
            None,
        )
        .map_err(|e| anyhow!("invalid argon2 parameters: {e}"))?;
        let turns = std::thread::available_parallelism().map_or(1, usize::from);
        let mut hasher = PasswordHasher {
            params,
            dummy: String::new(),
            gate: Arc::new(Gate::new(turns)),
        };
        hasher.dummy = hasher.hash(&Password::new(&crate::crypto::random_token(16)))?;
        Ok(hasher)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Waits for a turn (blocking: call off the async executor). Use [`Self::verify_in`]
    /// while holding it.
    pub fn turn(&self) -> Turn<'_> {
        self.gate.enter()
    }

    /// A PHC string (`$argon2id$v=19$m=…`). CPU-heavy: call off the async executor.
    pub fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let _turn = self.turn();
        let salt = SaltString::generate(&mut OsRng);
        self.argon2()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow!("password hashing failed: {e}"))
    }

    /// Whether `password` matches `stored`; with no stored hash it still does the work and
    /// answers false. CPU-heavy: call off the async executor.
    pub fn verify(&self, password: &Password, stored: Option<&str>) -> bool {
        let turn = self.turn();
        self.verify_in(&turn, password, stored)
    }

    /// [`Self::verify`] within a turn already taken.
    pub fn verify_in(&self, _turn: &Turn<'_>, password: &Password, stored: Option<&str>) -> bool {
        let (phc, known) = match stored {
            Some(s) => (s, true),
            None => (self.dummy.as_str(), false),
        };
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        // The parameters stored with the hash are used, so old hashes keep working after a
        // change of settings.
        let ok = Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok();
        ok && known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(&PasswordSettings {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn hashes_verify_and_differ_by_salt() {
        let h = hasher();
        let pw = Password::new("Tq7~vLm9");
        let a = h.hash(&pw).unwrap();
        let b = h.hash(&pw).unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(h.verify(&pw, Some(&a)));
        assert!(!h.verify(&Password::new("Tq7~vLm8"), Some(&a)));
        assert!(!h.verify(&pw, None), "unknown accounts never verify");
    }

    #[test]
    fn the_gate_lets_at_most_its_turns_in_at_once() {
        let gate = Arc::new(Gate::new(2));
        let inside = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (gate, inside, most) = (gate.clone(), inside.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let _turn = gate.enter();
                        let now = inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let most = most.load(std::sync::atomic::Ordering::SeqCst);
        assert!((1..=2).contains(&most), "{most} inside at once");
        assert_eq!(*gate.free.lock().unwrap(), 2, "every turn given back");
    }
}
