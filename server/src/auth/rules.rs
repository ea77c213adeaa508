//! What a username and a password must look like (spec §6).

/// Shortest username.
pub const MIN_USERNAME: usize = 3;
/// Longest username.
pub const MAX_USERNAME: usize = 32;
/// Shortest password (characters).
pub const MIN_PASSWORD: usize = 8;
/// Longest password (characters).
pub const MAX_PASSWORD: usize = 128;

/// Checks a username: 3–32 of `[A-Za-z0-9_-]`.
pub fn validate_username(name: &str) -> Result<(), String> {
    if !(MIN_USERNAME..=MAX_USERNAME).contains(&name.len()) {
        return Err(format!(
            "username must be {MIN_USERNAME}–{MAX_USERNAME} characters"
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err("username may contain only letters, digits, `_` and `-`".into());
    }
    Ok(())
}

/// Checks a password: 8–128 characters (not bytes: any script counts the same).
pub fn validate_password(password: &str) -> Result<(), String> {
    // Counting stops just past the limit, so a huge input costs no more than a long one.
    let chars = password.chars().take(MAX_PASSWORD + 1).count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&chars) {
        return Err(format!(
            "password must be {MIN_PASSWORD}–{MAX_PASSWORD} characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_spec() {
        for good in ["abc", "Player_1", "a-b-c", &"x".repeat(32)] {
            assert!(validate_username(good).is_ok(), "{good} is valid");
        }
        for bad in [
            "",
            "ab",
            &"x".repeat(33),
            "with space",
            "é-acute",
            "semi;colon",
            "dot.name",
        ] {
            assert!(validate_username(bad).is_err(), "{bad} is invalid");
        }
    }

    #[test]
    fn passwords_count_characters() {
        assert!(validate_password("12345678").is_ok());
        assert!(validate_password("1234567").is_err());
        assert!(validate_password(&"p".repeat(128)).is_ok());
        assert!(validate_password(&"p".repeat(129)).is_err());
        // Eight two-byte characters are eight characters, not sixteen.
        assert!(validate_password("éééééééé").is_ok());
        assert!(validate_password("ééééééé").is_err());
        assert!(
            validate_password(&"é".repeat(100)).is_ok(),
            "200 bytes but 100 characters"
        );
    }
}
