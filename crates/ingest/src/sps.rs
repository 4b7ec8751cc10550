//! Picture size from an H.264 sequence parameter set (ITU-T H.264 7.3.2.1.1):
//! the MP4 muxer needs it before the first frame, and RTMP does not carry it
//! reliably (`onMetaData` is optional).
//!
//! The SPS comes from the publisher, so every field is checked against the
//! range the standard allows (7.4.2.1.1) before it takes part in any
//! arithmetic: a crafted SPS gives an [`SpsError`], never an overflow.

/// Why an SPS gave no picture size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpsError {
    #[error("the H.264 SPS ends early or holds an Exp-Golomb code longer than 32 bits")]
    Truncated,
    #[error("H.264 SPS field {field} is {value}; the standard allows {min}..={max}")]
    OutOfRange { field: &'static str, value: i64, min: i64, max: i64 },
    #[error("H.264 SPS describes a {width}x{height} picture; each side must be 1..=16384")]
    BadSize { width: i64, height: i64 },
}

struct Bits {
    data: Vec<u8>,
    pos: usize,
}

impl Bits {
    fn bit(&mut self) -> Result<u32, SpsError> {
        let b = *self.data.get(self.pos / 8).ok_or(SpsError::Truncated)?;
        let v = (b >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Ok(u32::from(v))
    }

    fn bits(&mut self, n: u32) -> Result<u32, SpsError> {
        (0..n).try_fold(0u32, |acc, _| Ok((acc << 1) | self.bit()?))
    }

    /// Exp-Golomb unsigned: at most 32 bits of value (0..=2^32-2).
    fn ue(&mut self) -> Result<u32, SpsError> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return Err(SpsError::Truncated);
            }
        }
        // (2^zeros - 1) + up to (2^zeros - 1) fits u32 for zeros <= 31.
        Ok((1u32 << zeros) - 1 + self.bits(zeros)?)
    }

    /// Exp-Golomb signed: -(2^31-1)..=2^31-1, in an i64 so callers can add.
    fn se(&mut self) -> Result<i64, SpsError> {
        let k = i64::from(self.ue()?);
        Ok(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }

    /// An unsigned field that must lie in `min..=max`.
    fn ue_in(&mut self, field: &'static str, min: u32, max: u32) -> Result<u32, SpsError> {
        let v = self.ue()?;
        in_range(field, i64::from(v), i64::from(min), i64::from(max))?;
        Ok(v)
    }
}

fn in_range(field: &'static str, value: i64, min: i64, max: i64) -> Result<(), SpsError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(SpsError::OutOfRange { field, value, min, max })
    }
}

/// `(width, height)` of an SPS NAL unit (with its one-byte header), or None
/// when it is malformed.
pub fn sps_dimensions(nal: &[u8]) -> Option<(u32, u32)> {
    parse_sps(nal).ok()
}

/// `(width, height)` of an SPS NAL unit (with its one-byte header).
pub fn parse_sps(nal: &[u8]) -> Result<(u32, u32), SpsError> {
    // Remove emulation prevention bytes (00 00 03).
    let mut data = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal.get(1..).ok_or(SpsError::Truncated)? {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        data.push(b);
    }
    let mut r = Bits { data, pos: 0 };
    let profile = r.bits(8)?;
    r.bits(16)?; // constraint flags, level
    r.ue_in("seq_parameter_set_id", 0, 31)?;
    let mut chroma = 1;
    if matches!(profile, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135) {
        chroma = r.ue_in("chroma_format_idc", 0, 3)?;
        if chroma == 3 {
            r.bit()?; // separate_colour_plane_flag
        }
        r.ue_in("bit_depth_luma_minus8", 0, 6)?;
        r.ue_in("bit_depth_chroma_minus8", 0, 6)?;
        r.bit()?;
        if r.bit()? == 1 {
            for i in 0..if chroma == 3 { 12 } else { 8 } {
                if r.bit()? == 1 {
                    scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    r.ue_in("log2_max_frame_num_minus4", 0, 12)?;
    match r.ue_in("pic_order_cnt_type", 0, 2)? {
        0 => {
            r.ue_in("log2_max_pic_order_cnt_lsb_minus4", 0, 12)?;
        }
        1 => {
            r.bit()?;
            r.se()?; // offset_for_non_ref_pic: any 32-bit signed value
            r.se()?; // offset_for_top_to_bottom_field
            for _ in 0..r.ue_in("num_ref_frames_in_pic_order_cnt_cycle", 0, 255)? {
                r.se()?;
            }
        }
        _ => {}
    }
    r.ue_in("max_num_ref_frames", 0, 16)?;
    r.bit()?;
    // Sizes in i64: a u32 Exp-Golomb value times 32 cannot overflow it.
    let w_mbs = i64::from(r.ue()?) + 1;
    let h_units = i64::from(r.ue()?) + 1;
    let frame_mbs_only = i64::from(r.bit()?);
    if frame_mbs_only == 0 {
        r.bit()?;
    }
    r.bit()?;
    let (mut cl, mut cr, mut ct, mut cb) = (0i64, 0, 0, 0);
    if r.bit()? == 1 {
        (cl, cr, ct, cb) = (i64::from(r.ue()?), i64::from(r.ue()?), i64::from(r.ue()?), i64::from(r.ue()?));
    }
    let (cx, cy) = match chroma {
        0 | 3 => (1, 2 - frame_mbs_only),
        2 => (2, 2 - frame_mbs_only),
        _ => (2, 2 * (2 - frame_mbs_only)),
    };
    let width = w_mbs * 16 - cx * (cl + cr);
    let height = (2 - frame_mbs_only) * h_units * 16 - cy * (ct + cb);
    if !(1..=16384).contains(&width) || !(1..=16384).contains(&height) {
        return Err(SpsError::BadSize { width, height });
    }
    // In 1..=16384: the casts are exact.
    Ok((width as u32, height as u32))
}

/// Skips one scaling list (7.3.2.1.1.1); each delta_scale is -128..=127.
fn scaling_list(r: &mut Bits, size: usize) -> Result<(), SpsError> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            let delta = r.se()?;
            in_range("delta_scale", delta, -128, 127)?;
            next = (last + delta + 256).rem_euclid(256);
        }
        last = if next == 0 { last } else { next };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x264_854x480_high() {
        // SPS from `ffmpeg -f lavfi -i testsrc2=size=854x480 -c:v libx264` (High, 4:2:0, cropped).
        let sps = [
            0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0xd8, 0x3d, 0xe6, 0xf0, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x0f, 0x18,
            0x31, 0x96,
        ];
        assert_eq!(super::sps_dimensions(&sps), Some((854, 480)));
        assert_eq!(super::sps_dimensions(&[0x67]), None);
        assert_eq!(super::sps_dimensions(&[0x67, 0x64, 0, 0, 0, 0, 0, 0]), None);
    }

    /// The fuzz corpus seeds: scaling lists, interlaced with cropping, POC type 1.
    #[test]
    fn corpus_seeds_parse() {
        let high_lists = hex("6764001fadffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe8141f90");
        assert_eq!(parse_sps(&high_lists), Ok((320, 240)));
        assert_eq!(parse_sps(&hex("674d0028d0a998494078044fda")), Ok((1920, 1080)));
    }

    /// Crafted SPSs whose fields overflowed `i32`/`u32` arithmetic (a panic in
    /// debug and fuzz builds): a delta_scale of 2^31-1, crop offsets of
    /// 2^31-1 each, an interlaced height of 2^31+1 map units.
    #[test]
    fn crafted_huge_fields_are_errors() {
        let delta = hex("6764001fad8000000300fffffffe80");
        assert_eq!(parse_sps(&delta), Err(SpsError::OutOfRange { field: "delta_scale", value: i64::from(i32::MAX), min: -128, max: 127 }));
        let crop = hex("6742001ef40a0fe0000003002000000300000300000300400000030068");
        assert_eq!(parse_sps(&crop), Err(SpsError::BadSize { width: 320 - 2 * (2 * i64::from(i32::MAX)), height: 240 }));
        let tall = hex("6742001ef40a0000030000800000030124");
        assert_eq!(parse_sps(&tall), Err(SpsError::BadSize { width: 320, height: 32 * ((1 << 31) + 1) }));
        assert_eq!(parse_sps(&hex("6742001ef40a0fc8")), Ok((320, 240)), "the same SPS with sane fields");
        // The input the seeded random run found first (tests/fuzz_replay.rs).
        let found = hex("674d0028d0a998494078044fc00000007fffffffb4");
        assert!(parse_sps(&found).is_err());
        // Out-of-range ids and counts.
        assert!(matches!(parse_sps(&[0x67, 0x42, 0, 0x1e, 0x04, 0x20]), Err(SpsError::OutOfRange { field: "seq_parameter_set_id", value: 32, .. })));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }
}
