//! Chat attachments: send a file (with upload progress), fetch one for an
//! inline preview, save one to Downloads and open it.
//!
//! The file's bytes come as the raw body of `chat_send_file` (no JSON
//! array of numbers), with what to do in the `x-onair-send` header. The
//! upload itself is `onair_chat::Remote::upload`; the message is queued
//! in the cache like any other, so a send made offline after the upload
//! still goes out exactly once.

use std::path::{Path, PathBuf};

use onair_chat::Message;
use onair_proto::Target;
use serde::{Deserialize, Serialize};
use tauri::ipc::{InvokeBody, Request, Response};
use tauri::{AppHandle, Emitter, Manager, State};

use super::chat::{ChatState, To};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The event carrying upload progress.
pub const UPLOAD_EVENT: &str = "chat://upload";

/// What `chat_send_file` is asked to do (the `x-onair-send` header,
/// percent-encoded JSON).
#[derive(Debug, Deserialize)]
struct SendFile {
    /// The UI's handle for this upload, echoed in progress events.
    upload: String,
    to: To,
    name: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    burn_secs: Option<u32>,
}

/// `chat://upload` payload: `sent` of `total` bytes have gone out.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct UploadProgress {
    pub upload: String,
    #[cfg_attr(test, ts(type = "number"))]
    pub sent: u64,
    #[cfg_attr(test, ts(type = "number"))]
    pub total: u64,
}

/// Uploads the body as a file and queues a message carrying it.
#[tauri::command]
pub async fn chat_send_file(app: AppHandle, chat: State<'_, ChatState>, request: Request<'_>) -> AppResult<Message> {
    let header = request
        .headers()
        .get("x-onair-send")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AppError::Invalid("which file, to whom? (x-onair-send missing)".into()))?;
    let meta: SendFile = serde_json::from_slice(&percent_decode(header)).map_err(|e| AppError::Invalid(format!("x-onair-send: {e}")))?;
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(AppError::Invalid("send the file's bytes as the body".into()));
    };
    if bytes.is_empty() {
        return Err(AppError::Invalid(format!("{} is empty", meta.name)));
    }
    let target = match meta.to {
        To::User(u) => Target::User(u.trim().to_lowercase()),
        To::Conv(c) => Target::Conv(c),
    };
    let conv = chat.with(|c| Ok(c.conv_of(&target)?))?;
    let (remote, _) = chat.remote()?;
    let total = bytes.len() as u64;
    let (tx, upload) = (app.clone(), meta.upload.clone());
    let progress = move |sent| {
        let _ = tx.emit(UPLOAD_EVENT, UploadProgress { upload: upload.clone(), sent, total });
    };
    let attachment = remote.upload(&conv, &meta.name, bytes.clone(), progress).await?;
    let m = chat.with(|c| Ok(c.queue(target, meta.text, meta.burn_secs.filter(|s| *s > 0), Some(attachment))?))?;
    chat.flush();
    Ok(m)
}

/// An attachment's bytes (raw), for an inline preview; kept in a local
/// cache so a preview shown again needs no network.
#[tauri::command]
pub async fn chat_attachment(app: AppHandle, chat: State<'_, ChatState>, id: String) -> AppResult<Response> {
    Ok(Response::new(fetch(&app, &chat, &id).await?))
}

/// Saves an attachment in the Downloads folder (a new name if one is
/// taken) and returns where.
#[tauri::command]
pub async fn chat_attachment_save(app: AppHandle, chat: State<'_, ChatState>, id: String, name: String) -> AppResult<String> {
    let bytes = fetch(&app, &chat, &id).await?;
    let dir = downloads(&app).ok_or_else(|| AppError::State("no Downloads folder on this system".into()))?;
    std::fs::create_dir_all(&dir).map_err(|e| io("creating the Downloads folder", e))?;
    let path = free_name(&dir, &safe_name(&name));
    std::fs::write(&path, &bytes).map_err(|e| io(&format!("writing {}", path.display()), e))?;
    SAVED.lock().unwrap_or_else(|p| p.into_inner()).insert(path.clone());
    Ok(path.display().to_string())
}

/// Files Save wrote in this run: the only ones Open opens, so a crafted
/// call cannot have the system open some other file (a script, a
/// `.desktop` file) sitting in Downloads.
static SAVED: std::sync::Mutex<std::collections::BTreeSet<PathBuf>> = std::sync::Mutex::new(std::collections::BTreeSet::new());

/// Opens a saved attachment with the system's viewer for its type.
#[tauri::command]
pub fn chat_attachment_open(path: String) -> AppResult<()> {
    let path = PathBuf::from(path);
    if !SAVED.lock().unwrap_or_else(|p| p.into_inner()).contains(&path) || !path.is_file() {
        return Err(AppError::Invalid("open saves the file first (Save), then opens it".into()));
    }
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener).arg(&path).spawn().map_err(|e| io(&format!("starting {opener}"), e))?;
    Ok(())
}

/// Where Save puts files: `ONAIR_DOWNLOADS` if set, else the system's
/// Downloads folder (`~/Downloads` when the system names none).
fn downloads(app: &AppHandle) -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("ONAIR_DOWNLOADS").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    app.path().download_dir().ok().or_else(|| app.path().home_dir().ok().map(|h| h.join("Downloads")))
}

/// The attachment from the local cache, or downloaded into it.
async fn fetch(app: &AppHandle, chat: &ChatState, id: &str) -> AppResult<Vec<u8>> {
    // The id comes from a peer's message: it names a file here, so only
    // the relay's own form (hex) is accepted.
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(AppError::Invalid("that is not an attachment id".into()));
    }
    let dir = app.state::<AppState>().home.join("attachments");
    let path = dir.join(id);
    if let Ok(b) = std::fs::read(&path) {
        return Ok(b);
    }
    let (remote, _) = chat.remote()?;
    let bytes = remote.download(id).await?;
    std::fs::create_dir_all(&dir).map_err(|e| io("creating the attachment cache", e))?;
    let tmp = dir.join(format!("{id}.part"));
    std::fs::write(&tmp, &bytes).and_then(|_| std::fs::rename(&tmp, &path)).map_err(|e| io("caching the attachment", e))?;
    Ok(bytes)
}

fn io(what: &str, source: std::io::Error) -> AppError {
    AppError::Io { what: what.into(), source }
}

/// A peer's file name made safe to write: no folders, no hidden or
/// special names.
fn safe_name(name: &str) -> String {
    let n: String = name.chars().map(|c| if c.is_control() || "/\\:*?\"<>|".contains(c) { '_' } else { c }).take(120).collect();
    let n = n.trim().trim_start_matches('.').to_string();
    if n.is_empty() {
        "attachment".into()
    } else {
        n
    }
}

/// `name`, or `name (2).ext`, … whichever does not exist yet.
fn free_name(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    if !p.exists() {
        return p;
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
        _ => (name.to_string(), String::new()),
    };
    (2..).map(|i| dir.join(format!("{stem} ({i}){ext}"))).find(|p| !p.exists()).expect("some numbered name is free")
}

/// `%XX` back to bytes (the header is `encodeURIComponent` of JSON).
fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_peers_stay_in_the_folder() {
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_name(".bashrc"), "bashrc");
        assert_eq!(safe_name("  "), "attachment");
        assert_eq!(safe_name("猫.png"), "猫.png");
    }

    #[test]
    fn taken_names_get_a_number() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.png"), b"x").unwrap();
        assert_eq!(free_name(d.path(), "a.png"), d.path().join("a (2).png"));
        assert_eq!(free_name(d.path(), "b"), d.path().join("b"));
    }

    #[test]
    fn header_decodes() {
        assert_eq!(percent_decode("%7B%22a%22%3A%22%E7%8C%AB%22%7D"), "{\"a\":\"猫\"}".as_bytes());
        assert_eq!(percent_decode("100%"), b"100%");
    }
}
