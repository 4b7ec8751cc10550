//! Pass-through, temporal stability, live parameter changes, threads and strides.

mod common;

use common::{astronaut, filtered, noisy_skin_patch};
use onair_beauty::{BeautyFilter, BeautyParams, PlaneMut, PlanesMut};

#[test]
fn zero_zero_is_bit_exact() {
    let img = astronaut();
    assert_eq!(filtered(&img, BeautyParams::OFF), img);
    // Also after the filter has run with other settings.
    let mut f = BeautyFilter::with_params(BeautyParams::new(80, 80));
    let mut a = img.clone();
    f.apply(&mut a.planes_mut());
    assert_ne!(a, img);
    f.set_params(BeautyParams::OFF);
    let mut b = img.clone();
    f.apply(&mut b.planes_mut());
    assert_eq!(b, img);
}

#[test]
fn a_still_input_gives_identical_frames() {
    let img = astronaut();
    let mut f = BeautyFilter::with_params(BeautyParams::new(70, 40));
    let mut first = None;
    for i in 0..30 {
        let mut frame = img.clone();
        f.apply(&mut frame.planes_mut());
        match &first {
            None => first = Some(frame),
            Some(expected) => assert!(frame == *expected, "frame {i} differs from frame 0"),
        }
    }
}

#[test]
fn params_change_between_frames_from_another_thread() {
    let img = noisy_skin_patch();
    let mut f = BeautyFilter::with_params(BeautyParams::new(70, 0));
    let handle = f.params_handle();
    let run = |f: &mut BeautyFilter| {
        let mut frame = img.clone();
        f.apply(&mut frame.planes_mut());
        frame
    };
    assert_eq!(run(&mut f), filtered(&img, BeautyParams::new(70, 0)));
    std::thread::spawn(move || handle.set(BeautyParams::new(20, 60)))
        .join()
        .expect("the setter thread does not panic");
    assert_eq!(f.params(), BeautyParams::new(20, 60));
    assert_eq!(run(&mut f), filtered(&img, BeautyParams::new(20, 60)));
    f.set_params(BeautyParams::new(100, 100));
    assert_eq!(run(&mut f), filtered(&img, BeautyParams::new(100, 100)));
}

#[test]
fn thread_count_does_not_change_the_output() {
    for img in [
        astronaut(),
        noisy_skin_patch(),
        astronaut().fit_cover(1280, 720).expect("valid size"),
    ] {
        let expected = filtered(&img, BeautyParams::new(65, 35));
        for threads in [2, 3, 7, 0] {
            let mut f = BeautyFilter::with_params(BeautyParams::new(65, 35));
            f.set_threads(threads);
            let mut frame = img.clone();
            f.apply(&mut frame.planes_mut());
            assert!(
                frame == expected,
                "{threads} threads at {}x{}",
                img.width,
                img.height
            );
        }
    }
}

#[test]
fn padded_strides_give_the_same_pixels() {
    let img = noisy_skin_patch();
    let expected = filtered(&img, BeautyParams::new(70, 30));
    let (w, h) = (img.width, img.height);
    let pad = |p: &[u8], pw: usize, ph: usize, stride: usize| -> Vec<u8> {
        let mut out = vec![0xAAu8; stride * ph];
        for r in 0..ph {
            out[r * stride..r * stride + pw].copy_from_slice(&p[r * pw..(r + 1) * pw]);
        }
        out
    };
    let (ys, cs) = (w + 64, w / 2 + 32);
    let (mut y, mut u, mut v) = (
        pad(&img.y, w, h, ys),
        pad(&img.u, w / 2, h / 2, cs),
        pad(&img.v, w / 2, h / 2, cs),
    );
    let mut planes = PlanesMut::new(
        w,
        h,
        PlaneMut {
            data: &mut y,
            stride: ys,
        },
        PlaneMut {
            data: &mut u,
            stride: cs,
        },
        PlaneMut {
            data: &mut v,
            stride: cs,
        },
    )
    .expect("padded planes are valid");
    BeautyFilter::with_params(BeautyParams::new(70, 30)).apply(&mut planes);
    for r in 0..h {
        assert_eq!(
            &y[r * ys..r * ys + w],
            &expected.y[r * w..(r + 1) * w],
            "row {r}"
        );
        assert!(
            y[r * ys + w..(r + 1) * ys].iter().all(|&b| b == 0xAA),
            "padding of row {r} was written"
        );
    }
}

#[test]
fn frame_sizes_from_tiny_to_4k_work() {
    for (w, h) in [
        (2, 2),
        (6, 4),
        (34, 18),
        (642, 482),
        (1282, 722),
        (3840, 2160),
    ] {
        let img = noisy_skin_patch().resized(w, h).expect("valid size");
        let out = filtered(&img, BeautyParams::new(70, 30));
        assert_eq!((out.width, out.height), (w, h));
        assert_eq!((&out.u, &out.v), (&img.u, &img.v));
    }
}
