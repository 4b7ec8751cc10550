//! Recordings → Cloud: the relay's recordings of the user's calls (issue
//! 16), through the same client as `onair recordings cloud …`
//! (`onair_chat::cloud::CloudApi`). Playing one streams it from the relay
//! through the loopback media server (`/media/cloud/{id}`, which adds the
//! bearer token: the page never sees it); downloading writes it into the
//! local library with its bookmarks. `cloud_record` starts, stops or
//! answers a server recording of the call in progress; where it stands
//! reaches the Calls screen as `call://state` `cloud` (the relay pushes it).

use onair_chat::cloud::CloudApi;
use onair_proto::cloud::{CloudRecording, Tier};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager, State};

use super::chat::ChatState;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The event carrying download progress.
pub const DOWNLOAD_EVENT: &str = "recordings://cloud-download";

/// `recordings://cloud-download` payload.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CloudDownload {
    pub id: String,
    #[cfg_attr(test, ts(type = "number"))]
    pub done: u64,
    #[cfg_attr(test, ts(type = "number | null"))]
    pub total: Option<u64>,
}

pub(crate) fn api(chat: &ChatState) -> AppResult<CloudApi> {
    Ok(chat.remote()?.0.cloud())
}

/// The user's server recordings, newest first.
#[tauri::command]
pub async fn cloud_list(chat: State<'_, ChatState>) -> AppResult<Vec<CloudRecording>> {
    Ok(api(&chat)?.list().await?)
}

/// One recording with its bookmarks.
#[tauri::command]
pub async fn cloud_get(chat: State<'_, ChatState>, id: String) -> AppResult<CloudRecording> {
    Ok(api(&chat)?.show(&id).await?)
}

#[tauri::command]
pub async fn cloud_pin(chat: State<'_, ChatState>, id: String, pinned: bool) -> AppResult<()> {
    Ok(api(&chat)?.pin(&id, pinned).await?)
}

#[tauri::command]
pub async fn cloud_delete(chat: State<'_, ChatState>, id: String) -> AppResult<()> {
    Ok(api(&chat)?.delete(&id).await?)
}

/// The file name a downloaded recording gets: `cloud-PEER-DATE.mp4`
/// (the other participant as the user sees the call).
fn local_name(r: &CloudRecording, me: &str) -> String {
    let peer = if r.caller == me { &r.callee } else { &r.caller };
    let peer: String = peer.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect();
    format!("cloud-{peer}-{}.mp4", onair_media::library::utc_stamp(r.created_at / 1000, "_").replace(':', "-"))
}

/// Downloads the recording into the local library (with its bookmarks),
/// reporting progress as `recordings://cloud-download`; returns the local
/// recording's id. The file appears in the list only once whole.
#[tauri::command]
pub async fn cloud_download(app: AppHandle, chat: State<'_, ChatState>, id: String) -> AppResult<i64> {
    let (remote, me) = chat.remote()?;
    let api = remote.cloud();
    let r = api.show(&id).await?;
    let lib = app.state::<AppState>().library.clone();
    let dir = lib.recordings_dir().to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|e| AppError::io(format!("creating {}", dir.display()), e))?;
    let mut path = dir.join(local_name(&r, &me));
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = dir.join(local_name(&r, &me).replace(".mp4", &format!("-{n}.mp4")));
    }
    let (tx, rid) = (app.clone(), id.clone());
    let mut last = 0u64;
    let progress = move |done: u64, total: Option<u64>| {
        // At most every 256 KiB (and the end): the page redraws a bar.
        if done - last >= 256 << 10 || Some(done) == total {
            last = done;
            let _ = tx.emit(DOWNLOAD_EVENT, CloudDownload { id: rid.clone(), done, total });
        }
    };
    // "Encrypt recordings on this computer": the download is sealed as it
    // arrives, with a key of its own, as every local recording.
    let sealed = if lib.encrypt_recordings()? { Some(lib.begin_recording(&path, &path.with_extension("part"))?) } else { None };
    let key = sealed.as_ref().and_then(|(_, k)| k.clone());
    let got = match &key {
        Some(k) => api.download_through(&id, &path, |f| onair_media::crypt::SealingWriter::new(f, k), |w| w.finish(), progress).await,
        None => api.download(&id, &path, progress).await,
    };
    let bytes = match got {
        Ok(b) => b,
        Err(e) => {
            if let Some((lid, _)) = sealed {
                let _ = lib.delete(lid);
            }
            return Err(match e {
                onair_chat::cloud::DownloadError::Net(n) => AppError::Net(n),
                onair_chat::cloud::DownloadError::Io { path, source } => AppError::io(format!("writing {path}"), source),
            });
        }
    };
    let local = tauri::async_runtime::spawn_blocking(move || -> AppResult<i64> {
        let lid = match sealed {
            Some((lid, _)) => lid,
            None => lib.begin(&path, &path.with_extension("part"))?,
        };
        for b in &r.bookmarks {
            lib.add_bookmark(lid, b.t_ms, Some(&b.label))?;
        }
        lib.finish(lid, "done", Some(r.duration_ms), Some(bytes), None)?;
        Ok(lid)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    let _ = app.emit("recordings://changed", ());
    Ok(local)
}

/// What `cloud_record` does to the server recording of the call in progress.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CloudRecord {
    /// Ask the relay to record the call (at `tier`, else the relay's default).
    Start {
        #[serde(default)]
        #[cfg_attr(test, ts(optional))]
        tier: Option<Tier>,
    },
    Stop { id: String },
    /// Answer the other side's request.
    Answer { id: String, accept: bool },
    Bookmark { id: String, label: String },
}

/// Starts, stops or answers a server recording of the call in progress.
/// The outcome reaches the Calls screen as the relay's push
/// (`call://state` `cloud`); a refusal (the other side says never, the
/// relay's disk is full) is this command's error.
#[tauri::command]
pub async fn cloud_record(chat: State<'_, ChatState>, action: CloudRecord) -> AppResult<Option<CloudRecording>> {
    let api = api(&chat)?;
    Ok(match action {
        CloudRecord::Start { tier } => Some(api.start(tier).await?),
        CloudRecord::Stop { id } => {
            api.stop(&id).await?;
            None
        }
        CloudRecord::Answer { id, accept } => {
            api.answer(&id, accept).await?;
            None
        }
        CloudRecord::Bookmark { id, label } => {
            api.bookmark(&id, &label).await?;
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use onair_proto::cloud::CloudState;

    #[test]
    fn downloads_are_named_after_the_other_side() {
        let r = CloudRecording {
            id: "r0123456789abcdef".into(),
            call_id: "c1".into(),
            caller: "alice".into(),
            callee: "bob/../x".into(),
            started_by: "alice".into(),
            tier: Tier::P720,
            state: CloudState::Done,
            created_at: 1_700_000_000_000,
            ended_at: None,
            duration_ms: 1,
            bytes: 1,
            pinned: false,
            bookmarks: vec![],
            audit: vec![],
        };
        let n = local_name(&r, "alice");
        assert!(n.starts_with("cloud-bobx-2023-11-14"), "{n}");
        assert!(!n.contains('/') && !n.contains(':'), "{n}");
        assert!(local_name(&r, "bob/../x").starts_with("cloud-alice-"));
    }
}
