//! Bodies of the account endpoints (`/v1/register`, `/v1/login`,
//! `/v1/account/*`). They carry passwords and tokens, so none of them
//! derives `Debug`: nothing prints them by accident.

use serde::{Deserialize, Serialize};

/// `POST /v1/register` and `POST /v1/login`.
#[derive(Clone, Serialize, Deserialize)]
pub struct SignInBody {
    pub user: String,
    pub password: String,
    /// Log-in only: a token this device got from an earlier log-in. While
    /// it is live and belongs to `user`, the relay knows the device is the
    /// owner's and never slows or refuses it because others guessed at the
    /// account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
}

/// What register and log-in answer.
#[derive(Clone, Serialize, Deserialize)]
pub struct SignInAnswer {
    pub user: String,
    pub token: String,
    pub expires_at: i64,
}

/// `POST /v1/account/password` (bearer): the caller's token stays valid,
/// every other token of the account is revoked.
#[derive(Clone, Serialize, Deserialize)]
pub struct ChangePasswordBody {
    pub old_password: String,
    pub new_password: String,
}

/// `POST /v1/account/delete` (bearer).
#[derive(Clone, Serialize, Deserialize)]
pub struct DeleteAccountBody {
    pub password: String,
}

/// Passwords the relay accepts, in bytes.
pub const PASSWORD_BYTES: std::ops::RangeInclusive<usize> = 8..=1024;
