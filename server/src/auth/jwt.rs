//! Session tokens: HS256 JWTs with `sub`, `name`, `role`, `iat`, `exp`, `iss`, `aud`.
//!
//! Validation pins the algorithm, issuer and audience and requires every claim, so
//! `alg: none`, another algorithm, a token for another service, an expired one or a
//! forged signature are all refused.

use galaxy_shared::protocol::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::AuthConfig;

/// Clock skew tolerated on `exp` (s).
const LEEWAY_S: u64 = 5;

/// The claims of a session token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Player id, as a string (RFC 7519 wants a string).
    pub sub: String,
    /// Player name.
    pub name: String,
    /// `player` or `admin`, at issue time.
    pub role: String,
    /// Issued at (unix s).
    pub iat: u64,
    /// Expires at (unix s).
    pub exp: u64,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
}

/// What a valid token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Player id.
    pub player: u64,
    /// Player name.
    pub name: String,
    /// Role at issue time (the admin API re-checks the database).
    pub role: Role,
    /// Expiry (unix s).
    pub expires_at: u64,
}

/// Why a token was refused (deliberately not more specific to the caller).
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// Bad signature, algorithm, claims or expiry.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// Signing failed.
    #[error("cannot sign token: {0}")]
    Sign(String),
}

/// Signs and checks session tokens.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    lifetime_s: u64,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Keys from the secret and the `[auth]` settings.
    pub fn new(secret: &[u8], auth: &AuthConfig) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[&auth.issuer]);
        validation.set_audience(&[&auth.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.leeway = LEEWAY_S;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: auth.issuer.clone(),
            audience: auth.audience.clone(),
            lifetime_s: auth.session_lifetime_s,
        }
    }

    /// A token for this player, issued at `now` (unix s); returns it and its expiry.
    pub fn issue(
        &self,
        player: u64,
        name: &str,
        role: Role,
        now: u64,
    ) -> Result<(String, u64), JwtError> {
        let exp = now.saturating_add(self.lifetime_s);
        let claims = Claims {
            sub: player.to_string(),
            name: name.to_owned(),
            role: role.as_str().to_owned(),
            iat: now,
            exp,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map(|token| (token, exp))
            .map_err(|e| JwtError::Sign(e.to_string()))
    }

    /// Checks a token and returns who it names.
    pub fn verify(&self, token: &str) -> Result<Session, JwtError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| JwtError::Invalid(e.to_string()))?;
        let claims = data.claims;
        let player = claims
            .sub
            .parse::<u64>()
            .ok()
            .filter(|&id| id > 0)
            .ok_or_else(|| JwtError::Invalid("sub is not a player id".into()))?;
        let role = Role::from_name(&claims.role)
            .ok_or_else(|| JwtError::Invalid("unknown role".into()))?;
        Ok(Session {
            player,
            name: claims.name,
            role,
            expires_at: claims.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef0123";

    fn auth() -> AuthConfig {
        let config = crate::config::Config::defaults().expect("compiled-in defaults");
        assert_eq!(config.auth.session_lifetime_s, 3600);
        config.auth
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs()
    }

    fn claims(now: u64) -> serde_json::Value {
        json!({"sub": "7", "name": "ann", "role": "admin", "iat": now, "exp": now + 600,
               "iss": "galaxy", "aud": "galaxy-players"})
    }

    /// A token with any header and claims, signed by `key` with HS256 (or unsigned).
    fn craft(header: serde_json::Value, claims: &serde_json::Value, key: Option<&[u8]>) -> String {
        let head = URL_SAFE_NO_PAD.encode(header.to_string());
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let Some(key) = key else {
            return format!("{head}.{body}.");
        };
        let message = format!("{head}.{body}");
        let sig = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(key),
            Algorithm::HS256,
        )
        .expect("sign");
        format!("{message}.{sig}")
    }

    #[test]
    fn issued_tokens_verify() {
        let keys = JwtKeys::new(SECRET, &auth());
        let t = now();
        let (token, exp) = keys.issue(42, "ann", Role::Admin, t).expect("issue");
        assert_eq!(exp, t + 3600);
        let session = keys.verify(&token).expect("valid");
        assert_eq!(
            session,
            Session {
                player: 42,
                name: "ann".into(),
                role: Role::Admin,
                expires_at: exp
            }
        );
        // The crafting helper itself produces tokens the server accepts.
        let good = craft(
            json!({"alg": "HS256", "typ": "JWT"}),
            &claims(t),
            Some(SECRET),
        );
        assert_eq!(keys.verify(&good).expect("crafted valid token").player, 7);
    }

    #[test]
    fn forged_unsigned_foreign_and_stale_tokens_are_refused() {
        let keys = JwtKeys::new(SECRET, &auth());
        let t = now();
        let hs256 = json!({"alg": "HS256", "typ": "JWT"});
        let mut wrong_aud = claims(t);
        wrong_aud["aud"] = json!("someone-else");
        let mut wrong_iss = claims(t);
        wrong_iss["iss"] = json!("evil");
        let mut expired = claims(t);
        expired["iat"] = json!(t - 7200);
        expired["exp"] = json!(t - 3600);
        let mut string_exp = claims(t);
        string_exp["exp"] = json!((t + 600).to_string());
        let mut no_exp = claims(t);
        no_exp.as_object_mut().expect("object").remove("exp");
        let mut bad_sub = claims(t);
        bad_sub["sub"] = json!("root");
        let cases = [
            (
                "forged signature",
                craft(
                    hs256.clone(),
                    &claims(t),
                    Some(b"another secret that is long enough!!"),
                ),
            ),
            (
                "alg none",
                craft(json!({"alg": "none", "typ": "JWT"}), &claims(t), None),
            ),
            (
                "alg none signed",
                craft(
                    json!({"alg": "none", "typ": "JWT"}),
                    &claims(t),
                    Some(SECRET),
                ),
            ),
            ("HS512 with our key", {
                let header = Header::new(Algorithm::HS512);
                jsonwebtoken::encode(&header, &claims(t), &EncodingKey::from_secret(SECRET))
                    .expect("sign")
            }),
            (
                "wrong audience",
                craft(hs256.clone(), &wrong_aud, Some(SECRET)),
            ),
            (
                "wrong issuer",
                craft(hs256.clone(), &wrong_iss, Some(SECRET)),
            ),
            ("expired", craft(hs256.clone(), &expired, Some(SECRET))),
            (
                "string exp",
                craft(hs256.clone(), &string_exp, Some(SECRET)),
            ),
            ("no exp", craft(hs256.clone(), &no_exp, Some(SECRET))),
            (
                "non-numeric sub",
                craft(hs256.clone(), &bad_sub, Some(SECRET)),
            ),
            ("garbage", "not.a.token".to_owned()),
            ("empty", String::new()),
        ];
        for (what, token) in cases {
            assert!(
                keys.verify(&token).is_err(),
                "{what} token was accepted: {token}"
            );
        }
    }
}
