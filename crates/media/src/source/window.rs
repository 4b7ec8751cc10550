//! `window:TITLE` or `window:0xID`: one application window.
//!
//! Linux/X11: the windows are read from the X server (`_NET_CLIENT_LIST` when
//! a window manager keeps one, else the root's mapped, titled children) and
//! captured by FFmpeg's x11grab with its `window_id` option, which follows
//! the window wherever it is on the screen and however it is covered.
//! Windows: gdigrab's `title=` input names the window itself. macOS: not
//! built (avfoundation captures whole screens only; ScreenCaptureKit would
//! be needed), so it says so. Wayland has no window list for other
//! programs: `window:wayland` asks the desktop's portal instead (see
//! [`super::portal`]), and a Wayland-only session's error says so.

use serde::Serialize;

use crate::{MediaError, Result};

/// An application window that `window:` can capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct WindowInfo {
    /// The system's id (X11: the window's XID); `window:0x…` names it.
    pub id: u32,
    pub title: String,
    pub width: u32,
    pub height: u32,
}

impl WindowInfo {
    /// What `--video` takes to capture this window.
    pub fn spec(&self) -> String {
        format!("window:{:#x}", self.id)
    }
}

/// Picks the window `target` names out of `windows`: an id (`0x3a00004` or
/// decimal), else a title — the exact title (case aside), else the one
/// title that contains it. Several matches or none are errors that say
/// what to type instead.
pub fn pick(windows: &[WindowInfo], target: &str) -> Result<WindowInfo> {
    let target = target.trim();
    if target.is_empty() {
        return Err(MediaError::Invalid("window: needs a title or an id (`onair devices` lists the open windows)".into()));
    }
    let id = match target.strip_prefix("0x").or_else(|| target.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None if target.bytes().all(|b| b.is_ascii_digit()) => target.parse().ok(),
        None => None,
    };
    if let Some(id) = id {
        return windows.iter().find(|w| w.id == id).cloned().ok_or_else(|| {
            MediaError::Invalid(format!("no open window has the id {target}: `onair devices` lists the open windows"))
        });
    }
    let lower = target.to_lowercase();
    if let Some(w) = windows.iter().find(|w| w.title.to_lowercase() == lower) {
        return Ok(w.clone());
    }
    let found: Vec<&WindowInfo> = windows.iter().filter(|w| w.title.to_lowercase().contains(&lower)).collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(MediaError::Invalid(format!(
            "no open window is titled {target:?}: `onair devices` lists the open windows (or use window:0xID)"
        ))),
        many => Err(MediaError::Invalid(format!(
            "{} windows have {target:?} in their title ({}): give the whole title or window:0xID",
            many.len(),
            many.iter().take(5).map(|w| format!("{:?} {}", w.title, w.spec())).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// The open application windows, largest first; an empty list where no
/// window system can be asked (the error says why).
pub fn list() -> Result<Vec<WindowInfo>> {
    let mut v = imp::list()?;
    v.sort_by_key(|w| std::cmp::Reverse(u64::from(w.width) * u64::from(w.height)));
    Ok(v)
}

/// The windows `onair devices` and the pickers show, or none where the
/// window system cannot be asked.
pub fn list_or_empty() -> Vec<WindowInfo> {
    list().unwrap_or_default()
}

#[cfg(target_os = "linux")]
mod imp {
    use super::WindowInfo;
    use crate::{MediaError, Result};
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{AtomEnum, ConnectionExt, MapState, Window};

    fn unavailable(reason: String) -> MediaError {
        let wayland = std::env::var_os("WAYLAND_DISPLAY").is_some();
        let hint = if wayland {
            " (a Wayland session shows only X11 (XWayland) windows here: pick the window in the desktop's sharing dialog with --video window:wayland, or share the screen with --video screen)"
        } else {
            ""
        };
        MediaError::Screen { display: std::env::var("DISPLAY").unwrap_or_else(|_| "$DISPLAY".into()), reason: format!("{reason}{hint}") }
    }

    pub fn list() -> Result<Vec<WindowInfo>> {
        if std::env::var_os("DISPLAY").is_none() {
            return Err(unavailable("DISPLAY is not set: window capture needs an X11 session".into()));
        }
        let (conn, screen) = x11rb::connect(None).map_err(|e| unavailable(format!("cannot open the X display: {e}")))?;
        let root = conn.setup().roots.get(screen).map(|s| s.root).ok_or_else(|| unavailable("the X server has no such screen".into()))?;
        let atom = |name: &[u8]| -> Option<u32> { conn.intern_atom(false, name).ok()?.reply().ok().map(|r| r.atom) };
        let (client_list, net_name, utf8) = (atom(b"_NET_CLIENT_LIST"), atom(b"_NET_WM_NAME"), atom(b"UTF8_STRING"));
        let failed = |e: &dyn std::fmt::Display| unavailable(format!("asking the X server for its windows: {e}"));
        // A window manager keeps the list of application windows; without
        // one (a bare Xvfb) the root's children are the windows.
        let mut ids: Vec<Window> = Vec::new();
        if let Some(list) = client_list {
            if let Ok(Ok(r)) = conn.get_property(false, root, list, AtomEnum::WINDOW, 0, 4096).map(|c| c.reply()) {
                ids = r.value32().map(|v| v.collect()).unwrap_or_default();
            }
        }
        if ids.is_empty() {
            ids = conn.query_tree(root).map_err(|e| failed(&e))?.reply().map_err(|e| failed(&e))?.children;
        }
        let mut out = Vec::new();
        for id in ids {
            let Ok(Ok(attrs)) = conn.get_window_attributes(id).map(|c| c.reply()) else { continue };
            if attrs.map_state != MapState::VIEWABLE || attrs.override_redirect {
                continue;
            }
            let Ok(Ok(geo)) = conn.get_geometry(id).map(|c| c.reply()) else { continue };
            // Tooltips, docks' slivers and one-pixel helpers are not windows anyone shares.
            if geo.width < 32 || geo.height < 32 {
                continue;
            }
            let mut title = String::new();
            if let (Some(name), Some(utf8)) = (net_name, utf8) {
                if let Ok(Ok(r)) = conn.get_property(false, id, name, utf8, 0, 1024).map(|c| c.reply()) {
                    title = String::from_utf8_lossy(&r.value).into_owned();
                }
            }
            if title.is_empty() {
                if let Ok(Ok(r)) = conn.get_property(false, id, AtomEnum::WM_NAME, AtomEnum::STRING, 0, 1024).map(|c| c.reply()) {
                    // STRING is Latin-1.
                    title = r.value.iter().map(|&b| b as char).collect();
                }
            }
            let title = title.trim().to_string();
            if title.is_empty() {
                continue;
            }
            out.push(WindowInfo { id, title, width: u32::from(geo.width), height: u32::from(geo.height) });
        }
        Ok(out)
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::WindowInfo;
    use crate::Result;

    /// Windows: gdigrab opens a window by its title, so there is nothing to
    /// list ahead (the title is passed on as typed). macOS: not built.
    pub fn list() -> Result<Vec<WindowInfo>> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(id: u32, title: &str) -> WindowInfo {
        WindowInfo { id, title: title.into(), width: 640, height: 480 }
    }

    #[test]
    fn picks_by_id_exact_title_or_the_one_containing_it() {
        let ws = [w(0x3a00004, "Terminal"), w(0x400002, "OnAir — Go live"), w(7, "Slides: Q3 review"), w(8, "Slides: Q4 plan")];
        assert_eq!(pick(&ws, "0x3a00004").unwrap().title, "Terminal");
        assert_eq!(pick(&ws, "7").unwrap().title, "Slides: Q3 review");
        assert_eq!(pick(&ws, "terminal").unwrap().id, 0x3a00004);
        assert_eq!(pick(&ws, "go live").unwrap().id, 0x400002);
        let many = pick(&ws, "Slides").unwrap_err().to_string();
        assert!(many.contains("2 windows") && many.contains("window:0x7"), "{many}");
        assert!(pick(&ws, "Spreadsheet").unwrap_err().to_string().contains("onair devices"));
        assert!(pick(&ws, "0x99").unwrap_err().to_string().contains("no open window has the id"));
        assert!(pick(&ws, "0xZZ").is_err());
        assert!(pick(&ws, "  ").is_err());
        assert_eq!(w(0x3a00004, "x").spec(), "window:0x3a00004");
    }
}
