//! A small pool of PostgreSQL connections, and the rule that keeps the
//! sync client off tokio's workers.
//!
//! The `postgres` crate drives each connection with a runtime of its own
//! and blocks on it, which tokio forbids on a thread that is running async
//! tasks. The relay calls the store through `AppState::store_call` (a
//! blocking thread) everywhere; anything that still calls it from a worker
//! is moved off it here (`store::off_runtime`) instead of panicking.

use crate::error::StoreError;
use ::postgres::{Client, NoTls, Statement};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

type Result<T> = std::result::Result<T, StoreError>;

/// How long a caller waits for a free connection before giving up.
const WAIT: Duration = Duration::from_secs(30);

/// One connection and the statements prepared on it (PostgreSQL keeps them
/// per session, so each is parsed once per connection, not per call).
pub(super) struct PgConn {
    pub client: Client,
    pub cache: HashMap<&'static str, Statement>,
}

pub(super) struct Pool {
    config: ::postgres::Config,
    /// The URL without its password, for messages.
    pub url: String,
    max: usize,
    inner: Mutex<Inner>,
    freed: Condvar,
}

struct Inner {
    idle: Vec<PgConn>,
    open: usize,
}

impl Pool {
    pub fn new(config: ::postgres::Config, url: String, max: usize) -> Pool {
        Pool {
            config,
            url,
            max: max.max(1),
            inner: Mutex::new(Inner {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update is a push, a pop or a count: a panic leaves it whole.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a new connection (blocking; call it off the runtime).
    pub fn connect(&self) -> Result<PgConn> {
        let client = self
            .config
            .connect(NoTls)
            .map_err(|e| StoreError::Unreachable {
                url: self.url.clone(),
                reason: e.to_string(),
            })?;
        Ok(PgConn {
            client,
            cache: HashMap::new(),
        })
    }

    /// Runs `f` on a pooled connection; a connection that broke is dropped
    /// and the next caller opens a fresh one. When an idle connection turns
    /// out to be dead (PostgreSQL restarted since it was last used), `f`
    /// runs once more on a fresh one: nothing reached the server on the dead
    /// one, and a message sent again is answered as a duplicate anyway.
    pub fn with<T: Send>(&self, f: impl Fn(&mut PgConn) -> Result<T> + Send + Sync) -> Result<T> {
        super::super::off_runtime(|| {
            let mut conn = self.take()?;
            let mut r = f(&mut conn);
            if r.as_ref().err().is_some_and(connection_lost) {
                tracing::info!(store = %self.url, "a pooled PostgreSQL connection was lost (server restarted?); trying a fresh one");
                match self.connect() {
                    Ok(fresh) => {
                        conn = fresh;
                        r = f(&mut conn);
                    }
                    Err(e) => {
                        // The dead one leaves the pool; its slot is free.
                        drop(conn);
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        return Err(e);
                    }
                }
            }
            self.give_back(conn);
            r
        })
    }

    fn take(&self) -> Result<PgConn> {
        let mut g = self.lock();
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(c) = g.idle.pop() {
                return Ok(c);
            }
            if g.open < self.max {
                g.open += 1;
                drop(g);
                return self.connect().inspect_err(|_| {
                    self.lock().open -= 1;
                    self.freed.notify_one();
                });
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(StoreError::Unreachable {
                    url: self.url.clone(),
                    reason: format!(
                        "all {} connections stayed busy for {}s",
                        self.max,
                        WAIT.as_secs()
                    ),
                });
            }
            g = self
                .freed
                .wait_timeout(g, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn give_back(&self, conn: PgConn) {
        let mut g = self.lock();
        if conn.client.is_closed() {
            g.open -= 1;
            drop(g);
            drop(conn);
        } else {
            g.idle.push(conn);
        }
        self.freed.notify_one();
    }
}

/// The server went away under this connection (its socket closed, or it
/// was terminated by a shutdown or an administrator).
fn connection_lost(e: &StoreError) -> bool {
    use ::postgres::error::SqlState;
    match e {
        StoreError::Postgres(e) => {
            e.is_closed()
                || e.code().is_some_and(|c| {
                    *c == SqlState::ADMIN_SHUTDOWN
                        || *c == SqlState::CRASH_SHUTDOWN
                        || *c == SqlState::CANNOT_CONNECT_NOW
                })
                || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
        }
        _ => false,
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing a client blocks on its own runtime: never on a worker.
        let idle = std::mem::take(&mut self.lock().idle);
        if !idle.is_empty() {
            let _ = std::thread::Builder::new()
                .name("relay-pg-close".into())
                .spawn(move || drop(idle));
        }
    }
}

/// `url` with its password replaced by `****` (userinfo and a
/// `password=` parameter), for messages and logs.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s, r),
        None => {
            return if url.contains("password") {
                "(a connection string with a password)".into()
            } else {
                url.to_string()
            }
        }
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:****@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let q: Vec<String> = query
                .split('&')
                .map(|kv| {
                    if kv.to_ascii_lowercase().starts_with("password=") {
                        "password=****".to_string()
                    } else {
                        kv.to_string()
                    }
                })
                .collect();
            format!("{path}?{}", q.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://ann:s3cret@db:5432/onair"),
            "postgres://ann:****@db:5432/onair"
        );
        assert_eq!(
            redact("postgres://ann@db/onair?password=s3cret&sslmode=disable"),
            "postgres://ann@db/onair?password=****&sslmode=disable"
        );
        assert_eq!(redact("postgres://a:b:c@h/d"), "postgres://a:****@h/d");
        assert_eq!(redact("postgres://a:p@ss@h/d"), "postgres://a:****@h/d");
        assert_eq!(redact("postgresql://db"), "postgresql://db");
        assert!(!redact("host=db password=s3cret").contains("s3cret"));
    }
}
