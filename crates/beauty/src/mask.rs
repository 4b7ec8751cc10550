//! The soft skin model: how much a colour looks like skin, 0..=1.
//!
//! Skin of every complexion clusters in a compact region of the Cb/Cr plane
//! (Chai & Ngan, 1999: Cb 77..127, Cr 133..173), because melanin and blood
//! change mostly brightness, not hue. A hard box flickers at its borders, so
//! each bound here is a linear ramp, and luma ramps exclude deep shadow (hair,
//! nostrils, pupils) and blown highlights. The filter evaluates this on its
//! downscaled planes and then blurs the result, so the mask is soft in space too.

/// Skin likelihood of one (Y, Cb, Cr) sample in BT.601 limited-range levels.
#[inline]
pub(crate) fn skin_weight(y: f32, cb: f32, cr: f32) -> f32 {
    let w_cb = ramp(cb, 80.0, 90.0) * (1.0 - ramp(cb, 122.0, 130.0));
    let w_cr = ramp(cr, 134.0, 142.0) * (1.0 - ramp(cr, 168.0, 176.0));
    let w_y = ramp(y, 50.0, 80.0) * (1.0 - ramp(y, 232.0, 240.0));
    w_cb * w_cr * w_y
}

/// How much a neighbourhood with this luma variance (levels squared, on the
/// downscaled picture) may count as skin. Skin is smooth at that scale; hair,
/// fabric folds and the anti-aliased border between two colours (red next to
/// white averages to pink) are not, even when their colour passes.
#[inline]
pub(crate) fn smooth_texture(var: f32) -> f32 {
    1.0 - ramp(var, TEXTURE_VAR.0, TEXTURE_VAR.1)
}

pub(crate) const TEXTURE_VAR: (f32, f32) = (250.0, 900.0);

/// 0 below `lo`, 1 above `hi`, linear between.
#[inline]
fn ramp(x: f32, lo: f32, hi: f32) -> f32 {
    ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
}

/// Fills `mask` with [`skin_weight`] of each low-resolution sample.
pub(crate) fn skin_mask(y: &[f32], cb: &[f32], cr: &[f32], mask: &mut [f32]) {
    for (((m, &y), &cb), &cr) in mask.iter_mut().zip(y).zip(cb).zip(cr) {
        *m = skin_weight(y, cb, cr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BT.601 limited range, as the engine's frames carry it.
    fn ycbcr(r: f32, g: f32, b: f32) -> (f32, f32, f32) {
        let y = 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0;
        let cb = 128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0;
        let cr = 128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0;
        (y, cb, cr)
    }

    #[test]
    fn skin_tones_score_high_and_other_colours_zero() {
        // Light, medium and dark skin tones.
        for (r, g, b) in [
            (232.0, 190.0, 165.0),
            (198.0, 134.0, 106.0),
            (120.0, 80.0, 60.0),
        ] {
            let (y, cb, cr) = ycbcr(r, g, b);
            assert!(
                skin_weight(y, cb, cr) > 0.5,
                "skin ({r},{g},{b}) -> {y},{cb},{cr}"
            );
        }
        // Sky blue, grass green, grey wall, white, black, saturated orange, red.
        for (r, g, b) in [
            (90.0, 140.0, 220.0),
            (60.0, 160.0, 60.0),
            (128.0, 128.0, 128.0),
            (255.0, 255.0, 255.0),
            (10.0, 10.0, 10.0),
            (240.0, 100.0, 30.0),
            (200.0, 20.0, 40.0),
        ] {
            let (y, cb, cr) = ycbcr(r, g, b);
            assert_eq!(
                skin_weight(y, cb, cr),
                0.0,
                "not skin ({r},{g},{b}) -> {y},{cb},{cr}"
            );
        }
    }
}
