//! Borrowed views of an I420 frame's three planes, checked once at construction
//! so the filter's hot loops can index without re-validating.

/// Why a set of planes cannot be filtered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error(
        "frame size {width}x{height} is not usable: I420 needs an even, non-zero width and height"
    )]
    BadSize { width: usize, height: usize },
    #[error("{plane} plane stride {stride} is smaller than its width {width}")]
    StrideTooSmall {
        plane: &'static str,
        stride: usize,
        width: usize,
    },
    #[error(
        "{plane} plane holds {len} bytes but {width}x{height} with stride {stride} needs {needed}"
    )]
    PlaneTooShort {
        plane: &'static str,
        len: usize,
        width: usize,
        height: usize,
        stride: usize,
        needed: usize,
    },
}

/// One mutable plane: its bytes and the distance in bytes between rows.
#[derive(Debug)]
pub struct PlaneMut<'a> {
    pub data: &'a mut [u8],
    pub stride: usize,
}

/// The Y, U and V planes of one 8-bit I420 frame (BT.601 limited range).
///
/// Built with [`PlanesMut::new`] (any strides) or [`PlanesMut::packed`]
/// (tightly packed planes, as the media engine's `VideoFrame` holds them).
#[derive(Debug)]
pub struct PlanesMut<'a> {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) y: PlaneMut<'a>,
    pub(crate) u: PlaneMut<'a>,
    pub(crate) v: PlaneMut<'a>,
}

impl<'a> PlanesMut<'a> {
    /// Checks sizes and strides: width and height even and non-zero, each plane
    /// long enough for its rows (chroma planes are `width/2 x height/2`).
    pub fn new(
        width: usize,
        height: usize,
        y: PlaneMut<'a>,
        u: PlaneMut<'a>,
        v: PlaneMut<'a>,
    ) -> Result<Self, FrameError> {
        if width == 0 || height == 0 || !width.is_multiple_of(2) || !height.is_multiple_of(2) {
            return Err(FrameError::BadSize { width, height });
        }
        check_plane("Y", &y, width, height)?;
        check_plane("U", &u, width / 2, height / 2)?;
        check_plane("V", &v, width / 2, height / 2)?;
        Ok(PlanesMut {
            width,
            height,
            y,
            u,
            v,
        })
    }

    /// Tightly packed planes: strides equal to the plane widths.
    pub fn packed(
        width: usize,
        height: usize,
        y: &'a mut [u8],
        u: &'a mut [u8],
        v: &'a mut [u8],
    ) -> Result<Self, FrameError> {
        let cw = width / 2;
        Self::new(
            width,
            height,
            PlaneMut {
                data: y,
                stride: width,
            },
            PlaneMut {
                data: u,
                stride: cw,
            },
            PlaneMut {
                data: v,
                stride: cw,
            },
        )
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }
}

fn check_plane(
    plane: &'static str,
    p: &PlaneMut<'_>,
    width: usize,
    height: usize,
) -> Result<(), FrameError> {
    if p.stride < width {
        return Err(FrameError::StrideTooSmall {
            plane,
            stride: p.stride,
            width,
        });
    }
    // The last row need not be padded out to the stride.
    let needed = (height - 1) * p.stride + width;
    if p.data.len() < needed {
        return Err(FrameError::PlaneTooShort {
            plane,
            len: p.data.len(),
            width,
            height,
            stride: p.stride,
            needed,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_odd_sizes_and_short_planes() {
        let (mut y, mut u, mut v) = (vec![0u8; 16], vec![0u8; 4], vec![0u8; 4]);
        assert!(matches!(
            PlanesMut::packed(3, 4, &mut y, &mut u, &mut v),
            Err(FrameError::BadSize { .. })
        ));
        assert!(PlanesMut::packed(4, 4, &mut y, &mut u, &mut v).is_ok());
        assert!(matches!(
            PlanesMut::packed(4, 6, &mut y, &mut u, &mut v),
            Err(FrameError::PlaneTooShort { plane: "Y", .. })
        ));
        let err = PlanesMut::new(
            4,
            4,
            PlaneMut {
                data: &mut y,
                stride: 2,
            },
            PlaneMut {
                data: &mut u,
                stride: 2,
            },
            PlaneMut {
                data: &mut v,
                stride: 2,
            },
        );
        assert!(matches!(
            err,
            Err(FrameError::StrideTooSmall { plane: "Y", .. })
        ));
    }
}
