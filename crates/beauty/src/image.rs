//! Still pictures in and out: an owned I420 frame, BT.601 limited-range
//! conversion to and from RGB, PNG/JPEG files, and the resizing the benchmark
//! needs. The conversion is our own (integer, as in the BT.601 reference
//! equations) so a picture reaches the filter exactly as the engine's frames do.

use std::path::Path;

use crate::frame::{PlaneMut, PlanesMut};

/// Why a picture could not be read, written or built.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("cannot read image {path}")]
    Read {
        path: String,
        source: image::ImageError,
    },
    #[error("cannot decode image")]
    Decode { source: image::ImageError },
    #[error("cannot write image {path}")]
    Write {
        path: String,
        source: image::ImageError,
    },
    #[error("cannot tell the image format of {path} from its extension (use .png, .jpg or .jpeg)")]
    UnknownFormat { path: String },
    #[error("image is empty ({width}x{height})")]
    Empty { width: usize, height: usize },
    #[error("RGB buffer holds {len} bytes, {width}x{height} needs {needed}")]
    ShortBuffer {
        len: usize,
        width: usize,
        height: usize,
        needed: usize,
    },
}

/// An owned I420 picture with tightly packed planes.
///
/// I420 needs an even size, so a picture with an odd width or height is
/// padded by repeating its last column or row; `visible` remembers the
/// original size, and [`I420Image::to_rgb8`] and [`I420Image::save`] crop back to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct I420Image {
    pub width: usize,
    pub height: usize,
    /// The picture's own size, at most one pixel smaller than `width x height`.
    pub visible: (usize, usize),
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

impl I420Image {
    /// Converts interleaved 8-bit RGB (`width * height * 3` bytes).
    pub fn from_rgb8(width: usize, height: usize, rgb: &[u8]) -> Result<Self, ImageError> {
        if width == 0 || height == 0 {
            return Err(ImageError::Empty { width, height });
        }
        let needed = width * height * 3;
        if rgb.len() < needed {
            return Err(ImageError::ShortBuffer {
                len: rgb.len(),
                width,
                height,
                needed,
            });
        }
        let (w, h) = (width.next_multiple_of(2), height.next_multiple_of(2));
        let px = |x: usize, y: usize| -> [i32; 3] {
            let i = (y.min(height - 1) * width + x.min(width - 1)) * 3;
            [
                i32::from(rgb[i]),
                i32::from(rgb[i + 1]),
                i32::from(rgb[i + 2]),
            ]
        };
        let mut img = I420Image {
            width: w,
            height: h,
            visible: (width, height),
            y: vec![0; w * h],
            u: vec![0; w * h / 4],
            v: vec![0; w * h / 4],
        };
        for yy in 0..h {
            for xx in 0..w {
                let [r, g, b] = px(xx, yy);
                img.y[yy * w + xx] = (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) as u8;
            }
        }
        let cw = w / 2;
        for cy in 0..h / 2 {
            for cx in 0..cw {
                // Chroma of the 2x2 block's mean colour.
                let mut sum = [0i32; 3];
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let p = px(2 * cx + dx, 2 * cy + dy);
                    for c in 0..3 {
                        sum[c] += p[c];
                    }
                }
                let [r, g, b] = sum;
                img.u[cy * cw + cx] =
                    (((-38 * r - 74 * g + 112 * b + 512) >> 10) + 128).clamp(0, 255) as u8;
                img.v[cy * cw + cx] =
                    (((112 * r - 94 * g - 18 * b + 512) >> 10) + 128).clamp(0, 255) as u8;
            }
        }
        Ok(img)
    }

    /// Interleaved 8-bit RGB of the visible picture, chroma upsampled bilinearly.
    pub fn to_rgb8(&self) -> Vec<u8> {
        let (vw, vh) = self.visible;
        let cw = self.width / 2;
        let ch = self.height / 2;
        let mut out = Vec::with_capacity(vw * vh * 3);
        // Chroma sample c sits at luma position 2c + 0.5: luma x takes 3/4 of
        // its own chroma column and 1/4 of the neighbour on its side.
        let taps = |x: usize, n: usize| -> (usize, usize) {
            let c = x / 2;
            let other = if x.is_multiple_of(2) {
                c.saturating_sub(1)
            } else {
                (c + 1).min(n - 1)
            };
            (c, other)
        };
        for yy in 0..vh {
            let (r0, r1) = taps(yy, ch);
            for xx in 0..vw {
                let (c0, c1) = taps(xx, cw);
                let chroma = |p: &[u8]| -> i32 {
                    let at = |r: usize, c: usize| i32::from(p[r * cw + c]);
                    (9 * at(r0, c0) + 3 * at(r0, c1) + 3 * at(r1, c0) + at(r1, c1) + 8) >> 4
                };
                let c = 298 * (i32::from(self.y[yy * self.width + xx]) - 16);
                let d = chroma(&self.u) - 128;
                let e = chroma(&self.v) - 128;
                let clip = |v: i32| ((v + 128) >> 8).clamp(0, 255) as u8;
                out.extend_from_slice(&[
                    clip(c + 409 * e),
                    clip(c - 100 * d - 208 * e),
                    clip(c + 516 * d),
                ]);
            }
        }
        out
    }

    /// Reads a PNG or JPEG (any format the decoder knows, judged by content).
    pub fn load(path: &Path) -> Result<Self, ImageError> {
        let rgb = Self::load_rgb8(path)?;
        Self::from_rgb8(rgb.width as usize, rgb.height as usize, &rgb.pixels)
    }

    /// Reads a picture as interleaved 8-bit RGB, as it is on disk, so a
    /// command can give back untouched pixels exactly (see [`keep_untouched`]).
    pub fn load_rgb8(path: &Path) -> Result<Rgb8, ImageError> {
        let read = |source| ImageError::Read {
            path: path.display().to_string(),
            source,
        };
        let img = image::ImageReader::open(path)
            .map_err(|e| read(image::ImageError::IoError(e)))?
            .with_guessed_format()
            .map_err(|e| read(image::ImageError::IoError(e)))?
            .decode()
            .map_err(read)?
            .to_rgb8();
        Ok(Rgb8 {
            width: img.width(),
            height: img.height(),
            pixels: img.into_raw(),
        })
    }

    /// Decodes a PNG or JPEG held in memory.
    pub fn decode(bytes: &[u8]) -> Result<Self, ImageError> {
        let img = image::load_from_memory(bytes)
            .map_err(|source| ImageError::Decode { source })?
            .to_rgb8();
        Self::from_rgb8(img.width() as usize, img.height() as usize, img.as_raw())
    }

    /// Writes PNG or JPEG (quality 95), chosen by the extension of `path`.
    pub fn save(&self, path: &Path) -> Result<(), ImageError> {
        let (vw, vh) = (self.visible.0 as u32, self.visible.1 as u32);
        Rgb8 {
            width: vw,
            height: vh,
            pixels: self.to_rgb8(),
        }
        .save(path)
    }
}

/// Interleaved 8-bit RGB as read from or written to a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rgb8 {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl Rgb8 {
    /// Writes PNG or JPEG (quality 95), chosen by the extension of `path`.
    pub fn save(self, path: &Path) -> Result<(), ImageError> {
        let shown = path.display().to_string();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let Some(rgb) = image::RgbImage::from_raw(self.width, self.height, self.pixels) else {
            return Err(ImageError::ShortBuffer {
                len: 0,
                width: self.width as usize,
                height: self.height as usize,
                needed: self.width as usize * self.height as usize * 3,
            });
        };
        let write = |source| ImageError::Write {
            path: shown.clone(),
            source,
        };
        match ext.as_deref() {
            Some("png") => rgb
                .save_with_format(path, image::ImageFormat::Png)
                .map_err(write),
            Some("jpg" | "jpeg") => {
                let file = std::fs::File::create(path)
                    .map_err(|e| write(image::ImageError::IoError(e)))?;
                let mut out = std::io::BufWriter::new(file);
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95)
                    .encode_image(&rgb)
                    .map_err(write)
            }
            _ => Err(ImageError::UnknownFormat { path: shown }),
        }
    }
}

/// The filtered picture as RGB, where every pixel the filter left alone is
/// the original's pixel, bit for bit.
///
/// The filter works on I420, whose 4:2:0 chroma cannot hold every RGB picture
/// exactly: converting there and back changes most pixels slightly even when
/// nothing was filtered. So a pixel whose converted value is the same before
/// and after filtering (it was not touched) is taken from `original`; only
/// the pixels the filter changed come from the conversion.
pub fn keep_untouched(original: &Rgb8, before: &I420Image, after: &I420Image) -> Rgb8 {
    let (a, b) = (before.to_rgb8(), after.to_rgb8());
    let same_size = original.pixels.len() == a.len()
        && a.len() == b.len()
        && before.visible == (original.width as usize, original.height as usize);
    let pixels = if same_size {
        let mut out = Vec::with_capacity(b.len());
        let pairs = a.chunks_exact(3).zip(b.chunks_exact(3));
        for (o, (a, b)) in original.pixels.chunks_exact(3).zip(pairs) {
            out.extend_from_slice(if a == b { o } else { b });
        }
        out
    } else {
        b
    };
    Rgb8 {
        width: after.visible.0 as u32,
        height: after.visible.1 as u32,
        pixels,
    }
}

impl I420Image {
    /// The planes, for [`crate::BeautyFilter::apply`].
    pub fn planes_mut(&mut self) -> PlanesMut<'_> {
        let cw = self.width / 2;
        PlanesMut::new(
            self.width,
            self.height,
            PlaneMut {
                data: &mut self.y,
                stride: self.width,
            },
            PlaneMut {
                data: &mut self.u,
                stride: cw,
            },
            PlaneMut {
                data: &mut self.v,
                stride: cw,
            },
        )
        .expect("an I420Image always has even sizes and planes of exactly their size")
    }

    /// Bilinear resize of each plane to `width x height` (made even), for
    /// building benchmark frames.
    pub fn resized(&self, width: usize, height: usize) -> Result<Self, ImageError> {
        if width < 2 || height < 2 {
            return Err(ImageError::Empty { width, height });
        }
        let (w, h) = (width.next_multiple_of(2), height.next_multiple_of(2));
        Ok(I420Image {
            width: w,
            height: h,
            visible: (w, h),
            y: resize_plane(&self.y, self.width, self.height, w, h),
            u: resize_plane(&self.u, self.width / 2, self.height / 2, w / 2, h / 2),
            v: resize_plane(&self.v, self.width / 2, self.height / 2, w / 2, h / 2),
        })
    }

    /// A `width x height` window at (`x`, `y`) (all rounded down to even),
    /// clamped to the picture.
    pub fn cropped(&self, x: usize, y: usize, width: usize, height: usize) -> Self {
        let x = (x & !1).min(self.width - 2);
        let y = (y & !1).min(self.height - 2);
        let w = (width & !1).clamp(2, self.width - x);
        let h = (height & !1).clamp(2, self.height - y);
        let cut = |p: &[u8], stride: usize, x: usize, y: usize, w: usize, h: usize| -> Vec<u8> {
            (y..y + h)
                .flat_map(|r| p[r * stride + x..r * stride + x + w].iter().copied())
                .collect()
        };
        I420Image {
            width: w,
            height: h,
            visible: (w, h),
            y: cut(&self.y, self.width, x, y, w, h),
            u: cut(&self.u, self.width / 2, x / 2, y / 2, w / 2, h / 2),
            v: cut(&self.v, self.width / 2, x / 2, y / 2, w / 2, h / 2),
        }
    }

    /// Scales to cover `width x height` and crops the middle horizontally and
    /// the upper part vertically (where faces are in portraits).
    pub fn fit_cover(&self, width: usize, height: usize) -> Result<Self, ImageError> {
        let k = (width as f64 / self.width as f64).max(height as f64 / self.height as f64);
        let sw = ((self.width as f64 * k).ceil() as usize).max(width);
        let sh = ((self.height as f64 * k).ceil() as usize).max(height);
        let big = self.resized(sw, sh)?;
        Ok(big.cropped(
            (big.width - width) / 2,
            (big.height - height) / 4,
            width,
            height,
        ))
    }
}

fn resize_plane(src: &[u8], sw: usize, sh: usize, dw: usize, dh: usize) -> Vec<u8> {
    let map = |d: usize, dn: usize, sn: usize| -> (usize, usize, f32) {
        let s = ((d as f32 + 0.5) * sn as f32 / dn as f32 - 0.5).max(0.0);
        let i = (s as usize).min(sn - 1);
        (i, (i + 1).min(sn - 1), s - i as f32)
    };
    let cols: Vec<_> = (0..dw).map(|x| map(x, dw, sw)).collect();
    let mut out = Vec::with_capacity(dw * dh);
    for y in 0..dh {
        let (r0, r1, fy) = map(y, dh, sh);
        for &(c0, c1, fx) in &cols {
            let at = |r: usize, c: usize| f32::from(src[r * sw + c]);
            let top = at(r0, c0) + (at(r0, c1) - at(r0, c0)) * fx;
            let bot = at(r1, c0) + (at(r1, c1) - at(r1, c0)) * fx;
            out.push((top + (bot - top) * fy + 0.5) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_round_trip_is_close() {
        let (w, h) = (6, 4);
        let rgb: Vec<u8> = (0..w * h).flat_map(|_| [200u8, 150, 120]).collect();
        let img = I420Image::from_rgb8(w, h, &rgb).expect("valid buffer");
        let back = img.to_rgb8();
        for (a, b) in rgb.iter().zip(&back) {
            assert!((i32::from(*a) - i32::from(*b)).abs() <= 2, "{a} vs {b}");
        }
    }

    #[test]
    fn odd_sizes_pad_and_crop_back() {
        let rgb = vec![100u8; 5 * 3 * 3];
        let img = I420Image::from_rgb8(5, 3, &rgb).expect("valid buffer");
        assert_eq!((img.width, img.height, img.visible), (6, 4, (5, 3)));
        assert_eq!(img.to_rgb8().len(), 5 * 3 * 3);
    }

    #[test]
    fn short_buffer_is_an_error() {
        assert!(matches!(
            I420Image::from_rgb8(4, 4, &[0; 10]),
            Err(ImageError::ShortBuffer { .. })
        ));
    }
}
