//! Secrets: the JWT signing key and the netcode private key.
//!
//! The JWT secret comes from `GALAXY_JWT_SECRET` and must be at least 32 bytes; with
//! none configured a random one is generated (tokens then die with the process) and
//! a warning says so. The netcode key is random per process: connect tokens are
//! short-lived and a restart asks clients to log in again anyway.

use renetcode2::generate_random_bytes;

/// Shortest JWT secret accepted (bytes): HS256 wants at least its output size.
pub const MIN_JWT_SECRET: usize = 32;

/// Why the secrets are unusable.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// The configured secret is too short.
    #[error("GALAXY_JWT_SECRET is {0} bytes; at least {MIN_JWT_SECRET} are required")]
    JwtTooShort(usize),
}

/// The server's keys.
#[derive(Clone)]
pub struct Secrets {
    /// HS256 key for session tokens.
    pub jwt: Vec<u8>,
    /// Netcode key that seals connect tokens.
    pub netcode: [u8; 32],
    /// Whether the JWT key was generated (development mode).
    pub generated_jwt: bool,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("generated_jwt", &self.generated_jwt)
            .finish_non_exhaustive()
    }
}

impl Secrets {
    /// From the configured JWT secret (`None`: generate one).
    pub fn new(jwt_secret: Option<&str>) -> Result<Self, SecretsError> {
        let (jwt, generated_jwt) = match jwt_secret {
            Some(secret) if secret.len() < MIN_JWT_SECRET => {
                return Err(SecretsError::JwtTooShort(secret.len()));
            }
            Some(secret) => (secret.as_bytes().to_vec(), false),
            None => (generate_random_bytes::<32>().to_vec(), true),
        };
        Ok(Self {
            jwt,
            netcode: generate_random_bytes::<32>(),
            generated_jwt,
        })
    }

    /// From the `GALAXY_JWT_SECRET` environment variable.
    pub fn from_env() -> Result<Self, SecretsError> {
        Self::new(std::env::var("GALAXY_JWT_SECRET").ok().as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_refused_and_missing_ones_generated() {
        assert!(matches!(
            Secrets::new(Some("short")),
            Err(SecretsError::JwtTooShort(5))
        ));
        let configured = Secrets::new(Some(&"k".repeat(32))).expect("32 bytes is enough");
        assert!(!configured.generated_jwt);
        let a = Secrets::new(None).expect("generated");
        let b = Secrets::new(None).expect("generated");
        assert!(a.generated_jwt);
        assert_ne!(a.jwt, b.jwt, "generated secrets are random");
        assert_ne!(a.netcode, b.netcode);
    }
}
