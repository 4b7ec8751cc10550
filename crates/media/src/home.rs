//! Where OnAir keeps its data: `ONAIR_HOME`, else the platform's data folder.

use std::path::PathBuf;

/// The data directory: `$ONAIR_HOME` if set, else `$XDG_DATA_HOME/onair`,
/// `~/.local/share/onair`, `~/Library/Application Support/OnAir` or
/// `%APPDATA%\OnAir`.
pub fn data_dir() -> PathBuf {
    if let Some(h) = std::env::var_os("ONAIR_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    #[cfg(target_os = "windows")]
    if let Some(a) = std::env::var_os("APPDATA") {
        return PathBuf::from(a).join("OnAir");
    }
    #[cfg(target_os = "macos")]
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join("Library/Application Support/OnAir");
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("onair");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/share/onair"),
        None => PathBuf::from(".onair"),
    }
}
