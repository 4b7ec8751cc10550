//! OnAir's beauty filter: edge-preserving skin smoothing and whitening for
//! camera frames, in place on 8-bit I420 planes, in real time on a CPU.
//!
//! The media engine runs one [`BeautyFilter`] per camera and calls
//! [`BeautyFilter::apply`] on every frame; the UI changes the strengths while
//! it runs through a [`ParamsHandle`], and the change lands at the next frame.
//!
//! ```
//! use onair_beauty::{BeautyFilter, BeautyParams, PlanesMut};
//!
//! let (w, h) = (64, 48);
//! let (mut y, mut u, mut v) = (vec![180u8; w * h], vec![110u8; w * h / 4], vec![150u8; w * h / 4]);
//!
//! let mut filter = BeautyFilter::with_params(BeautyParams::new(70, 30));
//! filter.set_threads(0); // one thread per core; 1 keeps it on the caller's thread
//! let live = filter.params_handle(); // give this to the UI thread
//!
//! for _frame in 0..3 {
//!     let mut planes = PlanesMut::packed(w, h, &mut y, &mut u, &mut v)?;
//!     filter.apply(&mut planes);
//!     live.set(BeautyParams::new(40, 0)); // takes effect from the next frame
//! }
//! # Ok::<(), onair_beauty::FrameError>(())
//! ```
//!
//! How it works, in two full-resolution passes (see `guided.rs`): the frame is
//! box-downscaled (by 2, 4 or 8, depending on its height); on that small
//! picture a soft YCbCr skin mask, a self-guided filter's coefficients and a
//! linearised whitening curve are folded into one affine map `out = A * in + B`
//! per sample; then `A` and `B` are upsampled bilinearly and applied to luma.
//! Chroma is never changed (no colour cast), pixels with no skin near them are
//! not even visited, and `smooth: 0, whiten: 0` leaves the frame untouched.

#[macro_use]
mod kernels;
mod filter;
mod frame;
mod guided;
pub mod image;
mod mask;
pub mod metrics;
mod params;

pub use filter::BeautyFilter;
pub use frame::{FrameError, PlaneMut, PlanesMut};
pub use image::{keep_untouched, I420Image, ImageError, Rgb8};
pub use params::{BeautyParams, ParamsHandle, ParseParamsError};
