//! Quick timing while tuning: `cargo run --release -p onair-beauty --example speed [FRAMES]`.
//! The benchmark of record is `onair bench beauty`.

use std::time::Instant;

use onair_beauty::{BeautyFilter, BeautyParams, I420Image};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let frames: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/astronaut.png");
    let photo = I420Image::load(&path)?;
    let skin = {
        let rgb: Vec<u8> = (0..64 * 64)
            .flat_map(|i| [220u8, 170 + (i % 7) as u8, 140])
            .collect();
        I420Image::from_rgb8(64, 64, &rgb)?
    };
    for (name, src) in [("astronaut", &photo), ("all-skin", &skin)] {
        for (w, h) in [(1280, 720), (1920, 1080), (3840, 2160)] {
            let frame = src.fit_cover(w, h)?;
            for threads in [1, 0] {
                let mut f = BeautyFilter::with_params(BeautyParams::new(70, 30));
                f.set_threads(threads);
                let mut work = frame.clone();
                let mut times = Vec::with_capacity(frames);
                for _ in 0..frames {
                    work.y.copy_from_slice(&frame.y);
                    let t = Instant::now();
                    f.apply(&mut work.planes_mut());
                    times.push(t.elapsed().as_secs_f64() * 1e3);
                }
                times.sort_by(f64::total_cmp);
                println!(
                    "{name:10} {w}x{h} threads {}: min {:.3} ms, median {:.3} ms",
                    f.threads(),
                    times[0],
                    times[frames / 2]
                );
            }
        }
    }
    Ok(())
}
