//! The go-live controller: the one state machine behind `onair live` /
//! `onair record` and the app's Go live screen.
//!
//! ```text
//!   idle ──preview()──▶ preview ──start()──▶ running ──stop() / ended──▶ idle
//!     └─────────────────────────start()────────▲
//! ```
//!
//! It owns at most one [`Pipeline`]: a preview (captures and composes, no
//! output) while the user sets up, replaced on Start by the full job (the
//! preview held the devices, so it is stopped first). It checks a start
//! (something to do, no destination twice), names recordings one way for
//! both front doors ([`recording_name`]), notices a job that ended by itself
//! (duration, disk space, source ended, failure: [`GoLive::finish_if_ended`])
//! and stops it so the recording is finalised, and answers bookmarks and
//! stats. Its methods block (starting opens devices, stopping finalises the
//! MP4): the CLI calls them from its main thread, the app from blocking
//! threads. Reads ([`GoLive::status`]) never wait for a start or stop.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use onair_beauty::BeautyParams;

use crate::library::{utc_stamp, Bookmark, Library};
use crate::pipeline::{Pipeline, PipelineConfig, StopReason, Summary};
use crate::preview::PreviewTap;
use crate::stats::StatsSnapshot;
use crate::{MediaError, Result};

/// `PREFIX-YYYY-MM-DD_HH-MM-SS.mp4` in UTC: sorts by time, reads as a date,
/// and has no `:` (which Windows and macOS's Finder refuse).
pub fn recording_name(prefix: &str, unix_secs: i64) -> String {
    format!("{prefix}-{}.mp4", utc_stamp(unix_secs, "_").replace(':', "-"))
}

/// A new recording's path in `dir`: [`recording_name`], with `-2`, `-3`, …
/// added when a file of that name exists (two starts in one second must not
/// overwrite each other).
pub fn new_recording_path(dir: &Path, prefix: &str, unix_secs: i64) -> PathBuf {
    let first = dir.join(recording_name(prefix, unix_secs));
    if !first.exists() {
        return first;
    }
    let stem = recording_name(prefix, unix_secs).trim_end_matches(".mp4").to_string();
    (2..)
        .map(|n| dir.join(format!("{stem}-{n}.mp4")))
        .find(|p| !p.exists())
        .expect("an unbounded range always has a free name")
}

/// What the controller is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Idle,
    Preview,
    Running,
    /// Stop is finalising the recording.
    Stopping,
}

/// A snapshot for a status line, the app's screen or its tray.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Status {
    pub phase: Phase,
    /// Destination names (keys hidden), in the order given.
    pub destinations: Vec<String>,
    pub recording: Option<PathBuf>,
    /// When the running job started (Unix ms); None for a preview.
    pub started_unix_ms: Option<u64>,
    pub sources: Vec<String>,
    pub encoder: Option<String>,
    pub stats: Option<StatsSnapshot>,
    /// The audio mixer: each source's volume, mute and level.
    pub mixer: Vec<crate::source::fader::FaderView>,
    /// How many fader changes `mixer` already shows (see
    /// [`GoLive::set_fader`]): a screen that made change N ignores older
    /// reports instead of showing the fader jump back.
    pub mixer_gen: u64,
}

struct Job {
    pipeline: Pipeline,
    preview: bool,
    destinations: Vec<String>,
    recording: Option<PathBuf>,
    started_unix_ms: Option<u64>,
}

/// The controller (see the module docs). `Sync`: one per process, shared.
#[derive(Default)]
pub struct GoLive {
    job: Mutex<Option<Job>>,
    /// Held through a whole transition, so two clicks (or a click and an
    /// auto-stop) cannot interleave; reads take only `job`.
    ops: Mutex<()>,
    stopping: AtomicBool,
    /// Volume and mute per audio source name (see [`GoLive::set_fader`]).
    faders: Mutex<Vec<(String, f32, bool)>>,
    /// Fader changes so far; changed and read under the `job` lock.
    fader_gen: std::sync::atomic::AtomicU64,
}

fn busy(m: &str) -> MediaError {
    MediaError::Busy(m.into())
}

/// Checks a job before anything opens: something to do, each destination once.
pub fn check_start(cfg: &PipelineConfig) -> Result<()> {
    if cfg.live.is_empty() && cfg.record.is_none() {
        return Err(MediaError::Invalid("choose a destination or turn recording on".into()));
    }
    for (i, d) in cfg.live.iter().enumerate() {
        if cfg.live[..i].iter().any(|o| o.url.expose() == d.url.expose()) {
            return Err(MediaError::Invalid(format!("destination {} is given twice", d.name)));
        }
    }
    Ok(())
}

impl GoLive {
    pub fn new() -> Self {
        Self::default()
    }

    fn job(&self) -> MutexGuard<'_, Option<Job>> {
        self.job.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn op(&self) -> MutexGuard<'_, ()> {
        self.ops.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn phase(&self) -> Phase {
        match self.job().as_ref() {
            None if self.stopping.load(Ordering::Acquire) => Phase::Stopping,
            None => Phase::Idle,
            Some(j) if j.preview => Phase::Preview,
            Some(_) => Phase::Running,
        }
    }

    pub fn status(&self) -> Status {
        let phase = self.phase();
        let g = self.job();
        let j = g.as_ref();
        Status {
            phase,
            destinations: j.map(|j| j.destinations.clone()).unwrap_or_default(),
            recording: j.and_then(|j| j.recording.clone()),
            started_unix_ms: j.and_then(|j| j.started_unix_ms),
            sources: j.map(|j| j.pipeline.sources().to_vec()).unwrap_or_default(),
            encoder: j.and_then(|j| j.pipeline.encoder_name().map(str::to_string)),
            stats: j.map(|j| j.pipeline.stats()),
            mixer: j.map(|j| j.pipeline.mixer()).unwrap_or_default(),
            mixer_gen: self.fader_gen.load(Ordering::Acquire),
        }
    }

    /// Starts (or restarts with other sources) the preview. Refused while
    /// running: the sources are fixed until Stop.
    pub fn preview(&self, mut cfg: PipelineConfig, tap: PreviewTap) -> Result<()> {
        let _op = self.op();
        if self.phase() == Phase::Running {
            return Err(busy("stop first: the sources cannot change while live or recording"));
        }
        self.drop_preview()?;
        cfg.live.clear();
        cfg.record = None;
        let pipeline = Pipeline::start_with_preview(cfg, None, Some(tap))?;
        self.restore_faders(&pipeline);
        *self.job() = Some(Job {
            pipeline,
            preview: true,
            destinations: vec![],
            recording: None,
            started_unix_ms: None,
        });
        Ok(())
    }

    /// Stops the preview, if one runs (a running job is left alone).
    pub fn stop_preview(&self) -> Result<()> {
        let _op = self.op();
        self.drop_preview()
    }

    fn drop_preview(&self) -> Result<()> {
        let old = {
            let mut g = self.job();
            if g.as_ref().is_some_and(|j| j.preview) {
                g.take()
            } else {
                None
            }
        };
        if let Some(old) = old {
            old.pipeline.stop()?;
        }
        Ok(())
    }

    /// Goes live to `cfg.live` and/or records to `cfg.record`, replacing the
    /// preview. On failure nothing runs (the preview is gone too: its
    /// devices were let go for the job), and the error says why.
    pub fn start(&self, cfg: PipelineConfig, library: Option<Arc<Library>>, tap: Option<PreviewTap>) -> Result<()> {
        let _op = self.op();
        if self.phase() == Phase::Running {
            return Err(busy("already running: stop first"));
        }
        check_start(&cfg)?;
        self.drop_preview()?;
        let destinations = cfg.live.iter().map(|d| d.name.clone()).collect();
        let recording = cfg.record.clone();
        let pipeline = Pipeline::start_with_preview(cfg, library, tap)?;
        self.restore_faders(&pipeline);
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        *self.job() = Some(Job {
            pipeline,
            preview: false,
            destinations,
            recording,
            started_unix_ms: Some(started),
        });
        Ok(())
    }

    /// Stops the running job and finalises its recording.
    pub fn stop(&self) -> Result<Summary> {
        let _op = self.op();
        self.stop_running()?.ok_or_else(|| busy("nothing is running"))
    }

    fn stop_running(&self) -> Result<Option<Summary>> {
        self.stopping.store(true, Ordering::Release);
        let job = {
            let mut g = self.job();
            if g.as_ref().is_some_and(|j| !j.preview) {
                g.take()
            } else {
                None
            }
        };
        let r = job.map(|j| j.pipeline.stop()).transpose();
        self.stopping.store(false, Ordering::Release);
        r
    }

    /// Why the running job should stop by itself, if it should.
    pub fn ended(&self) -> Option<StopReason> {
        self.job().as_ref().filter(|j| !j.preview).and_then(|j| j.pipeline.poll())
    }

    /// Auto-stop: when the running job ended by itself, stops it (finalising
    /// the recording) and says why. Call a few times a second. Skips a beat
    /// while another transition is under way.
    pub fn finish_if_ended(&self) -> Option<(StopReason, Result<Summary>)> {
        let _op = self.ops.try_lock().ok()?;
        let reason = self.ended()?;
        let summary = self.stop_running().and_then(|s| s.ok_or_else(|| busy("nothing is running")));
        Some((reason, summary))
    }

    /// A bookmark at the running recording's current time, saved at once.
    pub fn bookmark(&self, label: Option<&str>) -> Result<Bookmark> {
        let g = self.job();
        let j = g
            .as_ref()
            .filter(|j| !j.preview && j.pipeline.is_recording())
            .ok_or_else(|| busy("bookmarks need a recording in progress"))?;
        j.pipeline.bookmark(label.filter(|l| !l.is_empty()))
    }

    /// Changes the beauty filter of the preview or the job, from the next frame.
    pub fn set_beauty(&self, p: BeautyParams) -> Result<bool> {
        let g = self.job();
        let j = g.as_ref().ok_or_else(|| busy("nothing is running"))?;
        Ok(j.pipeline.set_beauty(p))
    }

    /// Sets an audio source's volume and mute on the preview or the job.
    /// Kept by the source's name, so what was set on the preview holds when
    /// Start opens the sources again. Returns the change's generation
    /// ([`Status::mixer_gen`]).
    pub fn set_fader(&self, index: usize, volume: f32, muted: bool) -> Result<u64> {
        let g = self.job();
        let j = g.as_ref().ok_or_else(|| busy("nothing is running"))?;
        j.pipeline.set_fader(index, volume, muted)?;
        let name = j.pipeline.mixer()[index].name.clone();
        let mut kept = self.faders.lock().unwrap_or_else(|p| p.into_inner());
        kept.retain(|(n, _, _)| *n != name);
        kept.push((name, volume, muted));
        // Under the job lock, as `status` reads it: a status showing this
        // generation shows this change.
        Ok(self.fader_gen.fetch_add(1, Ordering::AcqRel) + 1)
    }

    /// Applies the kept fader settings to a new pipeline's sources.
    fn restore_faders(&self, p: &Pipeline) {
        let kept = self.faders.lock().unwrap_or_else(|p| p.into_inner());
        for (i, f) in p.mixer().iter().enumerate() {
            if let Some((_, v, m)) = kept.iter().find(|(n, _, _)| *n == f.name) {
                let _ = p.set_fader(i, *v, *m);
            }
        }
    }

    /// On exit: stops whatever runs, so a recording is finalised.
    pub fn shutdown(&self) -> Result<Option<Summary>> {
        let _op = self.op();
        self.drop_preview()?;
        self.stop_running()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_dates_and_sort_by_time() {
        assert_eq!(recording_name("onair", 1_795_000_000), "onair-2026-11-18_11-06-40.mp4");
        assert!(recording_name("onair", 1_795_000_000) < recording_name("onair", 1_795_000_001));
    }

    #[test]
    fn a_second_recording_in_the_same_second_gets_its_own_name() {
        let dir = tempfile::tempdir().unwrap();
        let a = new_recording_path(dir.path(), "onair", 0);
        std::fs::write(&a, b"x").unwrap();
        let b = new_recording_path(dir.path(), "onair", 0);
        assert_eq!(b.file_name().unwrap(), "onair-1970-01-01_00-00-00-2.mp4");
    }

    #[test]
    fn nothing_to_do_is_refused_before_anything_opens() {
        let g = GoLive::new();
        let cfg = PipelineConfig {
            video: crate::source::VideoSpec::Test,
            overlay: None,
            audio: vec![],
            looped: false,
            camera_mode: None,
            encoding: Default::default(),
            live: vec![],
            record: None,
            limits: Default::default(),
            beauty: None,
        };
        let e = g.start(cfg, None, None).unwrap_err().to_string();
        assert!(e.contains("choose a destination"), "{e}");
        assert_eq!(g.phase(), Phase::Idle);
        assert!(g.stop().unwrap_err().to_string().contains("nothing is running"));
    }
}
