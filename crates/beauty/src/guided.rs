//! The low-resolution half of the filter: box filters, the guided filter's
//! coefficients, the skin mask and the tone curve, folded into one affine map
//! per low-resolution sample.
//!
//! A self-guided filter (He, Sun & Tang, 2010) replaces each pixel by
//! `a * I + b`, where `a = var / (var + eps)` and `b = (1 - a) * mean` come from
//! the local mean and variance: flat, noisy skin (var << eps) goes to its local
//! mean; edges (var >> eps) keep `a ~ 1`. As in the *fast* guided filter (He &
//! Sun, 2015) the coefficients are computed on a downscaled picture and
//! upsampled, which costs little and keeps the result equal in kind. Blending
//! with the skin mask and linearising the whitening curve around the local
//! mean keep the whole thing affine in the pixel, so the full-resolution pass
//! is one multiply-add per pixel: `out = A * in + B`.

use crate::mask;
use crate::params::Strengths;

/// Low-resolution planes and scratch, sized once per frame size and reused.
#[derive(Debug, Default)]
pub(crate) struct LowRes {
    pub w: usize,
    pub h: usize,
    /// Box radius in low-resolution samples.
    pub r: usize,
    pub y: Vec<f32>,
    pub cb: Vec<f32>,
    pub cr: Vec<f32>,
    /// Smoothed skin mask, 0..=1.
    pub mask: Vec<f32>,
    /// Final coefficients: `out = a * in + b`.
    pub a: Vec<f32>,
    pub b: Vec<f32>,
    /// Per low row, the half-open column range where `(a, b) != (1, 0)`;
    /// `(0, 0)` when the whole row is left alone.
    pub spans: Vec<(usize, usize)>,
    mean: Vec<f32>,
    t1: Vec<f32>,
    t2: Vec<f32>,
    t3: Vec<f32>,
    acc: Vec<f32>,
    pad: Vec<f32>,
}

impl LowRes {
    pub fn resize(&mut self, w: usize, h: usize, r: usize) {
        self.w = w;
        self.h = h;
        self.r = r;
        let n = w * h;
        for v in [
            &mut self.y,
            &mut self.cb,
            &mut self.cr,
            &mut self.mask,
            &mut self.a,
            &mut self.b,
            &mut self.mean,
            &mut self.t1,
            &mut self.t2,
            &mut self.t3,
        ] {
            v.clear();
            v.resize(n, 0.0);
        }
        self.spans.clear();
        self.spans.resize(h, (0, 0));
        self.acc.clear();
        self.acc.resize(w, 0.0);
        self.pad.clear();
        self.pad.resize(w + 2 * r, 0.0);
    }

    /// From the downscaled `y`, `cb`, `cr`, computes `mask`, `a`, `b` and `spans`.
    pub fn compute(&mut self, st: Strengths) {
        compute_dispatch(self, st);
    }

    #[inline(always)]
    fn compute_inline(&mut self, st: Strengths) {
        let (w, h, r) = (self.w, self.h, self.r);
        // Local mean and variance of luma.
        box_filter(
            &self.y,
            &mut self.mean,
            w,
            h,
            r,
            &mut self.acc,
            &mut self.pad,
        );
        for (sq, &v) in self.t1.iter_mut().zip(&self.y) {
            *sq = v * v;
        }
        box_filter(
            &self.t1,
            &mut self.t2,
            w,
            h,
            r,
            &mut self.acc,
            &mut self.pad,
        );
        // t1 = skin mask (colour and texture), t2 = variance.
        mask::skin_mask(&self.y, &self.cb, &self.cr, &mut self.t1);
        for ((m, v), &mu) in self.t1.iter_mut().zip(self.t2.iter_mut()).zip(&self.mean) {
            *v = (*v - mu * mu).max(0.0);
            *m *= mask::smooth_texture(*v);
        }
        box_filter(
            &self.t1,
            &mut self.mask,
            w,
            h,
            r,
            &mut self.acc,
            &mut self.pad,
        );
        // t1 = a, t2 = b of the guided filter.
        for ((a, b), &m) in self.t1.iter_mut().zip(self.t2.iter_mut()).zip(&self.mean) {
            let var = *b;
            *a = var / (var + st.eps);
            *b = (1.0 - *a) * m;
        }
        // Averaging the coefficients over the window is what makes the
        // guided filter's output smooth rather than blocky.
        box_filter(
            &self.t1,
            &mut self.t3,
            w,
            h,
            r,
            &mut self.acc,
            &mut self.pad,
        );
        box_filter(
            &self.t2,
            &mut self.t1,
            w,
            h,
            r,
            &mut self.acc,
            &mut self.pad,
        );
        // Now t3 = mean a, t1 = mean b.

        let coeffs = self.a.iter_mut().zip(self.b.iter_mut());
        let inputs = self.mask.iter().zip(&self.t3).zip(&self.t1).zip(&self.mean);
        for ((a_out, b_out), (((&m, &mean_a), &mean_b), &mu)) in coeffs.zip(inputs) {
            // Smoothing: in + blend * m * (guided - in).
            let k = st.blend * m;
            let a_s = 1.0 - k * (1.0 - mean_a);
            let b_s = k * mean_b;
            // Whitening: y + c * 219 * t * (1 - t) with t the normalised luma,
            // linearised around the local mean mu, so it stays affine and
            // keeps local contrast (its slope g is positive for c < 1).
            let c = st.lift * m;
            let t = ((mu - 16.0) * (1.0 / 219.0)).clamp(0.0, 1.0);
            let g = 1.0 + c * (1.0 - 2.0 * t);
            let mu_out = mu + c * 219.0 * t * (1.0 - t);
            *a_out = g * a_s;
            *b_out = g * b_s + (mu_out - g * mu);
        }

        for (row, span) in self.spans.iter_mut().enumerate() {
            let a = &self.a[row * w..(row + 1) * w];
            let b = &self.b[row * w..(row + 1) * w];
            let touched = |j: &usize| a[*j] != 1.0 || b[*j] != 0.0;
            *span = match (0..w).find(touched) {
                Some(first) => {
                    let last = (0..w)
                        .rev()
                        .find(touched)
                        .expect("a first touched column implies a last");
                    (first, last + 1)
                }
                None => (0, 0),
            };
        }
    }
}

multiversion! {
    /// [`LowRes::compute`], built for AVX2 too: its per-sample loops vectorise.
    fn compute_dispatch(lo: &mut LowRes, st: Strengths) {
        lo.compute_inline(st)
    }
}

/// Box mean of radius `r` with edges replicated: a running vertical sum, then
/// a horizontal sum of `2r + 1` shifted slices, both vectorisable.
fn box_filter(
    src: &[f32],
    dst: &mut [f32],
    w: usize,
    h: usize,
    r: usize,
    acc: &mut [f32],
    pad: &mut [f32],
) {
    use crate::kernels::{add_rows, box_cols, slide_rows};
    let row = |y: isize| -> &[f32] {
        let y = y.clamp(0, h as isize - 1) as usize;
        &src[y * w..(y + 1) * w]
    };
    let scale = 1.0 / ((2 * r + 1) * (2 * r + 1)) as f32;
    acc.fill(0.0);
    for k in -(r as isize)..=r as isize {
        add_rows(acc, row(k));
    }
    for y in 0..h {
        if y > 0 {
            slide_rows(
                acc,
                row(y as isize + r as isize),
                row(y as isize - r as isize - 1),
            );
        }
        pad[..r].fill(acc[0]);
        pad[r..r + w].copy_from_slice(acc);
        pad[r + w..].fill(acc[w - 1]);
        box_cols(pad, &mut dst[y * w..(y + 1) * w], r, scale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_filter_of_constant_is_constant() {
        let (w, h, r) = (7, 5, 2);
        let src = vec![3.0f32; w * h];
        let mut dst = vec![0.0; w * h];
        let (mut acc, mut pad) = (vec![0.0; w], vec![0.0; w + 2 * r]);
        box_filter(&src, &mut dst, w, h, r, &mut acc, &mut pad);
        assert!(dst.iter().all(|&v| (v - 3.0).abs() < 1e-5));
    }

    #[test]
    fn no_skin_means_identity() {
        let mut lo = LowRes::default();
        lo.resize(8, 6, 1);
        lo.y.fill(120.0);
        lo.cb.fill(160.0); // blue: not skin
        lo.cr.fill(100.0);
        lo.compute(Strengths {
            blend: 1.0,
            eps: 100.0,
            lift: 0.5,
        });
        assert!(lo.a.iter().all(|&a| a == 1.0) && lo.b.iter().all(|&b| b == 0.0));
        assert!(lo.spans.iter().all(|&s| s == (0, 0)));
    }
}
