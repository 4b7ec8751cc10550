//! Live rooms: rooms and stream keys (stored), who is on air (memory), RTMP
//! ingest ([`rtmp`]), HLS output ([`hls`]) and their HTTP routes ([`routes`]).
//!
//! The life of a live frame: publisher → RTMP socket (driver in [`rtmp`]) →
//! `onair_ingest::Session` (handshake, publish policy, FLV tag → access
//! unit) → bounded queue → HLS writer thread (FFmpeg's `hls` muxer: MPEG-TS
//! segments of one GOP and a sliding playlist `ts.m3u8` under
//! `DATA/live/ROOM/`); and → fan-out ([`fanout`]: HTTP-FLV, fragmented MP4,
//! and low-latency HLS made from the fragments in memory, [`llhls`], whose
//! multivariant playlist is `/live/ROOM/index.m3u8`).

pub mod access;
pub mod chat;
pub mod edge;
pub mod fanout;
pub mod fmp4;
pub mod follows;
#[doc(hidden)]
pub mod fuzzing;
pub mod hls;
pub mod ladder;
pub mod llhls;
pub mod player;
pub mod replay;
pub mod replay_ladder;
pub mod routes;
pub mod rtmp;
pub mod ticket;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// A room that is on air now.
#[derive(Debug, Clone)]
pub struct OnAir {
    /// Wall-clock ms when the publisher was accepted.
    pub started_at: i64,
    /// The ingest connection that holds the room.
    pub conn: u64,
    /// min(arrival wall-clock ms − RTMP timestamp ms) over video packets:
    /// the wall-clock time of RTMP timestamp 0 as seen by the fastest packet.
    /// Viewers use it to turn the test source's stamps into latency.
    pub clock_anchor_ms: Option<i64>,
    pub video_packets: u64,
    /// Pulled from the origin node that has the publisher (`edge`), rather
    /// than published here.
    pub edge: bool,
    /// Ends this live (the owner stopped it or rotated the key).
    pub stop: Arc<tokio::sync::Notify>,
}

/// Live state shared by the ingest driver and the HTTP routes.
pub struct Live {
    /// Where the MPEG-TS HLS files go: `DIR/ROOM_ID/ts.m3u8`.
    pub dir: PathBuf,
    rtmp_addr: OnceLock<SocketAddr>,
    rtmps_addr: OnceLock<SocketAddr>,
    on_air: Mutex<HashMap<String, OnAir>>,
    /// Replays kept per room (see `Config::replays_kept`).
    pub replays_kept: usize,
    /// Low-latency (HTTP-FLV) fan-out of each room on air.
    fanouts: Mutex<HashMap<String, Arc<fanout::Fanout>>>,
    /// The key that signs publish and watch tickets (read once from the store).
    ticket_secret: OnceLock<Vec<u8>>,
    /// Where finished replays go (`DATA/replays`, or a folder every node shares).
    replays: PathBuf,
    /// When each room's HLS files were last asked for (an edge keeps
    /// pulling while HLS viewers come back for more; `ROOM/RUNG` for a rung).
    hls_seen: Mutex<HashMap<String, std::time::Instant>>,
    /// The relay's quality ladder (`--ladder`): rungs below the source.
    pub ladder: Vec<ladder::Rung>,
    /// Each live room's rungs and their fan-outs.
    rungs: Mutex<HashMap<String, Vec<(ladder::Rung, Arc<fanout::Fanout>)>>>,
}

impl Live {
    pub fn new(dir: PathBuf) -> Self {
        let replays = dir.with_file_name("replays");
        Live {
            dir,
            replays_kept: 20,
            rtmp_addr: OnceLock::new(),
            rtmps_addr: OnceLock::new(),
            on_air: Mutex::new(HashMap::new()),
            fanouts: Mutex::new(HashMap::new()),
            ticket_secret: OnceLock::new(),
            replays,
            hls_seen: Mutex::new(HashMap::new()),
            ladder: Vec::new(),
            rungs: Mutex::new(HashMap::new()),
        }
    }

    fn rung_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<(ladder::Rung, Arc<fanout::Fanout>)>>> {
        self.rungs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fresh fan-outs for `room`'s rungs and a transcoder feeding them (None
    /// without a ladder). A rung is wanted while it has a stream open or an
    /// HLS request within the edge's idle time.
    pub fn ladder_start(self: &Arc<Self>, room: &str, ladder: &[ladder::Rung]) -> Option<ladder::Ladder> {
        if ladder.is_empty() {
            return None;
        }
        let rungs: Vec<(ladder::Rung, Arc<fanout::Fanout>)> = ladder.iter().map(|r| (*r, Arc::new(fanout::Fanout::default()))).collect();
        self.rung_map().insert(room.to_string(), rungs.clone());
        let outs = rungs
            .into_iter()
            .map(|(rung, fan)| {
                let (live, key, f) = (Arc::downgrade(self), format!("{room}/{}", rung.name), fan.clone());
                let wanted = move || f.viewers() > 0 || live.upgrade().and_then(|l| l.hls_idle(&key)).is_some_and(|d| d < edge::IDLE);
                ladder::Out { rung, fan, wanted: Box::new(wanted) }
            })
            .collect();
        Some(ladder::Ladder::start(room, outs))
    }

    /// The rungs made below `room`'s source: the owner's choice at creation,
    /// else the relay's `--ladder` (a stored list that no longer parses,
    /// say after a downgrade, falls back to the relay's).
    pub fn ladder_for(&self, room: &crate::store::rooms::RoomRow) -> Vec<ladder::Rung> {
        match room.ladder.as_deref().map(ladder::parse) {
            Some(Ok(rungs)) => rungs,
            Some(Err(e)) => {
                tracing::warn!(room = %room.id, "the room's stored ladder: {e}; using the relay's");
                self.ladder.clone()
            }
            None => self.ladder.clone(),
        }
    }

    /// The live in `room` ended: its rungs' streams and playlists end.
    pub fn ladder_end(&self, room: &str) {
        if let Some(rungs) = self.rung_map().remove(room) {
            rungs.iter().for_each(|(_, f)| f.ll_end());
        }
    }

    /// `room`'s rungs now (empty without a ladder or a live).
    pub fn rungs(&self, room: &str) -> Vec<(ladder::Rung, Arc<fanout::Fanout>)> {
        self.rung_map().get(room).cloned().unwrap_or_default()
    }

    /// Replays go to `dir` instead (`--shared-dir`: one folder for every node).
    pub fn set_replays_dir(&mut self, dir: PathBuf) {
        self.replays = dir;
    }

    /// An HLS file of `room` was asked for now.
    pub fn touch(&self, room: &str) {
        self.hls_seen.lock().unwrap_or_else(|p| p.into_inner()).insert(room.to_string(), std::time::Instant::now());
    }

    /// How long ago `room`'s HLS files were last asked for (None: never).
    pub fn hls_idle(&self, room: &str) -> Option<std::time::Duration> {
        self.hls_seen.lock().unwrap_or_else(|p| p.into_inner()).get(room).map(|t| t.elapsed())
    }

    /// The secret tickets are signed with: made once per relay database and
    /// kept there (tickets outlive a restart; nodes sharing a store agree).
    pub fn ticket_secret(&self, store: &dyn crate::store::Store) -> Result<Vec<u8>, crate::error::StoreError> {
        if let Some(s) = self.ticket_secret.get() {
            return Ok(s.clone());
        }
        let mut fresh = vec![0u8; 32];
        // No randomness means no secret: refuse rather than make a guessable one.
        getrandom::fill(&mut fresh).map_err(|e| crate::error::StoreError::Corrupt(format!("no randomness for the ticket secret: {e}")))?;
        let s = store.secret("room_tickets", &|| fresh.clone())?;
        if s.len() < 32 {
            return Err(crate::error::StoreError::Corrupt("the stored ticket secret is too short".into()));
        }
        Ok(self.ticket_secret.get_or_init(|| s).clone())
    }

    /// `DATA/replays`, beside `DATA/live`, unless set elsewhere.
    pub fn replays_dir(&self) -> PathBuf {
        self.replays.clone()
    }

    pub fn set_rtmp_addr(&self, a: SocketAddr) {
        let _ = self.rtmp_addr.set(a);
    }

    pub fn rtmp_addr(&self) -> Option<SocketAddr> {
        self.rtmp_addr.get().copied()
    }

    /// `rtmp://ADDR/live/KEY` for publishers (the key is the caller's to show).
    pub fn rtmp_url(&self, key: &str) -> Option<String> {
        self.rtmp_addr().map(|a| format!("rtmp://{a}/live/{key}"))
    }

    pub fn set_rtmps_addr(&self, a: SocketAddr) {
        let _ = self.rtmps_addr.set(a);
    }

    /// `rtmps://ADDR/live/KEY` when the relay runs RTMPS ingest.
    pub fn rtmps_url(&self, key: &str) -> Option<String> {
        self.rtmps_addr.get().map(|a| format!("rtmps://{a}/live/{key}"))
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, OnAir>> {
        // A poisoned lock only means a panic elsewhere; the map stays valid.
        self.on_air.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claims `room` for publisher connection `conn`; false if someone is
    /// on air there. A pull from another node gives way: the publisher is
    /// here now (it moved, say, when its node died).
    pub fn try_start(&self, room: &str, conn: u64, now_ms: i64) -> bool {
        let mut m = self.map();
        match m.get(room) {
            Some(o) if o.edge => o.stop.notify_one(),
            Some(_) => return false,
            None => {}
        }
        m.insert(room.into(), OnAir { started_at: now_ms, conn, clock_anchor_ms: None, video_packets: 0, edge: false, stop: Arc::new(tokio::sync::Notify::new()) });
        true
    }

    /// Claims `room` for a pull from its origin node; false if it is on air
    /// here already (published here, or pulled).
    pub fn try_start_edge(&self, room: &str, conn: u64, now_ms: i64) -> bool {
        let mut m = self.map();
        if m.contains_key(room) {
            return false;
        }
        m.insert(room.into(), OnAir { started_at: now_ms, conn, clock_anchor_ms: None, video_packets: 0, edge: true, stop: Arc::new(tokio::sync::Notify::new()) });
        true
    }

    /// The origin's clock anchor, for a pulled live (the earliest wins).
    pub fn note_anchor(&self, room: &str, anchor_ms: i64) {
        if let Some(o) = self.map().get_mut(room) {
            o.clock_anchor_ms = Some(o.clock_anchor_ms.map_or(anchor_ms, |b| b.min(anchor_ms)));
        }
    }

    /// Asks the publisher on air in `room` to end; false if none is.
    pub fn stop(&self, room: &str) -> bool {
        match self.map().get(room) {
            Some(o) => {
                // A stored permit: the driver sees it even if it is busy now.
                o.stop.notify_one();
                true
            }
            None => false,
        }
    }

    /// Releases `room` if `conn` still holds it.
    pub fn end(&self, room: &str, conn: u64) {
        let mut m = self.map();
        if m.get(room).is_some_and(|o| o.conn == conn) {
            m.remove(room);
        }
    }

    pub fn note_video(&self, room: &str, arrival_ms: i64, pts_ms: i64) {
        if let Some(o) = self.map().get_mut(room) {
            o.video_packets += 1;
            let a = arrival_ms - pts_ms;
            o.clock_anchor_ms = Some(o.clock_anchor_ms.map_or(a, |b| b.min(a)));
        }
    }

    /// A fresh fan-out for a live that starts now.
    pub fn fanout_start(&self, room: &str) -> Arc<fanout::Fanout> {
        let f = Arc::new(fanout::Fanout::default());
        self.fanouts.lock().unwrap_or_else(|p| p.into_inner()).insert(room.into(), f.clone());
        f
    }

    /// Ends `f` (its viewers' streams end when the last sender goes).
    pub fn fanout_end(&self, room: &str, f: &Arc<fanout::Fanout>) {
        // Players blocked on the next part hear of the end at once.
        f.ll_end();
        let mut m = self.fanouts.lock().unwrap_or_else(|p| p.into_inner());
        if m.get(room).is_some_and(|g| Arc::ptr_eq(g, f)) {
            m.remove(room);
        }
    }

    pub fn fanout(&self, room: &str) -> Option<Arc<fanout::Fanout>> {
        self.fanouts.lock().unwrap_or_else(|p| p.into_inner()).get(room).cloned()
    }

    pub fn on_air(&self, room: &str) -> Option<OnAir> {
        self.map().get(room).cloned()
    }

    pub fn live_rooms(&self) -> HashMap<String, OnAir> {
        self.map().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_publisher_per_room_and_anchor_is_the_minimum() {
        let l = Live::new(PathBuf::new());
        assert!(l.try_start("r", 1, 100));
        assert!(!l.try_start("r", 2, 101));
        l.end("r", 2);
        assert!(l.on_air("r").is_some(), "a refused publisher must not end the live one");
        l.note_video("r", 1_000, 0);
        l.note_video("r", 1_050, 40);
        l.note_video("r", 1_100, 60);
        assert_eq!(l.on_air("r").unwrap().clock_anchor_ms, Some(1_000));
        l.end("r", 1);
        assert!(l.on_air("r").is_none());
    }
}
