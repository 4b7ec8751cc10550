//! Tauri's build step (reads tauri.conf.json, embeds the UI from ../ui/dist).
//! When the UI has not been built yet, builds it if its npm packages are
//! installed, else writes a one-page placeholder saying how, so the Rust
//! workspace always compiles (`cargo build --workspace` on a fresh checkout).

use std::path::Path;
use std::process::Command;

fn main() {
    let ui = Path::new("../ui");
    let dist = ui.join("dist");
    println!("cargo:rerun-if-changed=../ui/dist");
    if !dist.join("index.html").exists() {
        let built = ui.join("node_modules").exists()
            && Command::new("npm").args(["--prefix", "../ui", "run", "build"]).status().map(|s| s.success()).unwrap_or(false);
        if !built {
            std::fs::create_dir_all(&dist).expect("create ui/dist");
            std::fs::write(
                dist.join("index.html"),
                "<!doctype html><meta charset=utf-8><title>OnAir</title><body data-placeholder=1>\
                 <h1>OnAir: the UI was not built</h1><p>Run <code>npm --prefix ui ci &amp;&amp; npm --prefix ui run build</code>, \
                 then build the app again (<code>bash scripts/run.sh</code> does both).</p>",
            )
            .expect("write the placeholder UI");
        }
    }
    tauri_build::build()
}
