//! The chat client's errors.

use onair_proto::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("chat cache {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("chat cache migration {name}: {source}")]
    Migration { name: &'static str, source: rusqlite::Error },
    #[error("chat cache: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("chat cache holds a corrupt row: {0}")]
    Corrupt(String),
}

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("relay URL {0:?} is not https://host[:port] (or http://127.0.0.1:port for a relay on this machine)")]
    BadUrl(String),
    #[error("relay URL {0:?} is plain http:// to another machine: passwords and messages would cross the network unencrypted; use https://, or pass --insecure-http (ONAIR_INSECURE_HTTP=1) if you really mean it")]
    InsecureUrl(String),
    /// The relay's certificate or TLS handshake failed; nothing was sent.
    #[error("cannot trust the relay {host}: {reason}")]
    Tls { host: String, reason: String },
    #[error("setting up TLS: {0}")]
    TlsSetup(String),
    #[error("cannot reach the relay at {addr}: {source}")]
    Connect { addr: String, source: std::io::Error },
    #[error("relay connection: {0}")]
    WebSocket(String),
    #[error("HTTP to the relay: {0}")]
    Http(String),
    #[error("the relay closed the connection")]
    Closed,
    #[error("timed out waiting for the relay")]
    Timeout,
    #[error("the relay sent something we cannot read: {0}")]
    Protocol(String),
    /// The relay refused the request: its sentence, and what to do where
    /// the code says more than the sentence (never the code's own name).
    #[error("{}", refusal_text(code, message))]
    Refused { code: ErrorCode, message: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("not signed in: run `onair account login` first")]
    NotSignedIn,
    #[error("credentials file {path}: {source}")]
    Credentials { path: String, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Secrets(#[from] onair_secrets::SecretsError),
    #[error("the relay token is missing from the keychain and the secrets file: run `onair account login` again")]
    TokenMissing,
}

/// The relay's sentence, with what to do where the code tells us more.
fn refusal_text(code: &ErrorCode, message: &str) -> String {
    let hint = match code {
        ErrorCode::Unauthorized => Some("sign in again (onair account login, or Chat in the app)"),
        ErrorCode::RateLimited => Some("wait a minute, then try again"),
        ErrorCode::Internal => Some("the relay had a problem of its own; try again later"),
        ErrorCode::UnsupportedVersion => Some("this OnAir and the relay speak different versions; update OnAir"),
        _ => None,
    };
    let message = message.trim();
    let message = if message.is_empty() { "the relay refused" } else { message };
    match hint {
        Some(h) if !message.contains(h) => format!("{message}: {h}"),
        _ => message.to_string(),
    }
}

impl NetError {
    /// True when retrying later may succeed (network, not a refusal).
    pub fn is_transient(&self) -> bool {
        match self {
            NetError::Refused { code, .. } => matches!(code, ErrorCode::RateLimited | ErrorCode::Internal),
            NetError::BadUrl(_) | NetError::InsecureUrl(_) | NetError::Tls { .. } | NetError::TlsSetup(_) => false,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_as_sentences_without_codes() {
        let e = NetError::Refused { code: ErrorCode::Invalid, message: "passwords are 8-1024 bytes".into() };
        assert_eq!(e.to_string(), "passwords are 8-1024 bytes");
        let e = NetError::Refused { code: ErrorCode::Unauthorized, message: "token expired".into() };
        assert!(e.to_string().starts_with("token expired: sign in again"), "{e}");
        let e = NetError::Refused { code: ErrorCode::RateLimited, message: String::new() };
        assert_eq!(e.to_string(), "the relay refused: wait a minute, then try again");
    }
}
