//! FLV tag bodies as RTMP carries them, for the two codecs we accept:
//! H.264 (AVC, codec id 7) and AAC (sound format 10). Anything else is
//! refused here so that the relay never writes a stream it cannot serve.

use crate::IngestError;

/// One parsed media message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Media {
    /// `AVCDecoderConfigurationRecord` (avcC): SPS and PPS.
    VideoConfig(Vec<u8>),
    /// An access unit in AVCC form (4-byte big-endian NAL lengths).
    Video { dts_ms: u32, cts_ms: i32, keyframe: bool, data: Vec<u8> },
    /// `AudioSpecificConfig` for AAC.
    AudioConfig(Vec<u8>),
    /// One raw AAC frame.
    Audio { ts_ms: u32, data: Vec<u8> },
}

/// Parses a video tag body; `Ok(None)` for messages that carry no picture
/// (end of sequence).
pub fn parse_video(body: &[u8], ts_ms: u32) -> Result<Option<Media>, IngestError> {
    let Some(&first) = body.first() else { return Ok(None) };
    let codec = first & 0x0f;
    if codec != 7 {
        return Err(IngestError::UnsupportedVideo(codec));
    }
    if body.len() < 5 {
        return Err(IngestError::Malformed("video tag shorter than its AVC header"));
    }
    let keyframe = first >> 4 == 1;
    // Composition time: signed 24-bit.
    let raw = (u32::from(body[2]) << 16) | (u32::from(body[3]) << 8) | u32::from(body[4]);
    let cts_ms = ((raw << 8) as i32) >> 8;
    let payload = body[5..].to_vec();
    match body[1] {
        0 => Ok(Some(Media::VideoConfig(payload))),
        1 => Ok(Some(Media::Video { dts_ms: ts_ms, cts_ms, keyframe, data: payload })),
        2 => Ok(None),
        _ => Err(IngestError::Malformed("unknown AVC packet type")),
    }
}

/// Parses an audio tag body.
pub fn parse_audio(body: &[u8], ts_ms: u32) -> Result<Option<Media>, IngestError> {
    let Some(&first) = body.first() else { return Ok(None) };
    let format = first >> 4;
    if format != 10 {
        return Err(IngestError::UnsupportedAudio(format));
    }
    if body.len() < 2 {
        return Err(IngestError::Malformed("audio tag shorter than its AAC header"));
    }
    let payload = body[2..].to_vec();
    match body[1] {
        0 => Ok(Some(Media::AudioConfig(payload))),
        1 => Ok(Some(Media::Audio { ts_ms, data: payload })),
        _ => Err(IngestError::Malformed("unknown AAC packet type")),
    }
}

/// SPS and PPS NAL units out of an avcC record.
pub fn avcc_parameter_sets(avcc: &[u8]) -> Result<Vec<Vec<u8>>, IngestError> {
    let bad = IngestError::Malformed("truncated avcC record");
    let mut sets = Vec::new();
    let mut p = 5usize;
    let n_sps = *avcc.get(p).ok_or(IngestError::Malformed("truncated avcC record"))? as usize & 0x1f;
    p += 1;
    for _ in 0..n_sps {
        let (set, next) = read_set(avcc, p).ok_or(IngestError::Malformed("truncated avcC record"))?;
        sets.push(set);
        p = next;
    }
    let n_pps = *avcc.get(p).ok_or(IngestError::Malformed("truncated avcC record"))? as usize;
    p += 1;
    for _ in 0..n_pps {
        let (set, next) = read_set(avcc, p).ok_or(IngestError::Malformed("truncated avcC record"))?;
        sets.push(set);
        p = next;
    }
    if sets.is_empty() {
        return Err(bad);
    }
    Ok(sets)
}

fn read_set(b: &[u8], p: usize) -> Option<(Vec<u8>, usize)> {
    let len = (usize::from(*b.get(p)?) << 8) | usize::from(*b.get(p + 1)?);
    let end = p.checked_add(2 + len)?;
    Some((b.get(p + 2..end)?.to_vec(), end))
}

/// AVCC (length-prefixed) to Annex B (start codes), which MPEG-TS needs;
/// `prefix` (the parameter sets) goes first, for keyframes.
pub fn avcc_to_annexb(data: &[u8], prefix: &[Vec<u8>]) -> Result<Vec<u8>, IngestError> {
    let mut out = Vec::with_capacity(data.len() + 64);
    for set in prefix {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(set);
    }
    let mut p = 0usize;
    while p < data.len() {
        let len_bytes = data.get(p..p + 4).ok_or(IngestError::Malformed("truncated NAL length"))?;
        let len = u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
        let nal = data.get(p + 4..(p + 4).saturating_add(len)).ok_or(IngestError::Malformed("NAL longer than its message"))?;
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
        p += 4 + len;
    }
    Ok(out)
}

/// Largest tag an FLV stream may carry (a 4K keyframe is a few MB).
const MAX_TAG: usize = 16 << 20;

/// Reads an FLV byte stream (an HTTP-FLV body, as another relay node
/// serves it) into media messages, whatever the chunking of the bytes.
#[derive(Debug, Default)]
pub struct FlvStream {
    buf: Vec<u8>,
    pos: usize,
    header_done: bool,
}

impl FlvStream {
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > (1 << 20) {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next media message, `Ok(None)` when more bytes are needed.
    /// Script data and empty tags are skipped.
    pub fn next_media(&mut self) -> Result<Option<Media>, IngestError> {
        loop {
            let rest = &self.buf[self.pos..];
            if !self.header_done {
                if rest.len() < 13 {
                    return Ok(None);
                }
                if &rest[..3] != b"FLV" {
                    return Err(IngestError::Malformed("not an FLV stream"));
                }
                let offset = u32::from_be_bytes([rest[5], rest[6], rest[7], rest[8]]) as usize;
                if !(9..=1024).contains(&offset) {
                    return Err(IngestError::Malformed("bad FLV header size"));
                }
                if rest.len() < offset + 4 {
                    return Ok(None);
                }
                self.pos += offset + 4;
                self.header_done = true;
                continue;
            }
            if rest.len() < 11 {
                return Ok(None);
            }
            let size = (usize::from(rest[1]) << 16) | (usize::from(rest[2]) << 8) | usize::from(rest[3]);
            if size > MAX_TAG {
                return Err(IngestError::Malformed("FLV tag larger than 16 MiB"));
            }
            if rest.len() < 11 + size + 4 {
                return Ok(None);
            }
            let ts = (u32::from(rest[7]) << 24) | (u32::from(rest[4]) << 16) | (u32::from(rest[5]) << 8) | u32::from(rest[6]);
            let kind = rest[0] & 0x1f;
            let body = &rest[11..11 + size];
            let m = match kind {
                9 => parse_video(body, ts)?,
                8 => parse_audio(body, ts)?,
                _ => None,
            };
            self.pos += 11 + size + 4;
            if m.is_some() {
                return Ok(m);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_flv_stream_in_any_chunking() {
        let tag = |kind: u8, ts: u32, body: &[u8]| {
            let mut t = vec![kind, 0, 0, body.len() as u8, (ts >> 16) as u8, (ts >> 8) as u8, ts as u8, (ts >> 24) as u8, 0, 0, 0];
            t.extend_from_slice(body);
            t.extend_from_slice(&((11 + body.len()) as u32).to_be_bytes());
            t
        };
        let mut all = vec![b'F', b'L', b'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0];
        all.extend(tag(18, 0, b"script"));
        all.extend(tag(9, 0, &[0x17, 0, 0, 0, 0, 1, 2]));
        all.extend(tag(9, 0x0100_0021, &[0x27, 1, 0, 0, 33, 9]));
        all.extend(tag(8, 40, &[0xaf, 1, 7]));
        for step in [1, 3, 7, all.len()] {
            let mut r = FlvStream::default();
            let mut got = Vec::new();
            for c in all.chunks(step) {
                r.push(c);
                while let Some(m) = r.next_media().unwrap() {
                    got.push(m);
                }
            }
            assert_eq!(got, vec![
                Media::VideoConfig(vec![1, 2]),
                Media::Video { dts_ms: 0x0100_0021, cts_ms: 33, keyframe: false, data: vec![9] },
                Media::Audio { ts_ms: 40, data: vec![7] },
            ]);
        }
        let mut r = FlvStream::default();
        r.push(b"GIF89a\0\0\0\0\0\0\0\0");
        assert!(r.next_media().is_err());
    }

    use super::*;

    #[test]
    fn video_tags() {
        assert_eq!(parse_video(&[0x17, 0, 0, 0, 0, 1, 2], 0).unwrap(), Some(Media::VideoConfig(vec![1, 2])));
        let v = parse_video(&[0x27, 1, 0xff, 0xff, 0xfe, 9], 40).unwrap();
        assert_eq!(v, Some(Media::Video { dts_ms: 40, cts_ms: -2, keyframe: false, data: vec![9] }));
        assert!(matches!(parse_video(&[0x12, 0], 0), Err(IngestError::UnsupportedVideo(2))));
        assert!(parse_video(&[0x17, 1], 0).is_err());
    }

    #[test]
    fn audio_tags() {
        assert_eq!(parse_audio(&[0xaf, 0, 0x11, 0x90], 0).unwrap(), Some(Media::AudioConfig(vec![0x11, 0x90])));
        assert!(matches!(parse_audio(&[0x2f, 1], 0), Err(IngestError::UnsupportedAudio(2))));
    }

    #[test]
    fn annexb() {
        let avcc = [1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 2, 0x67, 1, 1, 0, 1, 0x68];
        let sets = avcc_parameter_sets(&avcc).unwrap();
        assert_eq!(sets, vec![vec![0x67, 1], vec![0x68]]);
        let out = avcc_to_annexb(&[0, 0, 0, 2, 0x65, 7], &sets).unwrap();
        assert_eq!(out, vec![0, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 0, 0, 0, 1, 0x65, 7]);
        assert!(avcc_to_annexb(&[0, 0, 0, 9, 1], &[]).is_err());
        assert!(avcc_parameter_sets(&[1, 2]).is_err());
    }
}
