//! A switchable side output of raw frames, for the call recorder: off (and
//! free) unless a recording runs. Never blocks the media paths: a full
//! queue drops (the recorder then repeats the last picture).

use crossbeam_channel::{Sender, TrySendError};
use onair_media::frame::{AudioFrame, VideoFrame};
use std::sync::{Arc, Mutex};

/// Raw media for the recorder.
pub enum TapItem {
    LocalVideo(VideoFrame),
    RemoteVideo(VideoFrame),
    LocalAudio(AudioFrame),
    RemoteAudio(AudioFrame),
}

#[derive(Clone, Default)]
pub struct Tap(Arc<Mutex<Option<Sender<TapItem>>>>);

impl Tap {
    pub fn active(&self) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// Sends if a recorder listens; returns false if the item was dropped.
    pub fn send(&self, item: TapItem) -> bool {
        match self.0.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(tx) => !matches!(tx.try_send(item), Err(TrySendError::Full(_))),
            None => true,
        }
    }

    pub fn set(&self, tx: Option<Sender<TapItem>>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = tx;
    }
}
