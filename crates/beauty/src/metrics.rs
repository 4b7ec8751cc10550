//! Picture measures for the quality tests and the benchmark: high-frequency
//! energy, SSIM and masked means, each over a selection of pixels.
//!
//! Plain and unoptimised: they judge the filter, they do not run per frame.

/// Mean squared high-pass (`p - mean of its 3x3 neighbourhood`) over the
/// pixels of a `w x h` plane for which `select(x, y)` holds (the outermost
/// rows and columns are skipped). The fine texture the smoothing should remove.
pub fn high_freq_energy(
    p: &[u8],
    w: usize,
    h: usize,
    select: impl Fn(usize, usize) -> bool,
) -> f64 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            if !select(x, y) {
                continue;
            }
            let mut local = 0.0f64;
            for dy in 0..3 {
                for dx in 0..3 {
                    local += f64::from(p[(y + dy - 1) * w + x + dx - 1]);
                }
            }
            let d = f64::from(p[y * w + x]) - local / 9.0;
            sum += d * d;
            n += 1;
        }
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// Mean SSIM (Wang et al. 2004, 7x7 uniform window as scikit-image's default,
/// K1 = 0.01, K2 = 0.03, L = 255) of two `w x h` planes over the window
/// centres for which `select(x, y)` holds; windows must fit in the picture.
pub fn ssim(a: &[u8], b: &[u8], w: usize, h: usize, select: impl Fn(usize, usize) -> bool) -> f64 {
    const R: usize = 3;
    let c1 = (0.01f64 * 255.0).powi(2);
    let c2 = (0.03f64 * 255.0).powi(2);
    let n = ((2 * R + 1) * (2 * R + 1)) as f64;
    let (mut total, mut count) = (0.0f64, 0usize);
    for y in R..h.saturating_sub(R) {
        for x in R..w.saturating_sub(R) {
            if !select(x, y) {
                continue;
            }
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
            for yy in y - R..=y + R {
                for xx in x - R..=x + R {
                    let (p, q) = (f64::from(a[yy * w + xx]), f64::from(b[yy * w + xx]));
                    sa += p;
                    sb += q;
                    saa += p * p;
                    sbb += q * q;
                    sab += p * q;
                }
            }
            let (ma, mb) = (sa / n, sb / n);
            // Sample (co)variances, as scikit-image computes them.
            let k = n / (n - 1.0);
            let va = (saa / n - ma * ma) * k;
            let vb = (sbb / n - mb * mb) * k;
            let cov = (sab / n - ma * mb) * k;
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            count += 1;
        }
    }
    if count == 0 {
        1.0
    } else {
        total / count as f64
    }
}

/// Mean value of a `w x h` plane over the pixels for which `select(x, y)` holds.
pub fn mean(p: &[u8], w: usize, h: usize, select: impl Fn(usize, usize) -> bool) -> f64 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for y in 0..h {
        for x in 0..w {
            if select(x, y) {
                sum += f64::from(p[y * w + x]);
                n += 1;
            }
        }
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_planes_have_ssim_one_and_flat_has_no_energy() {
        let p: Vec<u8> = (0..400).map(|i| (i * 7 % 251) as u8).collect();
        assert!((ssim(&p, &p, 20, 20, |_, _| true) - 1.0).abs() < 1e-12);
        assert_eq!(high_freq_energy(&[9u8; 100], 10, 10, |_, _| true), 0.0);
        assert!(high_freq_energy(&p, 20, 20, |_, _| true) > 100.0);
        assert_eq!(mean(&[1, 2, 3, 4], 2, 2, |x, _| x == 1), 3.0);
    }
}
