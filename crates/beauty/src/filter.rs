//! [`BeautyFilter`]: sizes the scratch, runs the two full-resolution passes
//! (downscale, then apply) over bands of rows on one or more threads, and the
//! low-resolution work in between.

use crate::frame::PlanesMut;
use crate::guided::LowRes;
use crate::kernels;
use crate::params::{BeautyParams, ParamsHandle, Strengths};

/// Skin smoothing and whitening for I420 frames, in place.
///
/// Owns its scratch buffers: after the first frame of a given size, filtering
/// allocates nothing but rayon's small task records (when more than one
/// thread is asked for; the threads themselves persist). The output depends only on the input frame and the
/// parameters, never on the thread count or on earlier frames.
#[derive(Debug)]
pub struct BeautyFilter {
    params: ParamsHandle,
    threads: usize,
    /// (width, height, scale) the scratch is sized for.
    geometry: (usize, usize, usize),
    lo: LowRes,
    workers: Vec<Worker>,
    /// Persistent worker threads when `threads > 1`, so a frame does not pay
    /// for spawning threads.
    pool: Option<rayon::ThreadPool>,
}

/// Per-thread scratch.
#[derive(Debug, Default)]
struct Worker {
    /// Column sums for the downscale.
    acc: Vec<u16>,
    /// Horizontally upsampled coefficient rows: the two low rows the current
    /// full row lies between. Moving down, the lower one becomes the upper
    /// one and is reused when it covers the columns needed.
    slots: [Upsampled; 2],
}

#[derive(Debug, Default)]
struct Upsampled {
    /// The low row held, or `None`.
    row: Option<usize>,
    /// Low columns upsampled: values in full columns `from * s .. to * s`.
    from: usize,
    to: usize,
    a: Vec<f32>,
    b: Vec<f32>,
}

impl Upsampled {
    /// Makes this slot hold low row `row`, columns `from..to` at least.
    fn hold(&mut self, row: usize, from: usize, to: usize, lo: &LowRes, s: usize) {
        if self.row == Some(row) && self.from <= from && self.to >= to {
            return;
        }
        let cols = from * s..to * s;
        let lw = lo.w;
        kernels::upsample_cols(
            &lo.a[row * lw + from..row * lw + to],
            &mut self.a[cols.clone()],
            s,
        );
        kernels::upsample_cols(&lo.b[row * lw + from..row * lw + to], &mut self.b[cols], s);
        (self.row, self.from, self.to) = (Some(row), from, to);
    }
}

impl Default for BeautyFilter {
    fn default() -> Self {
        Self::new()
    }
}

impl BeautyFilter {
    /// A filter that is off (`smooth: 0, whiten: 0`) and runs on one thread.
    pub fn new() -> Self {
        Self::with_params(BeautyParams::OFF)
    }

    pub fn with_params(p: BeautyParams) -> Self {
        BeautyFilter {
            params: ParamsHandle::new(p),
            threads: 1,
            geometry: (0, 0, 0),
            lo: LowRes::default(),
            workers: Vec::new(),
            pool: None,
        }
    }

    /// Changes the parameters; the next frame started uses them. Callable
    /// through a shared reference, and from other threads via [`Self::params_handle`].
    pub fn set_params(&self, p: BeautyParams) {
        self.params.set(p);
    }

    pub fn params(&self) -> BeautyParams {
        self.params.get()
    }

    /// A handle that changes this filter's parameters from any thread.
    pub fn params_handle(&self) -> ParamsHandle {
        self.params.clone()
    }

    /// How many threads share the rows of each frame: 1 runs on the caller's
    /// thread only; 0 means one per available core.
    /// If the threads cannot be started, the filter stays on the caller's
    /// thread ([`Self::threads`] then says 1).
    pub fn set_threads(&mut self, n: usize) {
        let n = if n == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            n
        };
        if n == self.threads && (n == 1) == self.pool.is_none() {
            return;
        }
        self.pool = None;
        self.threads = 1;
        if n > 1 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .thread_name(|i| format!("onair-beauty-{i}"))
                .build();
            if let Ok(pool) = pool {
                self.pool = Some(pool);
                self.threads = n;
            }
        }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Filters one frame in place. With both strengths at 0 the frame is not
    /// touched at all.
    pub fn apply(&mut self, frame: &mut PlanesMut<'_>) {
        let p = self.params.get();
        if p.is_off() {
            return;
        }
        self.prepare(frame.width, frame.height);
        self.downscale(frame);
        self.lo.compute(Strengths::from_params(p));
        self.apply_coefficients(frame);
    }

    /// The skin mask the filter uses on this frame, at full resolution, one
    /// byte per luma pixel (255 = skin), row-major without padding. For tests,
    /// diagnostics and `onair beauty --mask`; allocates.
    pub fn skin_mask(&mut self, frame: &PlanesMut<'_>) -> Vec<u8> {
        let (w, h) = (frame.width, frame.height);
        self.prepare(w, h);
        self.downscale(frame);
        self.lo
            .compute(Strengths::from_params(BeautyParams::new(50, 50)));
        let s = self.geometry.2;
        let lw = self.lo.w;
        let mut rows = vec![0.0f32; self.lo.h * lw * s];
        for (lo_row, out) in self
            .lo
            .mask
            .chunks_exact(lw)
            .zip(rows.chunks_exact_mut(lw * s))
        {
            kernels::upsample_cols(lo_row, out, s);
        }
        let mut mask = vec![0u8; w * h];
        for (y, out) in mask.chunks_exact_mut(w).enumerate() {
            let (i0, i1, t) = vertical_taps(y, s, self.lo.h);
            let (r0, r1) = (&rows[i0 * lw * s..][..w], &rows[i1 * lw * s..][..w]);
            for ((o, &a), &b) in out.iter_mut().zip(r0).zip(r1) {
                *o = ((a + (b - a) * t) * 255.0 + 0.5).clamp(0.0, 255.0) as u8;
            }
        }
        mask
    }

    fn prepare(&mut self, w: usize, h: usize) {
        let s = scale_for(h);
        let n = self.threads.max(1);
        if self.geometry == (w, h, s) && self.workers.len() == n {
            return;
        }
        let (lw, lh) = (w.div_ceil(s), h.div_ceil(s));
        // The smoothing radius follows the picture height, so a face framed
        // the same way is smoothed the same at 720p and at 1080p.
        let r = ((h as f32 / (90.0 * s as f32)).round() as usize).max(1);
        self.lo.resize(lw, lh, r);
        self.workers.resize_with(n, Worker::default);
        for wk in &mut self.workers {
            wk.acc.resize(lw * s, 0);
            for slot in &mut wk.slots {
                slot.row = None;
                slot.a.resize(lw * s, 0.0);
                slot.b.resize(lw * s, 0.0);
            }
        }
        self.geometry = (w, h, s);
    }

    /// Box-downscales Y by `s` and U, V by `s / 2` into the low-resolution planes.
    fn downscale(&mut self, frame: &PlanesMut<'_>) {
        let s = self.geometry.2;
        let (lw, lh) = (self.lo.w, self.lo.h);
        let per = lh.div_ceil(self.workers.len());
        let y = Plane {
            data: &*frame.y.data,
            stride: frame.y.stride,
            w: frame.width,
            h: frame.height,
        };
        let u = Plane {
            data: &*frame.u.data,
            stride: frame.u.stride,
            w: frame.width / 2,
            h: frame.height / 2,
        };
        let v = Plane {
            data: &*frame.v.data,
            stride: frame.v.stride,
            w: frame.width / 2,
            h: frame.height / 2,
        };
        let bands = self
            .lo
            .y
            .chunks_mut(per * lw)
            .zip(self.lo.cb.chunks_mut(per * lw))
            .zip(self.lo.cr.chunks_mut(per * lw))
            .zip(self.workers.iter_mut())
            .enumerate();
        run_bands(self.pool.as_ref(), bands, |(i, (((ly, lcb), lcr), wk))| {
            let first = i * per;
            y.downscale_into(s, first, ly, lw, &mut wk.acc);
            u.downscale_into(s / 2, first, lcb, lw, &mut wk.acc);
            v.downscale_into(s / 2, first, lcr, lw, &mut wk.acc);
        });
    }

    /// The full-resolution pass: `Y = A * Y + B` with `A`, `B` upsampled.
    fn apply_coefficients(&mut self, frame: &mut PlanesMut<'_>) {
        let (w, h, s) = self.geometry;
        let stride = frame.y.stride;
        let per = h.div_ceil(self.workers.len());
        let lo = &self.lo;
        let bands = frame
            .y
            .data
            .chunks_mut(per * stride)
            .zip(self.workers.iter_mut())
            .enumerate();
        run_bands(self.pool.as_ref(), bands, |(i, (rows, wk))| {
            apply_band(rows, stride, i * per, (w, h), s, lo, wk);
        });
    }
}

/// Downscale factor for luma: the low-resolution picture stays 135..300 rows
/// high, plenty for a skin mask and for the smoothing's coarse structure.
fn scale_for(h: usize) -> usize {
    match h {
        0..600 => 2,
        600..1400 => 4,
        _ => 8,
    }
}

/// Runs `f` on each band: one after another without a pool, else one task
/// per band on the pool, returning when all are done.
fn run_bands<T: Send, I: Iterator<Item = T> + Send>(
    pool: Option<&rayon::ThreadPool>,
    bands: I,
    f: impl Fn(T) + Sync,
) {
    match pool {
        None => bands.for_each(f),
        Some(pool) => pool.scope(|scope| {
            let f = &f;
            for band in bands {
                scope.spawn(move |_| f(band));
            }
        }),
    }
}

/// Which two low rows full row `y` interpolates between, and the weight of the second.
fn vertical_taps(y: usize, s: usize, lh: usize) -> (usize, usize, f32) {
    let half = s / 2;
    if y < half {
        return (0, 0, 0.0);
    }
    let t = y - half;
    let (i0, k) = (t / s, t % s);
    if i0 + 1 >= lh {
        return (lh - 1, lh - 1, 0.0);
    }
    (i0, i0 + 1, (k as f32 + 0.5) / s as f32)
}

#[derive(Clone, Copy)]
struct Plane<'a> {
    data: &'a [u8],
    stride: usize,
    w: usize,
    h: usize,
}

impl Plane<'_> {
    /// Fills `out` (whole low rows of width `lw`, starting at low row `first`)
    /// with `f x f` block means; blocks past the edge replicate the last pixel.
    fn downscale_into(&self, f: usize, first: usize, out: &mut [f32], lw: usize, acc: &mut [u16]) {
        let acc = &mut acc[..lw * f];
        let scale = 1.0 / (f * f) as f32;
        for (li, orow) in out.chunks_exact_mut(lw).enumerate() {
            acc.fill(0);
            for k in 0..f {
                let r = ((first + li) * f + k).min(self.h - 1);
                kernels::add_row_u8(&mut acc[..self.w], &self.data[r * self.stride..][..self.w]);
            }
            let edge = acc[self.w - 1];
            acc[self.w..].fill(edge);
            kernels::reduce_cols(acc, orow, f, scale);
        }
    }
}

fn apply_band(
    rows: &mut [u8],
    stride: usize,
    row0: usize,
    (w, h): (usize, usize),
    s: usize,
    lo: &LowRes,
    wk: &mut Worker,
) {
    let lw = lo.w;
    let mut cached = None;
    let nrows = rows.len().div_ceil(stride).min(h - row0);
    for r in 0..nrows {
        let (i0, i1, t) = vertical_taps(row0 + r, s, lo.h);
        let (p, q) = (lo.spans[i0], lo.spans[i1]);
        let (j0, j1) = match (p.0 < p.1, q.0 < q.1) {
            (false, false) => continue,
            (true, false) => p,
            (false, true) => q,
            (true, true) => (p.0.min(q.0), p.1.max(q.1)),
        };
        // Low column j influences full columns within one step of its centre.
        let x0 = if j0 == 0 { 0 } else { (j0 - 1) * s + s / 2 };
        let x1 = (j1 * s + s / 2).min(w);
        if cached != Some((i0, i1)) {
            // Upsampling from one column further out on each side makes every
            // value in x0..x1 a true interpolation, not an edge extension.
            let (ja, jb) = (j0.saturating_sub(1), (j1 + 1).min(lw));
            if wk.slots[1].row == Some(i0) {
                wk.slots.swap(0, 1);
            }
            wk.slots[0].hold(i0, ja, jb, lo, s);
            wk.slots[1].hold(i1, ja, jb, lo, s);
            cached = Some((i0, i1));
        }
        let [top, bottom] = &wk.slots;
        let px = &mut rows[r * stride + x0..r * stride + x1];
        kernels::apply_row(
            px,
            &top.a[x0..x1],
            &bottom.a[x0..x1],
            &top.b[x0..x1],
            &bottom.b[x0..x1],
            t,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vertical_taps_cover_edges() {
        assert_eq!(vertical_taps(0, 4, 3), (0, 0, 0.0));
        assert_eq!(vertical_taps(1, 4, 3), (0, 0, 0.0));
        assert_eq!(vertical_taps(2, 4, 3), (0, 1, 0.125));
        assert_eq!(vertical_taps(5, 4, 3), (0, 1, 0.875));
        assert_eq!(vertical_taps(6, 4, 3), (1, 2, 0.125));
        assert_eq!(vertical_taps(10, 4, 3), (2, 2, 0.0));
        assert_eq!(vertical_taps(11, 4, 3), (2, 2, 0.0));
    }
}
