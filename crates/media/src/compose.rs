//! Picture-in-picture: an overlay layer (e.g. the camera) in a corner of the
//! base layer (e.g. the screen).

use crate::frame::VideoFrame;
use crate::MediaError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corner {
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
}

impl std::str::FromStr for Corner {
    type Err = MediaError;
    fn from_str(s: &str) -> Result<Self, MediaError> {
        Ok(match s {
            "top-left" | "tl" => Corner::TopLeft,
            "top-right" | "tr" => Corner::TopRight,
            "bottom-left" | "bl" => Corner::BottomLeft,
            "bottom-right" | "br" => Corner::BottomRight,
            _ => {
                return Err(MediaError::Invalid(format!(
                    "unknown corner {s:?}: use top-left, top-right, bottom-left or bottom-right"
                )))
            }
        })
    }
}

/// Where and how big the overlay is.
#[derive(Clone, Copy, Debug)]
pub struct Placement {
    pub corner: Corner,
    /// Overlay width as a percentage of the base width (5–100).
    pub size_pct: u32,
}

impl Placement {
    /// The overlay's size and position inside a `w`×`h` base: (x, y, w, h), all even.
    pub fn rect(&self, w: u32, h: u32) -> (u32, u32, u32, u32) {
        let ow = ((w * self.size_pct.clamp(5, 100) / 100) & !1).max(2);
        let oh = ((ow * h / w.max(1)) & !1).max(2);
        let margin = ((w / 64) & !1).min(w - ow).min(h - oh);
        let x = match self.corner {
            Corner::TopLeft | Corner::BottomLeft => margin,
            _ => w - ow - margin,
        };
        let y = match self.corner {
            Corner::TopLeft | Corner::TopRight => margin,
            _ => h - oh - margin,
        };
        (x & !1, y & !1, ow, oh)
    }
}

/// Copies `top` onto `base` at (x, y), clipping to the base.
pub fn overlay(base: &mut VideoFrame, top: &VideoFrame, x: u32, y: u32) {
    let (bw, bh) = (base.width as usize, base.height as usize);
    let (tw, th) = (top.width as usize, top.height as usize);
    let (x, y) = (x as usize & !1, y as usize & !1);
    let w = tw.min(bw.saturating_sub(x));
    let h = th.min(bh.saturating_sub(y));
    let (ty, tu, tv) = top.planes();
    let (by, bu, bv) = base.planes_mut();
    for r in 0..h {
        by[(y + r) * bw + x..][..w].copy_from_slice(&ty[r * tw..][..w]);
    }
    let (bcw, tcw) = (bw / 2, tw / 2);
    for r in 0..h / 2 {
        let (d, s) = ((y / 2 + r) * bcw + x / 2, r * tcw);
        bu[d..d + w / 2].copy_from_slice(&tu[s..s + w / 2]);
        bv[d..d + w / 2].copy_from_slice(&tv[s..s + w / 2]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_lands_in_the_corner() {
        let mut base = VideoFrame::black(64, 36);
        let p = Placement { corner: Corner::BottomRight, size_pct: 25 };
        let (x, y, w, h) = p.rect(64, 36);
        assert_eq!((w, h), (16, 8));
        assert!(x + w <= 64 && y + h <= 36 && x > 32 && y > 18);
        let mut top = VideoFrame::black(w, h);
        top.planes_mut().0.fill(200);
        overlay(&mut base, &top, x, y);
        let (yp, _, _) = base.planes();
        assert_eq!(yp[(y as usize) * 64 + x as usize], 200);
        assert_eq!(yp[0], 16);
    }
}
