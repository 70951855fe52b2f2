//! What the hardware allows: JWS signatures per second with josekit (the library Cardinal
//! signs ID and access tokens with, a signer made once) and argon2id password checks per
//! second with Cardinal's own `PasswordHasher` and the default `[password]` settings; each
//! on one thread and on as many threads as the server has workers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use cardinal::configuration::PasswordSettings;
use cardinal::domain::password::Password;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jwk::Jwk;
use josekit::jws::{EdDSA, JwsHeader, JwsSigner, ES256, RS256};

/// Operations per second on one thread and on `threads` threads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rate {
    pub one: f64,
    pub all: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// The server's worker count (actix-web: one per CPU).
    pub threads: usize,
    pub rs256: Rate,
    pub es256: Rate,
    pub eddsa: Rate,
    pub argon2id: Rate,
}

/// Runs `op` in a loop on `threads` threads for `time`; returns operations per second.
fn per_second(
    threads: usize,
    time: Duration,
    op: &(dyn Fn() -> anyhow::Result<()> + Sync),
) -> anyhow::Result<f64> {
    let count = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    while started.elapsed() < time {
                        op()?;
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow!("a measuring thread panicked"))??;
        }
        Ok(())
    })?;
    Ok(count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

fn rate(
    threads: usize,
    time: Duration,
    op: &(dyn Fn() -> anyhow::Result<()> + Sync),
) -> anyhow::Result<Rate> {
    Ok(Rate {
        one: per_second(1, time, op)?,
        all: per_second(threads, time, op)?,
    })
}

/// An access token's worth of claims.
fn payload() -> Vec<u8> {
    serde_json::json!({
        "iss": "http://127.0.0.1:8080",
        "sub": "8c1f2d64-7c3e-4a4e-9d7b-2f0a6f1c9e01",
        "aud": "http://127.0.0.1:8080",
        "exp": 1_900_000_600, "iat": 1_900_000_000,
        "jti": "Qm9vdHN0cmFwLWp0aS0xMjM0NTY3ODkw",
        "client_id": "bench-rp-0123456789abcdef",
        "scope": "openid profile email",
        "auth_time": 1_900_000_000,
        "acr": "urn:cardinal:acr:card",
        "sid": "c2lkLTAxMjM0NTY3ODlhYmNkZWY"
    })
    .to_string()
    .into_bytes()
}

fn signing_rate(
    threads: usize,
    time: Duration,
    signer: &(dyn JwsSigner + Sync),
) -> anyhow::Result<Rate> {
    let payload = payload();
    let mut header = JwsHeader::new();
    header.set_token_type("at+jwt");
    header.set_key_id("bench-key");
    rate(threads, time, &|| {
        josekit::jws::serialize_compact(&payload, &header, signer)
            .map(|_| ())
            .map_err(|e| anyhow!("signing failed: {e}"))
    })
}

/// Measures every limit; `time` per figure and thread count.
pub fn measure(threads: usize, time: Duration) -> anyhow::Result<Limits> {
    let rsa = Jwk::generate_rsa_key(2048).map_err(|e| anyhow!("{e}"))?;
    let ec = Jwk::generate_ec_key(EcCurve::P256).map_err(|e| anyhow!("{e}"))?;
    let ed = Jwk::generate_ed_key(EdCurve::Ed25519).map_err(|e| anyhow!("{e}"))?;
    let rs256 = signing_rate(threads, time, &RS256.signer_from_jwk(&rsa)?)?;
    let es256 = signing_rate(threads, time, &ES256.signer_from_jwk(&ec)?)?;
    let eddsa = signing_rate(threads, time, &EdDSA.signer_from_jwk(&ed)?)?;
    let hasher = cardinal::auth::PasswordHasher::new(&PasswordSettings::default())?;
    let password = Password::new(crate::seed::PASSWORD);
    let stored = hasher.hash(&password)?;
    let argon2id = rate(threads, time * 2, &|| {
        if hasher.verify(&password, Some(&stored)) {
            Ok(())
        } else {
            Err(anyhow!("the password check failed"))
        }
    })?;
    Ok(Limits {
        threads,
        rs256,
        es256,
        eddsa,
        argon2id,
    })
}
