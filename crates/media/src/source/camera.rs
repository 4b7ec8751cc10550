//! `camera[:N]`: a webcam through nokhwa (V4L2, AVFoundation, Media Foundation),
//! behind the `camera` feature. With no camera, a clear error says what to do.
//!
//! Frames arrive as MJPEG, YUYV or NV12; we convert them with FFmpeg
//! (decoder or swscale) rather than nokhwa's own decoders, which would pull in
//! a second JPEG library.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::frame::{Clock, VideoFrame};
use crate::{MediaError, Result};

/// A requested capture mode: `1280x720@30`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CameraMode {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

impl std::str::FromStr for CameraMode {
    type Err = MediaError;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || MediaError::Invalid(format!("camera mode must look like 1280x720@30, got {s:?}"));
        let (size, fps) = s.split_once('@').unwrap_or((s, "30"));
        let (w, h) = size.split_once('x').ok_or_else(bad)?;
        Ok(CameraMode {
            width: w.parse().map_err(|_| bad())?,
            height: h.parse().map_err(|_| bad())?,
            fps: fps.parse().map_err(|_| bad())?,
        })
    }
}

impl std::fmt::Display for CameraMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}@{}", self.width, self.height, self.fps)
    }
}

/// Describes the cameras present, for `onair devices`.
pub fn list() -> Result<Vec<String>> {
    imp::list()
}

/// The modes camera `index` offers, for a picker: each size and rate once,
/// the largest picture first, then the faster rate.
pub fn modes(index: u32) -> Result<Vec<CameraMode>> {
    imp::modes(index).map(tidy_modes)
}

/// Sorts and de-duplicates a camera's modes (a driver lists one mode per
/// pixel format), dropping nonsense (a zero size or rate).
pub fn tidy_modes(mut v: Vec<CameraMode>) -> Vec<CameraMode> {
    v.retain(|m| m.width > 0 && m.height > 0 && m.fps > 0);
    v.sort_by(|a, b| (u64::from(b.width) * u64::from(b.height), b.fps, b.width).cmp(&(u64::from(a.width) * u64::from(a.height), a.fps, a.width)));
    v.dedup();
    v
}

pub use imp::CameraVideo;

#[cfg(feature = "camera")]
mod imp {
    use super::*;
    use crate::convert::Fitter;
    use crate::source::VideoSource;
    use ffmpeg_next::format::Pixel;
    use ffmpeg_next::{codec, frame};
    use nokhwa::pixel_format::RgbFormat;
    use nokhwa::utils::{
        ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution,
    };
    use nokhwa::Camera;

    pub fn list() -> Result<Vec<String>> {
        let cams = nokhwa::query(ApiBackend::Auto).map_err(|e| MediaError::NoCamera { detail: format!(" ({e})") })?;
        Ok(cams.iter().map(|c| format!("camera:{}  {}", c.index(), c.human_name())).collect())
    }

    pub fn modes(index: u32) -> Result<Vec<CameraMode>> {
        let fail = |e: nokhwa::NokhwaError| MediaError::NoCamera { detail: format!(" at camera:{index} ({e})") };
        let mut cam = Camera::new(CameraIndex::Index(index), RequestedFormat::new::<RgbFormat>(RequestedFormatType::None)).map_err(fail)?;
        let formats = cam.compatible_camera_formats().map_err(fail)?;
        Ok(formats.iter().map(|f| CameraMode { width: f.width(), height: f.height(), fps: f.frame_rate() }).collect())
    }

    /// One raw frame from the camera thread.
    struct Raw {
        fmt: FrameFormat,
        width: u32,
        height: u32,
        data: Vec<u8>,
        at: std::time::Duration,
    }

    /// nokhwa's `Camera` is not `Send`, so a thread owns it and hands raw
    /// frames over; conversion happens on the capture thread that pulls them.
    pub struct CameraVideo {
        index: u32,
        name: String,
        rx: crossbeam_channel::Receiver<Result<Raw>>,
        fitter: Fitter,
        mjpeg: Option<codec::decoder::Video>,
    }

    // SAFETY: the MJPEG decoder is only used by the thread that owns the source.
    unsafe impl Send for CameraVideo {}

    impl CameraVideo {
        pub fn open(index: u32, mode: Option<CameraMode>, width: u32, height: u32, clock: Clock, stop: Arc<AtomicBool>) -> Result<Self> {
            crate::init();
            let cams = nokhwa::query(ApiBackend::Auto).unwrap_or_default();
            if cams.is_empty() {
                return Err(MediaError::NoCamera { detail: String::new() });
            }
            let requested = match mode {
                Some(m) => RequestedFormatType::Closest(CameraFormat::new(
                    Resolution::new(m.width, m.height),
                    FrameFormat::MJPEG,
                    m.fps,
                )),
                None => RequestedFormatType::Closest(CameraFormat::new(Resolution::new(width, height), FrameFormat::MJPEG, 30)),
            };
            let (tx, rx) = crossbeam_channel::bounded::<Result<Raw>>(2);
            let (ready_tx, ready_rx) = crossbeam_channel::bounded::<Result<String>>(1);
            std::thread::Builder::new()
                .name("camera".into())
                .spawn(move || {
                    let fail = |e: nokhwa::NokhwaError| MediaError::NoCamera { detail: format!(" at camera:{index} ({e})") };
                    let opened = Camera::new(CameraIndex::Index(index), RequestedFormat::new::<RgbFormat>(requested))
                        .map_err(fail)
                        .and_then(|mut c| c.open_stream().map(|_| c).map_err(fail));
                    let mut camera = match opened {
                        Ok(c) => {
                            let _ = ready_tx.send(Ok(format!("{} {}", c.info().human_name(), c.camera_format())));
                            c
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let msg = camera
                            .frame()
                            .map(|buf| {
                                let res = buf.resolution();
                                Raw {
                                    fmt: buf.source_frame_format(),
                                    width: res.width(),
                                    height: res.height(),
                                    data: buf.buffer().to_vec(),
                                    at: clock.now(),
                                }
                            })
                            .map_err(|e| MediaError::NoCamera { detail: format!(" (camera:{index} stopped: {e})") });
                        let failed = msg.is_err();
                        // A full queue means the pipeline is behind: drop the frame.
                        if tx.try_send(msg).is_err() && failed {
                            break;
                        }
                        if failed {
                            break;
                        }
                    }
                    let _ = camera.stop_stream();
                })
                .map_err(|e| MediaError::Io { what: "starting the camera thread".into(), source: e })?;
            let name = ready_rx.recv().map_err(|_| MediaError::NoCamera { detail: " (the camera thread ended)".into() })??;
            Ok(CameraVideo { index, name, rx, fitter: Fitter::new(width, height), mjpeg: None })
        }

        fn convert(&mut self, fmt: FrameFormat, w: u32, h: u32, data: &[u8]) -> Result<VideoFrame> {
            let index = self.index;
            let fail = |reason: String| MediaError::NoCamera { detail: format!(" (camera:{index} frame: {reason})") };
            match fmt {
                FrameFormat::MJPEG => {
                    if self.mjpeg.is_none() {
                        let codec = ffmpeg_next::decoder::find(codec::Id::MJPEG).ok_or_else(|| fail("no MJPEG decoder".into()))?;
                        let dec = codec::context::Context::new_with_codec(codec)
                            .decoder()
                            .video()
                            .map_err(|e| fail(e.to_string()))?;
                        self.mjpeg = Some(dec);
                    }
                    let dec = self.mjpeg.as_mut().expect("set just above");
                    let pkt = ffmpeg_next::Packet::copy(data);
                    dec.send_packet(&pkt).map_err(|e| fail(e.to_string()))?;
                    let mut out = frame::Video::empty();
                    dec.receive_frame(&mut out).map_err(|e| fail(e.to_string()))?;
                    self.fitter.fit(&out)
                }
                FrameFormat::YUYV | FrameFormat::NV12 | FrameFormat::GRAY | FrameFormat::RAWRGB | FrameFormat::RAWBGR => {
                    let pix = match fmt {
                        FrameFormat::YUYV => Pixel::YUYV422,
                        FrameFormat::NV12 => Pixel::NV12,
                        FrameFormat::GRAY => Pixel::GRAY8,
                        FrameFormat::RAWRGB => Pixel::RGB24,
                        _ => Pixel::BGR24,
                    };
                    let mut f = frame::Video::new(pix, w, h);
                    copy_packed(&mut f, data, pix, w, h).ok_or_else(|| fail("short frame".into()))?;
                    self.fitter.fit(&f)
                }
            }
        }
    }

    /// Copies a tightly packed camera buffer into an FFmpeg frame's planes.
    fn copy_packed(f: &mut frame::Video, data: &[u8], pix: Pixel, w: u32, h: u32) -> Option<()> {
        let (w, h) = (w as usize, h as usize);
        let planes: Vec<(usize, usize)> = match pix {
            Pixel::YUYV422 => vec![(w * 2, h)],
            Pixel::NV12 => vec![(w, h), (w, h / 2)],
            Pixel::GRAY8 => vec![(w, h)],
            _ => vec![(w * 3, h)],
        };
        let mut off = 0;
        for (i, (row, rows)) in planes.into_iter().enumerate() {
            let stride = f.stride(i);
            let dst = f.data_mut(i);
            for r in 0..rows {
                let src = data.get(off + r * row..off + (r + 1) * row)?;
                dst.get_mut(r * stride..r * stride + row)?.copy_from_slice(src);
            }
            off += row * rows;
        }
        Some(())
    }

    impl VideoSource for CameraVideo {
        fn describe(&self) -> String {
            format!("camera:{} {}", self.index, self.name)
        }

        fn next_frame(&mut self) -> Result<Option<VideoFrame>> {
            let raw = match self.rx.recv() {
                Ok(r) => r?,
                Err(_) => return Ok(None),
            };
            let mut f = self.convert(raw.fmt, raw.width, raw.height, &raw.data)?;
            f.pts = raw.at;
            Ok(Some(f))
        }
    }
}

#[cfg(not(feature = "camera"))]
mod imp {
    use super::*;

    pub fn list() -> Result<Vec<String>> {
        Err(MediaError::NotBuilt { what: "camera", feature: "camera" })
    }

    pub fn modes(_: u32) -> Result<Vec<CameraMode>> {
        Err(MediaError::NotBuilt { what: "camera", feature: "camera" })
    }

    pub struct CameraVideo;

    impl CameraVideo {
        pub fn open(_: u32, _: Option<CameraMode>, _: u32, _: u32, _: Clock, _: Arc<AtomicBool>) -> Result<Self> {
            Err(MediaError::NotBuilt { what: "camera", feature: "camera" })
        }
    }

    impl crate::source::VideoSource for CameraVideo {
        fn describe(&self) -> String {
            "camera (not built)".into()
        }
        fn next_frame(&mut self) -> Result<Option<VideoFrame>> {
            Err(MediaError::NotBuilt { what: "camera", feature: "camera" })
        }
    }
}

#[cfg(test)]
mod mode_tests {
    use super::*;

    #[test]
    fn modes_read_and_print_alike_and_are_tidied_for_a_picker() {
        let m: CameraMode = "1280x720@30".parse().unwrap();
        assert_eq!(m.to_string(), "1280x720@30");
        assert_eq!("640x480".parse::<CameraMode>().unwrap().to_string(), "640x480@30");
        assert!("wide".parse::<CameraMode>().is_err());
        let raw = ["640x480@30", "1920x1080@5", "1280x720@30", "1920x1080@30", "1280x720@30", "1280x720@60", "0x0@30", "320x240@0"];
        let tidy = tidy_modes(raw.iter().map(|s| s.parse().unwrap()).collect());
        let shown: Vec<String> = tidy.iter().map(|m| m.to_string()).collect();
        assert_eq!(shown, ["1920x1080@30", "1920x1080@5", "1280x720@60", "1280x720@30", "640x480@30"]);
    }
}
