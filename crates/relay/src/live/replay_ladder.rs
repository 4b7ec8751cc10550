//! A replay's renditions: once a live with a ladder has become a replay
//! (`ROOM/STARTED.mp4`), each rung below its source is made from that file
//! in the background — decoded once, scaled and encoded with the live
//! rungs' x264 settings, keyframes where the source has them, audio copied —
//! as `ROOM/STARTED.RUNG.mp4` (plain MP4, faststart, for HTTP seeking).
//!
//! After the live rather than during it: while live a rung is only made
//! while someone watches it, so a replay's rungs cannot come from there;
//! made afterwards, at low priority, a replay costs one transcode per rung
//! once instead of a transcoder running through every live. Until a
//! rendition is done the replay lists only what exists.

use super::ladder::{rung_encoder, Rung};
use ffmpeg_next::{codec, encoder, format, frame, media, picture, Dictionary, Packet, Rational, Rescale};
use std::path::{Path, PathBuf};

/// `ROOM/STARTED.RUNG.mp4` beside the source replay `ROOM/STARTED.mp4`.
pub fn rendition_path(replay: &Path, rung: &str) -> PathBuf {
    replay.with_extension(format!("{rung}.mp4"))
}

/// Makes `replay`'s renditions on a background thread of low priority.
pub fn spawn(replay: PathBuf, rungs: Vec<Rung>) {
    spawn_all(vec![(replay, rungs)]);
}

/// Makes each replay's missing renditions, one after another, on one
/// background thread of low priority.
pub fn spawn_all(jobs: Vec<(PathBuf, Vec<Rung>)>) {
    let jobs: Vec<(PathBuf, Vec<Rung>)> = jobs
        .into_iter()
        .map(|(p, rungs)| {
            let missing = rungs.into_iter().filter(|r| !rendition_path(&p, r.name).exists()).collect::<Vec<_>>();
            (p, missing)
        })
        .filter(|(_, r)| !r.is_empty())
        .collect();
    if jobs.is_empty() {
        return;
    }
    let spawned = std::thread::Builder::new().name("replay-ladder".into()).spawn(move || {
        lower_priority();
        for (replay, rungs) in jobs {
            for rung in rungs {
                match make(&replay, rung) {
                    Ok(Some(p)) => tracing::info!(replay = %p.display(), "replay rendition made"),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(replay = %replay.display(), rung = rung.name, "replay rendition not made: {e}"),
                }
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "replay renditions: no thread");
    }
}

/// At start-up: the renditions a restart interrupted (or never began) are
/// made for every replay of a room that has a ladder, and half-written
/// ones are removed.
pub fn resume(root: &Path, ladder_of: &dyn Fn(&str) -> Vec<Rung>) {
    let Ok(rooms) = std::fs::read_dir(root) else { return };
    let mut jobs = Vec::new();
    for room in rooms.flatten() {
        let name = room.file_name().to_string_lossy().to_string();
        if let Ok(files) = std::fs::read_dir(room.path()) {
            for f in files.flatten().filter(|f| f.file_name().to_string_lossy().contains(".mp4.tmp-")) {
                let _ = std::fs::remove_file(f.path());
            }
        }
        let rungs = ladder_of(&name);
        if rungs.is_empty() {
            continue;
        }
        for r in super::replay::list(root, &name) {
            jobs.push((room.path().join(format!("{}.mp4", r.id)), rungs.clone()));
        }
    }
    spawn_all(jobs);
}

/// The replay's renditions yield to live work: this thread only.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on this thread's own id; failure is harmless.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

struct VideoOut {
    enc: encoder::Video,
    scaler: ffmpeg_next::software::scaling::Context,
    stream: usize,
}

/// One rendition of `replay`; None when the rung is not below the source.
fn make(replay: &Path, rung: Rung) -> Result<Option<PathBuf>, String> {
    let out = rendition_path(replay, rung.name);
    // Of this process only: nodes sharing a replays folder never write one file.
    let tmp = out.with_extension(format!("mp4.tmp-{}", std::process::id()));
    let mut ictx = format::input(replay).map_err(|e| format!("opening the replay: {e}"))?;
    let vin = ictx.streams().best(media::Type::Video).map(|s| (s.index(), s.time_base(), s.parameters()));
    let ain = ictx.streams().best(media::Type::Audio).map(|s| (s.index(), s.time_base(), s.parameters()));
    if rung.height == 0 && ain.is_none() {
        return Ok(None);
    }
    let mut octx = format::output_as(&tmp, "mp4").map_err(|e| format!("creating {}: {e}", tmp.display()))?;
    let aout = match &ain {
        Some((_, _, par)) => {
            let mut st = octx.add_stream(encoder::find(codec::Id::None)).map_err(|e| e.to_string())?;
            st.set_parameters(par.clone());
            // SAFETY: a fresh stream; a zero tag lets the muxer pick its own.
            unsafe { (*(*st.as_mut_ptr()).codecpar).codec_tag = 0 };
            Some(st.index())
        }
        None => None,
    };
    // The video rung's encoder opens on the first picture (its size comes
    // from the source), so the header waits for it.
    let mut dec = match (&vin, rung.height) {
        (Some((_, _, par)), h) if h > 0 => Some(codec::context::Context::from_parameters(par.clone()).map_err(|e| e.to_string())?.decoder().video().map_err(|e| e.to_string())?),
        _ => None,
    };
    let mut vout: Option<VideoOut> = None;
    let mut header = dec.is_none();
    if header {
        octx.write_header_with(faststart()).map_err(|e| format!("writing the header: {e}"))?;
    }
    let mut pending: Vec<Packet> = Vec::new();
    let mut picture = frame::Video::empty();
    let otb = |octx: &format::context::Output, i: usize| octx.stream(i).map(|s| s.time_base()).unwrap_or(Rational(1, 1000));
    for (st, mut pkt) in ictx.packets() {
        if Some(st.index()) == ain.as_ref().map(|a| a.0) {
            let Some(ai) = aout else { continue };
            pkt.rescale_ts(st.time_base(), if header { otb(&octx, ai) } else { Rational(1, 1000) });
            pkt.set_stream(ai);
            pkt.set_position(-1);
            if header {
                let _ = pkt.write_interleaved(&mut octx);
            } else {
                // Audio before the first picture waits for the header.
                pending.push(pkt);
            }
            continue;
        }
        let (Some(d), Some((vi, vtb, _))) = (dec.as_mut(), vin.as_ref()) else { continue };
        let vtb = *vtb;
        if st.index() != *vi {
            continue;
        }
        if d.send_packet(&pkt).is_err() {
            continue;
        }
        while d.receive_frame(&mut picture).is_ok() {
            if vout.is_none() {
                if rung.height >= picture.height() {
                    // Never above the source.
                    drop(octx);
                    let _ = std::fs::remove_file(&tmp);
                    return Ok(None);
                }
                let (enc, scaler) = rung_encoder(rung, &picture)?;
                let mut ost = octx.add_stream(encoder::find(codec::Id::H264)).map_err(|e| e.to_string())?;
                ost.set_parameters(&enc);
                ost.set_time_base(MS);
                vout = Some(VideoOut { enc, scaler, stream: ost.index() });
                octx.write_header_with(faststart()).map_err(|e| format!("writing the header: {e}"))?;
                header = true;
                for mut p in pending.drain(..) {
                    let i = p.stream();
                    p.rescale_ts(Rational(1, 1000), otb(&octx, i));
                    let _ = p.write_interleaved(&mut octx);
                }
            }
            let Some(v) = vout.as_mut() else { continue };
            let mut small = frame::Video::empty();
            v.scaler.run(&picture, &mut small).map_err(|e| e.to_string())?;
            // The rung's encoder counts in milliseconds, as live.
            small.set_pts(picture.timestamp().or(picture.pts()).map(|t| t.rescale(vtb, MS)));
            let key = picture.is_key() || picture.kind() == picture::Type::I;
            small.set_kind(if key { picture::Type::I } else { picture::Type::None });
            v.enc.send_frame(&small).map_err(|e| e.to_string())?;
            drain(v, &mut octx)?;
        }
    }
    if let Some(v) = vout.as_mut() {
        let _ = v.enc.send_eof();
        drain(v, &mut octx)?;
    }
    if !header {
        // No picture at all: nothing to make.
        drop(octx);
        let _ = std::fs::remove_file(&tmp);
        return Ok(None);
    }
    octx.write_trailer().map_err(|e| format!("writing the trailer: {e}"))?;
    drop(octx);
    std::fs::rename(&tmp, &out).map_err(|e| format!("naming {}: {e}", out.display()))?;
    Ok(Some(out))
}

const MS: Rational = Rational(1, 1000);

fn drain(v: &mut VideoOut, octx: &mut format::context::Output) -> Result<(), String> {
    let otb = octx.stream(v.stream).map(|s| s.time_base()).unwrap_or(MS);
    let mut pkt = Packet::empty();
    while v.enc.receive_packet(&mut pkt).is_ok() {
        pkt.set_stream(v.stream);
        pkt.rescale_ts(MS, otb);
        pkt.write_interleaved(octx).map_err(|e| format!("writing video: {e}"))?;
    }
    Ok(())
}

fn faststart() -> Dictionary<'static> {
    let mut d = Dictionary::new();
    d.set("movflags", "+faststart");
    d
}
