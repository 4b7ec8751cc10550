//! A muxer over FFmpeg's `AVFormatContext` that outputs share: streams set up
//! from encoder parameters, packets rescaled and written interleaved, and an
//! interrupt callback so a network write can never hang the pipeline.

use std::ffi::CString;
use std::os::raw::{c_int, c_void};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ffmpeg_next::ffi;
use ffmpeg_next::format::context::Output;
use ffmpeg_next::{codec, encoder, Dictionary, Rational};

use crate::encode::{EncodedPacket, StreamInfo, StreamKind};
use crate::{MediaError, Result};

/// The streams every output carries.
#[derive(Clone, Default)]
pub struct StreamSet {
    pub video: Option<StreamInfo>,
    pub audio: Option<StreamInfo>,
}

/// Tells FFmpeg to give up a blocking call: on stop, or past a deadline.
struct Interrupt {
    stop: Arc<AtomicBool>,
    base: Instant,
    /// Milliseconds after `base`; 0 means no deadline.
    deadline_ms: AtomicU64,
}

unsafe extern "C" fn interrupt_cb(opaque: *mut c_void) -> c_int {
    // SAFETY: `opaque` points to the `Interrupt` boxed in the `Muxer`, which
    // outlives the format context (fields drop in declaration order).
    let int = unsafe { &*(opaque as *const Interrupt) };
    if int.stop.load(Ordering::Relaxed) {
        return 1;
    }
    let d = int.deadline_ms.load(Ordering::Relaxed);
    c_int::from(d != 0 && int.base.elapsed().as_millis() as u64 > d)
}

/// An open output with its streams.
pub struct Muxer {
    // Declared before `_interrupt` so the context is freed first.
    octx: Output,
    _interrupt: Option<Box<Interrupt>>,
    video: Option<(usize, Rational)>,
    audio: Option<(usize, Rational)>,
    interrupt_ptr: *const Interrupt,
}

// SAFETY: the raw pointer only aliases the boxed `Interrupt` owned by the same
// value; FFmpeg's context is used from one thread at a time.
unsafe impl Send for Muxer {}

impl Muxer {
    /// Opens a network output (`rtmp://…`), interruptible by `stop` and by a
    /// deadline of `timeout` for the connection.
    pub fn open_network(url: &str, format: &str, stop: Arc<AtomicBool>, timeout: Duration) -> Result<Self> {
        crate::init();
        let int = Box::new(Interrupt { stop, base: Instant::now(), deadline_ms: AtomicU64::new(0) });
        let c_url = CString::new(url).map_err(|_| MediaError::Invalid("URL contains a NUL byte".into()))?;
        let c_fmt = CString::new(format).expect("format names have no NUL");
        let mut opts = Dictionary::new();
        opts.set("tcp_nodelay", "1");
        // A modest kernel send buffer (instead of up to 4 MB autotuned), so
        // a congested uplink shows in our own queue within about a second
        // and dynamic bitrate can react; Linux doubles it to 128 KB, which
        // still carries 10 Mbit/s at a 100 ms round trip.
        opts.set("send_buffer_size", "65536");
        if url.starts_with("rtmps://") {
            // FFmpeg does not check certificates unless asked: a stream key
            // must never go to an impostor.
            opts.set("tls_verify", "1");
            if let Some(ca) = ca_file() {
                opts.set("ca_file", &ca);
            }
        }
        let ptr = &*int as *const Interrupt;
        set_deadline(ptr, Some(timeout));
        // SAFETY: plain FFmpeg calls on pointers we own; on every error path
        // the context is freed before returning.
        let octx = unsafe {
            let mut ps = std::ptr::null_mut();
            let r = ffi::avformat_alloc_output_context2(&mut ps, std::ptr::null_mut(), c_fmt.as_ptr(), c_url.as_ptr());
            if r < 0 || ps.is_null() {
                return Err(MediaError::Ffmpeg { what: format!("creating a {format} muxer"), source: r.into() });
            }
            (*ps).interrupt_callback = ffi::AVIOInterruptCB { callback: Some(interrupt_cb), opaque: ptr as *mut c_void };
            let mut raw = opts.disown();
            let r = ffi::avio_open2(&mut (*ps).pb, c_url.as_ptr(), ffi::AVIO_FLAG_WRITE, &(*ps).interrupt_callback, &mut raw);
            Dictionary::own(raw);
            if r < 0 {
                ffi::avformat_free_context(ps);
                return Err(MediaError::Ffmpeg { what: "connecting".into(), source: r.into() });
            }
            Output::wrap(ps)
        };
        Ok(Muxer { octx, _interrupt: Some(int), video: None, audio: None, interrupt_ptr: ptr })
    }

    /// Opens a file output.
    pub fn open_file(path: &Path, format: &str) -> Result<Self> {
        crate::init();
        let octx = ffmpeg_next::format::output_as(path, format)
            .map_err(|e| MediaError::Write { path: path.to_owned(), reason: e.to_string() })?;
        Ok(Muxer { octx, _interrupt: None, video: None, audio: None, interrupt_ptr: std::ptr::null() })
    }

    /// Opens an output that writes through `io` (an encrypted recording).
    pub fn open_stream(io: ffmpeg_next::format::context::StreamIo, format: &str) -> Result<Self> {
        crate::init();
        let octx = ffmpeg_next::format::output_to_stream(io, None, Some(format))
            .map_err(|e| MediaError::Ffmpeg { what: format!("creating a {format} muxer"), source: e })?;
        Ok(Muxer { octx, _interrupt: None, video: None, audio: None, interrupt_ptr: std::ptr::null() })
    }

    /// Arms or clears the deadline for the next blocking calls.
    pub fn set_deadline(&self, timeout: Option<Duration>) {
        set_deadline(self.interrupt_ptr, timeout);
    }

    /// Adds the streams and writes the header with muxer `options`.
    pub fn start(&mut self, streams: &StreamSet, options: &[(&str, &str)]) -> Result<()> {
        for (kind, info) in [(StreamKind::Video, &streams.video), (StreamKind::Audio, &streams.audio)] {
            let Some(info) = info else { continue };
            let mut st = self
                .octx
                .add_stream(encoder::find(codec::Id::None))
                .map_err(|e| MediaError::Ffmpeg { what: "adding a stream".into(), source: e })?;
            st.set_parameters(info.params.clone());
            st.set_time_base(info.time_base);
            // SAFETY: the stream was just created; a zero tag lets the muxer pick its own.
            unsafe { (*(*st.as_mut_ptr()).codecpar).codec_tag = 0 };
            let idx = st.index();
            match kind {
                StreamKind::Video => self.video = Some((idx, info.time_base)),
                StreamKind::Audio => self.audio = Some((idx, info.time_base)),
            }
        }
        let mut dict = Dictionary::new();
        for (k, v) in options {
            dict.set(k, v);
        }
        self.octx
            .write_header_with(dict)
            .map_err(|e| MediaError::Ffmpeg { what: "writing the header".into(), source: e })?;
        Ok(())
    }

    /// Writes one packet (a copy: the same packet goes to every output).
    /// Returns the bytes written.
    pub fn write(&mut self, p: &EncodedPacket) -> Result<usize> {
        let Some((idx, tb)) = (match p.kind {
            StreamKind::Video => self.video,
            StreamKind::Audio => self.audio,
        }) else {
            return Ok(0);
        };
        let mut pkt = p.packet.clone();
        let size = pkt.size();
        pkt.set_stream(idx);
        pkt.set_position(-1);
        let out_tb = self.octx.stream(idx).map(|s| s.time_base()).unwrap_or(tb);
        pkt.rescale_ts(tb, out_tb);
        pkt.write_interleaved(&mut self.octx)
            .map_err(|e| MediaError::Ffmpeg { what: "writing a packet".into(), source: e })?;
        Ok(size)
    }

    pub fn finish(mut self) -> Result<()> {
        self.octx.write_trailer().map_err(|e| MediaError::Ffmpeg { what: "writing the trailer".into(), source: e })
    }
}

/// The CA bundle for TLS: `ONAIR_CA_FILE`, else the system's.
pub fn ca_file() -> Option<String> {
    if let Some(f) = std::env::var_os("ONAIR_CA_FILE").filter(|f| !f.is_empty()) {
        return Some(f.to_string_lossy().into_owned());
    }
    ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"]
        .iter()
        .find(|p| Path::new(p).exists())
        .map(|p| p.to_string())
}

fn set_deadline(ptr: *const Interrupt, timeout: Option<Duration>) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: non-null pointers here always point at the Muxer's live Box.
    let int = unsafe { &*ptr };
    let ms = match timeout {
        Some(t) => (int.base.elapsed() + t).as_millis() as u64,
        None => 0,
    };
    int.deadline_ms.store(ms.max(u64::from(timeout.is_some())), Ordering::Relaxed);
}
