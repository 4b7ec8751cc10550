//! The signed-in account: relay URL, user and bearer token.
//!
//! `credentials.json` under `ONAIR_HOME` names the relay and the user; the
//! token itself goes to the OS keychain where one answers, else to a file
//! only the user can read (see `onair_secrets`). Older credential files
//! that still hold the token are read as they are.

use crate::error::{ChatError, NetError};
use crate::net::{Http, RelayUrl};
use crate::net::Method;
use serde::{Deserialize, Serialize};
use onair_secrets::{Secrets, Stored};
use std::path::{Path, PathBuf};

/// The name the token is filed under in the data folder's secrets.
const TOKEN: &str = "relay-token";

#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub relay: String,
    pub user: String,
    /// Never written to `credentials.json`; it lives in the keychain or
    /// the secrets file.
    #[serde(default, skip_serializing)]
    pub token: String,
    pub expires_at: i64,
}

impl std::fmt::Debug for Credentials {
    // Never print the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("relay", &self.relay).field("user", &self.user).finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    user: String,
    token: String,
    expires_at: i64,
}

pub fn credentials_path(home: &Path) -> PathBuf {
    home.join("credentials.json")
}

/// Registers (`register = true`) or logs in, and returns the session.
pub async fn sign_in(relay: &str, user: &str, password: &str, register: bool) -> Result<Credentials, ChatError> {
    let url = RelayUrl::parse(relay)?;
    let http = Http::new(url.clone());
    let path = if register { "/v1/register" } else { "/v1/login" };
    let body = serde_json::json!({ "user": user, "password": password });
    let t: TokenResponse = http.json(Method::POST, path, None, &body).await?;
    Ok(Credentials { relay: url.http(), user: t.user, token: t.token, expires_at: t.expires_at })
}

/// Saves the session and says where the token went.
pub fn save(home: &Path, c: &Credentials) -> Result<Stored, ChatError> {
    let stored = Secrets::new(home).set(TOKEN, &c.token)?;
    let path = credentials_path(home);
    let json = serde_json::to_vec_pretty(c).expect("Credentials always serialise");
    onair_secrets::write_private(&path, &json)
        .map_err(|source| ChatError::Credentials { path: path.display().to_string(), source })?;
    Ok(stored)
}

pub fn load(home: &Path) -> Result<Credentials, ChatError> {
    let path = credentials_path(home);
    match std::fs::read(&path) {
        Ok(b) => {
            let mut c: Credentials =
                serde_json::from_slice(&b).map_err(|e| ChatError::Invalid(format!("{}: {e}", path.display())))?;
            if c.token.is_empty() {
                c.token = Secrets::new(home).get(TOKEN)?.ok_or(ChatError::TokenMissing)?;
            }
            Ok(c)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ChatError::NotSignedIn),
        Err(source) => Err(ChatError::Credentials { path: path.display().to_string(), source }),
    }
}

/// Forgets the session: the credentials file and the stored token.
pub fn forget(home: &Path) -> Result<(), ChatError> {
    Secrets::new(home).delete(TOKEN)?;
    match std::fs::remove_file(credentials_path(home)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(ChatError::Credentials { path: credentials_path(home).display().to_string(), source: e })
        }
        _ => Ok(()),
    }
}

/// Revokes the token on the relay (best effort is the caller's choice).
pub async fn logout(c: &Credentials) -> Result<(), NetError> {
    let http = Http::new(RelayUrl::parse(&c.relay)?);
    let (status, bytes) = http.call(Method::POST, "/v1/logout", Some(&c.token), "application/json", Vec::new()).await?;
    if status.is_success() {
        Ok(())
    } else {
        crate::net::http_decode::<serde_json::Value>(status, &bytes).map(|_| ())
    }
}
