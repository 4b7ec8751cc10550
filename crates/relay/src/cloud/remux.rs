//! A recording's last step: the fragmented MP4 the recorder wrote (crash
//! safe, but FFmpeg drops chapters added after its header) is copied,
//! without decoding, into a plain MP4 whose chapters are the bookmarks.
//! A truncated last fragment just ends the copy.

use ffmpeg_next::{codec, encoder, format, media, Rational};
use std::path::Path;

/// Title of the chapter before the first bookmark (chapters start at zero).
const START: &str = "Start";

/// Copies `part` into `out` with `marks` (ms, label) as chapters; returns
/// the duration in ms.
pub fn remux(part: &Path, out: &Path, marks: &[(i64, String)]) -> Result<i64, String> {
    ffmpeg_next::init().map_err(|e| e.to_string())?;
    let end_ms = media_end_ms(part)?;
    let mut ictx = format::input(part).map_err(|e| format!("reading the recording: {e}"))?;
    let mut octx = format::output_as(out, "mp4").map_err(|e| e.to_string())?;
    let mut map = vec![None; ictx.nb_streams() as usize];
    let mut next = 0;
    for st in ictx.streams() {
        let t = st.parameters().medium();
        if t != media::Type::Video && t != media::Type::Audio {
            continue;
        }
        let mut ost = octx.add_stream(encoder::find(codec::Id::None)).map_err(|e| e.to_string())?;
        ost.set_parameters(st.parameters());
        // SAFETY: the stream was just created; a zero tag lets the muxer pick its own.
        unsafe { (*(*ost.as_mut_ptr()).codecpar).codec_tag = 0 };
        map[st.index()] = Some((next, st.time_base()));
        next += 1;
    }
    if next == 0 {
        return Err("the recorder sent no audio or video".into());
    }
    let mut chapters: Vec<(i64, &str)> = marks.iter().map(|(t, l)| ((*t).clamp(0, end_ms.max(0)), l.as_str())).collect();
    if chapters.first().is_some_and(|c| c.0 > 0) {
        chapters.insert(0, (0, START));
    }
    for (i, (start, label)) in chapters.iter().enumerate() {
        let end = chapters.get(i + 1).map(|n| n.0.max(*start)).unwrap_or(end_ms.max(*start));
        octx.add_chapter(i as i64 + 1, Rational(1, 1000), *start, end, label).map_err(|e| format!("chapter {label:?}: {e}"))?;
    }
    let mut opts = ffmpeg_next::Dictionary::new();
    opts.set("movflags", "+faststart");
    octx.write_header_with(opts).map_err(|e| e.to_string())?;
    let mut copied = 0u64;
    for (st, mut pkt) in ictx.packets() {
        let Some((o, in_tb)) = map.get(st.index()).copied().flatten() else { continue };
        let out_tb = octx.stream(o).map(|s| s.time_base()).unwrap_or(in_tb);
        pkt.rescale_ts(in_tb, out_tb);
        pkt.set_position(-1);
        pkt.set_stream(o);
        pkt.write_interleaved(&mut octx).map_err(|e| e.to_string())?;
        copied += 1;
    }
    if copied == 0 {
        return Err("the recording holds no media".into());
    }
    octx.write_trailer().map_err(|e| e.to_string())?;
    Ok(end_ms)
}

/// The end of the last packet, in ms (a cut-short fragmented file's own
/// duration is unreliable; reading packets costs no decoding).
fn media_end_ms(path: &Path) -> Result<i64, String> {
    let mut ictx = format::input(path).map_err(|e| format!("reading the recording: {e}"))?;
    let mut end = 0i64;
    for (st, pkt) in ictx.packets() {
        let tb = st.time_base();
        if let Some(pts) = pkt.pts() {
            let t = (pts + pkt.duration()) as i128 * 1000 * tb.numerator() as i128 / tb.denominator().max(1) as i128;
            end = end.max(t as i64);
        }
    }
    Ok(end)
}
