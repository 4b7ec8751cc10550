//! One typed app state that every screen renders: the Go live job (live,
//! recording, since when), the call in progress, the chat connection and
//! the unread count. It is pushed as `app://state` whenever it changes, and
//! `app_state` answers it on demand (a page that just loaded asks once).
//!
//! ```text
//! live ticker (2/s) ──┐
//! call://state ───────┼─▶ refresh(): build AppStatus ─▶ changed? ─▶ emit app://state
//! chat://event ───────┘         ▲ (unread re-counted when chat said something)
//! ```
//!
//! The status strip, the red dot beside "OnAir", the sidebar's unread badge
//! and the tray all read this one state, so no screen has to be open to
//! tell the truth, and leaving Go live never loses a running job.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Listener, Manager, State};

use crate::commands::chat::ChatState;
use crate::commands::live::LiveState;

pub const EVENT: &str = "app://state";

/// What the whole app is doing, as every screen shows it.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AppStatus {
    /// The Go live job: `idle`, `preview`, `running` or `stopping`.
    #[cfg_attr(test, ts(type = "\"idle\" | \"preview\" | \"running\" | \"stopping\""))]
    pub job: &'static str,
    pub live: bool,
    pub recording: bool,
    /// When the running job started (Unix ms): the strip counts from it.
    #[cfg_attr(test, ts(as = "Option<f64>"))]
    pub job_started_ms: Option<u64>,
    /// Where the live goes, any key masked.
    pub target: Option<String>,
    pub call: Option<CallStatus>,
    pub chat: ChatConn,
    /// Unread messages over every conversation.
    #[cfg_attr(test, ts(as = "f64"))]
    pub unread: u64,
}

/// The call in progress (or ringing).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CallStatus {
    pub call_id: Option<String>,
    pub peer: String,
    /// `outgoing`, `incoming` or `active`.
    #[cfg_attr(test, ts(type = "\"outgoing\" | \"incoming\" | \"active\""))]
    pub phase: &'static str,
    /// When it connected (Unix ms), for the pill's clock.
    #[cfg_attr(test, ts(as = "Option<f64>"))]
    pub since_ms: Option<i64>,
}

/// The relay connection as the chat listener sees it.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ChatConn {
    pub signed_in: bool,
    pub user: Option<String>,
    pub online: bool,
}

/// The last state pushed, and what only events tell us (the call).
#[derive(Default)]
pub struct Published {
    last: Mutex<Option<AppStatus>>,
    call: Mutex<Option<CallStatus>>,
    unread: AtomicU64,
    /// Chat said something: count unread again on the next refresh.
    unread_dirty: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A `call://state` payload applied to the call in progress. Events of
/// another call than the one shown (a second ring while in a call) leave
/// it alone; the Calls screen deals with those.
pub fn reduce_call(cur: Option<CallStatus>, push: &serde_json::Value) -> Option<CallStatus> {
    let id = push["call_id"].as_str().map(str::to_string);
    let same = |c: &CallStatus| id.is_none() || c.call_id.is_none() || c.call_id == id;
    match push["type"].as_str().unwrap_or("") {
        "dialing" => {
            let peer = push["peer"].as_str().unwrap_or("").to_string();
            match cur {
                Some(c) if c.phase == "active" && !same(&c) => Some(c),
                Some(c) if c.phase == "outgoing" && c.peer == peer => Some(CallStatus { call_id: id.or(c.call_id), ..c }),
                _ => Some(CallStatus { call_id: id, peer, phase: "outgoing", since_ms: None }),
            }
        }
        "ringing" => match cur {
            Some(c) => Some(c),
            None => Some(CallStatus { call_id: id, peer: push["peer"].as_str().unwrap_or("").to_string(), phase: "incoming", since_ms: None }),
        },
        "connected" => match cur {
            Some(c) if same(&c) => Some(CallStatus { call_id: id.or(c.call_id), phase: "active", since_ms: push["at"].as_i64().or(c.since_ms), ..c }),
            other => other,
        },
        "ended" => match cur {
            Some(c) if same(&c) => None,
            other => other,
        },
        _ => cur,
    }
}

/// Starts following the events the state is made of. Called once at start.
pub fn install(app: &AppHandle) {
    app.manage(Published::default());
    let a = app.clone();
    app.listen_any(crate::commands::call::EVENT, move |ev| {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(ev.payload()) else { return };
        let p = a.state::<Published>();
        {
            let mut call = lock(&p.call);
            *call = reduce_call(call.take(), &v);
        }
        refresh(&a);
    });
    let a = app.clone();
    app.listen_any(crate::commands::chat::EVENT, move |_| {
        a.state::<Published>().unread_dirty.store(true, Ordering::Relaxed);
        refresh(&a);
    });
    app.state::<Published>().unread_dirty.store(true, Ordering::Relaxed);
}

/// Chat's read marks moved (the user read a conversation): count again.
pub fn unread_changed(app: &AppHandle) {
    if let Some(p) = app.try_state::<Published>() {
        p.unread_dirty.store(true, Ordering::Relaxed);
    }
    refresh(app);
}

/// The state now.
pub fn current(app: &AppHandle) -> AppStatus {
    let Some(p) = app.try_state::<Published>() else { return AppStatus::default() };
    let live = app.state::<LiveState>().status();
    let chat = app.state::<ChatState>();
    let conn = chat.connection();
    if !conn.signed_in {
        p.unread.store(0, Ordering::Relaxed);
    } else if p.unread_dirty.swap(false, Ordering::Relaxed) {
        match chat.unread() {
            Ok(n) => p.unread.store(n, Ordering::Relaxed),
            Err(e) => tracing::debug!("unread count: {e}"),
        }
    }
    let call = lock(&p.call).clone();
    AppStatus {
        job: live.state,
        live: live.live,
        recording: live.recording,
        job_started_ms: live.started_ms,
        target: live.target,
        call,
        chat: conn,
        unread: p.unread.load(Ordering::Relaxed),
    }
}

/// Builds the state and pushes it when it changed (and the tray with it).
pub fn refresh(app: &AppHandle) {
    let Some(p) = app.try_state::<Published>() else { return };
    let now = current(app);
    let mut last = lock(&p.last);
    if last.as_ref() == Some(&now) {
        return;
    }
    *last = Some(now.clone());
    drop(last);
    let _ = app.emit(EVENT, &now);
    crate::tray::show(app, &now);
}

/// The state now, for a page that just loaded.
#[tauri::command]
pub fn app_state(app: AppHandle, _p: State<'_, Published>) -> AppStatus {
    current(&app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_call_rings_connects_and_ends() {
        let c = reduce_call(None, &json!({"type": "ringing", "call_id": "c1", "peer": "bob"})).unwrap();
        assert_eq!((c.phase, c.peer.as_str()), ("incoming", "bob"));
        let c = reduce_call(Some(c), &json!({"type": "connected", "call_id": "c1", "at": 5})).unwrap();
        assert_eq!((c.phase, c.since_ms), ("active", Some(5)));
        // Another call ringing meanwhile is not this one.
        let c = reduce_call(Some(c), &json!({"type": "ringing", "call_id": "c2", "peer": "carol"})).unwrap();
        assert_eq!(c.peer, "bob");
        let c = reduce_call(Some(c), &json!({"type": "ended", "call_id": "c2", "reason": "declined"}));
        assert!(c.is_some(), "the other call's end leaves ours");
        assert!(reduce_call(c, &json!({"type": "ended", "call_id": "c1", "reason": "hangup"})).is_none());
    }

    #[test]
    fn an_outgoing_call_learns_its_id_and_a_cancel_without_one_ends_it() {
        let c = reduce_call(None, &json!({"type": "dialing", "call_id": null, "peer": "bob"})).unwrap();
        let c = reduce_call(Some(c), &json!({"type": "dialing", "call_id": "c9", "peer": "bob"})).unwrap();
        assert_eq!(c.call_id.as_deref(), Some("c9"));
        let c = reduce_call(Some(c), &json!({"type": "media", "call_id": "c9", "stats": {}}));
        assert_eq!(c.as_ref().map(|c| c.phase), Some("outgoing"));
        assert!(reduce_call(c, &json!({"type": "ended", "call_id": null, "reason": "x"})).is_none());
    }
}
