//! FFmpeg's own smoothing filters as the benchmark's peer, run in-process
//! through libavfilter (buffer -> FILTER -> buffersink) on one thread, so the
//! figure is the filter's cost alone: no decoding, piping or process start.

use anyhow::{anyhow, Context};
use ffmpeg_next as ffmpeg;
use onair_beauty::I420Image;

/// One configured filter graph for `width x height` yuv420p frames.
pub struct FfmpegFilter {
    graph: ffmpeg::filter::Graph,
    input: ffmpeg::frame::Video,
    output: ffmpeg::frame::Video,
    name: String,
}

impl FfmpegFilter {
    /// `spec` is a filter chain in FFmpeg's syntax, e.g. `bilateral`.
    pub fn new(spec: &str, width: u32, height: u32) -> anyhow::Result<Self> {
        ffmpeg::init().context("initialising FFmpeg")?;
        let mut graph = ffmpeg::filter::Graph::new();
        // SAFETY: the graph pointer is valid (Graph::new aborts otherwise) and no
        // filter has been added yet, which is when FFmpeg reads the thread count.
        unsafe {
            (*graph.as_mut_ptr()).nb_threads = 1;
        }
        let find = |name: &str| {
            ffmpeg::filter::find(name).ok_or_else(|| anyhow!("this FFmpeg has no `{name}` filter"))
        };
        let args =
            format!("video_size={width}x{height}:pix_fmt=yuv420p:time_base=1/30:pixel_aspect=1/1");
        graph
            .add(&find("buffer")?, "in", &args)
            .context("creating the buffer source")?;
        graph
            .add(&find("buffersink")?, "out", "")
            .context("creating the buffer sink")?;
        graph
            .output("in", 0)
            .and_then(|p| p.input("out", 0))
            .and_then(|p| p.parse(spec))
            .with_context(|| format!("building the FFmpeg filter graph `{spec}`"))?;
        graph
            .validate()
            .with_context(|| format!("configuring the FFmpeg filter graph `{spec}`"))?;
        Ok(FfmpegFilter {
            graph,
            input: ffmpeg::frame::Video::new(ffmpeg::format::Pixel::YUV420P, width, height),
            output: ffmpeg::frame::Video::empty(),
            name: spec.to_string(),
        })
    }

    /// Copies `img` into the graph's input frame (not part of the timed work).
    pub fn load(&mut self, img: &I420Image) {
        let planes = [
            (&img.y, img.width, img.height),
            (&img.u, img.width / 2, img.height / 2),
            (&img.v, img.width / 2, img.height / 2),
        ];
        for (i, (src, w, h)) in planes.into_iter().enumerate() {
            let stride = self.input.stride(i);
            let dst = self.input.data_mut(i);
            for r in 0..h {
                dst[r * stride..r * stride + w].copy_from_slice(&src[r * w..(r + 1) * w]);
            }
        }
    }

    /// Filters the loaded frame once: the timed work.
    pub fn run(&mut self) -> anyhow::Result<()> {
        let mut src = self
            .graph
            .get("in")
            .ok_or_else(|| anyhow!("the graph lost its source"))?;
        // write_frame (not add_frame) gives the graph a new reference and
        // leaves our frame loaded for the next run; the filters write a new frame.
        // SAFETY: both pointers are live FFmpeg objects owned by self.
        let ret =
            unsafe { ffmpeg::ffi::av_buffersrc_write_frame(src.as_mut_ptr(), self.input.as_ptr()) };
        if ret < 0 {
            return Err(ffmpeg::Error::from(ret))
                .with_context(|| format!("feeding FFmpeg's {}", self.name));
        }
        let mut sink = self
            .graph
            .get("out")
            .ok_or_else(|| anyhow!("the graph lost its sink"))?;
        sink.sink()
            .frame(&mut self.output)
            .with_context(|| format!("reading FFmpeg's {} output", self.name))?;
        Ok(())
    }

    /// The last output as an I420 picture, for the quality measures.
    pub fn output(&self, like: &I420Image) -> I420Image {
        let mut out = like.clone();
        let planes = [
            (&mut out.y, like.width, like.height),
            (&mut out.u, like.width / 2, like.height / 2),
            (&mut out.v, like.width / 2, like.height / 2),
        ];
        for (i, (dst, w, h)) in planes.into_iter().enumerate() {
            let stride = self.output.stride(i);
            let src = self.output.data(i);
            for r in 0..h {
                dst[r * w..(r + 1) * w].copy_from_slice(&src[r * stride..r * stride + w]);
            }
        }
        out
    }
}

/// FFmpeg's version string, for the report.
pub fn version() -> String {
    // SAFETY: av_version_info returns a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(ffmpeg::ffi::av_version_info()) }
        .to_string_lossy()
        .into_owned()
}
