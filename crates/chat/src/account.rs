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
    sign_in_device(relay, user, password, register, None).await
}

/// As [`sign_in`]; a log-in also shows `device_token`, a token this device
/// got from an earlier log-in (see [`device_token`]), so the relay knows the
/// owner's device and never slows or refuses it because strangers guessed
/// at the account.
pub async fn sign_in_device(relay: &str, user: &str, password: &str, register: bool, device_token: Option<&str>) -> Result<Credentials, ChatError> {
    let url = RelayUrl::parse(relay)?;
    let http = Http::new(url.clone());
    let path = if register { "/v1/register" } else { "/v1/login" };
    let body = onair_proto::SignInBody {
        // Names are lower case on the relay: "Alice" is alice, not a refusal.
        user: fold_user(user),
        password: password.into(),
        device_token: device_token.filter(|_| !register).map(str::to_string),
    };
    let t: TokenResponse = http.json(Method::POST, path, None, &body).await?;
    Ok(Credentials { relay: url.http(), user: t.user, token: t.token, expires_at: t.expires_at })
}

/// A user name as the relay keeps it: trimmed, lower case.
pub fn fold_user(user: &str) -> String {
    user.trim().to_lowercase()
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

/// The token this device holds for `user` on `relay`, if any: what a new
/// log-in shows as its device token.
pub fn device_token(home: &Path, relay: &str, user: &str) -> Option<String> {
    let c = load(home).ok()?;
    let same_relay = RelayUrl::parse(relay).ok().is_some_and(|u| u.http() == c.relay);
    (same_relay && c.user == fold_user(user) && !c.token.is_empty()).then_some(c.token)
}

/// A bearer-authenticated account call with no answer body (204).
async fn account_call(c: &Credentials, path: &str, body: &impl Serialize) -> Result<(), NetError> {
    let http = Http::new(RelayUrl::parse(&c.relay)?);
    let body = serde_json::to_vec(body).map_err(|e| NetError::Protocol(e.to_string()))?;
    let (status, bytes) = http.call(Method::POST, path, Some(&c.token), "application/json", body).await?;
    if status.is_success() {
        Ok(())
    } else {
        crate::net::http_decode::<serde_json::Value>(status, &bytes).map(|_| ())
    }
}

/// Sets a new password (the old one is needed). This device's token stays
/// valid; every other device of the account is signed out.
pub async fn change_password(c: &Credentials, old_password: &str, new_password: &str) -> Result<(), NetError> {
    let body = onair_proto::ChangePasswordBody { old_password: old_password.into(), new_password: new_password.into() };
    account_call(c, "/v1/account/password", &body).await
}

/// Signs out every device of the account, this one too: all its tokens are
/// revoked and its open connections closed.
pub async fn sign_out_everywhere(c: &Credentials) -> Result<(), NetError> {
    account_call(c, "/v1/account/signout-all", &serde_json::json!({})).await
}

/// Deletes the account on the relay (the password is needed): its
/// messages' text and attachments are removed for everyone, its
/// friendships and memberships end, and every device is signed out. The
/// name is never given to anyone else.
pub async fn delete_account(c: &Credentials, password: &str) -> Result<(), NetError> {
    account_call(c, "/v1/account/delete", &onair_proto::DeleteAccountBody { password: password.into() }).await
}
