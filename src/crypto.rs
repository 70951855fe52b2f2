//! Random values, hashes and keyed hashes used for codes, tokens and secrets.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretSlice};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `bytes` random bytes from the operating system's CSPRNG, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// 256-bit random tokens: codes, refresh tokens, session ids, client secrets.
pub fn new_secret_token() -> String {
    random_token(32)
}

/// SHA-256 of a high-entropy token, base64url: what the database stores instead of the token.
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

pub fn b64url_decode(data: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(data).ok()
}

/// Constant-time comparison of two strings.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Subkeys derived from the one configured secret key, one per purpose.
#[derive(Clone)]
pub struct KeyRing {
    root: SecretSlice<u8>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyRing([redacted])")
    }
}

/// What a derived key is for; each gets an independent key.
#[derive(Debug, Clone, Copy)]
pub enum KeyPurpose {
    KeyEncryption,
    ClientSecret,
    Pairwise,
    Csrf,
    /// Encryption of personal data and queued mail at rest (AES-256-GCM).
    DataEncryption,
    /// Keyed hash that finds a person by national ID without storing it in the clear.
    NationalIdIndex,
    /// Keyed hash that names a per-card rate-limit bucket without the card number in clear.
    RateLimitKey,
}

impl KeyPurpose {
    fn label(self) -> &'static [u8] {
        match self {
            KeyPurpose::KeyEncryption => b"cardinal/v1/key-encryption",
            KeyPurpose::ClientSecret => b"cardinal/v1/client-secret",
            KeyPurpose::Pairwise => b"cardinal/v1/pairwise-subject",
            KeyPurpose::Csrf => b"cardinal/v1/csrf",
            KeyPurpose::DataEncryption => b"cardinal/v1/data-encryption",
            KeyPurpose::NationalIdIndex => b"cardinal/v1/national-id-index",
            KeyPurpose::RateLimitKey => b"cardinal/v1/rate-limit-key",
        }
    }
}

impl KeyRing {
    pub fn new(root: Vec<u8>) -> Self {
        Self { root: root.into() }
    }

    fn mac(&self, key: &[u8]) -> Hmac<Sha256> {
        // HMAC accepts keys of any length; this cannot fail.
        match <Hmac<Sha256> as Mac>::new_from_slice(key) {
            Ok(m) => m,
            Err(_) => unreachable_hmac(),
        }
    }

    /// A 32-byte key for `purpose`.
    pub fn derive(&self, purpose: KeyPurpose) -> [u8; 32] {
        let mut mac = self.mac(self.root.expose_secret());
        mac.update(purpose.label());
        mac.finalize().into_bytes().into()
    }

    /// Keyed hash (HMAC-SHA-256) of `data` under the subkey for `purpose`, base64url.
    pub fn keyed_hash(&self, purpose: KeyPurpose, data: &[u8]) -> String {
        let key = self.derive(purpose);
        let mut mac = self.mac(&key);
        mac.update(data);
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

impl KeyRing {
    /// Encrypts `plaintext` (AES-256-GCM, random 96-bit nonce); base64url(nonce ‖ ciphertext).
    /// `context` is authenticated too: a value sealed for one column cannot be moved to another.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> anyhow::Result<String> {
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        let key = self.derive(KeyPurpose::DataEncryption);
        let cipher = aes_gcm::Aes256Gcm::new_from_slice(&key)
            .map_err(|_| anyhow::anyhow!("bad key length"))?;
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                aes_gcm::Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// Reverses [`KeyRing::seal`]; fails for another key, context or a tampered value.
    pub fn open(&self, context: &str, sealed: &str) -> anyhow::Result<Vec<u8>> {
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        let bytes = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| anyhow::anyhow!("sealed value is not base64url"))?;
        if bytes.len() < 12 {
            anyhow::bail!("sealed value is too short");
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let key = self.derive(KeyPurpose::DataEncryption);
        let cipher = aes_gcm::Aes256Gcm::new_from_slice(&key)
            .map_err(|_| anyhow::anyhow!("bad key length"))?;
        cipher
            .decrypt(
                aes_gcm::Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| {
                anyhow::anyhow!("cannot decrypt: wrong keys.secret_key, or the value was changed")
            })
    }
}

#[cold]
fn unreachable_hmac() -> Hmac<Sha256> {
    // Hmac::new_from_slice only fails for fixed-size MACs; SHA-256 HMAC takes any key.
    <Hmac<Sha256> as Mac>::new_from_slice(&[0u8; 32]).unwrap_or_else(|_| std::process::abort())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_tokens_carry_256_bits_and_differ() {
        let a = new_secret_token();
        let b = new_secret_token();
        assert_eq!(b64url_decode(&a).unwrap().len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_root() {
        let ring = KeyRing::new(vec![7; 32]);
        let other = KeyRing::new(vec![8; 32]);
        assert_ne!(
            ring.derive(KeyPurpose::ClientSecret),
            ring.derive(KeyPurpose::Pairwise)
        );
        assert_ne!(
            ring.keyed_hash(KeyPurpose::ClientSecret, b"x"),
            other.keyed_hash(KeyPurpose::ClientSecret, b"x")
        );
        assert_eq!(
            ring.keyed_hash(KeyPurpose::ClientSecret, b"x"),
            ring.keyed_hash(KeyPurpose::ClientSecret, b"x")
        );
    }

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let ring = KeyRing::new(vec![7; 32]);
        let sealed = ring.seal("persons.national_id", b"A123456789").unwrap();
        assert!(!sealed.contains("A123456789"));
        assert_eq!(
            ring.open("persons.national_id", &sealed).unwrap(),
            b"A123456789"
        );
        assert!(ring.open("mail_outbox.body", &sealed).is_err());
        assert!(KeyRing::new(vec![8; 32])
            .open("persons.national_id", &sealed)
            .is_err());
        assert_ne!(
            sealed,
            ring.seal("persons.national_id", b"A123456789").unwrap(),
            "random nonce"
        );
    }

    #[test]
    fn ct_eq_compares_whole_strings() {
        assert!(ct_eq("abc", "abc"));
        assert!(!ct_eq("abc", "abd"));
        assert!(!ct_eq("abc", "abcd"));
    }
}
