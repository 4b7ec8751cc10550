//! The Recordings screen: the library (crates/media's `Library`), thumbnails,
//! pin/unpin, delete, retention. The player loads the MP4 and thumbnail from
//! the loopback media server (`video.rs`) with the per-launch token.

use onair_media::library::Recording;
use serde::Serialize;
use tauri::State;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A library row as the screen shows it.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RecordingItem {
    #[serde(flatten)]
    pub rec: Recording,
    /// File name without the folder.
    pub name: String,
    /// Whether a thumbnail exists (`/media/thumbs/{id}`).
    pub thumb: bool,
}

fn blocking<T: Send + 'static>(f: impl FnOnce() -> AppResult<T> + Send + 'static) -> impl std::future::Future<Output = AppResult<T>> {
    async move { tauri::async_runtime::spawn_blocking(f).await.map_err(|e| AppError::Internal(e.to_string()))? }
}

/// Makes the thumbnail of a finished recording if it has none yet.
fn ensure_thumb(thumbs: &std::path::Path, r: &Recording) -> bool {
    if r.encrypted {
        // Made in memory when asked for (`/media/thumbs/{id}`): a picture of
        // an encrypted recording is never cached on disk.
        return r.state != "recording" && r.path.exists();
    }
    let out = thumbs.join(format!("{}.jpg", r.id));
    if out.exists() {
        return true;
    }
    if r.state == "recording" || !r.path.exists() {
        return false;
    }
    match onair_media::thumb::write_jpeg(&r.path, &out, 320) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("thumbnail of recording {}: {e}", r.id);
            false
        }
    }
}

fn item(thumbs: &std::path::Path, rec: Recording) -> RecordingItem {
    let thumb = ensure_thumb(thumbs, &rec);
    let name = rec.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    RecordingItem { rec, name, thumb }
}

/// Newest first; makes missing thumbnails on the way (FFmpeg, ~50 ms each).
#[tauri::command]
pub async fn recordings_list(state: State<'_, AppState>) -> AppResult<Vec<RecordingItem>> {
    let (lib, thumbs) = (state.library.clone(), state.thumbs_dir());
    blocking(move || Ok(lib.list()?.into_iter().map(|r| item(&thumbs, r)).collect())).await
}

#[tauri::command]
pub async fn recordings_get(state: State<'_, AppState>, id: i64) -> AppResult<RecordingItem> {
    let (lib, thumbs) = (state.library.clone(), state.thumbs_dir());
    blocking(move || Ok(item(&thumbs, lib.get(id)?))).await
}

#[tauri::command]
pub async fn recordings_delete(state: State<'_, AppState>, id: i64) -> AppResult<()> {
    let (lib, thumbs) = (state.library.clone(), state.thumbs_dir());
    blocking(move || {
        lib.delete(id)?;
        let _ = std::fs::remove_file(thumbs.join(format!("{id}.jpg")));
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn recordings_pin(state: State<'_, AppState>, id: i64, pinned: bool) -> AppResult<()> {
    let lib = state.library.clone();
    blocking(move || Ok(lib.set_pinned(id, pinned)?)).await
}

/// "Encrypt recordings on this computer" (library.db; `onair recordings
/// encrypt` reads and sets the same).
#[tauri::command]
pub async fn recordings_encryption(state: State<'_, AppState>) -> AppResult<bool> {
    let lib = state.library.clone();
    blocking(move || Ok(lib.encrypt_recordings()?)).await
}

/// Applies from the next recording; the master key is made in the OS
/// keychain when the first encrypted recording starts.
#[tauri::command]
pub async fn recordings_set_encryption(state: State<'_, AppState>, on: bool) -> AppResult<bool> {
    let lib = state.library.clone();
    blocking(move || {
        lib.set_encrypt_recordings(on)?;
        Ok(on)
    })
    .await
}

/// Retention in days (`null`: keep forever).
#[tauri::command]
pub async fn recordings_retention(state: State<'_, AppState>) -> AppResult<Option<u32>> {
    let lib = state.library.clone();
    blocking(move || Ok(lib.retention_days()?)).await
}

/// Sets retention and applies it at once; returns how many were deleted.
#[tauri::command]
pub async fn recordings_set_retention(state: State<'_, AppState>, days: Option<u32>) -> AppResult<usize> {
    if days == Some(0) {
        return Err(AppError::Invalid("retention must be at least 1 day (or off)".into()));
    }
    let lib = state.library.clone();
    blocking(move || {
        lib.set_retention_days(days)?;
        Ok(match days {
            Some(d) => lib.prune(d, onair_media::library::unix_now())?.len(),
            None => 0,
        })
    })
    .await
}

/// Applies the retention setting once: deletes what is older than it (never
/// pinned or in-progress recordings) and their thumbnails. Returns how many.
pub fn apply_retention(lib: &onair_media::library::Library, thumbs: &std::path::Path, now: i64) -> AppResult<usize> {
    let Some(days) = lib.retention_days()? else { return Ok(0) };
    let gone = lib.prune(days, now)?;
    for r in &gone {
        let _ = std::fs::remove_file(thumbs.join(format!("{}.jpg", r.id)));
    }
    Ok(gone.len())
}

/// How often retention runs while the app is open (and once at start):
/// "keep 7 days" keeps 7 days without anyone touching the setting.
const RETENTION_EVERY: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Runs retention at start-up and then every few hours, for the app's lifetime.
pub fn spawn_retention(app: tauri::AppHandle) {
    use tauri::{Emitter, Manager};
    let _ = std::thread::Builder::new().name("retention".into()).spawn(move || loop {
        let st = app.state::<AppState>();
        match apply_retention(&st.library, &st.thumbs_dir(), onair_media::library::unix_now()) {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!("retention: {n} old recordings deleted");
                let _ = app.emit("recordings://changed", ());
            }
            Err(e) => tracing::warn!("retention: {e}"),
        }
        std::thread::sleep(RETENTION_EVERY);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_deletes_only_what_is_old_and_unpinned() {
        let home = tempfile::tempdir().unwrap();
        let (lib, _) = onair_media::library::Library::open(home.path()).unwrap();
        let thumbs = home.path().join("thumbs");
        std::fs::create_dir_all(&thumbs).unwrap();
        let mk = |name: &str| {
            let p = lib.recordings_dir().join(name);
            let id = lib.begin(&p, &p.with_extension("part")).unwrap();
            lib.finish(id, "done", Some(1000), Some(10), None).unwrap();
            std::fs::write(&p, b"x").unwrap();
            id
        };
        let (old, pinned) = (mk("a.mp4"), mk("b.mp4"));
        lib.set_pinned(pinned, true).unwrap();
        std::fs::write(thumbs.join(format!("{old}.jpg")), b"j").unwrap();
        let now = onair_media::library::unix_now();
        assert_eq!(apply_retention(&lib, &thumbs, now + 30 * 86_400).unwrap(), 0, "no retention set: keep all");
        lib.set_retention_days(Some(7)).unwrap();
        assert_eq!(apply_retention(&lib, &thumbs, now + 86_400).unwrap(), 0, "a day old is kept");
        assert_eq!(apply_retention(&lib, &thumbs, now + 8 * 86_400).unwrap(), 1, "eight days old goes");
        assert!(!thumbs.join(format!("{old}.jpg")).exists());
        assert_eq!(lib.list().unwrap().len(), 1, "the pinned one stays");
    }
}
