//! Passwords (argon2id), bearer tokens and the log-in rate limiter.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the OS random source failed: {0}")]
    Random(String),
}

/// 16 random bytes as hex, from the OS.
pub fn random_hex(bytes: usize) -> Result<String, AuthError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(hex(&buf))
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An argon2id PHC string with a random salt and the crate's default cost.
pub fn hash_password(pw: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AuthError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Hash(e.to_string()))?;
    Argon2::default().hash_password(pw.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| AuthError::Hash(e.to_string()))
}

pub fn verify_password(phc: &str, pw: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default().verify_password(pw.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// A new bearer token and the hash under which it is stored.
pub fn new_token() -> Result<(String, [u8; 32]), AuthError> {
    let t = random_hex(32)?;
    let h = token_hash(&t);
    Ok((t, h))
}

pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Fixed-window limiter keyed by user name and by peer address, so neither
/// guessing one account from many places nor many accounts from one place
/// goes fast.
#[derive(Default)]
pub struct LoginLimiter {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl LoginLimiter {
    /// Records an attempt; false when `key` is over `per_minute` this minute.
    pub fn allow(&self, key: &str, now_ms: i64, per_minute: u32) -> bool {
        let Ok(mut w) = self.windows.lock() else { return false };
        if w.len() > 100_000 {
            // Bounded memory under a flood of distinct keys.
            w.retain(|_, (start, _)| now_ms - *start < 60_000);
        }
        let e = w.entry(key.to_string()).or_insert((now_ms, 0));
        if now_ms - e.0 >= 60_000 {
            *e = (now_ms, 0);
        }
        e.1 += 1;
        e.1 <= per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "wrong"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn limiter_windows() {
        let l = LoginLimiter::default();
        assert!((0..3).all(|_| l.allow("u", 0, 3)));
        assert!(!l.allow("u", 1000, 3));
        assert!(l.allow("u", 61_000, 3));
    }
}
