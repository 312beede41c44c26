//! Passwords: what is long enough and hard enough to guess, and argon2id hashing.
//!
//! Hashing is deliberately slow (tens of milliseconds): callers run it on the blocking
//! pool, never on a runtime thread.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::protocol::{MAX_PASSWORD_CHARS as MAX_CHARS, MIN_PASSWORD_CHARS as MIN_CHARS};

/// zxcvbn's score a password needs (of 0–4): 3 is "safely unguessable" — about 10^10
/// guesses, beyond an offline attack on a fast hash; ours is argon2id, far slower still.
const MIN_SCORE: zxcvbn::Score = zxcvbn::Score::Three;

/// Why `password` will not do for `name`, if it will not. Guessability is zxcvbn's
/// estimate (the well-kept crate): its lists of leaked passwords (30,000 of the most
/// common), English words, names and keyboard patterns, with the person's own name
/// counted as known to the guesser.
pub fn check_policy(name: &str, password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(format!("Passwords need at least {MIN_CHARS} characters."));
    }
    if chars > MAX_CHARS {
        return Err(format!("Passwords are at most {MAX_CHARS} characters."));
    }
    let name = name.trim().to_lowercase();
    if !name.is_empty() && password.to_lowercase().contains(&name) {
        return Err("The password must not contain your name.".into());
    }
    let estimate = zxcvbn::zxcvbn(password, &[name.as_str()]);
    if estimate.score() >= MIN_SCORE {
        return Ok(());
    }
    // zxcvbn's own words for why, when it has them; a few uncommon words always do.
    let why = estimate
        .feedback()
        .and_then(|f| f.warning())
        .map(|w| format!(" ({})", w.to_string().trim_end_matches('.').to_lowercase()))
        .unwrap_or_default();
    Err(format!(
        "That password is too easy to guess{why}. Three or four uncommon words make a good one."
    ))
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
        assert!(
            check_policy("ana", "qwertyuiop12").is_err(),
            "a keyboard row"
        );
        assert!(check_policy("ana", "iloveyou2024").is_err(), "leaked ones");
        assert!(check_policy("ana", "plum tractor violin").is_ok());
        assert!(check_policy("ana", "Zoë-longer-pässword").is_ok());
        let why = check_policy("ana", "password123").unwrap_err();
        assert!(
            why.starts_with("That password is too easy to guess"),
            "{why}"
        );
    }
}
