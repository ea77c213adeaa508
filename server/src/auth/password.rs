//! Password hashing with argon2id at OWASP's minimum cost (m = 19 MiB, t = 2, p = 1).
//!
//! Hashing costs tens of milliseconds and 19 MiB, so it runs on tokio's blocking
//! pool, never on a tick, and semaphores bound how many run at once so a flood
//! cannot exhaust memory: one pool for logins, a separate one for registrations. A login for an unknown name verifies against a
//! dummy hash so it takes as long as a wrong password.

use std::sync::LazyLock;

use argon2::password_hash::SaltString;
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;

/// Memory cost (KiB).
pub const MEMORY_KIB: u32 = 19_456;
/// Passes.
pub const ITERATIONS: u32 = 2;
/// Lanes.
pub const PARALLELISM: u32 = 1;

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// argon2 refused (cannot happen with our fixed parameters and salt size).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The blocking task died.
    #[error("password hashing task failed: {0}")]
    Task(String),
}

/// Login verifications running at once; each holds 19 MiB.
static LOGIN_PERMITS: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    Semaphore::new(cores.max(2))
});

/// Registration hashes running at once: a pool of their own, so a flood of
/// registrations queues behind itself and never takes a login's place.
static REGISTER_PERMITS: Semaphore = Semaphore::const_new(1);

/// Verified instead of a real hash when the user does not exist.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("galaxy dummy password for unknown users").unwrap_or_default());

fn argon2() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` into a PHC string (blocking: call from a blocking thread).
pub fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    let salt_bytes = renetcode2::generate_random_bytes::<16>();
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| PasswordError::Hash(e.to_string()))?;
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `hash` (blocking). A malformed hash
/// never matches.
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    argon2().is_ok_and(|argon| argon.verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Computes the dummy hash now, so the first unknown-user login is not slower.
pub async fn warm_up() {
    let _ = tokio::task::spawn_blocking(|| DUMMY_HASH.len()).await;
}

/// Hashes on the blocking pool.
pub async fn hash(password: String) -> Result<String, PasswordError> {
    let _permit = REGISTER_PERMITS
        .acquire()
        .await
        .map_err(|e| PasswordError::Task(e.to_string()))?;
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| PasswordError::Task(e.to_string()))?
}

/// Verifies on the blocking pool; `None` (unknown user) checks the dummy hash and
/// answers false, taking the same time as a wrong password.
pub async fn verify(password: String, hash: Option<String>) -> bool {
    let Ok(_permit) = LOGIN_PERMITS.acquire().await else {
        return false;
    };
    let known = hash.is_some();
    let result = tokio::task::spawn_blocking(move || {
        let hash = hash.as_deref().unwrap_or(DUMMY_HASH.as_str());
        verify_blocking(&password, hash)
    })
    .await;
    known && result.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_argon2id_at_owasp_cost_and_verify() {
        let a = hash_blocking("correct horse").expect("hash");
        let b = hash_blocking("correct horse").expect("hash");
        assert_ne!(a, b, "random salt");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert!(verify_blocking("correct horse", &a));
        assert!(!verify_blocking("correct horsE", &a));
        assert!(!verify_blocking("correct horse", "not a hash"));
    }

    #[tokio::test]
    async fn unknown_users_never_verify_but_pay_the_same_cost() {
        let hash = super::hash("hunter22".into()).await.expect("hash");
        assert!(verify("hunter22".into(), Some(hash.clone())).await);
        assert!(!verify("hunter23".into(), Some(hash)).await);
        // Even the dummy password itself does not log in an unknown user.
        assert!(!verify("galaxy dummy password for unknown users".into(), None).await);
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }
}
