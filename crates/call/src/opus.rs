//! Opus through FFmpeg: libopus encodes 20 ms frames of the engine's audio
//! (48 kHz stereo f32); FFmpeg's Opus decoder turns received packets back
//! into engine audio.

use ffmpeg_next::codec;
use ffmpeg_next::format::{sample::Type as SampleType, Sample};
use ffmpeg_next::{decoder, encoder, frame, ChannelLayout, Packet, Rational};
use onair_media::convert::Resampler;
use onair_media::frame::{AudioFrame, CHANNELS, SAMPLE_RATE};

use crate::error::{CallError, Result};

/// Samples per channel in one Opus frame (20 ms, what browsers send).
pub const FRAME: usize = 960;

fn ff(what: &str) -> impl FnOnce(ffmpeg_next::Error) -> CallError + '_ {
    move |e| CallError::Media(onair_media::MediaError::Encoder { name: "opus".into(), reason: format!("{what}: {e}") })
}

/// Encodes interleaved stereo f32 into 20 ms Opus packets.
pub struct OpusEncoder {
    enc: encoder::Audio,
    fifo: Vec<f32>,
    pts: i64,
    packet: Packet,
}

// SAFETY: the FFmpeg context is owned by this value and only used by the
// thread that owns it; moving it between threads is fine.
unsafe impl Send for OpusEncoder {}

impl OpusEncoder {
    pub fn open(kbps: u32) -> Result<Self> {
        onair_media::init();
        let codec = encoder::find_by_name("libopus").ok_or_else(|| ff("finding libopus")(ffmpeg_next::Error::EncoderNotFound))?;
        let mut enc = codec::context::Context::new_with_codec(codec).encoder().audio().map_err(ff("creating"))?;
        enc.set_rate(SAMPLE_RATE as i32);
        enc.set_channel_layout(ChannelLayout::STEREO);
        enc.set_format(Sample::F32(SampleType::Packed));
        enc.set_bit_rate(kbps as usize * 1000);
        enc.set_time_base(Rational(1, SAMPLE_RATE as i32));
        let mut opts = ffmpeg_next::Dictionary::new();
        // Speech and music both, lowest delay libopus offers at 20 ms frames.
        opts.set("application", "lowdelay");
        opts.set("frame_duration", "20");
        // In-band FEC (the SDP says useinbandfec=1): each packet carries a
        // low-rate copy of the one before, so a single lost packet is
        // recovered by receivers that decode FEC (browsers do). libopus only
        // adds it when told to expect loss; 10 % is what libwebrtc assumes
        // until it measures.
        opts.set("fec", "1");
        opts.set("packet_loss", "10");
        let enc = enc.open_as_with(codec, opts).map_err(ff("opening"))?;
        Ok(OpusEncoder { enc, fifo: Vec::new(), pts: 0, packet: Packet::empty() })
    }

    /// Adds samples; calls `out` with each finished packet.
    pub fn encode(&mut self, samples: &[f32], out: &mut dyn FnMut(&[u8])) -> Result<()> {
        self.fifo.extend_from_slice(samples);
        while self.fifo.len() >= FRAME * CHANNELS {
            let mut f = frame::Audio::new(Sample::F32(SampleType::Packed), FRAME, ChannelLayout::STEREO);
            f.set_rate(SAMPLE_RATE);
            f.set_pts(Some(self.pts));
            self.pts += FRAME as i64;
            {
                let bytes = f.data_mut(0);
                for (i, s) in self.fifo.drain(..FRAME * CHANNELS).enumerate() {
                    bytes[i * 4..i * 4 + 4].copy_from_slice(&s.to_ne_bytes());
                }
            }
            self.enc.send_frame(&f).map_err(ff("encoding"))?;
            while self.enc.receive_packet(&mut self.packet).is_ok() {
                if let Some(d) = self.packet.data() {
                    out(d);
                }
            }
        }
        Ok(())
    }
}

/// Decodes Opus packets into engine audio.
pub struct OpusDecoder {
    dec: decoder::Audio,
    resampler: Resampler,
    frame: frame::Audio,
}

// SAFETY: as for the encoder: owned, moved, never shared.
unsafe impl Send for OpusDecoder {}

impl OpusDecoder {
    pub fn open() -> Result<Self> {
        onair_media::init();
        let codec = decoder::find(codec::Id::OPUS).ok_or_else(|| ff("finding the decoder")(ffmpeg_next::Error::DecoderNotFound))?;
        // Without extradata FFmpeg's Opus decoder assumes 48 kHz stereo,
        // which is what WebRTC's `opus/48000/2` means.
        let ctx = codec::context::Context::new_with_codec(codec);
        let dec = ctx.decoder().audio().map_err(ff("opening the decoder"))?;
        Ok(OpusDecoder { dec, resampler: Resampler::new(), frame: frame::Audio::empty() })
    }

    /// Decodes one packet; appends interleaved stereo f32 at 48 kHz to `out`.
    /// A corrupt packet is an error for this packet only.
    pub fn decode(&mut self, data: &[u8], out: &mut Vec<f32>) -> Result<()> {
        let pkt = Packet::copy(data);
        self.dec.send_packet(&pkt).map_err(ff("decoding"))?;
        while self.dec.receive_frame(&mut self.frame).is_ok() {
            self.resampler.convert(&self.frame, out)?;
        }
        Ok(())
    }
}

/// Wraps decoded samples as an engine chunk.
pub fn chunk(samples: Vec<f32>, pts: std::time::Duration) -> AudioFrame {
    AudioFrame { samples, pts }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_round_trip_keeps_the_tone() {
        let mut enc = OpusEncoder::open(64).unwrap();
        let mut dec = OpusDecoder::open().unwrap();
        let input: Vec<f32> = (0..48_000)
            .flat_map(|n| {
                let s = onair_media::source::test::test_sample(n + 1000);
                [s, s]
            })
            .collect();
        let mut packets = Vec::new();
        enc.encode(&input, &mut |p| packets.push(p.to_vec())).unwrap();
        assert!(packets.len() >= 45, "{} packets for 1 s", packets.len());
        let mut out = Vec::new();
        for p in &packets {
            dec.decode(p, &mut out).unwrap();
        }
        assert!(out.len() >= 40 * FRAME * 2);
        let rms = (out.iter().map(|s| s * s).sum::<f32>() / out.len() as f32).sqrt();
        assert!(rms > 0.03, "decoded audio is silent: rms {rms}");
        // Garbage is an error for that packet, never a panic.
        let _ = dec.decode(&[0xff, 0x00, 0x13], &mut out);
        dec.decode(&packets[10], &mut out).unwrap();
    }
}
