//! Live rooms for the Go live screen: the signed-in account's token, the
//! app's relay, and `onair_chat::rooms` (the same calls `onair room` makes).

use std::path::Path;

use onair_chat::net::{Http, RelayUrl};
use onair_chat::rooms::{NewRoom, RoomInfo, RoomKey};

use crate::error::{AppError, AppResult};

/// The relay this app talks to, and the account's token on it. The
/// credentials may name an older port of the embedded relay: the token is
/// what counts, the address comes from the running app.
fn session(home: &Path, relay_url: &str) -> AppResult<(Http, String)> {
    let creds = onair_chat::account::load(home).map_err(|e| match e {
        onair_chat::ChatError::NotSignedIn => AppError::NotSignedIn,
        e => e.into(),
    })?;
    Ok((Http::new(RelayUrl::parse(relay_url)?), creds.token))
}

/// The directory, with the user's own private rooms when signed in.
pub async fn list(home: &Path, relay_url: &str, all: bool) -> AppResult<Vec<RoomInfo>> {
    let token = onair_chat::account::load(home).ok().map(|c| c.token);
    Ok(onair_chat::rooms::list(&Http::new(RelayUrl::parse(relay_url)?), token.as_deref(), all, None, None).await?)
}

/// A new room; the answer carries its stream key, which the relay shows this once.
pub async fn create(home: &Path, relay_url: &str, new: NewRoom) -> AppResult<RoomKey> {
    if new.title.trim().is_empty() {
        return Err(AppError::Invalid("a room needs a title".into()));
    }
    let (http, token) = session(home, relay_url)?;
    Ok(onair_chat::rooms::create(&http, &token, &NewRoom { title: new.title.trim().to_string(), ..new }).await?)
}

/// A new stream key (the answer is the only place it is shown).
pub async fn rotate(home: &Path, relay_url: &str, room: &str) -> AppResult<RoomKey> {
    let (http, token) = session(home, relay_url)?;
    Ok(onair_chat::rooms::rotate(&http, &token, room).await?)
}

/// The RTMP URL to publish into a room the user owns: it carries a
/// short-lived publish ticket from the relay, never the stream key.
pub async fn ingest_url(home: &Path, relay_url: &str, room: &str) -> AppResult<String> {
    let (http, token) = session(home, relay_url)?;
    Ok(onair_chat::rooms::ingest_url(&http, &token, room).await?)
}
