//! cpal's streams are not `Send` on every platform, so each device (the
//! microphone, the speaker) gets a thread that opens its stream, says
//! whether that worked, and holds the stream until told to stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::{MediaError, Result};

/// Runs `open` on a thread named `thread` and keeps the stream it returns
/// playing until `stop`; returns the device's name, or `open`'s error
/// (`lost` words the error when the thread dies before answering).
pub(crate) fn hold<F>(thread: &str, stop: Arc<AtomicBool>, open: F, lost: impl Fn(&str) -> MediaError) -> Result<String>
where
    F: FnOnce() -> Result<(cpal::Stream, String)> + Send + 'static,
{
    let (ready_tx, ready_rx) = crossbeam_channel::bounded::<Result<String>>(1);
    std::thread::Builder::new()
        .name(thread.into())
        .spawn(move || match open() {
            Ok((stream, name)) => {
                let _ = ready_tx.send(Ok(name));
                while !stop.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                drop(stream);
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
            }
        })
        .map_err(|e| MediaError::Io { what: format!("starting the {thread} thread"), source: e })?;
    ready_rx.recv().map_err(|_| lost(&format!("the {thread} thread ended")))?
}
