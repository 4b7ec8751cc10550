//! Passwords (argon2id), bearer tokens and the log-in rate limiter.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

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

/// Most keys the log-in limiter holds at once (each well under 200 bytes):
/// its memory stays bounded whatever names and addresses arrive.
pub const LIMITER_CAP: usize = 65_536;
const WINDOW_MS: i64 = 60_000;
/// The slow-down for an account under attack from many addresses: it starts
/// at this once its failures this minute reach the per-minute limit,
/// doubles with each further failure, and stops growing at the maximum.
const SLOW_START_MS: u64 = 250;
const SLOW_MAX_MS: u64 = 4_000;

/// Why a log-in attempt is not even tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// Not a name registration would accept: nothing about it is stored.
    BadName,
    /// This address (or this address for this account, or this device
    /// token) is over its limit this minute.
    Limited,
}

/// Fixed-window counters for log-ins and registrations.
///
/// Log-ins are limited per address and per address and account; an account
/// guessed at from many addresses is only slowed down (a growing delay),
/// never refused, so strangers cannot lock its owner out. A device that
/// proves it holds a live token of the account skips the account's limits
/// (it has its own, per token). Keys are made only from checked user names,
/// addresses and token hashes, and at most `cap` of them are held: when
/// full, the oldest windows go first (O(1) amortised).
pub struct LoginLimiter {
    inner: Mutex<Windows>,
    cap: usize,
}

#[derive(Default)]
struct Windows {
    /// Key -> (window start, attempts in it).
    map: HashMap<Arc<str>, (i64, u32)>,
    /// Keys in the order their windows started; a record whose start no
    /// longer matches the map is stale and skipped.
    order: VecDeque<(Arc<str>, i64)>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::with_cap(LIMITER_CAP)
    }
}

/// An address as a key part. One IPv6 host commonly holds a whole /64, so
/// IPv6 addresses count per /64; anything that is not an address is cut short.
pub(crate) fn addr_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(|v4| v4.to_string()).unwrap_or_default(),
        Ok(v4) => v4.to_string(),
        Err(_) => ip.chars().take(64).collect(),
    }
}

impl LoginLimiter {
    pub fn with_cap(cap: usize) -> Self {
        LoginLimiter { inner: Mutex::new(Windows::default()), cap: cap.max(1) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Windows> {
        // Every update leaves the maps consistent, so a poisoned lock is safe to reuse.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keys held now (for tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// May a log-in for `user` from `ip` be tried now? `Ok(delay_ms)` says how
    /// long to wait before checking the password. `device` is the hash of a
    /// token the caller showed and the relay found live for this very user.
    pub fn check_login(&self, now_ms: i64, ip: &str, user: &str, device: Option<&[u8; 32]>, per_minute: u32) -> Result<u64, LoginRefusal> {
        if !onair_proto::valid_username(user) {
            return Err(LoginRefusal::BadName);
        }
        let mut w = self.lock();
        if let Some(h) = device {
            let key = format!("t|{}", hex(&h[..12]));
            return if w.hit(&key, now_ms, per_minute, self.cap) { Ok(0) } else { Err(LoginRefusal::Limited) };
        }
        let ip = addr_key(ip);
        if !w.hit(&format!("a|{ip}"), now_ms, per_minute.saturating_mul(10), self.cap)
            || !w.hit(&format!("u|{ip}|{user}"), now_ms, per_minute, self.cap)
        {
            return Err(LoginRefusal::Limited);
        }
        let failures = w.count(&format!("f|{user}"), now_ms);
        Ok(slow_down_ms(failures, per_minute))
    }

    /// Counts a wrong password for `user` (from any address): what slows
    /// down guessing at one account from many places.
    pub fn login_failed(&self, now_ms: i64, user: &str) {
        if onair_proto::valid_username(user) {
            self.lock().hit(&format!("f|{user}"), now_ms, u32::MAX, self.cap);
        }
    }

    /// Registrations (and other per-address work): true while `ip` is within
    /// `per_minute` this minute.
    pub fn allow_address(&self, now_ms: i64, ip: &str, per_minute: u32) -> bool {
        let key = format!("r|{}", addr_key(ip));
        self.lock().hit(&key, now_ms, per_minute, self.cap)
    }

    /// Password checks by a signed-in user (change password, delete
    /// account): true while `user` is within `per_minute`.
    pub fn allow_account_op(&self, now_ms: i64, user: &str, per_minute: u32) -> bool {
        onair_proto::valid_username(user) && self.lock().hit(&format!("p|{user}"), now_ms, per_minute, self.cap)
    }
}

/// The delay for an account that has failed `failures` times this minute.
pub(crate) fn slow_down_ms(failures: u32, per_minute: u32) -> u64 {
    if failures < per_minute.max(1) {
        return 0;
    }
    let doublings = (failures - per_minute.max(1)).min(16);
    (SLOW_START_MS << doublings).min(SLOW_MAX_MS)
}

impl Windows {
    /// Attempts in `key`'s current window, without counting one.
    fn count(&self, key: &str, now_ms: i64) -> u32 {
        match self.map.get(key) {
            Some(&(start, n)) if now_ms - start < WINDOW_MS => n,
            _ => 0,
        }
    }

    /// Counts an attempt; false when `key` is over `limit` this window.
    fn hit(&mut self, key: &str, now_ms: i64, limit: u32, cap: usize) -> bool {
        self.evict(now_ms, cap);
        if let Some(e) = self.map.get_mut(key) {
            if now_ms - e.0 < WINDOW_MS {
                e.1 = e.1.saturating_add(1);
                return e.1 <= limit;
            }
            // A new window: it is now the youngest, so it moves to the back.
            let (k, _) = self.map.remove_entry(key).expect("the key was just found");
            self.insert(k, now_ms);
            return limit >= 1;
        }
        self.insert(Arc::from(key), now_ms);
        limit >= 1
    }

    fn insert(&mut self, key: Arc<str>, now_ms: i64) {
        self.order.push_back((key.clone(), now_ms));
        self.map.insert(key, (now_ms, 1));
    }

    /// Drops expired windows, then the oldest ones while full, so there is
    /// room for one more key.
    fn evict(&mut self, now_ms: i64, cap: usize) {
        while let Some((k, start)) = self.order.front() {
            let expired = now_ms - *start >= WINDOW_MS;
            let full = self.map.len() >= cap || self.order.len() > 2 * cap;
            if !expired && !full {
                break;
            }
            let (k, start) = (k.clone(), *start);
            self.order.pop_front();
            if self.map.get(&*k).is_some_and(|e| e.0 == start) {
                self.map.remove(&*k);
            }
        }
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
        assert!((0..3).all(|_| l.allow_address(0, "10.0.0.1", 3)));
        assert!(!l.allow_address(1000, "10.0.0.1", 3));
        assert!(l.allow_address(1000, "10.0.0.2", 3));
        assert!(l.allow_address(61_000, "10.0.0.1", 3));
    }

    #[test]
    fn guessing_from_elsewhere_never_locks_the_owner_out() {
        let l = LoginLimiter::default();
        // A stranger guesses alice's password from one address: that address is stopped.
        let mut refused = 0;
        for i in 0..30 {
            match l.check_login(i, "203.0.113.9", "alice", None, 10) {
                Ok(_) => l.login_failed(i, "alice"),
                Err(e) => {
                    assert_eq!(e, LoginRefusal::Limited);
                    refused += 1;
                }
            }
        }
        assert_eq!(refused, 20);
        // Many addresses: each within its own limit, the account only slows down.
        for ip in 0..50 {
            let ip = format!("198.51.100.{ip}");
            for _ in 0..5 {
                if l.check_login(100, &ip, "alice", None, 10).is_ok() {
                    l.login_failed(100, "alice");
                }
            }
        }
        // Alice from home: allowed, after a bounded delay.
        let d = l.check_login(200, "192.0.2.1", "alice", None, 10).unwrap();
        assert!(d > 0 && d <= SLOW_MAX_MS, "{d}");
        // Alice's device with its token: no account limit, no delay.
        let token = token_hash("device");
        assert_eq!(l.check_login(200, "203.0.113.9", "alice", Some(&token), 10), Ok(0));
        // The slow-down ends with the window.
        assert_eq!(l.check_login(70_000, "192.0.2.1", "alice", None, 10), Ok(0));
        assert_eq!(slow_down_ms(9, 10), 0);
        assert_eq!(slow_down_ms(10, 10), SLOW_START_MS);
        assert_eq!(slow_down_ms(u32::MAX, 10), SLOW_MAX_MS);
    }

    #[test]
    fn limiter_memory_is_bounded() {
        let cap = 1000;
        let l = LoginLimiter::with_cap(cap);
        // Long junk names are refused before anything is stored.
        let junk = "x".repeat(64 * 1024);
        for i in 0..100_000 {
            let name = format!("{junk}{i}");
            assert_eq!(l.check_login(i, "203.0.113.9", &name, None, 10), Err(LoginRefusal::BadName));
            l.login_failed(i, &name);
            assert!(!l.allow_account_op(i, &name, 10));
        }
        assert!(l.is_empty(), "no junk name is kept");
        // Distinct valid names and addresses: never more than the cap.
        for i in 0..100_000i64 {
            let name = format!("u{i}");
            let _ = l.check_login(i / 10, &format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255), &name, None, 10);
            l.login_failed(i / 10, &name);
            assert!(l.len() <= cap);
        }
        assert!(l.len() <= cap);
        assert!(l.lock().order.len() <= 2 * cap + 1);
        // Addresses longer than any real one are cut.
        let _ = l.allow_address(0, &"9".repeat(10_000), 1);
        assert!(l.lock().map.keys().all(|k| k.len() < 200));
    }

    #[test]
    fn ipv6_addresses_count_per_64() {
        let l = LoginLimiter::default();
        assert!(l.allow_address(0, "2001:db8:1:2::1", 2));
        assert!(l.allow_address(0, "2001:db8:1:2:ffff::9", 2));
        assert!(!l.allow_address(0, "2001:db8:1:2:abcd::7", 2), "the same /64");
        assert!(l.allow_address(0, "2001:db8:1:3::1", 2), "another /64");
        assert_eq!(addr_key("::ffff:192.0.2.7"), "192.0.2.7");
    }
}
