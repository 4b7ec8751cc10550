//! `onair bench beauty [--json] [--frames N]`: milliseconds per frame of the
//! beauty filter at 720p and 1080p, on one thread and on all, against FFmpeg's
//! `bilateral` and `smartblur` filters on one thread, in the same run, on the
//! same frames; plus the quality measures of each contender on the 720p frame.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use onair_beauty::metrics::{high_freq_energy, mean, ssim};
use onair_beauty::{BeautyFilter, BeautyParams, I420Image};
use serde_json::{json, Map, Value};

use super::ffmpeg_peer::{self, FfmpegFilter};

/// The portrait the benchmark uses unless `--image` names another.
const ASTRONAUT_PNG: &[u8] = include_bytes!("../../../../beauty/testdata/astronaut.png");

const DEFAULT_BILATERAL: &str = "bilateral=sigmaS=3:sigmaR=0.1";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Timed frames per contender and size (the median and minimum are reported).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub frames: u32,
    /// Picture to scale to each size (default: the astronaut portrait, NASA, public domain).
    #[arg(long, value_name = "PATH")]
    pub image: Option<PathBuf>,
    /// Smoothing strength for our filter.
    #[arg(long, default_value_t = 70, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub smooth: u8,
    /// FFmpeg's bilateral filter as run against ours. Its defaults (sigmaS=0.1)
    /// leave a picture practically unchanged; its cost does not depend on sigmaS
    /// (a recursive implementation), so the default here smooths skin about as
    /// much as ours at smooth 70.
    #[arg(long, default_value = DEFAULT_BILATERAL, value_name = "FILTER")]
    pub bilateral: String,
    /// FFmpeg's smartblur as run against ours (its defaults: radius 1, strength 1).
    #[arg(long, default_value = "smartblur", value_name = "FILTER")]
    pub smartblur: String,
    /// Whitening strength for our filter.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub whiten: u8,
}

/// Median and minimum of one contender's timings, in milliseconds.
#[derive(Clone, Copy)]
struct Timing {
    median: f64,
    min: f64,
}

fn timing(mut ms: Vec<f64>) -> Timing {
    ms.sort_by(f64::total_cmp);
    Timing {
        median: ms[ms.len() / 2],
        min: ms[0],
    }
}

/// Times our filter: each run starts from the untouched frame (the copy is not timed).
fn time_ours(frame: &I420Image, params: BeautyParams, threads: usize, frames: u32) -> Timing {
    let mut filter = BeautyFilter::with_params(params);
    filter.set_threads(threads);
    let mut work = frame.clone();
    let mut ms = Vec::new();
    // The first runs size the scratch and warm the caches.
    for i in 0..frames + 3 {
        work.y.copy_from_slice(&frame.y);
        let t = Instant::now();
        filter.apply(&mut work.planes_mut());
        if i >= 3 {
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    timing(ms)
}

fn time_ffmpeg(peer: &mut FfmpegFilter, frames: u32) -> anyhow::Result<Timing> {
    let mut ms = Vec::new();
    for i in 0..frames + 3 {
        let t = Instant::now();
        peer.run()?;
        if i >= 3 {
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    Ok(timing(ms))
}

/// The quality measures of `out` against `input` over our skin mask.
fn quality(input: &I420Image, out: &I420Image, mask: &[u8]) -> Value {
    let (w, h) = (input.width, input.height);
    let inside = |x: usize, y: usize| mask[y * w + x] >= 128;
    let outside = |x: usize, y: usize| mask[y * w + x] == 0;
    let c_out = |x: usize, y: usize| mask[2 * y * w + 2 * x] == 0;
    let shift =
        |a: &[u8], b: &[u8]| (mean(a, w / 2, h / 2, c_out) - mean(b, w / 2, h / 2, c_out)).abs();
    let hf_before = high_freq_energy(&input.y, w, h, inside);
    let hf_after = high_freq_energy(&out.y, w, h, inside);
    json!({
        "hf_drop_in_skin": round3(1.0 - hf_after / hf_before),
        "ssim_outside_skin": round4(ssim(&input.y, &out.y, w, h, outside)),
        "chroma_shift_outside_skin": round3(shift(&input.u, &out.u).max(shift(&input.v, &out.v))),
    })
}

fn round3(v: f64) -> f64 {
    (v * 1e3).round() / 1e3
}

fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let source = match &args.image {
        Some(path) => I420Image::load(path)?,
        None => {
            I420Image::decode(ASTRONAUT_PNG).context("decoding the built-in astronaut picture")?
        }
    };
    let params = BeautyParams::new(args.smooth, args.whiten);
    let all = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut report = Map::new();
    let mut quality_report = Map::new();
    for (label, w, h) in [("720p", 1280, 720), ("1080p", 1920, 1080)] {
        let frame = source
            .fit_cover(w, h)
            .with_context(|| format!("scaling the picture to {w}x{h}"))?;
        let one = time_ours(&frame, params, 1, args.frames);
        let many = time_ours(&frame, params, all, args.frames);
        let mut bilateral = FfmpegFilter::new(&args.bilateral, w as u32, h as u32)?;
        bilateral.load(&frame);
        let bil = time_ffmpeg(&mut bilateral, args.frames)?;
        let mut smartblur = FfmpegFilter::new(&args.smartblur, w as u32, h as u32)?;
        smartblur.load(&frame);
        let sb = time_ffmpeg(&mut smartblur, args.frames)?;
        for (key, t) in [
            (format!("ms_{label}_1t"), one),
            (format!("ms_{label}_all"), many),
            (format!("ffmpeg_bilateral_ms_{label}_1t"), bil),
            (format!("ffmpeg_smartblur_ms_{label}_1t"), sb),
        ] {
            report.insert(key.clone(), json!(round3(t.median)));
            report.insert(format!("{key}_min"), json!(round3(t.min)));
        }
        report.insert(
            format!("ratio_bilateral_{label}_1t"),
            json!(round3(bil.median / one.median)),
        );
        report.insert(
            format!("ratio_smartblur_{label}_1t"),
            json!(round3(sb.median / one.median)),
        );

        if label == "720p" {
            let mut filter = BeautyFilter::with_params(params);
            let mut scratch = frame.clone();
            let mask = filter.skin_mask(&scratch.planes_mut());
            filter.apply(&mut scratch.planes_mut());
            quality_report.insert("onair".into(), quality(&frame, &scratch, &mask));
            quality_report.insert(
                "ffmpeg_bilateral".into(),
                quality(&frame, &bilateral.output(&frame), &mask),
            );
            quality_report.insert(
                "ffmpeg_smartblur".into(),
                quality(&frame, &smartblur.output(&frame), &mask),
            );
        }
    }
    // Pixels with no skin near them cost nothing, so the figures above depend
    // on the picture. A webcam close-up, where skin and hair fill the frame,
    // is the filter's hard case: the upper middle of the portrait, blown up.
    let (sw, sh) = (source.width, source.height);
    let closeup = source
        .cropped(sw * 3 / 10, sh / 10, sw * 3 / 10, sh * 3 / 10)
        .fit_cover(1920, 1080)
        .context("scaling the close-up to 1920x1080")?;
    let t = time_ours(&closeup, params, 1, args.frames);
    report.insert("ms_1080p_1t_closeup".into(), json!(round3(t.median)));
    report.insert("ms_1080p_1t_closeup_min".into(), json!(round3(t.min)));
    report.insert("threads_all".into(), json!(all));
    report.insert("frames".into(), json!(args.frames));
    report.insert("smooth".into(), json!(params.smooth));
    report.insert("whiten".into(), json!(params.whiten));
    report.insert(
        "picture".into(),
        json!(args
            .image
            .as_ref()
            .map_or("astronaut.png (built in)".to_string(), |p| p
                .display()
                .to_string())),
    );
    report.insert(
        "peer".into(),
        json!(format!(
            "FFmpeg {} libavfilter in-process (buffer -> filter -> buffersink, graph threads 1)",
            ffmpeg_peer::version()
        )),
    );
    report.insert("ffmpeg_bilateral_filter".into(), json!(args.bilateral));
    report.insert("ffmpeg_smartblur_filter".into(), json!(args.smartblur));
    report.insert("quality_720p".into(), Value::Object(quality_report));

    if args.json {
        println!("{}", Value::Object(report));
    } else {
        print_table(&report);
    }
    Ok(0)
}

fn print_table(r: &Map<String, Value>) {
    let num = |k: &str| r.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    println!(
        "beauty filter, ms per frame (median / min of {} frames)",
        r["frames"]
    );
    println!(
        "picture: {}; smooth {}, whiten {}",
        r["picture"].as_str().unwrap_or("?"),
        r["smooth"],
        r["whiten"]
    );
    println!("peer: {}", r["peer"].as_str().unwrap_or("?"));
    println!(
        "peer filters: `{}` and `{}`",
        r["ffmpeg_bilateral_filter"].as_str().unwrap_or("?"),
        r["ffmpeg_smartblur_filter"].as_str().unwrap_or("?")
    );
    println!("{:<34} {:>16} {:>16}", "", "720p", "1080p");
    let row = |name: &str, key: &str| {
        let cell = |label: &str| {
            let k = key.replace("{}", label);
            format!("{:.2} / {:.2}", num(&k), num(&format!("{k}_min")))
        };
        println!("{name:<34} {:>16} {:>16}", cell("720p"), cell("1080p"));
    };
    row("onair beauty, 1 thread", "ms_{}_1t");
    row(
        &format!("onair beauty, {} threads", r["threads_all"]),
        "ms_{}_all",
    );
    println!(
        "{:<34} {:>16} {:>16}",
        "onair beauty, 1 thread, close-up",
        "",
        format!(
            "{:.2} / {:.2}",
            num("ms_1080p_1t_closeup"),
            num("ms_1080p_1t_closeup_min")
        )
    );
    row("ffmpeg bilateral, 1 thread", "ffmpeg_bilateral_ms_{}_1t");
    row("ffmpeg smartblur, 1 thread", "ffmpeg_smartblur_ms_{}_1t");
    println!(
        "onair is {:.1}x faster than bilateral and {:.1}x faster than smartblur at 1080p on one thread",
        num("ratio_bilateral_1080p_1t"),
        num("ratio_smartblur_1080p_1t")
    );
    println!("quality at 720p (HF drop in skin / SSIM outside skin / chroma shift outside skin):");
    if let Some(Value::Object(q)) = r.get("quality_720p") {
        for (name, v) in q {
            println!(
                "  {name:<18} {:>6.1}% / {:.4} / {:.2}",
                v["hf_drop_in_skin"].as_f64().unwrap_or(f64::NAN) * 100.0,
                v["ssim_outside_skin"].as_f64().unwrap_or(f64::NAN),
                v["chroma_shift_outside_skin"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
}
