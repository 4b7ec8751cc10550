//! OnAir's desktop app: the Tauri 2 shell over the library crates.
//!
//! Nothing here decides anything a library crate could: commands adapt
//! `onair-media` (pipeline, library), `onair-chat` (relay client, rooms) and
//! `onair-relay` (the embedded relay) to the UI in `ui/`. Start-up:
//!
//! ```text
//! run():
//!   home    = $ONAIR_HOME (or the platform data folder)
//!   library = Library::open(home)            // recovers crashed recordings
//!   relay   = settings.relay_url or ONAIR_RELAY_URL, else the embedded relay
//!             on 127.0.0.1:<free port> (data in home/relay)
//!   video   = loopback media server (127.0.0.1:<free port>, per-launch token)
//!   window  → ui/dist; the UI calls app_info, then screen commands;
//!   events  : live://stats (2/s), live://stopped, chat://event, call://state, watch://…,
//!             app://state (one typed state every screen renders; appstate.rs)
//! ```

pub mod appstate;
pub mod calls;
pub mod callview;
pub mod commands;
pub mod error;
pub mod heap;
pub mod relay;
pub mod rooms;
pub mod secrets;
pub mod state;
pub mod tray;
pub mod video;

use std::sync::Arc;

use tauri::Manager;

use crate::error::{AppError, AppResult};
use crate::state::{AppSettings, AppState, RelayInfo};

/// Builds the shared state: library, relay (embedded unless one is set),
/// loopback video server.
fn build_state() -> AppResult<AppState> {
    let home = onair_media::home::data_dir();
    std::fs::create_dir_all(&home).map_err(|e| AppError::io(format!("creating {}", home.display()), e))?;
    let (library, recovered) = onair_media::library::Library::open(&home)?;
    for r in &recovered {
        tracing::info!("recovered recording {} ({} bookmarks)", r.path.display(), r.bookmarks);
    }
    let library = Arc::new(library);
    let settings = AppSettings::load(&home)?;
    if settings.insecure_http {
        onair_chat::net::allow_insecure_http(true);
        tracing::warn!("Settings allow plain http:// to remote relays: passwords and messages may cross the network unencrypted");
    }
    let configured = std::env::var("ONAIR_RELAY_URL").ok().filter(|u| !u.is_empty()).or(settings.relay_url.clone());
    let (relay, embedded_relay) = match configured {
        Some(url) => (RelayInfo { url: url.trim_end_matches('/').to_string(), embedded: false }, None),
        None => {
            let r = relay::start(&home)?;
            (RelayInfo { url: format!("http://{}", r.addr), embedded: true }, Some(r))
        }
    };
    let video = video::start(library.clone(), home.join("thumbs"))?;
    Ok(AppState { home, relay, video, library, embedded_relay })
}

pub fn run() {
    let _ = state::STARTED_MS.set(state::unix_ms());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ONAIR_LOG").unwrap_or_else(|_| "info,onair=info".into()))
        .with_writer(std::io::stderr)
        .try_init();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_global_shortcut::Builder::new().build())
        .plugin(tauri_plugin_notification::init())
        .manage(commands::live::LiveState::default())
        .manage(commands::chat::ChatState::default())
        .manage(calls::CallMedia::default())
        .setup(|app| {
            let state = build_state().map_err(|e| Box::new(e) as Box<dyn std::error::Error>)?;
            tracing::info!(relay = %state.relay.url, embedded = state.relay.embedded, video_port = state.video.port, "OnAir app ready");
            let _ = state.video.app.set(app.handle().clone());
            app.manage(state);
            let handle = app.handle().clone();
            appstate::install(&handle);
            callview::install(&handle);
            tray::install(&handle);
            tray::register_hotkeys(&handle);
            // Chat: start the relay listener if an account is signed in.
            if let Err(e) = commands::chat::resume(&handle) {
                tracing::warn!("chat: {e}");
            }
            commands::recordings::spawn_retention(handle.clone());
            commands::live::spawn_ticker(handle);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app::app_info,
            appstate::app_state,
            callview::call_view,
            commands::live::live_preview,
            commands::live::live_preview_stop,
            commands::live::live_start,
            commands::live::live_stop,
            commands::live::live_bookmark,
            commands::live::live_set_beauty,
            commands::live::live_set_fader,
            commands::live::live_status,
            commands::live::live_devices,
            commands::live::live_remembered,
            commands::live::live_save_key,
            commands::live::live_has_key,
            commands::live::live_rooms,
            commands::live::live_room_create,
            commands::live::live_room_rotate,
            commands::live::live_chat_join,
            commands::live::live_chat_mute,
            commands::live::live_chat_kick,
            commands::recordings::recordings_list,
            commands::recordings::recordings_get,
            commands::recordings::recordings_delete,
            commands::recordings::recordings_pin,
            commands::recordings::recordings_retention,
            commands::recordings::recordings_set_retention,
            commands::recordings::recordings_encryption,
            commands::recordings::recordings_set_encryption,
            commands::cloud::cloud_list,
            commands::cloud::cloud_get,
            commands::cloud::cloud_pin,
            commands::cloud::cloud_delete,
            commands::cloud::cloud_download,
            commands::cloud::cloud_record,
            commands::chat::chat_status,
            commands::chat::chat_sign_in,
            commands::chat::chat_sign_out,
            commands::chat::chat_conversations,
            commands::chat::chat_history,
            commands::chat::chat_send,
            commands::chat::chat_retry,
            commands::chat::chat_recall,
            commands::chat::chat_read,
            commands::chat::chat_search,
            commands::chat::chat_friends,
            commands::chat::chat_friend,
            commands::chat::chat_privacy,
            commands::chat::chat_group_create,
            commands::chat::chat_group,
            commands::attach::chat_send_file,
            commands::attach::chat_attachment,
            commands::attach::chat_attachment_save,
            commands::attach::chat_attachment_open,
            commands::devices::devices_get,
            commands::devices::devices_set,
            commands::devices::devices_meter,
            commands::watch::watch_relay,
            commands::watch::watch_rooms,
            commands::watch::watch_room,
            commands::watch::watch_replays,
            commands::watch::watch_ticket,
            commands::watch::watch_join,
            commands::watch::watch_leave,
            commands::watch::watch_say,
            commands::watch::watch_following,
            commands::watch::watch_follow,
            commands::watch::room_studio,
            commands::call::call_invite,
            commands::call::call_accept,
            commands::call::call_decline,
            commands::call::call_hangup,
            commands::call::call_consent,
            commands::call::call_control,
            commands::settings::settings_get,
            commands::settings::settings_set_relay,
            commands::settings::settings_set_hotkeys,
            commands::settings::settings_set_audio_processing,
            tray::tray_words,
            tray::tray_view,
            tray::tray_menu,
        ])
        .build(tauri::generate_context!())
        .map(|app| {
            app.run(|app, ev| {
                if let tauri::RunEvent::Exit = ev {
                    // Finalise recordings in progress before the process ends.
                    app.state::<calls::CallMedia>().shutdown();
                    let live = app.state::<commands::live::LiveState>();
                    let _ = tauri::async_runtime::block_on(commands::live::shutdown(&live));
                }
            })
        });
    if let Err(e) = result {
        eprintln!("OnAir could not start: {e}");
        std::process::exit(1);
    }
}
