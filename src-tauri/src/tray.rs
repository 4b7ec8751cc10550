//! The tray icon: it shows what the status strip shows (LIVE, REC, the
//! call) from the same app state (`appstate::refresh` calls [`show`]), with
//! Stop and Hang up in its menu; desktop notifications and global hotkeys.
//! Each fails soft: a desktop without a tray or notification daemon (a bare
//! Xvfb session) logs one line and the app carries on.
//!
//! Its words come from the UI's catalogue (`tray_words`, sent at start and
//! on a language change), so English and Chinese live in one place.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, State};

use crate::appstate::AppStatus;
use crate::commands::live::LiveStatus;

const TRAY_ID: &str = "onair";

/// The tray's and its notifications' words in the UI's language; `{peer}`
/// and `{time}` are filled in here.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TrayWords {
    pub idle: String,
    pub live: String,
    pub rec: String,
    pub in_call: String,
    pub calling: String,
    pub ringing: String,
    pub show: String,
    pub start_rec: String,
    pub stop_live: String,
    pub stop_rec: String,
    pub hang_up: String,
    pub quit: String,
    pub rec_started: String,
    pub rec_saved: String,
    pub rec_failed: String,
    pub bookmark_at: String,
    pub no_bookmark: String,
    pub incoming_call: String,
    /// A group message's notification title (`{from}`).
    pub group_from: String,
    pub sent_file: String,
    /// A followed streamer went live: `{owner}`, `{title}`.
    #[serde(default = "live_now_default")]
    pub live_now: String,
    /// Error sentences by code (`relay.bad_credentials`, `app.media`, …),
    /// `{detail}` filled here: a failed hotkey's notification says what
    /// happened in the UI's language, as its toasts do (lib/i18n.ts `errorText`).
    #[serde(default)]
    pub errors: std::collections::HashMap<String, String>,
}

impl TrayWords {
    /// An error in these words: the relay's refusal code first, then the
    /// app's code, else the error's own (English) sentence.
    pub fn error(&self, e: &crate::error::AppError) -> String {
        let detail = e.to_string();
        let relay = e.relay_code();
        let words = match &relay {
            Some(code) => self.errors.get(&format!("relay.{code}")).or_else(|| self.errors.get("relay.refused")),
            None => self.errors.get(&format!("app.{}", e.code())),
        };
        words.map(|w| w.replace("{detail}", &detail)).unwrap_or(detail)
    }
}

fn live_now_default() -> String {
    "{owner} is live: {title}".into()
}

impl Default for TrayWords {
    /// English until the UI has sent its language.
    fn default() -> Self {
        let s = |x: &str| x.to_string();
        TrayWords {
            idle: s("Nothing live or recording"),
            live: s("LIVE"),
            rec: s("REC"),
            in_call: s("In a call with {peer}"),
            calling: s("Calling {peer}…"),
            ringing: s("{peer} is calling"),
            show: s("Show OnAir"),
            start_rec: s("Start recording"),
            stop_live: s("Stop the live (and its recording)"),
            stop_rec: s("Stop and save the recording"),
            hang_up: s("Hang up"),
            quit: s("Quit OnAir"),
            rec_started: s("Recording started"),
            rec_saved: s("Recording stopped and saved"),
            rec_failed: s("Could not start or stop recording"),
            bookmark_at: s("Bookmark at {time}"),
            no_bookmark: s("No bookmark: nothing is recording"),
            incoming_call: s("Incoming call"),
            group_from: s("{from} (group)"),
            sent_file: s("sent a file"),
            live_now: live_now_default(),
            errors: Default::default(),
        }
    }
}

/// What the tray shows for one app state.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TrayView {
    /// Beside the icon where the desktop shows a label: `LIVE · REC`, `REC`, or nothing.
    pub title: String,
    /// The icon's tooltip, and the menu's first (greyed) line without "OnAir — ".
    pub tooltip: String,
    pub status: String,
    /// The job item: start recording, or stop what runs.
    pub job: String,
    /// False while a stop is finishing.
    pub job_enabled: bool,
    /// Hang up is offered while a call rings out or runs.
    pub hang_up: bool,
    /// Whether this desktop has a tray at all.
    pub installed: bool,
}

/// The tray for a state, in the given words.
pub fn view(s: &AppStatus, w: &TrayWords) -> TrayView {
    let running = matches!(s.job, "running" | "stopping");
    let mut marks: Vec<&str> = Vec::new();
    if s.live {
        marks.push(&w.live);
    }
    if s.recording {
        marks.push(&w.rec);
    }
    let call = s.call.as_ref().map(|c| {
        let words = match c.phase {
            "active" => &w.in_call,
            "incoming" => &w.ringing,
            _ => &w.calling,
        };
        words.replace("{peer}", &c.peer)
    });
    let mut parts: Vec<String> = marks.iter().map(|m| m.to_string()).collect();
    parts.extend(call);
    let status = if parts.is_empty() { w.idle.clone() } else { parts.join(" · ") };
    TrayView {
        title: marks.join(" · "),
        tooltip: format!("OnAir — {status}"),
        status,
        job: if !running {
            w.start_rec.clone()
        } else if s.live {
            w.stop_live.clone()
        } else {
            w.stop_rec.clone()
        },
        job_enabled: s.job != "stopping",
        hang_up: s.call.as_ref().is_some_and(|c| c.phase != "incoming" && c.call_id.is_some()),
        installed: false,
    }
}

/// The tray's words, menu items and what it shows now.
#[derive(Default)]
pub struct TrayState {
    words: Mutex<TrayWords>,
    shown: Mutex<TrayView>,
    items: Mutex<Option<Items>>,
}

#[derive(Clone)]
struct Items {
    status: MenuItem<tauri::Wry>,
    show: MenuItem<tauri::Wry>,
    job: MenuItem<tauri::Wry>,
    hang_up: MenuItem<tauri::Wry>,
    quit: MenuItem<tauri::Wry>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn install(app: &AppHandle) {
    app.manage(TrayState::default());
    let build = || -> tauri::Result<Items> {
        let w = TrayWords::default();
        let items = Items {
            status: MenuItem::with_id(app, "status", &w.idle, false, None::<&str>)?,
            show: MenuItem::with_id(app, "show", &w.show, true, None::<&str>)?,
            job: MenuItem::with_id(app, "job", &w.start_rec, true, None::<&str>)?,
            hang_up: MenuItem::with_id(app, "hang_up", &w.hang_up, false, None::<&str>)?,
            quit: MenuItem::with_id(app, "quit", &w.quit, true, None::<&str>)?,
        };
        let menu = Menu::with_items(app, &[&items.status, &items.show, &items.job, &items.hang_up, &items.quit])?;
        let mut b = TrayIconBuilder::with_id(TRAY_ID).menu(&menu).tooltip(format!("OnAir — {}", w.idle));
        if let Some(icon) = app.default_window_icon() {
            b = b.icon(icon.clone());
        }
        b.on_menu_event(|app, ev| act(app, ev.id().as_ref())).build(app)?;
        Ok(items)
    };
    match build() {
        Ok(items) => *lock(&app.state::<TrayState>().items) = Some(items),
        Err(e) => tracing::warn!("no tray icon on this desktop: {e}"),
    }
    show(app, &crate::appstate::current(app));
}

/// A menu item chosen (the tray's handler, and `tray_menu`).
fn act(app: &AppHandle, id: &str) {
    match id {
        "show" => {
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.show();
                let _ = w.set_focus();
            }
        }
        "job" => hotkey_record(app.clone()),
        "hang_up" => {
            let call_id = crate::appstate::current(app).call.and_then(|c| c.call_id);
            if let Some(call_id) = call_id {
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    let r = crate::commands::call::call_hangup(app.clone(), app.state(), app.state(), call_id).await;
                    if let Err(e) = r {
                        tracing::warn!("tray hang up: {e}");
                    }
                });
            }
        }
        "quit" => app.exit(0),
        _ => {}
    }
}

/// Shows a state in the tray (appstate::refresh calls this on each change).
/// The menu is changed on the main thread, posted without waiting and
/// without a lock held: a caller on any thread (the main one included)
/// never blocks on the tray.
pub fn show(app: &AppHandle, s: &AppStatus) {
    let Some(st) = app.try_state::<TrayState>() else { return };
    let words = lock(&st.words).clone();
    let items = lock(&st.items).clone();
    let mut v = view(s, &words);
    v.installed = items.is_some();
    // Held while posting, so changes reach the main thread in order.
    let mut shown = lock(&st.shown);
    if *shown == v {
        return;
    }
    *shown = v.clone();
    if let Some(i) = items {
        let a = app.clone();
        let _ = app.run_on_main_thread(move || {
            let _ = i.status.set_text(&v.status);
            let _ = i.job.set_text(&v.job);
            let _ = i.job.set_enabled(v.job_enabled);
            let _ = i.hang_up.set_enabled(v.hang_up);
            let _ = i.show.set_text(&words.show);
            let _ = i.hang_up.set_text(&words.hang_up);
            let _ = i.quit.set_text(&words.quit);
            if let Some(tray) = a.tray_by_id(TRAY_ID) {
                let _ = tray.set_tooltip(Some(&v.tooltip));
                let _ = tray.set_title(Some(&v.title));
            }
        });
    }
}

/// The live job changed: the tray follows the app state.
pub fn update(app: &AppHandle, _s: &LiveStatus) {
    crate::appstate::refresh(app);
}

/// The UI's words for the tray, in its language now.
#[tauri::command]
pub fn tray_words(app: AppHandle, st: State<'_, TrayState>, words: TrayWords) {
    *lock(&st.words) = words;
    *lock(&st.shown) = TrayView::default();
    show(&app, &crate::appstate::current(&app));
}

/// What the tray shows now.
#[tauri::command]
pub fn tray_view(st: State<'_, TrayState>) -> TrayView {
    lock(&st.shown).clone()
}

/// Runs a tray menu item as if it were chosen (`job`, `hang_up`, `show`):
/// the same actions the status strip offers.
#[tauri::command]
pub fn tray_menu(app: AppHandle, id: String) {
    if id != "quit" {
        act(&app, &id);
    }
}

/// A desktop notification; silently nothing where no daemon runs.
pub fn notify(app: &AppHandle, title: &str, body: &str) {
    use tauri_plugin_notification::NotificationExt;
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!("notification not shown: {e}");
    }
}

/// The tray's and notifications' words now (English before the UI sent its own).
pub fn words(app: &AppHandle) -> TrayWords {
    app.try_state::<TrayState>().map(|st| lock(&st.words).clone()).unwrap_or_default()
}

fn hotkey_record(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let w = words(&app);
        match crate::commands::live::toggle_recording(app.clone()).await {
            Ok("recording") => notify(&app, "OnAir", &w.rec_started),
            Ok(_) => notify(&app, "OnAir", &w.rec_saved),
            Err(e) => notify(&app, &w.rec_failed, &w.error(&e)),
        }
    });
}

fn hotkey_bookmark(app: AppHandle) {
    let live = app.state::<crate::commands::live::LiveState>();
    let w = words(&app);
    match crate::commands::live::live_bookmark(live, None) {
        Ok(b) => {
            let secs = (b.t_ms.max(0) / 1000) as u64;
            notify(&app, "OnAir", &w.bookmark_at.replace("{time}", &format!("{}:{:02}", secs / 60, secs % 60)));
        }
        Err(e) => notify(&app, &w.no_bookmark, &w.error(&e)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appstate::CallStatus;

    fn state(job: &'static str, live: bool, recording: bool) -> AppStatus {
        AppStatus { job, live, recording, ..AppStatus::default() }
    }

    #[test]
    fn the_tray_says_what_the_strip_says() {
        let w = TrayWords::default();
        let idle = view(&state("idle", false, false), &w);
        assert_eq!((idle.title.as_str(), idle.status.as_str(), idle.job.as_str()), ("", "Nothing live or recording", "Start recording"));
        assert!(!idle.hang_up);
        let rec = view(&state("running", false, true), &w);
        assert_eq!((rec.title.as_str(), rec.job.as_str()), ("REC", "Stop and save the recording"));
        let both = view(&state("running", true, true), &w);
        assert_eq!((both.title.as_str(), both.tooltip.as_str()), ("LIVE · REC", "OnAir — LIVE · REC"));
        assert_eq!(both.job, "Stop the live (and its recording)");
        assert!(!view(&state("stopping", false, true), &w).job_enabled);
    }

    #[test]
    fn a_call_shows_with_hang_up_once_it_has_an_id() {
        let w = TrayWords::default();
        let mut s = state("idle", false, false);
        s.call = Some(CallStatus { call_id: None, peer: "bob".into(), phase: "outgoing", since_ms: None });
        let v = view(&s, &w);
        assert_eq!(v.status, "Calling bob…");
        assert!(!v.hang_up, "nothing to hang up before the relay named the call");
        s.call = Some(CallStatus { call_id: Some("c1".into()), peer: "bob".into(), phase: "active", since_ms: Some(1) });
        s.recording = true;
        s.job = "running";
        let v = view(&s, &w);
        assert_eq!((v.status.as_str(), v.title.as_str()), ("REC · In a call with bob", "REC"));
        assert!(v.hang_up);
        s.call = Some(CallStatus { call_id: Some("c2".into()), peer: "carol".into(), phase: "incoming", since_ms: None });
        assert!(!view(&s, &w).hang_up, "a ringing call is answered or declined in the window");
    }

    #[test]
    fn a_notification_words_an_error_in_the_uis_language() {
        use crate::error::AppError;
        let mut w = TrayWords::default();
        let refused = || AppError::Net(onair_chat::NetError::Refused { code: onair_proto::ErrorCode::NotOwner, message: "only the owner may".into() });
        let media = AppError::State("nothing is recording".into());
        // Before the UI sent its words: the error's own sentence.
        assert_eq!(w.error(&media), "nothing is recording");
        w.errors.insert("relay.not_owner".into(), "只有所有者可以这样做。".into());
        w.errors.insert("relay.refused".into(), "中继拒绝了请求。（{detail}）".into());
        w.errors.insert("app.state".into(), "现在无法这样做。（{detail}）".into());
        assert_eq!(w.error(&refused()), "只有所有者可以这样做。");
        assert_eq!(w.error(&media), "现在无法这样做。（nothing is recording）");
        // A refusal without its own sentence is still worded as a refusal.
        w.errors.remove("relay.not_owner");
        assert!(w.error(&refused()).starts_with("中继拒绝了请求。"));
    }
}
