//! Errors of the relay's logic and their mapping to wire error codes.

use onair_proto::ErrorCode;

/// Storage failures. The text goes to the relay's log, never to a peer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration {name}: {source}")]
    Migration { name: &'static str, source: rusqlite::Error },
    #[error("user name {0:?} is taken")]
    Taken(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("no conversation {0:?} to append to")]
    NoConversation(String),
    #[error("storage lock poisoned by an earlier panic")]
    Poisoned,
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("postgres migration {name}: {source}")]
    PgMigration { name: &'static str, source: postgres::Error },
    /// The `--store` URL is not one we can use (the text never holds its password).
    #[error("{0}")]
    BadUrl(String),
    /// The database server did not answer (the URL shown without its password).
    #[error("cannot reach the store at {url}: {reason}; check that PostgreSQL is running there and the URL is right")]
    Unreachable { url: String, reason: String },
    /// Store work on the blocking pool ended without an answer (it panicked).
    #[error("store task failed: {0}")]
    Task(String),
}

/// A refused or failed request, as the peer will see it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{1}")]
    Refused(ErrorCode, String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

impl ApiError {
    pub fn new(code: ErrorCode, msg: impl Into<String>) -> Self {
        ApiError::Refused(code, msg.into())
    }

    /// The code and message for the peer; storage details stay in the log.
    pub fn to_wire(&self) -> (ErrorCode, String) {
        match self {
            ApiError::Refused(c, m) => (*c, m.clone()),
            ApiError::Store(StoreError::Taken(n)) => (ErrorCode::Taken, format!("user name {n:?} is taken")),
            ApiError::Store(e) => {
                tracing::error!(error = %e, "storage failure");
                (ErrorCode::Internal, "internal error".into())
            }
        }
    }
}
