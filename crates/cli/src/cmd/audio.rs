//! `onair audio clean --far FAR.wav --mic MIC.wav --out OUT.wav`: the call's
//! audio processing (echo cancellation, noise suppression, gain control)
//! run offline, for tests and for anyone who wants to hear what it does.

use std::path::PathBuf;

use onair_media::audio_processing::{clean, Settings};

#[derive(Debug, clap::Subcommand)]
pub enum AudioCommand {
    /// Clean a microphone recording as a call would: FAR is what the speaker
    /// played, MIC what the microphone heard (48 kHz mono or stereo WAV);
    /// OUT (32-bit float WAV, MIC's length and channels) is what the call would send.
    Clean(CleanArgs),
}

#[derive(Debug, clap::Args)]
pub struct CleanArgs {
    /// What the speaker played (the echo canceller's reference).
    #[arg(long, value_name = "FAR.wav")]
    far: PathBuf,
    /// What the microphone heard.
    #[arg(long, value_name = "MIC.wav")]
    mic: PathBuf,
    /// Where to write the cleaned microphone.
    #[arg(long, value_name = "OUT.wav")]
    out: PathBuf,
    /// Leave out echo cancellation.
    #[arg(long)]
    no_echo_cancellation: bool,
    /// Leave out noise suppression.
    #[arg(long)]
    no_noise_suppression: bool,
    /// Leave out automatic gain control.
    #[arg(long)]
    no_gain_control: bool,
}

pub fn run(c: AudioCommand) -> anyhow::Result<i32> {
    match c {
        AudioCommand::Clean(a) => {
            let settings = Settings {
                echo_cancellation: !a.no_echo_cancellation,
                noise_suppression: !a.no_noise_suppression,
                gain_control: !a.no_gain_control,
            };
            let s = clean::clean(&a.far, &a.mic, &a.out, settings)?;
            println!(
                "cleaned {:.2} s ({} channel{}) into {}: {:.0} µs of processing per 10 ms frame",
                s.seconds,
                s.channels,
                if s.channels == 1 { "" } else { "s" },
                a.out.display(),
                s.micros_per_frame
            );
            Ok(0)
        }
    }
}
