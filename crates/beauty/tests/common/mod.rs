//! Shared fixtures: the astronaut photo and a synthetic noisy skin patch.

#![allow(dead_code)]

use std::path::PathBuf;

use onair_beauty::{BeautyFilter, BeautyParams, I420Image};

pub fn astronaut() -> I420Image {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/astronaut.png");
    I420Image::load(&path).expect("testdata/astronaut.png is committed with the crate")
}

/// 320x240: skin-coloured face disk with Gaussian-ish noise (sigma ~8 levels),
/// two dark "eyes" with hard edges, on a noisy blue background.
pub fn noisy_skin_patch() -> I420Image {
    let (w, h) = (320usize, 240usize);
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut noise = move || {
        // Sum of four uniforms: close enough to a Gaussian, deterministic.
        let mut s = 0.0f32;
        for _ in 0..4 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            s += (rng >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        }
        s * 8.0 / 0.577
    };
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32, y as f32);
            let in_face = ((fx - 160.0) / 100.0).powi(2) + ((fy - 120.0) / 110.0).powi(2) < 1.0;
            let in_eye = [(125.0, 100.0), (195.0, 100.0)]
                .iter()
                .any(|&(ex, ey)| ((fx - ex) / 14.0).powi(2) + ((fy - ey) / 7.0).powi(2) < 1.0);
            let base: [f32; 3] = if in_eye {
                [40.0, 30.0, 30.0]
            } else if in_face {
                [220.0, 170.0, 140.0]
            } else {
                [70.0, 110.0, 190.0]
            };
            let n = noise();
            rgb.extend(base.iter().map(|&c| (c + n).clamp(0.0, 255.0) as u8));
        }
    }
    I420Image::from_rgb8(w, h, &rgb).expect("buffer is w*h*3")
}

pub fn filtered(img: &I420Image, p: BeautyParams) -> I420Image {
    let mut out = img.clone();
    BeautyFilter::with_params(p).apply(&mut out.planes_mut());
    out
}

pub fn mask_of(img: &I420Image) -> Vec<u8> {
    let mut copy = img.clone();
    BeautyFilter::new().skin_mask(&copy.planes_mut())
}
