//! Conversions between FFmpeg frames and the engine's frames.

use ffmpeg_next::format::{sample::Type as SampleType, Pixel, Sample};
use ffmpeg_next::software::{resampling, scaling};
use ffmpeg_next::{frame, ChannelLayout};

use crate::error::FfmpegContext;
use crate::frame::{FramePool, VideoFrame, CHANNELS, SAMPLE_RATE};
use crate::Result;

/// Scales any decoded picture into an I420 frame of a fixed size, keeping the
/// aspect ratio (black bars where it differs). Rebuilds itself when the input
/// format or size changes mid-stream.
pub struct Fitter {
    out_w: u32,
    out_h: u32,
    key: Option<(Pixel, u32, u32)>,
    scaler: Option<scaling::Context>,
    /// Where the scaled picture lands inside the output: (x, y, w, h).
    rect: (u32, u32, u32, u32),
    scaled: frame::Video,
    pool: FramePool,
}

// SAFETY: a swscale context has no thread affinity; `Fitter` is used by one
// thread at a time (it moves into a source's capture thread).
unsafe impl Send for Fitter {}

impl Fitter {
    pub fn new(out_w: u32, out_h: u32) -> Self {
        Fitter { out_w, out_h, key: None, scaler: None, rect: (0, 0, out_w, out_h), scaled: frame::Video::empty(), pool: FramePool::new(out_w, out_h) }
    }

    /// Converts `input` into a new frame of the output size.
    pub fn fit(&mut self, input: &frame::Video) -> Result<VideoFrame> {
        let key = (input.format(), input.width(), input.height());
        if self.key != Some(key) {
            let rect = fit_rect(key.1, key.2, self.out_w, self.out_h);
            self.scaler = Some(
                scaling::Context::get(key.0, key.1, key.2, Pixel::YUV420P, rect.2, rect.3, scaling::Flags::BILINEAR)
                    .ctx(|| format!("cannot convert {:?} {}x{} to I420", key.0, key.1, key.2))?,
            );
            self.rect = rect;
            self.scaled = frame::Video::new(Pixel::YUV420P, rect.2, rect.3);
            self.key = Some(key);
        }
        // A picture that fills the frame leaves no border to paint black.
        let mut out = if self.rect == (0, 0, self.out_w, self.out_h) { self.pool.frame() } else { self.pool.black() };
        if key.0 == Pixel::YUV420P && (key.1, key.2) == (self.rect.2, self.rect.3) {
            // Already I420 at the size wanted: one copy, no scaler.
            blit_i420(input, &mut out, self.rect.0, self.rect.1);
            return Ok(out);
        }
        let scaler = self.scaler.as_mut().expect("scaler is built above whenever the key changes");
        scaler.run(input, &mut self.scaled).ctx(|| "scaling a frame".into())?;
        blit_i420(&self.scaled, &mut out, self.rect.0, self.rect.1);
        Ok(out)
    }
}

/// The largest even-sized rectangle of the input's aspect inside the output, centred.
pub fn fit_rect(in_w: u32, in_h: u32, out_w: u32, out_h: u32) -> (u32, u32, u32, u32) {
    let (iw, ih) = (in_w.max(1) as u64, in_h.max(1) as u64);
    let (ow, oh) = (out_w as u64, out_h as u64);
    let (w, h) = if iw * oh > ih * ow { (ow, (ow * ih / iw).max(2)) } else { ((oh * iw / ih).max(2), oh) };
    let (w, h) = ((w as u32) & !1, (h as u32) & !1);
    (((out_w - w) / 2) & !1, ((out_h - h) / 2) & !1, w, h)
}

/// Copies an I420 FFmpeg frame into `dst` at (x, y) (both even), clipping.
pub fn blit_i420(src: &frame::Video, dst: &mut VideoFrame, x: u32, y: u32) {
    let (dw, dh) = (dst.width as usize, dst.height as usize);
    let (x, y) = (x as usize, y as usize);
    let w = (src.width() as usize).min(dw.saturating_sub(x));
    let h = (src.height() as usize).min(dh.saturating_sub(y));
    let (yp, up, vp) = dst.planes_mut();
    // Each plane and stride looked up once: `data(i)` works out the pixel
    // format's layout on every call.
    let (sy, ss) = (src.data(0), src.stride(0));
    for r in 0..h {
        yp[(y + r) * dw + x..][..w].copy_from_slice(&sy[r * ss..][..w]);
    }
    let (cw, cx, cy) = (dw / 2, x / 2, y / 2);
    let (su, sus, sv, svs) = (src.data(1), src.stride(1), src.data(2), src.stride(2));
    for r in 0..h / 2 {
        up[(cy + r) * cw + cx..][..w / 2].copy_from_slice(&su[r * sus..][..w / 2]);
        vp[(cy + r) * cw + cx..][..w / 2].copy_from_slice(&sv[r * svs..][..w / 2]);
    }
}

/// Wraps an engine frame as an FFmpeg frame (copying; strides may differ).
pub fn to_ffmpeg(f: &VideoFrame) -> frame::Video {
    let mut out = frame::Video::new(Pixel::YUV420P, f.width, f.height);
    copy_planes(f, &mut out);
    out
}

/// [`to_ffmpeg`] into `out`, reusing its buffer when it has the same size
/// and nobody else holds it (an encoder done with the last frame).
pub fn to_ffmpeg_into(f: &VideoFrame, out: &mut frame::Video) {
    // SAFETY: `out` is a valid frame owned here; av_frame_is_writable only
    // reads its buffer references' counts.
    let writable = unsafe { !out.is_empty() && ffmpeg_next::ffi::av_frame_is_writable(out.as_mut_ptr()) != 0 };
    if !writable || out.format() != Pixel::YUV420P || (out.width(), out.height()) != (f.width, f.height) {
        *out = frame::Video::new(Pixel::YUV420P, f.width, f.height);
    }
    copy_planes(f, out);
}

/// Hands `f` to FFmpeg without copying it: an FFmpeg frame whose one buffer
/// is `f`'s. `f` lives until FFmpeg lets go of the last reference to that
/// buffer (an encoder done with the picture), and is dropped then, so a
/// pooled frame goes back to its pool only when nothing reads it any more.
pub fn into_ffmpeg(f: VideoFrame) -> frame::Video {
    let (w, h) = (f.width as usize, f.height as usize);
    let (yl, cl) = (f.y_len(), f.c_len());
    if f.data.len() < yl + 2 * cl || w == 0 || h == 0 {
        return to_ffmpeg(&f); // malformed: let the copying path cope
    }
    unsafe extern "C" fn release(opaque: *mut std::os::raw::c_void, _data: *mut u8) {
        // SAFETY: `opaque` is the Box leaked below, handed back exactly once
        // when the buffer's last reference goes.
        drop(unsafe { Box::from_raw(opaque as *mut VideoFrame) });
    }
    let len = f.data.len();
    let mut boxed = Box::new(f);
    // The Vec's heap block does not move when the Box is leaked: the
    // pointers below stay valid until `release` drops it.
    let base = boxed.data.as_mut_ptr();
    let opaque = Box::into_raw(boxed) as *mut std::os::raw::c_void;
    let mut out = frame::Video::empty();
    // SAFETY: `out` is a fresh, empty AVFrame we own; `buf` owns `base`'s
    // block through `opaque` (freed by `release`); the plane pointers and
    // line sizes describe the packed I420 layout checked above.
    unsafe {
        let buf = ffmpeg_next::ffi::av_buffer_create(base, len, Some(release), opaque, 0);
        if buf.is_null() {
            let f = Box::from_raw(opaque as *mut VideoFrame);
            return to_ffmpeg(&f);
        }
        let p = out.as_mut_ptr();
        (*p).buf[0] = buf;
        (*p).data[0] = base;
        (*p).data[1] = base.add(yl);
        (*p).data[2] = base.add(yl + cl);
        (*p).linesize[0] = w as i32;
        (*p).linesize[1] = (w / 2) as i32;
        (*p).linesize[2] = (w / 2) as i32;
        (*p).width = w as i32;
        (*p).height = h as i32;
        (*p).format = ffmpeg_next::ffi::AVPixelFormat::AV_PIX_FMT_YUV420P as i32;
    }
    out
}

fn copy_planes(f: &VideoFrame, out: &mut frame::Video) {
    let (w, h) = (f.width as usize, f.height as usize);
    let (y, u, v) = f.planes();
    for (plane, src, pw, ph) in [(0, y, w, h), (1, u, w / 2, h / 2), (2, v, w / 2, h / 2)] {
        let stride = out.stride(plane);
        let dst = out.data_mut(plane);
        for r in 0..ph {
            dst[r * stride..r * stride + pw].copy_from_slice(&src[r * pw..(r + 1) * pw]);
        }
    }
}

/// Resamples any decoded audio to the engine's interleaved stereo f32 at 48 kHz.
pub struct Resampler {
    key: Option<(Sample, u64, u32)>,
    ctx: Option<resampling::Context>,
}

// SAFETY: as for `Fitter`: moved between threads, never shared.
unsafe impl Send for Resampler {}

impl Default for Resampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Resampler {
    pub fn new() -> Self {
        Resampler { key: None, ctx: None }
    }

    /// Appends the converted samples of `input` to `out`.
    pub fn convert(&mut self, input: &frame::Audio, out: &mut Vec<f32>) -> Result<()> {
        let layout = if input.channel_layout().is_empty() {
            ChannelLayout::default(input.channels() as i32)
        } else {
            input.channel_layout()
        };
        let key = (input.format(), layout.bits(), input.rate());
        if self.key != Some(key) {
            self.ctx = Some(
                resampling::Context::get(
                    input.format(),
                    layout,
                    input.rate(),
                    Sample::F32(SampleType::Packed),
                    ChannelLayout::STEREO,
                    SAMPLE_RATE,
                )
                .ctx(|| format!("cannot resample {:?} {} Hz", input.format(), input.rate()))?,
            );
            self.key = Some(key);
        }
        let ctx = self.ctx.as_mut().expect("resampler is built above whenever the key changes");
        let cap = input.samples() * SAMPLE_RATE as usize / input.rate().max(1) as usize + 256;
        let mut converted = frame::Audio::new(Sample::F32(SampleType::Packed), cap, ChannelLayout::STEREO);
        converted.set_rate(SAMPLE_RATE);
        // A decoder may hand over a frame whose layout field is unset (WAV's
        // PCM). Not `input.clone()`: that allocates for the empty layout (no
        // channels), so the copy fails and the resampler read absent planes
        // (a segfault on every `--audio file:X.wav`); av_frame_copy refuses
        // the two layouts. A frame of the right layout gets the samples.
        let mut fixed;
        let input = if input.channel_layout().is_empty() {
            fixed = frame::Audio::new(input.format(), input.samples(), layout);
            fixed.set_rate(input.rate());
            fixed.set_pts(input.pts());
            let planar = input.is_planar();
            let channels = usize::from(input.channels());
            let bytes = input.samples() * input.format().bytes() * if planar { 1 } else { channels };
            for plane in 0..if planar { channels } else { 1 } {
                let (src, dst) = (input.data(plane), fixed.data_mut(plane));
                let n = bytes.min(src.len()).min(dst.len());
                dst[..n].copy_from_slice(&src[..n]);
            }
            &fixed
        } else {
            input
        };
        ctx.run(input, &mut converted).ctx(|| "resampling audio".into())?;
        let bytes = converted.data(0);
        let n = (converted.samples() * CHANNELS * 4).min(bytes.len());
        out.extend(bytes[..n].chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAV's PCM frames come from the decoder with no channel layout set;
    /// they used to crash the resampler (every `--audio file:X.wav`).
    #[test]
    fn pcm_without_a_channel_layout_resamples() {
        use crate::source::AudioSource;
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("tone.wav");
        let (rate, n) = (22_050u32, 22_050u32);
        let mut b = Vec::new();
        b.extend(b"RIFF");
        b.extend((36 + n * 2).to_le_bytes());
        b.extend(b"WAVEfmt ");
        b.extend(16u32.to_le_bytes());
        b.extend(1u16.to_le_bytes()); // PCM
        b.extend(1u16.to_le_bytes()); // mono
        b.extend(rate.to_le_bytes());
        b.extend((rate * 2).to_le_bytes());
        b.extend(2u16.to_le_bytes());
        b.extend(16u16.to_le_bytes());
        b.extend(b"data");
        b.extend((n * 2).to_le_bytes());
        for i in 0..n {
            let v = (f64::from(i) * 440.0 * std::f64::consts::TAU / f64::from(rate)).sin() * 8000.0;
            b.extend((v as i16).to_le_bytes());
        }
        std::fs::write(&wav, b).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut src = crate::source::file::FileAudio::open(&wav, false, crate::frame::Clock::start_now(), stop).unwrap().unpaced();
        let mut samples = Vec::new();
        while let Some(c) = src.next_chunk().unwrap() {
            samples.extend(c.samples);
        }
        // One second at 48 kHz, stereo, the tone (0.24 peak) on both channels
        // 3 dB down (swresample's mono-to-stereo).
        let frames = samples.len() / CHANNELS;
        assert!((46_000..=48_500).contains(&frames), "{frames} frames");
        let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!((0.15..0.26).contains(&peak), "peak {peak}");
    }

    #[test]
    fn fit_rect_letterboxes() {
        assert_eq!(fit_rect(1920, 1080, 1280, 720), (0, 0, 1280, 720));
        let (x, y, w, h) = fit_rect(640, 480, 1280, 720);
        assert_eq!((w, h), (960, 720));
        assert_eq!((x, y), (160, 0));
        let (_, y, w, h) = fit_rect(1000, 200, 1280, 720);
        assert_eq!(w, 1280);
        assert!(h % 2 == 0 && y % 2 == 0);
    }

    #[test]
    fn into_ffmpeg_lends_the_pooled_buffer_until_ffmpeg_lets_go() {
        let pool = FramePool::new(8, 4);
        let mut f = pool.frame();
        for (i, b) in f.data.iter_mut().enumerate() {
            *b = i as u8;
        }
        let copy = to_ffmpeg(&f);
        let lent = into_ffmpeg(f);
        for plane in 0..3 {
            let (w, h) = if plane == 0 { (8, 4) } else { (4, 2) };
            for r in 0..h {
                assert_eq!(&lent.data(plane)[r * lent.stride(plane)..][..w], &copy.data(plane)[r * copy.stride(plane)..][..w]);
            }
        }
        assert_eq!(pool.idle(), 0, "still FFmpeg's");
        drop(lent);
        assert_eq!(pool.idle(), 1, "back in the pool once FFmpeg let go");
    }
}
