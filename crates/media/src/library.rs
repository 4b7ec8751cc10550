//! The recording library: an SQLite database (rusqlite, WAL) in the data
//! directory that lists recordings and holds their bookmarks.
//!
//! Bookmarks are written here the moment they are made, so a crash loses
//! none. Recordings a crash interrupted are found by their state
//! (`recording`) and an unlocked part file, and finalised with their
//! bookmarks by [`Library::recover`], which [`Library::open`] also runs.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::output::finalize::finalize_with_key;
use onair_vault::FileKey;
use crate::{MediaError, Result};

const MIGRATIONS: &[(&str, &str)] = &[
    ("001_recordings", include_str!("../migrations/001_recordings.sql")),
    ("002_track_starts", include_str!("../migrations/002_track_starts.sql")),
    ("003_encrypted", include_str!("../migrations/003_encrypted.sql")),
];

/// Where each track of a recording started on the pipeline's timeline, in
/// microseconds (the first packet's decode time; negative for B-frame delay
/// and AAC priming).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TrackStarts {
    pub video_us: Option<i64>,
    pub audio_us: Option<i64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[derive(ts_rs::TS)]
pub struct Bookmark {
    #[ts(as = "f64")]
    pub id: i64,
    #[ts(as = "f64")]
    pub t_ms: i64,
    pub label: String,
}

#[derive(Clone, Debug, Serialize)]
#[derive(ts_rs::TS)]
pub struct Recording {
    #[ts(as = "f64")]
    pub id: i64,
    pub path: PathBuf,
    #[serde(skip)]
    pub part_path: PathBuf,
    #[ts(as = "f64")]
    pub started_at: i64,
    #[ts(as = "Option<f64>")]
    pub ended_at: Option<i64>,
    #[ts(as = "Option<f64>")]
    pub duration_ms: Option<i64>,
    #[ts(as = "Option<f64>")]
    pub size_bytes: Option<i64>,
    pub state: String,
    pub error: Option<String>,
    pub pinned: bool,
    pub bookmarks: Vec<Bookmark>,
    #[serde(skip)]
    pub starts: TrackStarts,
    /// Encrypted at rest: the file is an `onair-vault` file, readable with
    /// this computer's recording key only.
    pub encrypted: bool,
    /// The recording's own key, wrapped by the master key.
    #[serde(skip)]
    #[ts(skip)]
    pub wrapped_key: Option<Vec<u8>>,
}

/// What recovery did with one interrupted recording.
#[derive(Clone, Debug, Serialize)]
pub struct Recovered {
    pub id: i64,
    pub path: PathBuf,
    pub bookmarks: usize,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
}

pub struct Library {
    db_path: PathBuf,
    home: PathBuf,
    dir: PathBuf,
    conn: Mutex<Connection>,
    /// `onair record --encrypt`: encrypt whatever the setting says.
    encrypt_all: std::sync::atomic::AtomicBool,
}

pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `YYYY-MM-DD<sep>HH:MM:SS` (UTC) for a Unix time in seconds, without a
/// date library: recording names and listings in the CLI and the app.
pub fn utc_stamp(unix: i64, sep: &str) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}{sep}{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod utc_tests {
    #[test]
    fn utc_stamp_formats() {
        assert_eq!(super::utc_stamp(0, " "), "1970-01-01 00:00:00");
        assert_eq!(super::utc_stamp(1_795_000_000, "T"), "2026-11-18T11:06:40");
        assert_eq!(super::utc_stamp(-1, " "), "1969-12-31 23:59:59");
    }
}

impl Library {
    /// Opens (creating if needed) the library under `home`, then recovers any
    /// recording a crash interrupted.
    pub fn open(home: &Path) -> Result<(Self, Vec<Recovered>)> {
        let lib = Self::open_only(home)?;
        let recovered = lib.recover()?;
        Ok((lib, recovered))
    }

    /// Opens without recovering.
    pub fn open_only(home: &Path) -> Result<Self> {
        let dir = home.join("recordings");
        std::fs::create_dir_all(&dir)
            .map_err(|e| MediaError::Io { what: format!("creating {}", dir.display()), source: e })?;
        let db_path = home.join("library.db");
        let dberr = |source| MediaError::Library { path: db_path.clone(), source };
        let conn = Connection::open(&db_path).map_err(dberr)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(dberr)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(dberr)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(dberr)?;
        migrate(&conn).map_err(dberr)?;
        Ok(Library { db_path, home: home.to_path_buf(), dir, conn: Mutex::new(conn), encrypt_all: Default::default() })
    }

    /// Where new recordings go by default.
    pub fn recordings_dir(&self) -> &Path {
        &self.dir
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn).map_err(|source| MediaError::Library { path: self.db_path.clone(), source })
    }

    /// Registers a recording that is starting.
    pub fn begin(&self, path: &Path, part_path: &Path) -> Result<i64> {
        self.with(|c| {
            c.execute(
                "INSERT INTO recordings (path, part_path, started_at, state) VALUES (?1, ?2, ?3, 'recording')",
                params![path.to_string_lossy(), part_path.to_string_lossy(), unix_now()],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    /// Registers a recording that is starting, encrypted when the setting
    /// (or [`Library::force_encryption`]) says so: then it returns the
    /// recording's new key, whose wrapped form is already saved (the master
    /// key is made on first use).
    pub fn begin_recording(&self, path: &Path, part_path: &Path) -> Result<(i64, Option<FileKey>)> {
        let encrypt = self.encrypt_all.load(std::sync::atomic::Ordering::Relaxed) || self.encrypt_recordings()?;
        let master = if encrypt {
            Some(crate::crypt::master_key(&self.home, true)?.ok_or_else(|| MediaError::Invalid("no recording key could be made".into()))?)
        } else {
            None
        };
        let id = self.begin(path, part_path)?;
        let Some(master) = master else { return Ok((id, None)) };
        let key = FileKey::random();
        let wrapped = key.wrap(&master, &crate::crypt::wrap_label(id));
        self.with(|c| c.execute("UPDATE recordings SET wrapped_key = ?2 WHERE id = ?1", params![id, wrapped]).map(|_| ()))?;
        Ok((id, Some(key)))
    }

    /// Encrypt every recording this process starts (`onair record --encrypt`).
    pub fn force_encryption(&self) {
        self.encrypt_all.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The setting "Encrypt recordings on this computer" (default off).
    pub fn encrypt_recordings(&self) -> Result<bool> {
        let v: Option<String> = self.with(|c| {
            c.query_row("SELECT value FROM settings WHERE key = 'encrypt_recordings'", [], |r| r.get(0)).optional()
        })?;
        Ok(v.as_deref() == Some("on"))
    }

    pub fn set_encrypt_recordings(&self, on: bool) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO settings (key, value) VALUES ('encrypt_recordings', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [if on { "on" } else { "off" }],
            )
            .map(|_| ())
        })
    }

    /// The key of an encrypted recording (`None` for a plain one); a clear
    /// error when this computer's keychain cannot open it.
    pub fn key(&self, r: &Recording) -> Result<Option<FileKey>> {
        let Some(wrapped) = &r.wrapped_key else { return Ok(None) };
        let master = crate::crypt::master_key(&self.home, false)?.ok_or(MediaError::NoKey(r.id))?;
        FileKey::unwrap(&master, &crate::crypt::wrap_label(r.id), wrapped).map(Some).map_err(|_| MediaError::NoKey(r.id))
    }

    /// A finished recording's plain bytes, decrypted on the fly if need be.
    pub fn open_plain(&self, id: i64) -> Result<PlainFile> {
        let r = self.get(id)?;
        if r.state == "recording" {
            return Err(MediaError::Invalid(format!("recording {id} is still in progress")));
        }
        let ioerr = |e: std::io::Error| MediaError::Io { what: format!("opening {}", r.path.display()), source: e };
        match self.key(&r)? {
            None => {
                let f = File::open(&r.path).map_err(ioerr)?;
                let len = f.metadata().map_err(ioerr)?.len();
                Ok(PlainFile::Plain(f, len))
            }
            Some(key) => Ok(PlainFile::Vault(crate::crypt::PlainReader::open(&r.path, &key)?)),
        }
    }

    /// Writes a plain copy of a finished recording to `out` (decrypted if it
    /// is encrypted). An existing `out` is refused unless `force`. Returns
    /// the bytes written.
    pub fn export(&self, id: i64, out: &Path, force: bool) -> Result<u64> {
        use std::io::Write;
        let r = self.get(id)?;
        if out.exists() && !force {
            return Err(MediaError::Invalid(format!("{} already exists; pass --force to replace it", out.display())));
        }
        if std::fs::canonicalize(out).ok().is_some_and(|o| std::fs::canonicalize(&r.path).ok() == Some(o)) {
            return Err(MediaError::Invalid(format!("{} is the recording itself; choose another file", out.display())));
        }
        let mut src = self.open_plain(id)?;
        let tmp = out.with_extension("onair-export.tmp");
        let werr = |e: std::io::Error| MediaError::Invalid(format!("exporting recording {id} to {}: {e}", out.display()));
        let result = (|| -> std::io::Result<u64> {
            let mut w = std::io::BufWriter::new(File::create(&tmp)?);
            let n = src.len();
            src.range(0, n, |b| w.write_all(b))?;
            w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            std::fs::rename(&tmp, out)?;
            Ok(n)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(werr)
    }

    /// Saves a bookmark at once (durable before this returns).
    pub fn add_bookmark(&self, recording: i64, t_ms: i64, label: Option<&str>) -> Result<Bookmark> {
        self.with(|c| {
            let n: i64 = c.query_row("SELECT COUNT(*) FROM bookmarks WHERE recording_id = ?1", [recording], |r| r.get(0))?;
            let label = match label.map(str::trim) {
                Some(l) if !l.is_empty() => l.to_string(),
                _ => format!("Bookmark {}", n + 1),
            };
            c.execute(
                "INSERT INTO bookmarks (recording_id, t_ms, label, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![recording, t_ms, label, unix_now()],
            )?;
            Ok(Bookmark { id: c.last_insert_rowid(), t_ms, label })
        })
    }

    /// Saves where a track started (see [`TrackStarts`]).
    pub fn set_track_start(&self, recording: i64, video: bool, us: i64) -> Result<()> {
        let sql = if video {
            "UPDATE recordings SET video_start_us = ?2 WHERE id = ?1"
        } else {
            "UPDATE recordings SET audio_start_us = ?2 WHERE id = ?1"
        };
        self.with(|c| c.execute(sql, params![recording, us]).map(|_| ()))
    }

    pub fn bookmarks(&self, recording: i64) -> Result<Vec<Bookmark>> {
        self.with(|c| bookmarks(c, recording))
    }

    /// Marks a recording finished (`done`, `recovered` or `failed`).
    pub fn finish(&self, id: i64, state: &str, duration_ms: Option<i64>, size: Option<u64>, error: Option<&str>) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE recordings SET state = ?2, ended_at = ?3, duration_ms = ?4, size_bytes = ?5, error = ?6 WHERE id = ?1",
                params![id, state, unix_now(), duration_ms, size.map(|s| s as i64), error],
            )
            .map(|_| ())
        })
    }

    pub fn list(&self) -> Result<Vec<Recording>> {
        self.with(|c| {
            let mut st = c.prepare(&format!("{SELECT} ORDER BY started_at DESC, id DESC"))?;
            let rows = st.query_map([], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|mut r| {
                    r.bookmarks = bookmarks(c, r.id)?;
                    Ok(r)
                })
                .collect()
        })
    }

    pub fn get(&self, id: i64) -> Result<Recording> {
        let r = self.with(|c| {
            let r = c.query_row(&format!("{SELECT} WHERE id = ?1"), [id], row).optional()?;
            match r {
                Some(mut r) => {
                    r.bookmarks = bookmarks(c, id)?;
                    Ok(Some(r))
                }
                None => Ok(None),
            }
        })?;
        r.ok_or(MediaError::NoSuchRecording(id))
    }

    /// Deletes a recording and its files. A recording in progress is refused.
    pub fn delete(&self, id: i64) -> Result<Recording> {
        let r = self.get(id)?;
        if r.state == "recording" && is_locked(&r.part_path) {
            return Err(MediaError::Invalid(format!("recording {id} is still in progress; stop it first")));
        }
        for p in [&r.path, &r.part_path] {
            match std::fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(MediaError::Io { what: format!("deleting {}", p.display()), source: e }),
            }
        }
        self.with(|c| c.execute("DELETE FROM recordings WHERE id = ?1", [id]).map(|_| ()))?;
        Ok(r)
    }

    pub fn set_pinned(&self, id: i64, pinned: bool) -> Result<()> {
        let n = self.with(|c| c.execute("UPDATE recordings SET pinned = ?2 WHERE id = ?1", params![id, pinned]))?;
        if n == 0 {
            return Err(MediaError::NoSuchRecording(id));
        }
        Ok(())
    }

    /// The configured retention in days (`None`: keep forever).
    pub fn retention_days(&self) -> Result<Option<u32>> {
        let v: Option<String> = self.with(|c| {
            c.query_row("SELECT value FROM settings WHERE key = 'retention_days'", [], |r| r.get(0)).optional()
        })?;
        Ok(v.and_then(|v| v.parse().ok()))
    }

    pub fn set_retention_days(&self, days: Option<u32>) -> Result<()> {
        self.with(|c| match days {
            Some(d) => c
                .execute(
                    "INSERT INTO settings (key, value) VALUES ('retention_days', ?1)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [d.to_string()],
                )
                .map(|_| ()),
            None => c.execute("DELETE FROM settings WHERE key = 'retention_days'", []).map(|_| ()),
        })
    }

    /// Deletes finished, unpinned recordings that started more than `days` days before `now`.
    pub fn prune(&self, days: u32, now: i64) -> Result<Vec<Recording>> {
        let cutoff = now - i64::from(days) * 86_400;
        let old: Vec<i64> = self.with(|c| {
            let mut st = c.prepare(
                "SELECT id FROM recordings WHERE pinned = 0 AND state != 'recording' AND started_at < ?1",
            )?;
            let ids = st.query_map([cutoff], |r| r.get(0))?.collect::<rusqlite::Result<Vec<i64>>>()?;
            Ok(ids)
        })?;
        old.into_iter().map(|id| self.delete(id)).collect()
    }

    /// Finalises every recording a crash interrupted (state `recording`, part
    /// file not locked by a live recorder), with its bookmarks as chapters.
    pub fn recover(&self) -> Result<Vec<Recovered>> {
        let open: Vec<Recording> = self.list()?.into_iter().filter(|r| r.state == "recording").collect();
        let mut out = Vec::new();
        for r in open {
            if is_locked(&r.part_path) {
                continue; // a live recorder owns it
            }
            let key = match self.key(&r) {
                Ok(k) => k,
                Err(e) => {
                    // Left as it is: it recovers once the key is back.
                    out.push(Recovered { id: r.id, path: r.path, bookmarks: r.bookmarks.len(), duration_ms: None, error: Some(e.to_string()) });
                    continue;
                }
            };
            let result = if r.part_path.exists() {
                finalize_with_key(&r.part_path, &r.path, &r.bookmarks, r.starts, key.as_ref())
            } else if r.path.exists() {
                // The crash came after the final file was written.
                let size = std::fs::metadata(&r.path).map(|m| m.len()).unwrap_or(0);
                Ok(crate::output::finalize::Finalized { duration: std::time::Duration::ZERO, size })
            } else {
                Err(MediaError::Invalid(format!("{} is missing", r.part_path.display())))
            };
            match result {
                Ok(f) => {
                    let ms = f.duration.as_millis() as i64;
                    let ms = if ms > 0 { Some(ms) } else { r.duration_ms };
                    self.finish(r.id, "recovered", ms, Some(f.size), None)?;
                    out.push(Recovered { id: r.id, path: r.path, bookmarks: r.bookmarks.len(), duration_ms: ms, error: None });
                }
                Err(e) => {
                    let msg = e.to_string();
                    self.finish(r.id, "failed", None, None, Some(&msg))?;
                    out.push(Recovered { id: r.id, path: r.path, bookmarks: r.bookmarks.len(), duration_ms: None, error: Some(msg) });
                }
            }
        }
        Ok(out)
    }
}

const SELECT: &str = "SELECT id, path, part_path, started_at, ended_at, duration_ms, size_bytes, state, error, pinned, video_start_us, audio_start_us, wrapped_key FROM recordings";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Recording> {
    Ok(Recording {
        id: r.get(0)?,
        path: PathBuf::from(r.get::<_, String>(1)?),
        part_path: PathBuf::from(r.get::<_, String>(2)?),
        started_at: r.get(3)?,
        ended_at: r.get(4)?,
        duration_ms: r.get(5)?,
        size_bytes: r.get(6)?,
        state: r.get(7)?,
        error: r.get(8)?,
        pinned: r.get::<_, i64>(9)? != 0,
        bookmarks: Vec::new(),
        starts: TrackStarts { video_us: r.get(10)?, audio_us: r.get(11)? },
        encrypted: r.get::<_, Option<Vec<u8>>>(12)?.is_some(),
        wrapped_key: r.get(12)?,
    })
}

/// A finished recording's plain bytes: the file itself, or a vault file
/// decrypted chunk by chunk.
pub enum PlainFile {
    Plain(File, u64),
    Vault(crate::crypt::PlainReader),
}

impl PlainFile {
    pub fn len(&self) -> u64 {
        match self {
            PlainFile::Plain(_, n) => *n,
            PlainFile::Vault(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes `start..end` to `sink`, in order.
    pub fn range(&mut self, start: u64, end: u64, mut sink: impl FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        match self {
            PlainFile::Vault(r) => r.range(start, end, sink),
            PlainFile::Plain(f, _) => {
                f.seek(SeekFrom::Start(start))?;
                let mut left = end.saturating_sub(start);
                let mut buf = vec![0u8; 256 * 1024];
                while left > 0 {
                    let want = left.min(buf.len() as u64) as usize;
                    let n = f.read(&mut buf[..want])?;
                    if n == 0 {
                        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the file is shorter than it was"));
                    }
                    sink(&buf[..n])?;
                    left -= n as u64;
                }
                Ok(())
            }
        }
    }
}

fn bookmarks(c: &Connection, recording: i64) -> rusqlite::Result<Vec<Bookmark>> {
    let mut st = c.prepare("SELECT id, t_ms, label FROM bookmarks WHERE recording_id = ?1 ORDER BY t_ms, id")?;
    let v = st
        .query_map([recording], |r| Ok(Bookmark { id: r.get(0)?, t_ms: r.get(1)?, label: r.get(2)? }))?
        .collect();
    v
}

fn migrate(c: &Connection) -> rusqlite::Result<()> {
    c.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)")?;
    for (name, sql) in MIGRATIONS {
        let done: bool =
            c.query_row("SELECT COUNT(*) FROM schema_migrations WHERE name = ?1", [name], |r| r.get::<_, i64>(0))? > 0;
        if !done {
            c.execute_batch(&format!("BEGIN; {sql}; INSERT INTO schema_migrations VALUES ('{name}'); COMMIT;"))?;
        }
    }
    Ok(())
}

/// True while a live recorder holds the part file's lock.
fn is_locked(part: &Path) -> bool {
    match File::open(part) {
        Ok(f) => match f.try_lock() {
            Ok(()) => {
                let _ = f.unlock();
                false
            }
            Err(_) => true,
        },
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookmarks_pins_and_retention() {
        let home = tempfile::tempdir().unwrap();
        let (lib, rec) = Library::open(home.path()).unwrap();
        assert!(rec.is_empty());
        let id = lib.begin(&home.path().join("a.mp4"), &home.path().join("a.part.mp4")).unwrap();
        lib.add_bookmark(id, 1500, Some("intro")).unwrap();
        let b = lib.add_bookmark(id, 500, None).unwrap();
        assert_eq!(b.label, "Bookmark 2");
        let got = lib.get(id).unwrap();
        assert_eq!(got.bookmarks.iter().map(|b| b.t_ms).collect::<Vec<_>>(), vec![500, 1500]);
        lib.finish(id, "done", Some(2000), Some(10), None).unwrap();
        lib.set_pinned(id, true).unwrap();
        assert!(lib.prune(0, unix_now() + 10).unwrap().is_empty(), "pinned survives");
        lib.set_pinned(id, false).unwrap();
        assert_eq!(lib.prune(0, unix_now() + 10).unwrap().len(), 1);
        assert!(matches!(lib.get(id), Err(MediaError::NoSuchRecording(_))));
        lib.set_retention_days(Some(7)).unwrap();
        assert_eq!(lib.retention_days().unwrap(), Some(7));
        // Reopening runs migrations once only.
        drop(lib);
        let (lib, _) = Library::open(home.path()).unwrap();
        assert_eq!(lib.retention_days().unwrap(), Some(7));
    }

    #[test]
    fn missing_part_file_is_marked_failed() {
        let home = tempfile::tempdir().unwrap();
        let lib = Library::open_only(home.path()).unwrap();
        let id = lib.begin(&home.path().join("x.mp4"), &home.path().join("x.part.mp4")).unwrap();
        let r = lib.recover().unwrap();
        assert_eq!(r.len(), 1);
        assert!(r[0].error.is_some());
        assert_eq!(lib.get(id).unwrap().state, "failed");
    }
}
