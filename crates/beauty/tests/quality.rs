//! The quality measures on a real face photo and a synthetic patch:
//! at smooth 70 the fine texture inside skin drops by at least 40%, the
//! picture outside skin is preserved (SSIM >= 0.98, chroma within 2 levels),
//! and the effect grows monotonically with `smooth`.

mod common;

use common::{astronaut, filtered, mask_of, noisy_skin_patch};
use onair_beauty::metrics::{high_freq_energy, mean, ssim};
use onair_beauty::{BeautyParams, I420Image};

struct Report {
    hf_drop_inside: f64,
    ssim_outside: f64,
    /// Over everything not counted as skin, the mask's soft edge included.
    ssim_not_skin: f64,
    chroma_shift_outside: f64,
}

fn measure(input: &I420Image, output: &I420Image, mask: &[u8]) -> Report {
    let (w, h) = (input.width, input.height);
    let inside = |x: usize, y: usize| mask[y * w + x] >= 128;
    let outside = |x: usize, y: usize| mask[y * w + x] == 0;
    let hf_in = high_freq_energy(&input.y, w, h, inside);
    let hf_out = high_freq_energy(&output.y, w, h, inside);
    let c_outside = |x: usize, y: usize| mask[2 * y * w + 2 * x] == 0;
    let shift = |a: &[u8], b: &[u8]| {
        (mean(a, w / 2, h / 2, c_outside) - mean(b, w / 2, h / 2, c_outside)).abs()
    };
    Report {
        hf_drop_inside: 1.0 - hf_out / hf_in,
        ssim_outside: ssim(&input.y, &output.y, w, h, outside),
        ssim_not_skin: ssim(&input.y, &output.y, w, h, |x, y| !inside(x, y)),
        chroma_shift_outside: shift(&input.u, &output.u).max(shift(&input.v, &output.v)),
    }
}

fn check_quality(name: &str, img: &I420Image) {
    let mask = mask_of(img);
    let skin = mask.iter().filter(|&&m| m >= 128).count();
    let none = mask.iter().filter(|&&m| m == 0).count();
    assert!(
        skin > img.y.len() / 50,
        "{name}: the mask finds too little skin ({skin} px)"
    );
    assert!(
        none > img.y.len() / 5,
        "{name}: the mask leaves too little non-skin ({none} px)"
    );
    for whiten in [0, 30] {
        let out = filtered(img, BeautyParams::new(70, whiten));
        let r = measure(img, &out, &mask);
        eprintln!(
            "{name} smooth 70 whiten {whiten}: HF drop inside {:.1}%, SSIM outside {:.4} \
             (not-skin incl. soft edge {:.4}), chroma shift outside {:.2}",
            r.hf_drop_inside * 100.0,
            r.ssim_outside,
            r.ssim_not_skin,
            r.chroma_shift_outside
        );
        assert!(
            r.hf_drop_inside >= 0.40,
            "{name}: HF energy inside skin dropped only {:.1}%",
            r.hf_drop_inside * 100.0
        );
        assert!(
            r.ssim_outside >= 0.98,
            "{name}: SSIM outside skin {:.4}",
            r.ssim_outside
        );
        assert!(
            r.ssim_not_skin >= 0.98,
            "{name}: SSIM over non-skin incl. the mask's soft edge {:.4}",
            r.ssim_not_skin
        );
        assert!(
            r.chroma_shift_outside <= 2.0,
            "{name}: chroma outside skin shifted {:.2}",
            r.chroma_shift_outside
        );
    }
}

#[test]
fn astronaut_at_smooth_70() {
    check_quality("astronaut", &astronaut());
}

#[test]
fn astronaut_scaled_to_720p_at_smooth_70() {
    // 720p takes the filter's 4x downscale path (512x512 takes 2x).
    check_quality(
        "astronaut 720p",
        &astronaut().fit_cover(1280, 720).expect("valid size"),
    );
}

#[test]
fn synthetic_skin_patch_at_smooth_70() {
    check_quality("patch", &noisy_skin_patch());
}

#[test]
fn effect_grows_monotonically_with_smooth() {
    for (name, img) in [("astronaut", astronaut()), ("patch", noisy_skin_patch())] {
        let mask = mask_of(&img);
        let (w, h) = (img.width, img.height);
        let inside = |x: usize, y: usize| mask[y * w + x] >= 128;
        let mut last_hf = f64::INFINITY;
        let mut last_change = -1.0f64;
        for smooth in (0..=100).step_by(10) {
            let out = filtered(&img, BeautyParams::new(smooth, 0));
            let hf = high_freq_energy(&out.y, w, h, inside);
            let change: f64 = img
                .y
                .iter()
                .zip(&out.y)
                .map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs())
                .sum::<f64>();
            assert!(
                hf < last_hf,
                "{name}: HF energy {hf} at smooth {smooth} is not below {last_hf}"
            );
            assert!(
                change > last_change,
                "{name}: change {change} at smooth {smooth} is not above {last_change}"
            );
            (last_hf, last_change) = (hf, change);
        }
    }
}

#[test]
fn whitening_brightens_skin_without_touching_chroma() {
    let img = astronaut();
    let mask = mask_of(&img);
    let (w, h) = (img.width, img.height);
    let inside = |x: usize, y: usize| mask[y * w + x] >= 128;
    let mut last = mean(&img.y, w, h, inside);
    for whiten in [20, 50, 100] {
        let out = filtered(&img, BeautyParams::new(0, whiten));
        let now = mean(&out.y, w, h, inside);
        assert!(
            now > last + 1.0,
            "whiten {whiten}: skin luma {now} not above {last}"
        );
        assert_eq!(
            (&out.u, &out.v),
            (&img.u, &img.v),
            "whitening must not change chroma"
        );
        last = now;
    }
}

#[test]
fn eyes_and_background_of_the_patch_stay_sharp() {
    let img = noisy_skin_patch();
    let out = filtered(&img, BeautyParams::new(100, 0));
    let w = img.width;
    // Background far from the face: untouched, noise and all.
    for y in 0..20 {
        assert_eq!(&img.y[y * w..y * w + 20], &out.y[y * w..y * w + 20]);
    }
    // The eye's dark core stays dark: the edge was not blurred into it.
    let core = |p: &I420Image| {
        mean(&p.y, w, img.height, |x, y| {
            (120..131).contains(&x) && (98..103).contains(&y)
        })
    };
    assert!(
        (core(&out) - core(&img)).abs() < 6.0,
        "eye core {} -> {}",
        core(&img),
        core(&out)
    );
}
