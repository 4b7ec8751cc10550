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
