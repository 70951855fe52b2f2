//! argon2id for registration passwords (never for client secrets: see `crypto::KeyRing`).

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
        let mut hasher = PasswordHasher {
            params,
            dummy: String::new(),
        };
        hasher.dummy = hasher.hash(&Password::new(&crate::crypto::random_token(16)))?;
        Ok(hasher)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// A PHC string (`$argon2id$v=19$m=…`). CPU-heavy: call off the async executor.
    pub fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon2()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow!("password hashing failed: {e}"))
    }

    /// Whether `password` matches `stored`; with no stored hash it still does the work and
    /// answers false. CPU-heavy: call off the async executor.
    pub fn verify(&self, password: &Password, stored: Option<&str>) -> bool {
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
}
