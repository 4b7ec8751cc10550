//! App-wide commands: what the UI needs at start.

use tauri::State;

use crate::state::{AppInfo, AppState};

/// Data folder, relay (embedded or not), video server port and token.
#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    state.info()
}
