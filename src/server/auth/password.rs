//! Passwords: what is long and uncommon enough, and argon2id hashing.
//!
//! Hashing is deliberately slow (tens of milliseconds): callers run it on the blocking
//! pool, never on a runtime thread.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::protocol::{MAX_PASSWORD_CHARS as MAX_CHARS, MIN_PASSWORD_CHARS as MIN_CHARS};

/// Passwords that guessing tools try first. Those shorter than [`MIN_CHARS`] are refused
/// anyway; the list is checked case-insensitively and with trailing digits and symbols
/// removed, so "Password2024!" counts as "password".
const COMMON: &str = include_str!("common_passwords.txt");

/// Why `password` will not do for `name`, if it will not.
pub fn check_policy(name: &str, password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(format!("Passwords need at least {MIN_CHARS} characters."));
    }
    if chars > MAX_CHARS {
        return Err(format!("Passwords are at most {MAX_CHARS} characters."));
    }
    let folded = password.to_lowercase();
    let stem = folded.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    let common = COMMON
        .lines()
        .any(|line| line == folded || (!stem.is_empty() && line == stem));
    if common {
        return Err("That password is one of the most common ones; pick another.".into());
    }
    if folded.chars().all(|c| folded.starts_with(c)) {
        return Err("A password of one repeated character is too easy to guess.".into());
    }
    let name = name.trim().to_lowercase();
    if !name.is_empty() && folded.contains(&name) {
        return Err("The password must not contain your name.".into());
    }
    Ok(())
}

/// An argon2id PHC string (OWASP's parameters: 19 MiB, 2 passes, 1 lane).
pub fn hash(password: &str) -> String {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2id with default parameters")
        .to_string()
}

pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the account does not exist, so that a wrong name takes
/// as long as a wrong password and does not reveal which names are registered.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("not anyone's password"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash("correct horse battery");
        let b = hash("correct horse battery");
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse battery!", &a));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn weak_passwords_are_refused() {
        assert!(check_policy("ana", "short").is_err());
        assert!(check_policy("ana", "password123").is_err());
        assert!(check_policy("ana", "Password2024!").is_err(), "common stem");
        assert!(check_policy("ana", "QWERTYUIOP").is_err());
        assert!(check_policy("ana", "aaaaaaaaaaaa").is_err());
        assert!(
            check_policy("anabanana", "my anabanana pw").is_err(),
            "contains the name"
        );
        assert!(check_policy("ana", &"x1".repeat(200)).is_err(), "too long");
        assert!(check_policy("ana", "plum tractor violin").is_ok());
        assert!(check_policy("ana", "Zoë-longer-pässword").is_ok());
    }
}
