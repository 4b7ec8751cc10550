// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    onair_app::heap::limit_arenas();
    onair_app::run()
}
