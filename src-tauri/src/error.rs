//! The one error type every command returns. It reaches the UI as
//! `{ "code": "...", "message": "..." }` (see `ui/src/api.ts`), so the UI can
//! branch on `code` and show `message` to the user; never a bare string.

use serde::ser::SerializeStruct;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request itself is wrong (bad URL, empty title, out-of-range value).
    #[error("{0}")]
    Invalid(String),
    /// Something the request names does not exist (recording id, room).
    #[error("{0} not found")]
    NotFound(String),
    /// The request needs a state the app is not in (stop while idle, …).
    #[error("{0}")]
    State(String),
    /// The media engine refused or failed (device, encoder, file, RTMP).
    #[error(transparent)]
    Media(#[from] onair_media::MediaError),
    /// The relay client failed (network, refusal, cache).
    #[error(transparent)]
    Chat(#[from] onair_chat::ChatError),
    #[error(transparent)]
    Net(#[from] onair_chat::NetError),
    /// The local chat cache (SQLite) failed.
    #[error("chat cache: {0}")]
    Cache(#[from] onair_chat::CacheError),
    /// This action needs a signed-in account on the relay.
    #[error("sign in to the relay first (Settings → Account)")]
    NotSignedIn,
    /// The OS keychain failed in a way the file fallback could not cover.
    #[error("keychain: {0}")]
    Keychain(String),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    /// A bug or an unexpected condition; the message says which.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// Stable, machine-readable code (the UI switches on it).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid(_) => "invalid",
            AppError::NotFound(_) => "not_found",
            AppError::State(_) => "state",
            AppError::Media(_) => "media",
            AppError::Chat(onair_chat::ChatError::NotSignedIn) | AppError::NotSignedIn => "not_signed_in",
            AppError::Chat(_) => "chat",
            AppError::Net(_) => "network",
            AppError::Cache(_) => "cache",
            AppError::Keychain(_) => "keychain",
            AppError::Io { .. } => "io",
            AppError::Internal(_) => "internal",
        }
    }

    /// The relay's refusal code (`bad_credentials`, `taken`, …) when the
    /// relay refused: the UI maps it to a sentence in the user's language.
    pub fn relay_code(&self) -> Option<String> {
        let net = match self {
            AppError::Net(n) | AppError::Chat(onair_chat::ChatError::Net(n)) => n,
            _ => return None,
        };
        match net {
            onair_chat::NetError::Refused { code, .. } => serde_json::to_value(code).ok()?.as_str().map(str::to_string),
            _ => None,
        }
    }

    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        AppError::Io { what: what.into(), source }
    }
}

impl serde::Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let relay = self.relay_code();
        let mut st = s.serialize_struct("AppError", 2 + usize::from(relay.is_some()))?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("message", &self.to_string())?;
        if let Some(r) = relay {
            st.serialize_field("relay_code", &r)?;
        }
        st.end()
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_code_and_message() {
        let v = serde_json::to_value(AppError::NotFound("recording 7".into())).unwrap();
        assert_eq!(v, serde_json::json!({"code": "not_found", "message": "recording 7 not found"}));
    }

    #[test]
    fn a_refusal_carries_the_relays_code_for_the_ui_to_word() {
        let e = AppError::Net(onair_chat::NetError::Refused { code: onair_proto::ErrorCode::BadCredentials, message: "wrong user name or password".into() });
        let v = serde_json::to_value(e).unwrap();
        assert_eq!(v["relay_code"], "bad_credentials");
        assert_eq!(v["code"], "network");
    }
}
