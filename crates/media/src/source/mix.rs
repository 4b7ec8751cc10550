//! Several audio sources summed into one (`--audio mic --audio desktop`).
//!
//! Each source runs on a thread of its own (a microphone and the desktop
//! monitor each block on their device), and hands chunks over a bounded
//! channel. The mixer lays them on one timeline by their capture times and
//! emits 20 ms chunks paced by the clock, a little behind real time
//! ([`SLACK`]) so a source's late chunk still lands in its place. A source
//! that is late beyond that, or silent, counts as silence for that span; the
//! others go on. Samples are summed at unity gain and clipped to [-1, 1].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, TryRecvError};

use super::AudioSource;
use crate::frame::{AudioFrame, Clock, CHANNELS, SAMPLE_RATE};
use crate::{MediaError, Result};

/// Frames per output chunk: 20 ms.
const CHUNK: u64 = SAMPLE_RATE as u64 / 50;
/// How far behind the clock the mix runs, waiting for every source's chunk.
const SLACK: Duration = Duration::from_millis(120);
/// A chunk further than this from where its source's last one ended is a
/// jump (a device that stalled): it is placed at its own time.
const JUMP: u64 = SAMPLE_RATE as u64 / 20;

/// One source's samples not yet mixed, starting at timeline frame `base`.
struct Lane {
    rx: Receiver<Result<AudioFrame>>,
    base: u64,
    buf: VecDeque<f32>,
    ended: bool,
}

impl Lane {
    fn frames(&self) -> u64 {
        (self.buf.len() / CHANNELS) as u64
    }

    fn push(&mut self, f: AudioFrame) {
        let at = (f.pts.as_nanos() * u128::from(SAMPLE_RATE) / 1_000_000_000) as u64;
        let end = self.base + self.frames();
        if self.buf.is_empty() {
            self.base = at;
        } else if at > end + JUMP {
            // A gap: keep the timeline true with silence.
            self.buf
                .extend(std::iter::repeat_n(0.0, ((at - end) as usize) * CHANNELS));
        }
        self.buf.extend(f.samples);
    }

    /// Adds this lane's frames `from..from + out.len() / CHANNELS` into `out`
    /// and forgets everything before their end.
    fn mix_into(&mut self, from: u64, out: &mut [f32]) {
        let n = (out.len() / CHANNELS) as u64;
        let to = from + n;
        for i in self.base.max(from)..to.min(self.base + self.frames()) {
            let src = ((i - self.base) as usize) * CHANNELS;
            let dst = ((i - from) as usize) * CHANNELS;
            for c in 0..CHANNELS {
                out[dst + c] += self.buf[src + c];
            }
        }
        let done = to.saturating_sub(self.base).min(self.frames());
        self.buf.drain(..(done as usize) * CHANNELS);
        self.base += done;
        if self.buf.is_empty() {
            self.base = self.base.max(to);
        }
    }
}

/// The sum of several audio sources.
pub struct MixedAudio {
    names: Vec<String>,
    lanes: Vec<Lane>,
    clock: Clock,
    stop: Arc<AtomicBool>,
    /// The next timeline frame to emit; set by the first chunk any source gives.
    next: Option<u64>,
}

impl MixedAudio {
    /// Starts a thread per source. They end when `stop` is raised, their
    /// source ends, or the mixer is dropped.
    pub fn start(
        sources: Vec<Box<dyn AudioSource>>,
        clock: Clock,
        stop: Arc<AtomicBool>,
    ) -> Result<Self> {
        let mut names = Vec::new();
        let mut lanes = Vec::new();
        for (i, mut src) in sources.into_iter().enumerate() {
            names.push(src.describe());
            let (tx, rx) = bounded(256);
            let stop2 = stop.clone();
            std::thread::Builder::new()
                .name(format!("audio-in-{i}"))
                .spawn(move || {
                    while !stop2.load(Ordering::Relaxed) {
                        let next = src.next_chunk();
                        let end = !matches!(next, Ok(Some(_)));
                        let msg = match next {
                            Ok(Some(f)) => Ok(f),
                            Ok(None) => break,
                            Err(e) => Err(e),
                        };
                        if tx.send(msg).is_err() || end {
                            break;
                        }
                    }
                })
                .map_err(|e| MediaError::Io {
                    what: "starting an audio mixer thread".into(),
                    source: e,
                })?;
            lanes.push(Lane {
                rx,
                base: 0,
                buf: VecDeque::new(),
                ended: false,
            });
        }
        Ok(MixedAudio {
            names,
            lanes,
            clock,
            stop,
            next: None,
        })
    }

    /// Moves what the source threads captured into the lanes.
    fn drain(&mut self) -> Result<()> {
        for lane in &mut self.lanes {
            loop {
                match lane.rx.try_recv() {
                    Ok(Ok(f)) => lane.push(f),
                    Ok(Err(e)) => return Err(e),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        lane.ended = true;
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}

impl AudioSource for MixedAudio {
    fn describe(&self) -> String {
        format!("mix of {}", self.names.join(" + "))
    }

    fn next_chunk(&mut self) -> Result<Option<AudioFrame>> {
        let next = loop {
            self.drain()?;
            if let Some(n) = self.next {
                break n;
            }
            // Start where the earliest source starts.
            if let Some(first) = self
                .lanes
                .iter()
                .filter(|l| !l.buf.is_empty())
                .map(|l| l.base)
                .min()
            {
                self.next = Some(first);
                break first;
            }
            if self.lanes.iter().all(|l| l.ended) || self.stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let at = Duration::from_nanos(next * 1_000_000_000 / u64::from(SAMPLE_RATE));
        let due = at + Duration::from_nanos(CHUNK * 1_000_000_000 / u64::from(SAMPLE_RATE)) + SLACK;
        self.clock.sleep_until(due, &self.stop);
        self.drain()?;
        if self.lanes.iter().all(|l| l.ended && l.buf.is_empty()) {
            return Ok(None);
        }
        if self.stop.load(Ordering::Relaxed) && self.lanes.iter().all(|l| l.buf.is_empty()) {
            return Ok(None);
        }
        let mut samples = vec![0.0f32; CHUNK as usize * CHANNELS];
        for lane in &mut self.lanes {
            lane.mix_into(next, &mut samples);
        }
        for s in &mut samples {
            *s = s.clamp(-1.0, 1.0);
        }
        self.next = Some(next + CHUNK);
        Ok(Some(AudioFrame { samples, pts: at }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A paced source of a constant value, `chunks` chunks of 10 ms from `start`.
    struct Constant {
        value: f32,
        start: Duration,
        chunks: u32,
        sent: u32,
        clock: Clock,
        stop: Arc<AtomicBool>,
    }

    impl AudioSource for Constant {
        fn describe(&self) -> String {
            format!("constant {}", self.value)
        }
        fn next_chunk(&mut self) -> Result<Option<AudioFrame>> {
            if self.sent == self.chunks {
                return Ok(None);
            }
            let pts = self.start + Duration::from_millis(10 * u64::from(self.sent));
            self.clock.sleep_until(pts, &self.stop);
            self.sent += 1;
            Ok(Some(AudioFrame {
                samples: vec![self.value; 480 * CHANNELS],
                pts,
            }))
        }
    }

    #[test]
    fn sums_sources_on_one_timeline() {
        let clock = Clock::start_now();
        let stop = Arc::new(AtomicBool::new(false));
        let src = |value, start_ms, chunks| -> Box<dyn AudioSource> {
            Box::new(Constant {
                value,
                start: Duration::from_millis(start_ms),
                chunks,
                sent: 0,
                clock: clock.clone(),
                stop: stop.clone(),
            })
        };
        // 0.25 for 0..300 ms, 0.5 for 100..200 ms.
        let mut mix = MixedAudio::start(
            vec![src(0.25, 0, 30), src(0.5, 100, 10)],
            clock.clone(),
            stop.clone(),
        )
        .unwrap();
        assert!(mix.describe().contains("constant 0.25 + constant 0.5"));
        let mut out = Vec::new();
        let mut n = 0;
        while let Some(c) = mix.next_chunk().unwrap() {
            assert_eq!(
                c.pts,
                Duration::from_millis(20) * n,
                "chunks follow each other on the timeline"
            );
            n += 1;
            out.extend(c.samples);
        }
        let at = |ms: usize| out[ms * 48 * CHANNELS];
        assert_eq!(out.len(), 300 * 48 * CHANNELS);
        assert_eq!(at(50), 0.25);
        assert_eq!(at(150), 0.75);
        assert_eq!(at(250), 0.25);
    }

    #[test]
    fn a_lane_places_late_and_jumping_chunks_by_time() {
        let (_tx, rx) = bounded(1);
        let mut lane = Lane {
            rx,
            base: 0,
            buf: VecDeque::new(),
            ended: false,
        };
        lane.push(AudioFrame {
            samples: vec![1.0; 480 * CHANNELS],
            pts: Duration::from_millis(10),
        });
        // 100 ms later than where the last chunk ended: silence in between.
        lane.push(AudioFrame {
            samples: vec![1.0; 480 * CHANNELS],
            pts: Duration::from_millis(120),
        });
        let mut out = vec![0.0; 200 * 48 * CHANNELS];
        lane.mix_into(0, &mut out);
        let at = |ms: usize| out[ms * 48 * CHANNELS];
        assert_eq!(
            (at(5), at(15), at(60), at(125), at(135)),
            (0.0, 1.0, 0.0, 1.0, 0.0)
        );
        assert!(lane.buf.is_empty());
    }
}
