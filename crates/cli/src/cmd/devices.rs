//! `onair devices`: cameras, microphones, screens, windows and encoders.

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let d = onair_media::devices::list();
    if args.json {
        println!("{}", serde_json::to_string(&d)?);
        return Ok(0);
    }
    let section = |title: &str, items: &Result<Vec<String>, String>, hint: &str| {
        println!("{title}:");
        match items {
            Ok(v) if v.is_empty() => println!("  (none found) {hint}"),
            Ok(v) => v.iter().for_each(|i| println!("  {i}")),
            Err(e) => println!("  (unavailable: {e})"),
        }
    };
    section("Cameras", &d.cameras, "— use --video test|file:PATH|screen instead");
    section("Microphones", &d.microphones, "— use --audio test|file:PATH|none instead");
    section("Screens", &Ok(d.screens.clone()), "— no X11 display ($DISPLAY is not set)");
    let windows: Vec<String> = d.windows.iter().map(|w| format!("{:<13} {} ({}x{})", w.spec(), w.title, w.width, w.height)).collect();
    section("Windows", &Ok(windows), "— no X11 windows to capture");
    section("H.264 encoders", &Ok(d.video_encoders.clone()), "");
    println!("Test sources: --video test, --audio test (always available)");
    Ok(0)
}
