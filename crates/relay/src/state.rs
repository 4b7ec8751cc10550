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

/// Store calls running at once on tokio's blocking pool: enough to keep a
/// PostgreSQL pool and SQLite's readers busy, few enough that a stalled
/// database makes requests wait in line (asynchronously) rather than pile
/// up threads.
pub const STORE_THREADS: usize = 32;

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
    /// The bearer token `/metrics` needs (unset: `/metrics` is off).
    pub metrics_token: std::sync::OnceLock<crate::config::Secret>,
    /// Bytes each user's uploads being read may still add (quotas).
    pub uploads: crate::quota::InFlight,
    /// Store work in flight on blocking threads ([`AppState::blocking`]).
    store_slots: Arc<tokio::sync::Semaphore>,
    /// The other relay nodes (issue 14): none unless `serve` attaches Redis.
    pub bus: crate::bus::Bus,
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
            metrics_token: std::sync::OnceLock::new(),
            uploads: crate::quota::InFlight::default(),
            store_slots: Arc::new(tokio::sync::Semaphore::new(STORE_THREADS)),
            bus: crate::bus::Bus::default(),
            next_conn: AtomicU64::new(1),
        })
    }

    /// Opens the store: PostgreSQL at `config.store`, else SQLite in
    /// `config.data`. Attachments go to `config.data` (created if missing)
    /// either way: nodes sharing a PostgreSQL store share that folder too.
    pub fn open(config: &Config) -> Result<Arc<Self>, StoreError> {
        std::fs::create_dir_all(config.data.join("attachments"))
            .map_err(|e| StoreError::Corrupt(format!("creating {}: {e}", config.data.display())))?;
        // The database holds password hashes and the folders hold private
        // files: only the relay's user may read them (existing ones too).
        private::dir(&config.data)?;
        private::dir(&config.data.join("attachments"))?;
        let store: Arc<dyn Store> = match &config.store {
            Some(url) => Arc::new(crate::store::PostgresStore::open(&url.0)?),
            None => {
                private::db_files(&config.data.join("relay.db"))?;
                Arc::new(SqliteStore::open(&config.data.join("relay.db"))?)
            }
        };
        let state = Self::with_calls(store, config.limits.clone(), Some(config.data.join("attachments")), config.calls.clone());
        if let Some(t) = config.metrics_token.clone().filter(|t| !t.0.is_empty()) {
            let _ = state.metrics_token.set(t);
        }
        Ok(state)
    }

    /// In-memory store: for oneshot tests and benchmarks' warm-up.
    pub fn in_memory(limits: Limits) -> Arc<Self> {
        Self::new(Arc::new(SqliteStore::open_in_memory().expect("in-memory SQLite always opens")), limits, None)
    }

    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Runs `f` with the session logic's context, here and now: only on a
    /// thread that may block (see [`AppState::ctx_call`]).
    pub fn with_ctx<T>(&self, f: impl FnOnce(&Ctx) -> T) -> T {
        let online = |u: &str| self.hub.is_online(u) || self.bus.online_elsewhere(u);
        f(&Ctx { store: &*self.store, limits: &self.limits, online: &online })
    }

    /// The async seam in front of the store: runs blocking `f` (store work)
    /// on tokio's blocking pool, at most [`STORE_THREADS`] at once, so a
    /// slow query or a long write transaction never holds up a tokio worker
    /// (other sockets, timers, the RTMP ingest). The slot is held until `f`
    /// ends, even when the caller stops waiting. Err: `f` panicked.
    pub async fn blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, StoreError> {
        let slot = self.store_slots.clone().acquire_owned().await.map_err(|_| StoreError::Task("the store is closed".into()))?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            f()
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))
    }

    /// One piece of store work through the seam: `state.store_call(move |s| s.user(&name)).await`.
    pub async fn store_call<T: Send + 'static>(&self, f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static) -> Result<T, StoreError> {
        let store = self.store.clone();
        self.blocking(move || f(&*store)).await?
    }

    /// Session logic (which reads and writes the store) through the seam.
    pub async fn ctx_call<T: Send + 'static>(self: &Arc<Self>, f: impl FnOnce(&Ctx) -> T + Send + 'static) -> Result<T, StoreError> {
        let st = self.clone();
        self.blocking(move || st.with_ctx(f)).await
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

/// File modes for the relay's data: folders 0700, the database 0600.
mod private {
    use crate::error::StoreError;
    use std::path::Path;

    fn err(p: &Path, e: std::io::Error) -> StoreError {
        StoreError::Corrupt(format!("making {} private: {e}", p.display()))
    }

    #[cfg(unix)]
    pub fn dir(p: &Path) -> Result<(), StoreError> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700)).map_err(|e| err(p, e))
    }

    /// Creates `db` as 0600 before SQLite opens it (SQLite gives its -wal
    /// and -shm files the database's mode), and tightens existing files.
    #[cfg(unix)]
    pub fn db_files(db: &Path) -> Result<(), StoreError> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(db).map_err(|e| err(db, e))?;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            let p = std::path::PathBuf::from(name);
            match std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(&p, e)),
                _ => {}
            }
        }
        Ok(())
    }

    #[cfg(not(unix))]
    pub fn dir(_: &Path) -> Result<(), StoreError> {
        Ok(())
    }

    #[cfg(not(unix))]
    pub fn db_files(_: &Path) -> Result<(), StoreError> {
        Ok(())
    }
}
