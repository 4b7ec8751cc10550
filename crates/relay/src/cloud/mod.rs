//! Server-side call recording (issue 16): the relay keeps each recording
//! encrypted at rest, for the call's two participants only.
//!
//! ```text
//! participant: POST /v1/cloud/recordings ─▶ consent rules ─▶ row (key wrapped by the master key) + job
//! recorder worker: POST /v1/recorder/claim ─▶ job; POST …/jobs/ID/media (fMP4 bytes) ─▶ vault::Writer ─▶ ID.part
//! stop / limit / recorder fail / relay restart ─▶ seal ─▶ remux with bookmarks as chapters ─▶ ID.vault
//! participant: GET /v1/cloud/recordings/ID/file (Range) ─▶ decrypt only the chunks asked for
//! ```
//!
//! Media never reaches the disk in the clear except during the final
//! remux (a temporary file in the relay's private folder, removed at once).
//! Every step and every access is written to the recording's audit.

pub mod legs;
pub mod remux;
pub mod routes;

use crate::error::{ApiError, StoreError};
use crate::state::{now_ms, AppState};
use crate::store::{CloudMark, CloudRow};
use onair_proto::cloud::*;
use onair_proto::{AuditEvent, ErrorCode};
use onair_vault::{FileKey, Writer};
use serde::Deserialize;
use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// `onair relay` settings for cloud recording.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CloudConfig {
    /// The master key that wraps every recording's key (32 raw bytes,
    /// created 0600 if absent); default: `recording.key` in the data folder.
    pub recording_key_file: Option<PathBuf>,
    /// The tier when the participant names none.
    pub default_tier: String,
    /// A recording stops by itself after this many seconds.
    pub max_secs: u64,
    /// A recording stops by itself at this size.
    pub max_bytes: u64,
    /// The disk guard: no recording starts, and a running one stops, while
    /// the data folder's disk has less than this free.
    pub min_free_bytes: u64,
    /// Unpinned recordings are deleted this many days after they end (0: kept).
    pub retention_days: u64,
    /// A running recording that no recorder worker took within this many
    /// seconds fails, so both sides hear of it instead of believing they
    /// are recorded.
    pub claim_secs: u64,
    /// Recorder workers authenticate with `Authorization: Bearer` this.
    pub recorder_token: Option<crate::config::Secret>,
}

impl Default for CloudConfig {
    fn default() -> Self {
        CloudConfig {
            recording_key_file: None,
            default_tier: "720p".into(),
            max_secs: 4 * 3600,
            max_bytes: 8 << 30,
            min_free_bytes: 1 << 30,
            claim_secs: 30,
            retention_days: 30,
            recorder_token: None,
        }
    }
}

/// A recording that has not ended, in memory.
struct Active {
    row: CloudRow,
    started_ms: i64,
    /// Claimed by a recorder worker.
    claimed: bool,
    /// When the worker last sent media (or claimed the job).
    last_media_ms: i64,
    writer: Option<Writer<File>>,
}

pub struct Cloud {
    pub cfg: CloudConfig,
    pub tier: Tier,
    dir: PathBuf,
    master: FileKey,
    active: Mutex<HashMap<String, Active>>,
    /// Participants' media legs on their way to the recording's worker.
    pub legs: legs::Legs,
}

/// A claimed job whose worker sends nothing for this long fails (the
/// worker crashed or lost the relay): both callers are told at once.
pub const WORKER_SILENT_MS: i64 = 10_000;

fn refused(code: ErrorCode, m: impl Into<String>) -> ApiError {
    ApiError::new(code, m)
}

pub fn row_state(s: &str) -> CloudState {
    match s {
        "pending" => CloudState::Pending,
        "recording" => CloudState::Recording,
        "done" => CloudState::Done,
        "declined" => CloudState::Declined,
        _ => CloudState::Failed,
    }
}

pub fn wire(r: &CloudRow, bookmarks: Vec<CloudMark>) -> CloudRecording {
    CloudRecording {
        id: r.id.clone(),
        call_id: r.call_id.clone(),
        caller: r.caller.clone(),
        callee: r.callee.clone(),
        started_by: r.started_by.clone(),
        tier: r.tier.parse().unwrap_or(Tier::P720),
        state: row_state(&r.state),
        created_at: r.created_at,
        ended_at: r.ended_at,
        duration_ms: r.duration_ms,
        bytes: r.bytes,
        pinned: r.pinned,
        bookmarks: bookmarks
            .into_iter()
            .map(|m| CloudBookmark {
                t_ms: m.t_ms,
                by: m.by,
                label: m.label,
            })
            .collect(),
        audit: Vec::new(),
    }
}

impl Cloud {
    /// Opens (or creates) the master key and the recordings folder.
    pub fn open(cfg: CloudConfig, data: &std::path::Path) -> Result<Cloud, String> {
        let tier: Tier = cfg.default_tier.parse()?;
        let dir = data.join("cloud");
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let key_path = cfg.recording_key_file.clone().unwrap_or_else(|| data.join("recording.key"));
        // The error names the file, never its bytes.
        let master = onair_vault::load_or_create_master(&key_path).map_err(|e| format!("--recording-key-file {}: {e}", key_path.display()))?;
        Ok(Cloud {
            cfg,
            tier,
            dir,
            master,
            active: Mutex::new(HashMap::new()),
            legs: legs::Legs::default(),
        })
    }

    fn part(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.part"))
    }

    pub fn file(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.vault"))
    }

    pub fn key(&self, r: &CloudRow) -> Result<FileKey, ApiError> {
        FileKey::unwrap(&self.master, &r.id, &r.wrapped_key).map_err(|e| {
            tracing::error!(recording = %r.id, error = %e, "a recording's key does not unwrap: was --recording-key-file changed?");
            refused(ErrorCode::Internal, "this recording cannot be decrypted with the relay's current key")
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Active>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The recorder's token matches (compared as hashes: no early exit).
    pub fn recorder_ok(&self, given: &str) -> bool {
        match &self.cfg.recorder_token {
            Some(t) if !t.0.is_empty() => crate::auth::token_hash(given) == crate::auth::token_hash(&t.0),
            _ => false,
        }
    }
}

/// Starts a recording of `user`'s call if the consent rules allow.
pub async fn start(app: &Arc<AppState>, cloud: &Arc<Cloud>, user: &str, req: StartCloudRecording) -> Result<CloudRecording, ApiError> {
    let me = user.to_string();
    let want = req.call_id.clone();
    let call = app
        .store_call(move |s| match want {
            Some(id) => Ok(s.call_audit(&id)?.filter(|a| a.accepted_at.is_some() && a.ended_at.is_none()).map(|a| (a.call_id, a.caller, a.callee))),
            None => s.cloud_live_call(&me),
        })
        .await?;
    // Someone else's call reads as no call: its existence is not told.
    let Some((call_id, caller, callee)) = call.filter(|(_, a, b)| a == user || b == user) else {
        return Err(refused(ErrorCode::NoSuchCall, "you are in no answered call to record (or it has ended)"));
    };
    let other = if caller == user { callee.clone() } else { caller.clone() };
    let (u, o) = (user.to_string(), other.clone());
    let (mine, theirs) = app.store_call(move |s| Ok((s.recording_consent(&u)?, s.recording_consent(&o)?))).await?;
    let answer = |a: &Option<String>| a.as_deref().and_then(|a| a.parse::<ConsentAnswer>().ok()).unwrap_or_default();
    let (mine, theirs) = (answer(&mine), answer(&theirs));
    if mine == ConsentAnswer::Never {
        call_step(app, &call_id, AuditEvent::CloudRefused, user).await;
        return Err(refused(
            ErrorCode::WrongState,
            "your standing answer to server recording is \"never\": change it with `onair recordings cloud consent allow` first",
        ));
    }
    if theirs == ConsentAnswer::Never {
        call_step(app, &call_id, AuditEvent::CloudRefused, user).await;
        return Err(refused(ErrorCode::WrongState, format!("{other} does not agree to server recording")));
    }
    if !free_space_ok(&cloud.dir, cloud.cfg.min_free_bytes) {
        return Err(refused(ErrorCode::QuotaExceeded, "the relay's disk is too full to record"));
    }
    let tier = req.tier.unwrap_or(cloud.tier);
    let pending = theirs == ConsentAnswer::Ask || app.calls.config.require_recording_consent;
    let id = {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).map_err(|e| refused(ErrorCode::Internal, format!("random: {e}")))?;
        format!("r{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>())
    };
    {
        let live = cloud.lock();
        if live.values().any(|a| a.row.call_id == call_id) {
            return Err(refused(ErrorCode::WrongState, "this call is already being recorded by the server (or waiting for an answer)"));
        }
    }
    let now = now_ms();
    let key = FileKey::random();
    let row = CloudRow {
        id: id.clone(),
        call_id: call_id.clone(),
        caller,
        callee,
        started_by: user.to_string(),
        tier: tier.name().into(),
        state: if pending { "pending" } else { "recording" }.into(),
        created_at: now,
        ended_at: None,
        duration_ms: 0,
        bytes: 0,
        wrapped_key: key.wrap(&cloud.master, &id),
        pinned: false,
    };
    let writer = if pending { None } else { Some(open_writer(cloud, &id, &key)?) };
    let r = row.clone();
    let by = user.to_string();
    app.store_call(move |s| {
        s.cloud_create(&r)?;
        s.cloud_access(&r.id, &by, if pending { "requested" } else { "started" }, now)
    })
    .await?;
    cloud.lock().insert(
        id,
        Active {
            row: row.clone(),
            started_ms: now,
            claimed: false,
            last_media_ms: now,
            writer,
        },
    );
    call_step(app, &row.call_id, if pending { AuditEvent::CloudRequested } else { AuditEvent::CloudStart }, user).await;
    tell(app, &row, if pending { CloudState::Pending } else { CloudState::Recording }, None);
    if !pending {
        claim_deadline(app, cloud, &row.id);
    }
    tracing::info!(recording = %row.id, call = %row.call_id, tier = tier.name(), pending, "cloud recording requested");
    Ok(wire(&row, Vec::new()))
}

/// Fails the claimed job `id` once its worker goes silent for
/// [`WORKER_SILENT_MS`] (a `kill -9`, a lost network): what it sent is kept.
pub fn watch_worker(app: &Arc<AppState>, cloud: &Arc<Cloud>, id: &str) {
    let (app, cloud, id) = (app.clone(), cloud.clone(), id.to_string());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            match cloud.worker_silent_ms(&id) {
                None => return,
                Some(ms) if ms > WORKER_SILENT_MS => {
                    tracing::warn!(recording = %id, "the recorder worker stopped sending; the recording fails with what it sent");
                    let _ = finish(&app, &cloud, &id, "failed", "relay", "the recorder stopped sending").await;
                    return;
                }
                Some(_) => {}
            }
        }
    });
}

fn claim_deadline(app: &Arc<AppState>, cloud: &Arc<Cloud>, id: &str) {
    let (app, cloud, id) = (app.clone(), cloud.clone(), id.to_string());
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(cloud.cfg.claim_secs)).await;
        let unclaimed = cloud.lock().get(&id).is_some_and(|a| !a.claimed);
        if unclaimed {
            tracing::warn!(recording = %id, "no recorder worker took the job: is one running with the relay's --recorder-token?");
            let _ = finish(&app, &cloud, &id, "failed", "relay", "no recorder worker").await;
        }
    });
}

/// Tells both participants, on every device and relay node, where the
/// recording stands (`Event::CloudRecording`), so no client has to poll
/// `GET /v1/cloud/live` (kept for old clients).
fn tell(app: &AppState, row: &CloudRow, state: CloudState, reason: Option<&str>) {
    let ev = onair_proto::Event::CloudRecording {
        id: row.id.clone(),
        call_id: row.call_id.clone(),
        state,
        started_by: row.started_by.clone(),
        tier: row.tier.parse().unwrap_or(Tier::P720),
        reason: reason.map(str::to_string),
    };
    crate::ws::publish(app, &[row.caller.clone(), row.callee.clone()], ev);
}

/// Writes a step to the call's audit (`GET /v1/calls/<id>/audit`); a
/// failure is logged, never a reason to refuse the request.
async fn call_step(app: &Arc<AppState>, call_id: &str, event: AuditEvent, by: &str) {
    let (id, who, at) = (call_id.to_string(), by.to_string(), now_ms());
    if let Err(e) = app.store_call(move |s| s.call_event(&id, event, &who, at)).await {
        tracing::warn!(call = %call_id, error = %e, "writing a call audit step failed");
    }
}

fn open_writer(cloud: &Cloud, id: &str, key: &FileKey) -> Result<Writer<File>, ApiError> {
    let f = File::create(cloud.part(id)).map_err(|e| refused(ErrorCode::Internal, format!("cannot write the recording: {e}")))?;
    Writer::new(f, key).map_err(|e| refused(ErrorCode::Internal, format!("cannot write the recording: {e}")))
}

/// The other participant's answer to a pending recording.
pub async fn answer(app: &Arc<AppState>, cloud: &Arc<Cloud>, user: &str, id: &str, accept: bool) -> Result<(), ApiError> {
    let (key, call_id, starter, row) = {
        let live = cloud.lock();
        let a = live.get(id).filter(|a| a.row.caller == user || a.row.callee == user).ok_or_else(not_found)?;
        if a.row.state != "pending" || a.row.started_by == user {
            return Err(refused(ErrorCode::WrongState, "no server recording is waiting for your answer"));
        }
        (cloud.key(&a.row)?, a.row.call_id.clone(), a.row.started_by.clone(), a.row.clone())
    };
    let (by, rid, now) = (user.to_string(), id.to_string(), now_ms());
    if !accept {
        cloud.lock().remove(id);
        call_step(app, &call_id, AuditEvent::CloudDeclined, user).await;
        tell(app, &row, CloudState::Declined, None);
        app.store_call(move |s| {
            s.cloud_access(&rid, &by, "declined", now)?;
            s.cloud_finish(&rid, "declined", Some(now), 0, 0)
        })
        .await?;
        return Ok(());
    }
    let w = open_writer(cloud, id, &key)?;
    call_step(app, &call_id, AuditEvent::CloudStart, &starter).await;
    claim_deadline(app, cloud, id);
    if let Some(a) = cloud.lock().get_mut(id) {
        a.row.state = "recording".into();
        a.started_ms = now;
        a.writer = Some(w);
    }
    app.store_call(move |s| {
        s.cloud_access(&rid, &by, "accepted", now)?;
        s.cloud_finish(&rid, "recording", None, 0, 0)
    })
    .await?;
    tell(app, &row, CloudState::Recording, None);
    Ok(())
}

fn not_found() -> ApiError {
    refused(ErrorCode::NotFound, "no such recording")
}

/// Bytes from the recorder: appended (encrypted) as they arrive. Past the
/// duration or size limit the recording stops by itself.
pub async fn append(app: &Arc<AppState>, cloud: &Arc<Cloud>, id: &str, data: &[u8]) -> Result<(), ApiError> {
    let over = {
        let mut live = cloud.lock();
        let a = live
            .get_mut(id)
            .filter(|a| a.claimed)
            .ok_or_else(|| refused(ErrorCode::NotFound, "no such job (it ended, or was not claimed)"))?;
        let w = a.writer.as_mut().ok_or_else(|| refused(ErrorCode::WrongState, "the recording has not started"))?;
        w.append(data).map_err(|e| refused(ErrorCode::Internal, format!("writing the recording: {e}")))?;
        a.last_media_ms = now_ms();
        let elapsed = (now_ms() - a.started_ms).max(0) as u64;
        // The disk is checked once per 64 MiB written: statvfs is cheap, not free.
        let crossed = w.len() / (64 << 20) != (w.len() - data.len() as u64) / (64 << 20);
        if w.len() > cloud.cfg.max_bytes {
            Some("size limit")
        } else if crossed && !free_space_ok(&cloud.dir, cloud.cfg.min_free_bytes) {
            Some("disk guard")
        } else if elapsed > cloud.cfg.max_secs * 1000 {
            Some("duration limit")
        } else {
            None
        }
    };
    if let Some(why) = over {
        finish(app, cloud, id, "done", "relay", why).await?;
        return Err(refused(ErrorCode::WrongState, format!("the recording stopped at its {why}")));
    }
    Ok(())
}

/// Ends a recording: seals the file, writes the final MP4 with chapters,
/// records the end. `state`: done or failed.
pub async fn finish(app: &Arc<AppState>, cloud: &Arc<Cloud>, id: &str, state: &str, by: &str, why: &str) -> Result<CloudRecording, ApiError> {
    let a = cloud.lock().remove(id).ok_or_else(not_found)?;
    cloud.legs.end(id);
    let key = cloud.key(&a.row)?;
    let rid = id.to_string();
    let marks = app.store_call(move |s| s.cloud_bookmarks(&rid)).await?;
    let (c, row, st) = (cloud.clone(), a.row.clone(), state.to_string());
    let chapters: Vec<(i64, String)> = marks
        .iter()
        .map(|m| (m.t_ms, if m.label.is_empty() { format!("Bookmark by {}", m.by) } else { m.label.clone() }))
        .collect();
    let sealed = a.writer.map(|w| w.finish().map(|_| ()));
    let (duration, bytes, state) = app
        .blocking(move || {
            if let Some(Err(e)) = sealed {
                tracing::warn!(recording = %row.id, error = %e, "sealing failed; recovering");
            }
            seal_and_remux(&c, &row.id, &key, &chapters, &st)
        })
        .await
        .map_err(ApiError::from)?;
    let (rid, who, action, now) = (id.to_string(), by.to_string(), format!("stopped ({why})"), now_ms());
    let s2 = state.clone();
    app.store_call(move |s| {
        s.cloud_access(&rid, &who, &action, now)?;
        s.cloud_finish(&rid, &s2, Some(now), duration, bytes)
    })
    .await?;
    tracing::info!(recording = %id, state = %state, duration_ms = duration, why, "cloud recording ended");
    let step = if state == "done" { AuditEvent::CloudStop } else { AuditEvent::CloudFailed };
    call_step(app, &a.row.call_id, step, by).await;
    let mut row = a.row;
    (row.state, row.ended_at, row.duration_ms, row.bytes) = (state, Some(now), duration, bytes);
    tell(app, &row, row_state(&row.state), Some(why));
    Ok(wire(&row, marks))
}

/// Part file → sealed → decrypted to a private temporary → remuxed with
/// chapters → encrypted to the final file. Returns (ms, plain bytes, state).
fn seal_and_remux(cloud: &Cloud, id: &str, key: &FileKey, chapters: &[(i64, String)], state: &str) -> (i64, i64, String) {
    let part = cloud.part(id);
    if !part.exists() {
        return (0, 0, "failed".into());
    }
    let _ = onair_vault::seal_recovered(&part, key);
    let tmp_in = cloud.dir.join(format!("{id}.tmp-in.mp4"));
    let tmp_out = cloud.dir.join(format!("{id}.tmp-out.mp4"));
    let result = (|| -> Result<(i64, i64), String> {
        decrypt_to(&part, key, &tmp_in)?;
        let ms = remux::remux(&tmp_in, &tmp_out, chapters)?;
        let bytes = encrypt_to(&tmp_out, key, &cloud.file(id))?;
        Ok((ms, bytes))
    })();
    let _ = std::fs::remove_file(&tmp_in);
    let _ = std::fs::remove_file(&tmp_out);
    match result {
        Ok((ms, bytes)) => {
            let _ = std::fs::remove_file(&part);
            (ms, bytes, state.into())
        }
        Err(e) => {
            // Keep what there is (the fragmented file plays without chapters).
            tracing::warn!(recording = %id, error = %e, "final remux failed; keeping the fragmented recording");
            let len = onair_vault::open(&part, key).map(|r| r.len() as i64).unwrap_or(0);
            let _ = std::fs::rename(&part, cloud.file(id));
            (0, len, "failed".into())
        }
    }
}

fn decrypt_to(src: &std::path::Path, key: &FileKey, dst: &std::path::Path) -> Result<(), String> {
    use std::io::Write;
    let mut r = onair_vault::open(src, key).map_err(|e| e.to_string())?;
    let mut out = private_file(dst)?;
    let n = r.len();
    r.read_range(0, n, |b| out.write_all(b).map_err(Into::into)).map_err(|e| e.to_string())
}

fn encrypt_to(src: &std::path::Path, key: &FileKey, dst: &std::path::Path) -> Result<i64, String> {
    use std::io::Read;
    let mut f = File::open(src).map_err(|e| e.to_string())?;
    let tmp = dst.with_extension("vault.tmp");
    let mut w = Writer::new(std::io::BufWriter::new(private_file(&tmp)?), key).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; onair_vault::CHUNK];
    loop {
        let n = f.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        w.append(&buf[..n]).map_err(|e| e.to_string())?;
    }
    let len = w.len() as i64;
    let out = w.finish().map_err(|e| e.to_string())?;
    out.into_inner().map_err(|e| e.to_string())?.sync_all().map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, dst).map_err(|e| e.to_string())?;
    Ok(len)
}

fn private_file(p: &std::path::Path) -> Result<File, String> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(p).map_err(|e| format!("{}: {e}", p.display()))
}

/// Whether the disk holding `dir` has at least `need` bytes free.
fn free_space_ok(dir: &std::path::Path, need: u64) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else { return true };
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: a valid C string and a zeroed out-struct.
        if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
            return true;
        }
        (st.f_bavail as u64).saturating_mul(st.f_frsize as u64) >= need
    }
    #[cfg(not(unix))]
    {
        let _ = (dir, need);
        true
    }
}

/// At start: recordings a crash interrupted are sealed up to their last
/// complete chunk, finalised and marked failed (the callers, polling, see
/// it stopped).
pub async fn recover(app: &Arc<AppState>, cloud: &Arc<Cloud>) -> Result<(), StoreError> {
    let rows = app.store_call(|s| s.cloud_unfinished()).await?;
    for row in rows {
        let Ok(key) = cloud.key(&row) else { continue };
        cloud.lock().insert(
            row.id.clone(),
            Active {
                row: row.clone(),
                started_ms: row.created_at,
                claimed: false,
                last_media_ms: row.created_at,
                writer: None,
            },
        );
        if let Err(e) = finish(app, cloud, &row.id, "failed", "relay", "relay restarted").await {
            tracing::warn!(recording = %row.id, error = %e, "recovery failed");
        }
        drop(key);
    }
    Ok(())
}

/// Hourly: deletes unpinned recordings past the retention.
pub async fn sweep(app: Arc<AppState>, cloud: Arc<Cloud>) {
    if cloud.cfg.retention_days == 0 {
        return;
    }
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let before = now_ms() - cloud.cfg.retention_days as i64 * 86_400_000;
        let Ok(ids) = app.store_call(move |s| s.cloud_expired(before)).await else { continue };
        for id in ids {
            let _ = std::fs::remove_file(cloud.file(&id));
            let now = now_ms();
            let _ = app
                .store_call(move |s| {
                    s.cloud_access(&id, "relay", "deleted (retention)", now)?;
                    s.cloud_delete(&id)
                })
                .await;
        }
    }
}

/// The job API's side of the active map.
impl Cloud {
    /// Hands the oldest unclaimed running recording to a worker.
    pub fn claim(&self) -> Option<RecorderJob> {
        let mut live = self.lock();
        let a = live.values_mut().filter(|a| !a.claimed && a.writer.is_some()).min_by_key(|a| a.started_ms)?;
        a.claimed = true;
        a.last_media_ms = now_ms();
        Some(RecorderJob {
            id: a.row.id.clone(),
            call_id: a.row.call_id.clone(),
            tier: a.row.tier.parse().unwrap_or(Tier::P720),
            max_secs: self.cfg.max_secs,
        })
    }

    /// Milliseconds since the recording started, for a bookmark.
    pub fn elapsed(&self, id: &str, user: &str) -> Result<i64, ApiError> {
        let live = self.lock();
        let a = live.get(id).filter(|a| a.row.caller == user || a.row.callee == user).ok_or_else(not_found)?;
        if a.writer.is_none() {
            return Err(refused(ErrorCode::WrongState, "the recording is not running"));
        }
        Ok((now_ms() - a.started_ms).max(0))
    }

    /// The recordings of `user`'s calls that are running or waiting for an
    /// answer: what clients poll to show "Recorded by the server".
    pub fn live_for(&self, user: &str) -> Vec<CloudRecording> {
        let live = self.lock();
        let mut v: Vec<_> = live.values().filter(|a| a.row.caller == user || a.row.callee == user).map(|a| wire(&a.row, Vec::new())).collect();
        v.sort_by_key(|r| r.created_at);
        v
    }

    /// Which side `user` is of the running, claimed recording `id`
    /// (`caller` or `callee`): what a media leg needs.
    pub fn leg_side(&self, id: &str, user: &str) -> Result<&'static str, ApiError> {
        let live = self.lock();
        let a = live.get(id).filter(|a| a.row.caller == user || a.row.callee == user).ok_or_else(not_found)?;
        if a.writer.is_none() {
            return Err(refused(ErrorCode::WrongState, "the recording is not running"));
        }
        Ok(if a.row.caller == user { "caller" } else { "callee" })
    }

    /// Milliseconds since the claimed job `id`'s worker last sent media
    /// (None: the job ended).
    pub fn worker_silent_ms(&self, id: &str) -> Option<i64> {
        self.lock().get(id).filter(|a| a.claimed).map(|a| now_ms() - a.last_media_ms)
    }

    /// Whether `id` is a running job a worker claimed.
    pub fn claimed(&self, id: &str) -> bool {
        self.lock().get(id).is_some_and(|a| a.claimed)
    }

    /// Whether `user` may act on the running recording `id`.
    pub fn running_for(&self, id: &str, user: &str) -> bool {
        self.lock().get(id).is_some_and(|a| a.row.caller == user || a.row.callee == user)
    }
}
