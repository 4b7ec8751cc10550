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
    /// The relay refused the request.
    #[error("relay refused ({code:?}): {message}")]
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
