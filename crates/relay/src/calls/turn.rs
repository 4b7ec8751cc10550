//! ICE servers for `ice_servers`: STUN URLs as configured, and TURN with
//! time-limited credentials in coturn's REST-API shared-secret scheme
//! (`use-auth-secret` + `static-auth-secret`): the username is
//! `EXPIRY:USER` (EXPIRY in Unix seconds) and the password is
//! base64(HMAC-SHA1(secret, username)). coturn recomputes the HMAC, so the
//! relay and coturn share only the secret, never per-user passwords.

use crate::config::CallConfig;
use base64::Engine;
use hmac::{Hmac, Mac};
use onair_proto::IceServer;

/// The coturn REST-API password for `username`.
pub fn turn_password(secret: &str, username: &str) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The servers for `user` at `now_ms`, and when the TURN credential expires.
pub fn ice_servers(cfg: &CallConfig, user: &str, now_ms: i64) -> (Vec<IceServer>, Option<i64>) {
    let mut out = Vec::new();
    if !cfg.stun_urls.is_empty() {
        out.push(IceServer { urls: cfg.stun_urls.clone(), username: None, credential: None });
    }
    let mut expires_at = None;
    if let (Some(secret), false) = (&cfg.turn_secret, cfg.turn_urls.is_empty()) {
        let expiry = now_ms / 1000 + cfg.turn_ttl_secs as i64;
        let username = format!("{expiry}:{user}");
        let credential = turn_password(&secret.0, &username);
        out.push(IceServer { urls: cfg.turn_urls.clone(), username: Some(username), credential: Some(credential) });
        expires_at = Some(expiry * 1000);
    }
    (out, expires_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn password_matches_an_independent_hmac() {
        // Computed independently with:
        //   printf '%s' '1700000000:alice' | openssl dgst -sha1 -hmac 'north-wind' -binary | base64
        assert_eq!(turn_password("north-wind", "1700000000:alice"), "Oko4dt8u/EbTRjRUJWQDFm/zTCc=");
        // RFC 2202 test case 2 (HMAC-SHA1, key "Jefe"): hex effcdf6ae5eb2fa2d27416d5f184df9c259a7c79.
        assert_eq!(turn_password("Jefe", "what do ya want for nothing?"), "7/zfauXrL6LSdBbV8YTfnCWafHk=");
    }

    #[test]
    fn servers_by_config() {
        let mut cfg = CallConfig::default();
        assert_eq!(ice_servers(&cfg, "alice", 5_000), (vec![], None));
        cfg.stun_urls = vec!["stun:127.0.0.1:3478".into()];
        cfg.turn_urls = vec!["turn:127.0.0.1:3478?transport=udp".into()];
        let (s, exp) = ice_servers(&cfg, "alice", 5_000);
        assert_eq!(s.len(), 1, "TURN URLs without a secret are not handed out");
        assert_eq!(exp, None);
        cfg.turn_secret = Some(Secret("north-wind".into()));
        cfg.turn_ttl_secs = 60;
        let (s, exp) = ice_servers(&cfg, "alice", 1_699_999_940_123);
        assert_eq!(exp, Some(1_700_000_000_000));
        assert_eq!(s[1].username.as_deref(), Some("1700000000:alice"));
        assert_eq!(s[1].credential.as_deref(), Some("Oko4dt8u/EbTRjRUJWQDFm/zTCc="));
        assert!(!format!("{cfg:?}").contains("north-wind"), "the secret never shows in Debug");
    }
}
