//! Thumbnails for the recordings library: one JPEG picture from about a
//! second into a recording (the first frame when it is shorter), scaled to a
//! given width. A uniform picture (the test pattern's white sync flash, a
//! camera's black first frames) is skipped for the first one with something
//! in it, within the first few seconds. FFmpeg decodes and encodes (MJPEG),
//! no image crate needed.

use std::path::Path;

use ffmpeg_next::{codec, encoder, frame, media, software::scaling, util::format::Pixel, Packet, Rational};

use crate::error::FfmpegContext;
use crate::{MediaError, Result};

/// How many frames to look through for one that is not uniform (about 4 s at 30 fps).
const MAX_FRAMES_TRIED: u32 = 120;

/// Whether a picture is (nearly) one flat colour: nine in ten of its luma
/// samples on a grid are within a few steps of their median. A flash with
/// the test pattern's frame-number stripe along the top counts as flat too
/// (a strict min/max test let that white frame be every thumbnail).
pub fn is_uniform(f: &frame::Video) -> bool {
    let (w, h) = (f.width() as usize, f.height() as usize);
    if w == 0 || h == 0 {
        return true;
    }
    let (data, stride) = (f.data(0), f.stride(0));
    let mut samples: Vec<u8> = Vec::with_capacity(256);
    for gy in 0..16 {
        let y = gy * (h - 1) / 15;
        for gx in 0..16 {
            let x = gx * (w - 1) / 15;
            if let Some(&v) = data.get(y * stride + x) {
                samples.push(v);
            }
        }
    }
    if samples.is_empty() {
        return true;
    }
    samples.sort_unstable();
    let median = samples[samples.len() / 2];
    let near = samples.iter().filter(|&&v| v.abs_diff(median) < 12).count();
    near * 10 >= samples.len() * 9
}

/// Writes a `width`-wide JPEG of `video` to `out` (atomically).
pub fn write_jpeg(video: &Path, out: &Path, width: u32) -> Result<()> {
    let data = jpeg(video, None, width)?;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| MediaError::Write { path: dir.into(), reason: e.to_string() })?;
    }
    let tmp = out.with_extension("jpg.tmp");
    std::fs::write(&tmp, data).and_then(|_| std::fs::rename(&tmp, out)).map_err(|e| MediaError::Write { path: out.into(), reason: e.to_string() })
}

/// A `width`-wide JPEG of `video` (an encrypted recording when `key` is
/// given: its thumbnail is made in memory and never cached on disk).
pub fn jpeg(video: &Path, key: Option<&onair_vault::FileKey>, width: u32) -> Result<Vec<u8>> {
    crate::init();
    let path = video.display().to_string();
    let mut ictx = crate::crypt::open_input(video, key)?;
    let stream = ictx.streams().best(media::Type::Video).ok_or(MediaError::NoStream { path: path.clone(), kind: "video" })?;
    let index = stream.index();
    let mut dec = codec::context::Context::from_parameters(stream.parameters())
        .and_then(|c| c.decoder().video())
        .ctx(|| format!("opening the video decoder of {path}"))?;
    // Past the first second when there is one (durations are in µs, FFmpeg's
    // AV_TIME_BASE): first frames are often black.
    if ictx.duration() > 2_000_000 {
        let _ = ictx.seek(1_000_000, ..1_000_000);
    }
    let mut picture = frame::Video::empty();
    let mut got = false;
    let mut tried = 0;
    'packets: for (s, packet) in ictx.packets() {
        if s.index() != index {
            continue;
        }
        if dec.send_packet(&packet).is_err() {
            continue;
        }
        let mut f = frame::Video::empty();
        while dec.receive_frame(&mut f).is_ok() {
            tried += 1;
            // Keep the first picture as a fallback; take a later one only
            // when it has something in it.
            let flat = is_uniform(&f);
            if !got || !flat {
                picture = f.clone();
                got = true;
            }
            if !flat || tried >= MAX_FRAMES_TRIED {
                break 'packets;
            }
        }
    }
    if !got {
        let _ = dec.send_eof();
        got = dec.receive_frame(&mut picture).is_ok();
    }
    if !got || picture.width() == 0 {
        return Err(MediaError::Invalid(format!("{path}: no picture to make a thumbnail from")));
    }
    let w = width.max(16) & !1;
    let h = ((u64::from(w) * u64::from(picture.height()) / u64::from(picture.width())) as u32).max(2) & !1;
    let mut sws = scaling::Context::get(picture.format(), picture.width(), picture.height(), Pixel::YUVJ420P, w, h, scaling::Flags::BILINEAR)
        .ctx(|| "thumbnail scaler".into())?;
    let mut small = frame::Video::empty();
    sws.run(&picture, &mut small).ctx(|| "scaling the thumbnail".into())?;
    small.set_pts(Some(0));
    let codec = encoder::find(codec::Id::MJPEG).ok_or_else(|| MediaError::Encoder { name: "mjpeg".into(), reason: "not in this FFmpeg build".into() })?;
    let mut enc = codec::context::Context::new_with_codec(codec).encoder().video().ctx(|| "JPEG encoder".into())?;
    enc.set_width(w);
    enc.set_height(h);
    enc.set_format(Pixel::YUVJ420P);
    enc.set_time_base(Rational(1, 25));
    let mut enc = enc.open().ctx(|| "opening the JPEG encoder".into())?;
    enc.send_frame(&small).ctx(|| "encoding the thumbnail".into())?;
    enc.send_eof().ctx(|| "encoding the thumbnail".into())?;
    let mut packet = Packet::empty();
    enc.receive_packet(&mut packet).ctx(|| "encoding the thumbnail".into())?;
    Ok(packet.data().unwrap_or_default().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_with(fill: impl Fn(usize, usize) -> u8) -> frame::Video {
        crate::init();
        let mut f = frame::Video::new(Pixel::YUV420P, 64, 36);
        let stride = f.stride(0);
        let data = f.data_mut(0);
        for y in 0..36 {
            for x in 0..64 {
                data[y * stride + x] = fill(x, y);
            }
        }
        f
    }

    #[test]
    fn a_flash_or_a_black_frame_is_uniform_and_a_picture_is_not() {
        assert!(is_uniform(&frame_with(|_, _| 235)), "white flash");
        assert!(is_uniform(&frame_with(|x, _| 16 + (x % 3) as u8)), "black with noise");
        assert!(!is_uniform(&frame_with(|x, y| (x * 3 + y * 2) as u8)), "a gradient");
        // The test pattern's flash: white under a black-and-white stripe of frame-number marks.
        assert!(is_uniform(&frame_with(|x, y| if y < 3 && x % 8 < 4 { 16 } else { 235 })), "flash with the stripe");
        // A dark picture with a bright object in a fifth of it has something in it.
        assert!(!is_uniform(&frame_with(|x, y| if x < 26 && y < 18 { 200 } else { 20 })), "a dark scene with a lamp");
    }
}
