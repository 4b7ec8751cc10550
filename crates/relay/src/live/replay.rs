//! Replays: every live is recorded on the relay as the local recorder does
//! it — fragmented MP4 while live (fragments of ≤ 1 s, so a crash loses at
//! most the last second), then a stream-copy remux to a plain MP4 with
//! `faststart` for HTTP seeking. `DATA/replays/ROOM/STARTED_AT_MS.mp4`.
//! A `.mp4.part` left by a crash is finalised when the relay starts again.

use super::hls::HlsError;
use ffmpeg_next::{codec, encoder, ffi, format, media, Dictionary, Rational};
use onair_proto::{Rendition, ReplayInfo};
use std::path::{Path, PathBuf};

pub struct Recorder {
    octx: format::context::Output,
    video: Option<(usize, Rational)>,
    audio: Option<(usize, Rational)>,
    part: PathBuf,
}

fn fe<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(ffmpeg_next::Error) -> HlsError + 'a {
    move |source| HlsError::Ffmpeg { dir: path.to_path_buf(), what, source }
}

impl Recorder {
    /// `avcc` / `asc`: the sequence headers as the publisher sent them.
    pub fn start(dir: &Path, started_at: i64, avcc: Option<&[u8]>, asc: Option<(&[u8], i32, i32)>) -> Result<Recorder, HlsError> {
        std::fs::create_dir_all(dir).map_err(|source| HlsError::Io { dir: dir.to_path_buf(), source })?;
        let part = dir.join(format!("{started_at}.mp4.part"));
        let mut octx = format::output_as(&part, "mp4").map_err(fe(&part, "creating the replay"))?;
        let mut video = None;
        let mut audio = None;
        if let Some(avcc) = avcc {
            let mut st = octx.add_stream(encoder::find(codec::Id::None)).map_err(fe(&part, "adding video"))?;
            st.set_time_base(Rational(1, 1000));
            // SAFETY: a fresh stream's parameters, filled as FFmpeg expects.
            unsafe {
                let par = (*st.as_mut_ptr()).codecpar;
                (*par).codec_type = ffi::AVMediaType::AVMEDIA_TYPE_VIDEO;
                (*par).codec_id = ffi::AVCodecID::AV_CODEC_ID_H264;
                // MP4 needs the picture size up front: from the SPS.
                let size = onair_ingest::flv::avcc_parameter_sets(avcc).ok().and_then(|s| s.first().and_then(|sps| onair_ingest::sps::sps_dimensions(sps)));
                if let Some((w, h)) = size {
                    (*par).width = w as i32;
                    (*par).height = h as i32;
                }
                super::hls::set_extradata(par, avcc);
            }
            video = Some((st.index(), Rational(1, 1000)));
        }
        if let Some((asc, rate, channels)) = asc {
            let index = super::hls::add_aac_stream(&mut octx, asc, rate, channels).map_err(fe(&part, "adding audio"))?;
            audio = Some((index, Rational(1, 1000)));
        }
        let mut opts = Dictionary::new();
        opts.set("movflags", "+frag_keyframe+empty_moov+default_base_moof");
        opts.set("frag_duration", "1000000");
        octx.write_header_with(opts).map_err(fe(&part, "writing the replay header"))?;
        // The muxer may have picked its own time bases.
        let tb = |o: &format::context::Output, i: usize| o.stream(i).map(|s| s.time_base()).unwrap_or(Rational(1, 1000));
        video = video.map(|(i, _)| (i, tb(&octx, i)));
        audio = audio.map(|(i, _)| (i, tb(&octx, i)));
        Ok(Recorder { octx, video, audio, part })
    }

    /// One packet in ms timestamps; AVCC video as the publisher sent it.
    pub fn write(&mut self, is_video: bool, pts: i64, dts: i64, key: bool, data: &[u8]) {
        let Some((idx, tb)) = (if is_video { self.video } else { self.audio }) else { return };
        let mut pkt = ffmpeg_next::Packet::copy(data);
        pkt.set_pts(Some(pts));
        pkt.set_dts(Some(dts));
        pkt.set_stream(idx);
        if key {
            pkt.set_flags(ffmpeg_next::packet::Flags::KEY);
        }
        pkt.rescale_ts(Rational(1, 1000), tb);
        if let Err(e) = pkt.write_interleaved(&mut self.octx) {
            tracing::debug!(error = %e, "replay packet refused");
        }
    }

    /// Closes the part file and remuxes it into the final MP4.
    pub fn finish(mut self) -> Result<PathBuf, HlsError> {
        self.octx.write_trailer().map_err(fe(&self.part, "writing the replay trailer"))?;
        let part = self.part.clone();
        drop(self);
        finalize(&part)
    }
}

/// `X.mp4.part` (fragmented) → `X.mp4` (plain, faststart); removes the part.
pub fn finalize(part: &Path) -> Result<PathBuf, HlsError> {
    let name = part.to_string_lossy();
    let out = PathBuf::from(name.strip_suffix(".part").unwrap_or(&name).to_string());
    let tmp = out.with_extension("mp4.tmp");
    let mut ictx = format::input(part).map_err(fe(part, "opening the replay part"))?;
    let mut octx = format::output_as(&tmp, "mp4").map_err(fe(part, "creating the final replay"))?;
    let mut map = vec![None; ictx.nb_streams() as usize];
    for st in ictx.streams() {
        let t = st.parameters().medium();
        if t != media::Type::Video && t != media::Type::Audio {
            continue;
        }
        let mut ost = octx.add_stream(encoder::find(codec::Id::None)).map_err(fe(part, "adding a stream"))?;
        ost.set_parameters(st.parameters());
        // SAFETY: a fresh stream; a zero tag lets the muxer pick its own.
        unsafe { (*(*ost.as_mut_ptr()).codecpar).codec_tag = 0 };
        map[st.index()] = Some((ost.index(), st.time_base()));
    }
    let mut opts = Dictionary::new();
    opts.set("movflags", "+faststart");
    octx.write_header_with(opts).map_err(fe(part, "writing the final header"))?;
    // A crash leaves a truncated fragment at the end: reading stops there.
    for (st, mut pkt) in ictx.packets() {
        let Some((o, itb)) = map.get(st.index()).copied().flatten() else { continue };
        let otb = octx.stream(o).map(|s| s.time_base()).unwrap_or(itb);
        pkt.rescale_ts(itb, otb);
        pkt.set_position(-1);
        pkt.set_stream(o);
        let _ = pkt.write_interleaved(&mut octx);
    }
    octx.write_trailer().map_err(fe(part, "writing the final trailer"))?;
    drop(octx);
    std::fs::rename(&tmp, &out).map_err(|source| HlsError::Io { dir: out.clone(), source })?;
    let _ = std::fs::remove_file(part);
    Ok(out)
}

/// Finalises replays a crash left as `.mp4.part` (not those being written:
/// call before any publisher is accepted).
pub fn recover(root: &Path) {
    let Ok(rooms) = std::fs::read_dir(root) else { return };
    for room in rooms.flatten() {
        let Ok(files) = std::fs::read_dir(room.path()) else { continue };
        for f in files.flatten() {
            let p = f.path();
            if p.to_string_lossy().ends_with(".mp4.part") {
                match finalize(&p) {
                    Ok(out) => tracing::info!(replay = %out.display(), "recovered a replay a crash interrupted"),
                    Err(e) => tracing::warn!(error = %e, "could not recover a replay"),
                }
            }
        }
    }
}

/// Deletes all but the newest `keep` finished replays in `room_dir`.
pub fn prune(room_dir: &Path, keep: usize) {
    let Some(room) = room_dir.file_name().map(|n| n.to_string_lossy().to_string()) else { return };
    let Some(root) = room_dir.parent() else { return };
    for old in list(root, &room).into_iter().skip(keep) {
        // Its renditions first: a source without them is still a replay.
        for r in old.renditions.iter().filter(|r| r.name != "source") {
            let _ = std::fs::remove_file(room_dir.join(format!("{}.{}.mp4", old.id, r.name)));
        }
        let p = room_dir.join(format!("{}.mp4", old.id));
        if let Err(e) = std::fs::remove_file(&p) {
            tracing::warn!(replay = %p.display(), error = %e, "could not delete an old replay");
        }
    }
}

/// Finished replays of `room`, newest first.
pub fn list(root: &Path, room: &str) -> Vec<ReplayInfo> {
    let Ok(files) = std::fs::read_dir(root.join(room)) else { return Vec::new() };
    let names: Vec<(String, u64)> = files.flatten().filter_map(|f| Some((f.file_name().to_string_lossy().to_string(), f.metadata().ok()?.len()))).collect();
    let mut v: Vec<ReplayInfo> = names
        .iter()
        .filter_map(|(name, bytes)| {
            let id = name.strip_suffix(".mp4")?.to_string();
            let started_at = id.parse().ok()?;
            let path = format!("/replays/{room}/{name}");
            // `ID.RUNG.mp4` beside it: its renditions (replay_ladder), tallest first.
            let mut rungs: Vec<&super::ladder::Rung> = super::ladder::RUNGS.iter().filter(|r| names.iter().any(|(n, _)| *n == format!("{id}.{}.mp4", r.name))).collect();
            rungs.sort_by_key(|r| std::cmp::Reverse(r.height));
            let renditions = std::iter::once(Rendition { name: "source".into(), path: path.clone() })
                .chain(rungs.iter().map(|r| Rendition { name: r.name.into(), path: format!("/replays/{room}/{id}.{}.mp4", r.name) }))
                .collect();
            Some(ReplayInfo { path, bytes: *bytes, started_at, id, renditions })
        })
        .collect();
    v.sort_by(|a, b| b.started_at.cmp(&a.started_at));
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn prune_keeps_the_newest() {
        let d = tempfile::tempdir().unwrap();
        let room = d.path().join("r");
        std::fs::create_dir_all(&room).unwrap();
        for t in [100, 300, 200] {
            std::fs::write(room.join(format!("{t}.mp4")), b"x").unwrap();
        }
        std::fs::write(room.join("100.360p.mp4"), b"x").unwrap();
        std::fs::write(room.join("300.audio.mp4"), b"x").unwrap();
        std::fs::write(room.join("300.720p.mp4"), b"x").unwrap();
        let names: Vec<String> = super::list(d.path(), "r")[0].renditions.iter().map(|r| r.name.clone()).collect();
        assert_eq!(names, ["source", "720p", "audio"], "a replay's renditions, tallest first");
        std::fs::write(room.join("400.mp4.part"), b"x").unwrap();
        super::prune(&room, 2);
        let ids: Vec<String> = super::list(d.path(), "r").into_iter().map(|r| r.id).collect();
        assert_eq!(ids, vec!["300", "200"]);
        assert!(room.join("400.mp4.part").exists(), "a replay being written is not pruned");
        assert!(!room.join("100.360p.mp4").exists(), "a pruned replay's renditions go with it");
    }
}
