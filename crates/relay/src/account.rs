//! Account operations for a signed-in user (bearer token): change the
//! password, sign out everywhere, delete the account. Each revokes tokens
//! in the store first, then closes the sockets open with them
//! (`signout.rs`), so nothing revoked goes on sending or syncing.

use crate::auth;
use crate::error::ApiError;
use crate::http::{bearer, err, parse, HttpError};
use crate::metrics::Metrics;
use crate::signout::SignedOut;
use crate::state::{now_ms, AppState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use onair_proto::{ChangePasswordBody, DeleteAccountBody, ErrorCode, Event, PASSWORD_BYTES};
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/account/password", post(change_password))
        .route("/v1/account/signout-all", post(sign_out_everywhere))
        .route("/v1/account/delete", post(delete_account))
}

/// Checks `user`'s password off the async workers, within the per-account
/// limit on password checks (a stolen token must not become a way to
/// guess the password).
async fn check_password(state: &AppState, user: &str, password: String) -> Result<(), HttpError> {
    if !state.logins.allow_account_op(now_ms(), user, state.limits.login_attempts_per_minute) {
        Metrics::inc(&state.metrics.logins_rate_limited);
        return Err(err(ErrorCode::RateLimited, "too many password attempts; wait a minute"));
    }
    let name = user.to_string();
    let row = state.store_call(move |s| s.user(&name)).await.map_err(ApiError::from)?.ok_or_else(|| err(ErrorCode::Unauthorized, "invalid or expired token"))?;
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&row.pw_hash, &password)).await.unwrap_or(false);
    if !ok {
        Metrics::inc(&state.metrics.logins_failed);
        return Err(err(ErrorCode::BadCredentials, "wrong password"));
    }
    Ok(())
}

/// New password: every other token of the account is revoked and its
/// sockets closed; the caller's token and sockets stay.
async fn change_password(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<impl IntoResponse, HttpError> {
    Metrics::inc(&state.metrics.http_requests);
    let (user, mine) = bearer(&state, &headers).await?;
    let b: ChangePasswordBody = parse(&body)?;
    if !PASSWORD_BYTES.contains(&b.new_password.len()) {
        return Err(err(ErrorCode::Invalid, "passwords are 8-1024 bytes"));
    }
    check_password(&state, &user, b.old_password).await?;
    let pw = b.new_password;
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&pw))
        .await
        .map_err(|e| err(ErrorCode::Internal, format!("hashing task: {e}")))?
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let name = user.clone();
    let changed = state.store_call(move |s| Ok(s.set_password(&name, &hash)? && { s.revoke_user_tokens(&name, Some(&mine))?; true })).await.map_err(ApiError::from)?;
    if !changed {
        return Err(err(ErrorCode::Unauthorized, "invalid or expired token"));
    }
    state.sockets.close_user(&user, Some(&mine), SignedOut::PasswordChanged);
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every token of the account, the caller's too, and closes every socket.
async fn sign_out_everywhere(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<impl IntoResponse, HttpError> {
    Metrics::inc(&state.metrics.http_requests);
    let (user, _) = bearer(&state, &headers).await?;
    let name = user.clone();
    state.store_call(move |s| s.revoke_user_tokens(&name, None)).await.map_err(ApiError::from)?;
    state.sockets.close_user(&user, None, SignedOut::Everywhere);
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes the account: tokens, friendships, memberships, and every message
/// it sent (recalled: others see them gone) with their attachments.
async fn delete_account(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<impl IntoResponse, HttpError> {
    Metrics::inc(&state.metrics.http_requests);
    let (user, _) = bearer(&state, &headers).await?;
    let b: DeleteAccountBody = parse(&body)?;
    check_password(&state, &user, b.password).await?;
    let (name, now) = (user.clone(), now_ms());
    let gone = state
        .store_call(move |s| s.delete_account(&name, now))
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| err(ErrorCode::Unauthorized, "invalid or expired token"))?;
    state.sockets.close_user(&user, None, SignedOut::AccountDeleted);
    if let Some(dir) = &state.files {
        for id in &gone.attachments {
            match tokio::fs::remove_file(dir.join(id)).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => tracing::warn!(error = %e, "could not remove a deleted account's attachment"),
                _ => {}
            }
        }
    }
    let mut left = std::collections::HashMap::new();
    for (conv, rest) in gone.left {
        crate::ws::publish(&state, &rest, Event::ConvChanged { conv: conv.clone() });
        left.insert(conv, rest);
    }
    for (conv, entry) in gone.tombstones {
        // Conversations it had already left are told too.
        if !left.contains_key(&conv) {
            let c = conv.clone();
            let members = state.store_call(move |s| s.members(&c)).await.unwrap_or_default();
            left.insert(conv.clone(), members);
        }
        let to = left.get(&conv).cloned().unwrap_or_default();
        crate::ws::publish(&state, &to, Event::Message { conv, entry });
    }
    for f in gone.friends {
        crate::ws::publish(&state, &[f], Event::Friend { user: user.clone(), state: None });
    }
    tracing::info!(user = %user, "account deleted");
    Ok(StatusCode::NO_CONTENT)
}
