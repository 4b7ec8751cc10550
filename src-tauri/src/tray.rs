//! The tray icon (live/recording state in its tooltip and menu title),
//! desktop notifications and global hotkeys. Each fails soft: a desktop
//! without a tray or notification daemon (a bare Xvfb session) logs one line
//! and the app carries on.

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager};

use crate::commands::live::LiveStatus;

const TRAY_ID: &str = "onair";

/// Tray text for a state: what a glance at the tray should tell.
pub fn label(s: &LiveStatus) -> &'static str {
    match (s.live, s.recording) {
        (true, true) => "OnAir — LIVE and recording",
        (true, false) => "OnAir — LIVE",
        (false, true) => "OnAir — recording",
        _ => "OnAir — offline",
    }
}

pub fn install(app: &AppHandle) {
    let build = || -> tauri::Result<()> {
        let status = MenuItem::with_id(app, "status", "Offline", false, None::<&str>)?;
        let show = MenuItem::with_id(app, "show", "Show OnAir", true, None::<&str>)?;
        let record = MenuItem::with_id(app, "record", "Start/stop recording", true, None::<&str>)?;
        let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
        let menu = Menu::with_items(app, &[&status, &show, &record, &quit])?;
        let mut b = TrayIconBuilder::with_id(TRAY_ID).menu(&menu).tooltip("OnAir — offline");
        if let Some(icon) = app.default_window_icon() {
            b = b.icon(icon.clone());
        }
        b.on_menu_event(|app, ev| match ev.id().as_ref() {
            "show" => {
                if let Some(w) = app.get_webview_window("main") {
                    let _ = w.show();
                    let _ = w.set_focus();
                }
            }
            "record" => hotkey_record(app.clone()),
            "quit" => app.exit(0),
            _ => {}
        })
        .build(app)?;
        app.manage(TrayStatusItem(status));
        Ok(())
    };
    if let Err(e) = build() {
        tracing::warn!("no tray icon on this desktop: {e}");
    }
}

struct TrayStatusItem(MenuItem<tauri::Wry>);

/// Shows the live/recording state in the tray.
pub fn update(app: &AppHandle, s: &LiveStatus) {
    let text = label(s);
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        let _ = tray.set_tooltip(Some(text));
        let _ = tray.set_title(Some(if s.live { "LIVE" } else if s.recording { "REC" } else { "" }));
    }
    if let Some(item) = app.try_state::<TrayStatusItem>() {
        let _ = item.0.set_text(text.trim_start_matches("OnAir — "));
    }
}

/// A desktop notification; silently nothing where no daemon runs.
pub fn notify(app: &AppHandle, title: &str, body: &str) {
    use tauri_plugin_notification::NotificationExt;
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!("notification not shown: {e}");
    }
}

fn hotkey_record(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        match crate::commands::live::toggle_recording(app.clone()).await {
            Ok("recording") => notify(&app, "OnAir", "Recording started"),
            Ok(_) => notify(&app, "OnAir", "Recording stopped and saved"),
            Err(e) => notify(&app, "OnAir: could not toggle recording", &e.to_string()),
        }
    });
}

fn hotkey_bookmark(app: AppHandle) {
    let live = app.state::<crate::commands::live::LiveState>();
    match crate::commands::live::live_bookmark(live, None) {
        Ok(b) => notify(&app, "OnAir", &format!("Bookmark at {:.1} s", b.t_ms as f64 / 1000.0)),
        Err(e) => notify(&app, "OnAir: no bookmark", &e.to_string()),
    }
}

/// Ctrl+Shift+R toggles recording, Ctrl+Shift+B adds a bookmark, system-wide.
pub fn register_hotkeys(app: &AppHandle) {
    use tauri_plugin_global_shortcut::{GlobalShortcutExt, ShortcutState};
    let gs = app.global_shortcut();
    // Settings may have changed them: start from none.
    let _ = gs.unregister_all();
    let hk = app
        .try_state::<crate::state::AppState>()
        .and_then(|s| crate::state::AppSettings::load(&s.home).ok())
        .and_then(|s| s.hotkeys)
        .unwrap_or_default();
    for (keys, action) in [(hk.record.as_str(), 'r'), (hk.bookmark.as_str(), 'b')] {
        let res = gs.on_shortcut(keys, move |app, _shortcut, ev| {
            if ev.state() == ShortcutState::Pressed {
                match action {
                    'r' => hotkey_record(app.clone()),
                    _ => hotkey_bookmark(app.clone()),
                }
            }
        });
        if let Err(e) = res {
            tracing::warn!("global hotkey {keys} unavailable: {e}");
        }
    }
}
