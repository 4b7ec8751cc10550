//! Filters a picture and writes the result and the skin mask beside it:
//! `cargo run --release -p onair-beauty --example beauty_image -- IN OUT SMOOTH WHITEN`
//! (`OUT` gets the filtered picture, `OUT.mask.png` the mask).

use std::path::PathBuf;

use onair_beauty::{BeautyFilter, BeautyParams, I420Image};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, smooth, whiten] = args.as_slice() else {
        return Err("usage: beauty_image IN OUT SMOOTH WHITEN".into());
    };
    let mut img = I420Image::load(&PathBuf::from(input))?;
    let mut filter = BeautyFilter::with_params(BeautyParams::new(smooth.parse()?, whiten.parse()?));
    let mask = filter.skin_mask(&img.planes_mut());
    filter.apply(&mut img.planes_mut());
    img.save(&PathBuf::from(output))?;
    let mut m = I420Image::from_rgb8(
        img.width,
        img.height,
        &mask.iter().flat_map(|&v| [v, v, v]).collect::<Vec<_>>(),
    )?;
    m.visible = img.visible;
    m.save(&PathBuf::from(format!("{output}.mask.png")))?;
    Ok(())
}
