//! After the first frame of a size, filtering on one thread allocates nothing.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use onair_beauty::{BeautyFilter, BeautyParams};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_frames_do_not_allocate() {
    let img = common::astronaut()
        .fit_cover(1280, 720)
        .expect("valid size");
    let mut frame = img.clone();
    let mut filter = BeautyFilter::with_params(BeautyParams::new(70, 30));
    filter.apply(&mut frame.planes_mut());
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for i in 0..10u8 {
        frame.y.copy_from_slice(&img.y);
        // Live parameter changes must not allocate either.
        filter.set_params(BeautyParams::new(40 + i, 20 + i));
        filter.apply(&mut frame.planes_mut());
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(after - before, 0, "allocations in 10 steady-state frames");
}
