//! End-user authentication primitives: password hashing (argon2id, off the executor).

pub mod password;

pub use password::PasswordHasher;
