//! Switchable side outputs of raw frames: one for the call recorder (every
//! kind of media, only while a recording runs) and one for a viewer (the
//! app's call screen: pictures only). Both are off, and free, unless set.
//! They never block the media paths: a full queue drops (the recorder then
//! repeats the last picture; a viewer shows the next one).

use crossbeam_channel::{Sender, TrySendError};
use onair_media::frame::{AudioFrame, VideoFrame};
use std::sync::{Arc, Mutex};

/// Raw media for the recorder or a viewer. Where the receive path was
/// given the sender's clock (a cloud recorder's legs), the other side's
/// pictures and sound carry in `pts` when their sender captured them: on
/// its NTP wall clock (from its RTCP sender reports; at least
/// [`crate::recv::NTP_CAPTURE`] seconds, shared by its audio and video),
/// or before its first report on the stream's own RTP clock (less); else
/// zero. Our own carry their capture time since the pipeline's start.
pub enum TapItem {
    LocalVideo(VideoFrame),
    RemoteVideo(VideoFrame),
    LocalAudio(AudioFrame),
    RemoteAudio(AudioFrame),
}

#[derive(Default)]
struct Sinks {
    recorder: Option<Sender<TapItem>>,
    viewer: Option<Sender<TapItem>>,
}

#[derive(Clone, Default)]
pub struct Tap(Arc<Mutex<Sinks>>);

impl Tap {
    fn sinks(&self) -> std::sync::MutexGuard<'_, Sinks> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether anyone takes audio (the recorder).
    pub fn active(&self) -> bool {
        self.sinks().recorder.is_some()
    }

    /// Whether anyone takes pictures now (recorder, or a viewer with room):
    /// lets the paths skip the copy otherwise.
    pub fn wants_video(&self) -> bool {
        let s = self.sinks();
        s.recorder.is_some() || s.viewer.as_ref().is_some_and(|v| !v.is_full())
    }

    /// Sends if a recorder listens (pictures also to a viewer); returns
    /// false if the recorder's queue was full and the item dropped.
    pub fn send(&self, item: TapItem) -> bool {
        let s = self.sinks();
        let item = match (&item, &s.viewer) {
            (TapItem::LocalVideo(f), Some(v)) if s.recorder.is_some() => {
                let _ = v.try_send(TapItem::LocalVideo(f.clone()));
                item
            }
            (TapItem::RemoteVideo(f), Some(v)) if s.recorder.is_some() => {
                let _ = v.try_send(TapItem::RemoteVideo(f.clone()));
                item
            }
            (TapItem::LocalVideo(_) | TapItem::RemoteVideo(_), Some(v)) => {
                let _ = v.try_send(item);
                return true;
            }
            _ => item,
        };
        match s.recorder.as_ref() {
            Some(tx) => !matches!(tx.try_send(item), Err(TrySendError::Full(_))),
            None => true,
        }
    }

    /// The recorder's queue (None: recording stopped).
    pub fn set(&self, tx: Option<Sender<TapItem>>) {
        self.sinks().recorder = tx;
    }

    /// A viewer's queue for local and remote pictures (None: nobody watches).
    pub fn set_viewer(&self, tx: Option<Sender<TapItem>>) {
        self.sinks().viewer = tx;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewer_gets_pictures_only_and_never_blocks() {
        let tap = Tap::default();
        assert!(!tap.wants_video() && !tap.active());
        let (vtx, vrx) = crossbeam_channel::bounded(1);
        tap.set_viewer(Some(vtx));
        assert!(tap.wants_video() && !tap.active());
        assert!(tap.send(TapItem::RemoteVideo(VideoFrame::black(4, 4))));
        assert!(!tap.wants_video(), "a full viewer asks for no more copies");
        assert!(tap.send(TapItem::LocalVideo(VideoFrame::black(4, 4))), "dropped for the viewer, not an error");
        assert!(matches!(vrx.try_recv(), Ok(TapItem::RemoteVideo(_))));
        // With a recorder too, both get the picture; audio goes to the recorder only.
        let (rtx, rrx) = crossbeam_channel::bounded(4);
        tap.set(Some(rtx));
        tap.send(TapItem::LocalVideo(VideoFrame::black(4, 4)));
        tap.send(TapItem::LocalAudio(AudioFrame { samples: vec![0.0; 960], pts: std::time::Duration::ZERO }));
        assert!(matches!(vrx.try_recv(), Ok(TapItem::LocalVideo(_))));
        assert!(vrx.try_recv().is_err());
        assert!(matches!(rrx.try_recv(), Ok(TapItem::LocalVideo(_))));
        assert!(matches!(rrx.try_recv(), Ok(TapItem::LocalAudio(_))));
    }
}
