//! `onair beauty --in IN --out OUT [--smooth N] [--whiten N]`: applies the beauty
//! filter to a picture so people can see and compare the effect.

pub mod bench;
mod ffmpeg_peer;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use onair_beauty::{keep_untouched, BeautyFilter, BeautyParams, I420Image};

/// Extensions taken as video files: filtered frame by frame into an MP4.
const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "mov", "mkv", "webm", "avi", "flv", "ts", "m4v", "h264", "y4m",
];
const PICTURE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg"];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Picture to filter (PNG or JPEG).
    #[arg(long = "in", value_name = "IN")]
    pub input: PathBuf,
    /// Where to write the result; PNG or JPEG by its extension.
    #[arg(long = "out", value_name = "OUT")]
    pub output: PathBuf,
    /// Skin smoothing strength, 0..=100.
    #[arg(long, default_value_t = 70, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub smooth: u8,
    /// Skin whitening (brightening) strength, 0..=100.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub whiten: u8,
    /// Also write the skin mask the filter used (white = skin) to this PNG/JPEG.
    #[arg(long, value_name = "PATH")]
    pub mask: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    if is_video(&args.input) {
        return run_video(&args);
    }
    for out in std::iter::once(&args.output).chain(&args.mask) {
        if !has_extension(out, PICTURE_EXTENSIONS) {
            bail!(
                "cannot write {}: use a .png, .jpg or .jpeg file name",
                out.display()
            );
        }
    }
    let original = I420Image::load_rgb8(&args.input)?;
    let mut img = I420Image::from_rgb8(
        original.width as usize,
        original.height as usize,
        &original.pixels,
    )?;
    let before = img.clone();
    let params = BeautyParams::new(args.smooth, args.whiten);
    let mut filter = BeautyFilter::with_params(params);
    if let Some(path) = &args.mask {
        let mask = filter.skin_mask(&img.planes_mut());
        let grey: Vec<u8> = mask.iter().flat_map(|&m| [m, m, m]).collect();
        let mut picture = I420Image::from_rgb8(img.width, img.height, &grey)
            .context("building the mask picture")?;
        picture.visible = img.visible;
        picture.save(path)?;
    }
    let started = Instant::now();
    filter.apply(&mut img.planes_mut());
    let took = started.elapsed();
    // Untouched pixels (all of them at 0,0; everything but skin otherwise)
    // come back exactly as they were, not through the 4:2:0 round trip.
    keep_untouched(&original, &before, &img).save(&args.output)?;
    println!(
        "wrote {} ({}x{}, smooth {}, whiten {}, filtered in {:.2} ms)",
        args.output.display(),
        img.visible.0,
        img.visible.1,
        params.smooth,
        params.whiten,
        took.as_secs_f64() * 1e3
    );
    Ok(0)
}

/// A video in, an MP4 out, with progress on stderr.
fn run_video(args: &Args) -> anyhow::Result<i32> {
    if !has_extension(&args.output, &["mp4", "m4v", "mov"]) {
        bail!("cannot write {}: a filtered video is written as MP4; use a .mp4 file name", args.output.display());
    }
    if args.mask.is_some() {
        bail!("--mask works on pictures only");
    }
    let params = BeautyParams::new(args.smooth, args.whiten);
    let started = Instant::now();
    let mut last = -1i64;
    let mut progress = |f: f64| {
        let pct = (f * 100.0) as i64;
        if pct != last {
            last = pct;
            eprint!("\rfiltering {}: {pct:3}%", args.input.display());
        }
    };
    let done = onair_media::transcode::beauty_video(&args.input, &args.output, params, &mut progress);
    eprintln!();
    let done = done?;
    println!(
        "wrote {} ({} frames, smooth {}, whiten {}, {} in {:.1} s)",
        args.output.display(),
        done.frames,
        params.smooth,
        params.whiten,
        done.encoder,
        started.elapsed().as_secs_f64()
    );
    Ok(0)
}

fn is_video(path: &Path) -> bool {
    has_extension(path, VIDEO_EXTENSIONS)
}

fn has_extension(path: &Path, list: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| list.iter().any(|known| e.eq_ignore_ascii_case(known)))
}
