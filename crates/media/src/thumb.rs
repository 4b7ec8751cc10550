//! Thumbnails for the recordings library: one JPEG picture from about a
//! second into a recording (the first frame when it is shorter), scaled to a
//! given width. FFmpeg decodes and encodes (MJPEG), no image crate needed.

use std::path::Path;

use ffmpeg_next::{codec, encoder, frame, media, software::scaling, util::format::Pixel, Packet, Rational};

use crate::error::FfmpegContext;
use crate::{MediaError, Result};

/// Writes a `width`-wide JPEG of `video` to `out` (atomically).
pub fn write_jpeg(video: &Path, out: &Path, width: u32) -> Result<()> {
    crate::init();
    let path = video.display().to_string();
    let mut ictx = crate::source::file::open_input(video)?;
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
    for (s, packet) in ictx.packets() {
        if s.index() != index {
            continue;
        }
        if dec.send_packet(&packet).is_err() {
            continue;
        }
        if dec.receive_frame(&mut picture).is_ok() {
            got = true;
            break;
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
    let data = packet.data().unwrap_or_default();
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| MediaError::Write { path: dir.into(), reason: e.to_string() })?;
    }
    let tmp = out.with_extension("jpg.tmp");
    std::fs::write(&tmp, data).and_then(|_| std::fs::rename(&tmp, out)).map_err(|e| MediaError::Write { path: out.into(), reason: e.to_string() })
}
