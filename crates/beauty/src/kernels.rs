//! The inner loops, written as plain slice arithmetic so LLVM vectorises them.
//!
//! The default x86-64 target only promises SSE2, so every kernel is compiled
//! twice by [`multiversion!`]: once for the baseline and once with AVX2
//! enabled, picked at run time. Both copies do the same IEEE operations in the
//! same order (Rust never fuses a multiply and an add on its own), so a frame
//! filters to the same bytes on every x86-64 machine and on any thread count.

/// Defines `fn $name(args)` that runs an AVX2 build of `$body` when the CPU has
/// AVX2 and the baseline build otherwise.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn imp($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) {
                    imp($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") {
                    // SAFETY: the running CPU was just checked for AVX2.
                    return unsafe { avx2($($arg),*) };
                }
            }
            imp($($arg),*)
        }
    };
}

multiversion! {
    /// `acc[x] += row[x]`: one row of a vertical box sum.
    pub(crate) fn add_row_u8(acc: &mut [u16], row: &[u8]) {
        let n = acc.len().min(row.len());
        for (a, &p) in acc[..n].iter_mut().zip(&row[..n]) {
            *a += u16::from(p);
        }
    }
}

multiversion! {
    /// `out[j] = (acc[j*s] + … + acc[j*s+s-1]) * scale`: the horizontal half of
    /// an `s x s` box downscale. `acc` holds `out.len() * s` sums.
    pub(crate) fn reduce_cols(acc: &[u16], out: &mut [f32], s: usize, scale: f32) {
        #[inline(always)]
        fn go<const S: usize>(acc: &[u16], out: &mut [f32], scale: f32) {
            for (o, c) in out.iter_mut().zip(acc.chunks_exact(S)) {
                let mut sum = 0u32;
                for &v in c {
                    sum += u32::from(v);
                }
                *o = sum as f32 * scale;
            }
        }
        match s {
            1 => go::<1>(acc, out, scale),
            2 => go::<2>(acc, out, scale),
            4 => go::<4>(acc, out, scale),
            8 => go::<8>(acc, out, scale),
            _ => unreachable!("the filter only picks scales 2, 4 and 8 (and 1 for chroma)"),
        }
    }
}

multiversion! {
    /// `acc[x] += add[x] - sub[x]`: slides a vertical running box sum one row down.
    pub(crate) fn slide_rows(acc: &mut [f32], add: &[f32], sub: &[f32]) {
        let n = acc.len();
        let (add, sub) = (&add[..n], &sub[..n]);
        for i in 0..n {
            acc[i] += add[i] - sub[i];
        }
    }
}

multiversion! {
    /// `acc[x] += add[x]`.
    pub(crate) fn add_rows(acc: &mut [f32], add: &[f32]) {
        let n = acc.len();
        let add = &add[..n];
        for i in 0..n {
            acc[i] += add[i];
        }
    }
}

multiversion! {
    /// `out[x] = (pad[x] + … + pad[x+2r]) * scale`: the horizontal half of a box
    /// filter over a row padded by `r` on each side.
    pub(crate) fn box_cols(pad: &[f32], out: &mut [f32], r: usize, scale: f32) {
        // Summing in registers with the radius known at compile time keeps
        // this one load per tap and one store per output.
        #[inline(always)]
        fn go<const R: usize>(pad: &[f32], out: &mut [f32], scale: f32) {
            for (o, win) in out.iter_mut().zip(pad.windows(2 * R + 1)) {
                let mut s = win[0];
                for &v in &win[1..] {
                    s += v;
                }
                *o = s * scale;
            }
        }
        match r {
            1 => go::<1>(pad, out, scale),
            2 => go::<2>(pad, out, scale),
            3 => go::<3>(pad, out, scale),
            4 => go::<4>(pad, out, scale),
            _ => {
                let n = out.len();
                out.copy_from_slice(&pad[..n]);
                for k in 1..=2 * r {
                    let src = &pad[k..k + n];
                    for i in 0..n {
                        out[i] += src[i];
                    }
                }
                for o in out.iter_mut() {
                    *o *= scale;
                }
            }
        }
    }
}

multiversion! {
    /// Bilinear 1-D upsampling by `s` with centred samples: low sample `j` sits
    /// at full-resolution `j*s + (s-1)/2`; `out` holds `lo.len() * s` values and
    /// the ends are extended flat.
    pub(crate) fn upsample_cols(lo: &[f32], out: &mut [f32], s: usize) {
        #[inline(always)]
        fn go<const S: usize>(lo: &[f32], out: &mut [f32]) {
            let half = S / 2;
            let n = lo.len();
            let first = lo[0];
            let last = lo[n - 1];
            out[..half].fill(first);
            let tail = (n - 1) * S + half;
            out[tail..n * S].fill(last);
            // Between centres j and j+1 the weights are (k + 0.5) / S, exact in binary.
            let w: [f32; S] = std::array::from_fn(|k| (k as f32 + 0.5) / S as f32);
            for (c, pair) in out[half..tail].chunks_exact_mut(S).zip(lo.windows(2)) {
                let (l, d) = (pair[0], pair[1] - pair[0]);
                for k in 0..S {
                    c[k] = l + d * w[k];
                }
            }
        }
        match s {
            2 => go::<2>(lo, out),
            4 => go::<4>(lo, out),
            8 => go::<8>(lo, out),
            _ => unreachable!("the filter only picks scales 2, 4 and 8"),
        }
    }
}

const ROUND_MAGIC: f32 = 12_582_912.0;

multiversion! {
    /// The per-pixel step: `p = round(a * p + b)` with `a` and `b` interpolated
    /// between two upsampled coefficient rows by the vertical weight `w`.
    pub(crate) fn apply_row(px: &mut [u8], a0: &[f32], a1: &[f32], b0: &[f32], b1: &[f32], w: f32) {
        let n = px.len();
        let (a0, a1, b0, b1) = (&a0[..n], &a1[..n], &b0[..n], &b1[..n]);
        for i in 0..n {
            let a = a0[i] + (a1[i] - a0[i]) * w;
            let b = b0[i] + (b1[i] - b0[i]) * w;
            let v = a * f32::from(px[i]) + b;
            // Rounds to nearest by adding 1.5 * 2^23: the integer lands in the
            // low mantissa bits. A float-to-int cast would saturate, and
            // LLVM turns a saturating cast into scalar code.
            px[i] = (v.clamp(0.0, 255.0) + ROUND_MAGIC).to_bits() as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsample_is_flat_at_ends_and_linear_between() {
        let lo = [0.0f32, 4.0, 8.0];
        let mut out = [f32::NAN; 12];
        upsample_cols(&lo, &mut out, 4);
        assert_eq!(
            out,
            [0.0, 0.0, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.0, 8.0]
        );
    }

    #[test]
    fn identity_coefficients_pass_pixels_through() {
        let mut px: Vec<u8> = (0..=255).collect();
        let ones = vec![1.0f32; 256];
        let zeros = vec![0.0f32; 256];
        apply_row(&mut px, &ones, &ones, &zeros, &zeros, 0.375);
        assert!(px.iter().enumerate().all(|(i, &p)| p as usize == i));
    }

    #[test]
    fn box_cols_averages() {
        let pad = [1.0f32, 1.0, 2.0, 3.0, 3.0];
        let mut out = [0.0f32; 3];
        box_cols(&pad, &mut out, 1, 1.0 / 3.0);
        assert_eq!(out, [4.0 / 3.0, 2.0, 8.0 / 3.0]);
    }

    #[test]
    fn reduce_cols_sums_blocks() {
        let acc = [1u16, 2, 3, 4, 5, 6, 7, 8];
        let mut out = [0.0f32; 2];
        reduce_cols(&acc, &mut out, 4, 0.25);
        assert_eq!(out, [2.5, 6.5]);
    }
}
