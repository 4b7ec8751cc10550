//! What every handler shares.

use crate::auth::LoginLimiter;
use crate::config::{CallConfig, Config, Limits};
use crate::error::StoreError;
use crate::hub::Hub;
use crate::logic::Ctx;
use crate::metrics::Metrics;
use crate::store::{SqliteStore, Store};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub limits: Limits,
    pub hub: Hub,
    pub metrics: Metrics,
    pub logins: LoginLimiter,
    /// Signed-in sockets by token, closed when their token is revoked.
    pub sockets: crate::signout::Sockets,
    /// Live-room chat (in memory).
    pub rooms: crate::live::chat::RoomChats,
    /// Where attachment bytes live; None keeps them in no file (tests).
    pub files: Option<PathBuf>,
    /// Flips to true when the relay is shutting down; sockets close.
    pub shutdown: watch::Sender<bool>,
    /// Every socket task holds a clone; shutdown waits until all are gone.
    pub tasks: mpsc::Sender<()>,
    /// 1:1 call signaling (issue 5).
    pub calls: crate::calls::Calls,
    /// The group-commit writer for chat messages (started by `serve`).
    pub appends: crate::commit::Committer,
    next_conn: AtomicU64,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, limits: Limits, files: Option<PathBuf>) -> Arc<Self> {
        Self::with_calls(store, limits, files, CallConfig::default())
    }

    pub fn with_calls(store: Arc<dyn Store>, limits: Limits, files: Option<PathBuf>, calls: CallConfig) -> Arc<Self> {
        let rules = crate::live::chat::ChatRules {
            per_sec: limits.room_comments_per_sec,
            burst: limits.room_comment_burst,
            max_chars: limits.room_comment_max_chars,
            kick_secs: limits.room_kick_secs,
        };
        let (tasks, _) = mpsc::channel(1);
        Arc::new(AppState {
            store,
            limits,
            hub: Hub::default(),
            metrics: Metrics::default(),
            logins: LoginLimiter::default(),
            sockets: crate::signout::Sockets::default(),
            rooms: crate::live::chat::RoomChats::new(rules),
            files,
            shutdown: watch::channel(false).0,
            tasks,
            calls: crate::calls::Calls::new(calls),
            appends: crate::commit::Committer::default(),
            next_conn: AtomicU64::new(1),
        })
    }

    /// Opens the SQLite store in `config.data` (created if missing).
    pub fn open(config: &Config) -> Result<Arc<Self>, StoreError> {
        std::fs::create_dir_all(config.data.join("attachments"))
            .map_err(|e| StoreError::Corrupt(format!("creating {}: {e}", config.data.display())))?;
        let store = SqliteStore::open(&config.data.join("relay.db"))?;
        Ok(Self::with_calls(Arc::new(store), config.limits.clone(), Some(config.data.join("attachments")), config.calls.clone()))
    }

    /// In-memory store: for oneshot tests and benchmarks' warm-up.
    pub fn in_memory(limits: Limits) -> Arc<Self> {
        Self::new(Arc::new(SqliteStore::open_in_memory().expect("in-memory SQLite always opens")), limits, None)
    }

    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    pub fn with_ctx<T>(&self, f: impl FnOnce(&Ctx) -> T) -> T {
        let online = |u: &str| self.hub.is_online(u);
        f(&Ctx { store: &*self.store, limits: &self.limits, online: &online })
    }

    /// Tells sockets to close, then waits (bounded) for their tasks to end.
    pub async fn drain(&self, within: std::time::Duration) {
        let _ = self.shutdown.send(true);
        // Socket tasks hold clones of `tasks`; wait until only ours is left.
        let _ = tokio::time::timeout(within, async {
            while self.tasks.strong_count() > 1 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await;
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
