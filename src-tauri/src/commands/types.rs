//! The TypeScript of the commands' argument and result types, as
//! `ui/src/generated/app.ts` holds it (ts-rs, in tests only). The UI imports
//! these instead of typing them by hand; a test fails when the file is stale.
//! Regenerate: `ONAIR_BLESS_TS=1 cargo test -p onair-app --lib ui_types_are_current`

#[cfg(test)]
mod tests {
    use crate::commands::{attach, call, chat, cloud, devices, live, recordings, settings, watch};
    use ts_rs::TS;

    fn typescript() -> String {
        let decls = [
            devices::AudioDeviceTs::decl(),
            devices::Camera::decl(),
            devices::DeviceChoice::decl(),
            devices::DevicesView::decl(),
            devices::Level::decl(),
            attach::UploadProgress::decl(),
            crate::state::RelayInfo::decl(),
            crate::state::AppInfo::decl(),
            chat::ChatStatus::decl(),
            settings::Hotkeys::decl(),
            settings::SettingsView::decl(),
            // Recordings (onair-media's library rows).
            onair_media::library::Bookmark::decl(),
            onair_media::library::Recording::decl(),
            recordings::RecordingItem::decl(),
            // Recordings → Cloud: the relay's recordings of the user's calls (onair-proto).
            onair_proto::cloud::Tier::decl(),
            onair_proto::cloud::CloudState::decl(),
            onair_proto::cloud::CloudBookmark::decl(),
            onair_proto::cloud::CloudAccess::decl(),
            onair_proto::cloud::CloudRecording::decl(),
            cloud::CloudDownload::decl(),
            cloud::CloudRecord::decl(),
            // Chat: the cache's rows and the relay's events (onair-chat, onair-proto).
            onair_proto::Attachment::decl(),
            onair_chat::Message::decl(),
            onair_chat::ConvSummary::decl(),
            onair_proto::ConvKind::decl(),
            onair_proto::ConvInfo::decl(),
            onair_proto::FriendState::decl(),
            onair_proto::FriendInfo::decl(),
            onair_proto::AcceptFrom::decl(),
            onair_proto::EntryKind::decl(),
            onair_proto::Entry::decl(),
            onair_proto::RoomComment::decl(),
            onair_proto::MediaKind::decl(),
            onair_proto::SdpKind::decl(),
            onair_proto::IceCandidate::decl(),
            onair_proto::EndReason::decl(),
            onair_proto::RecordAction::decl(),
            onair_proto::Event::decl(),
            // The relay's refusal codes (an error's `relay_code`, worded by ui/src/lib/i18n.ts).
            onair_proto::ErrorCode::decl(),
            chat::ChatPush::decl(),
            chat::To::decl(),
            // Go live: the request, its status and figures, the stop report (onair-media's).
            live::Sources::decl(),
            live::Destination::decl(),
            live::LiveRequest::decl(),
            onair_media::stats::DestinationSnapshot::decl(),
            onair_media::stats::StatsSnapshot::decl(),
            onair_media::source::fader::FaderView::decl(),
            live::Audience::decl(),
            live::LiveStatus::decl(),
            onair_media::pipeline::RecordingResult::decl(),
            live::StopResult::decl(),
            onair_media::devices::DeviceList::decl(),
            onair_media::source::window::WindowInfo::decl(),
            crate::secrets::Stored::decl(),
            // Calls: what a call sends, its controls, `call://state` and the engine's figures (onair-call).
            crate::calls::CallSources::decl(),
            call::CallControl::decl(),
            onair_call::quality::Band::decl(),
            onair_call::rungs::Step::decl(),
            onair_call::driver::RecordingEvent::decl(),
            onair_call::driver::CallReport::decl(),
            call::CallPush::decl(),
            // Watch: a room's chat on joining.
            watch::RoomJoined::decl(),
            // The tray, in the UI's words.
            crate::tray::TrayWords::decl(),
            crate::tray::TrayView::decl(),
            // The one app state every screen renders (app://state, app_state).
            crate::appstate::ChatConn::decl(),
            crate::appstate::CallStatus::decl(),
            crate::appstate::AppStatus::decl(),
            // The Calls screen's one call state (call://view, call_view).
            crate::callview::SideMedia::decl(),
            crate::callview::CallFigures::decl(),
            crate::callview::CallRecording::decl(),
            crate::callview::CloudCall::decl(),
            crate::callview::CallView::decl(),
        ];
        let mut out = String::from(
            "// Generated from src-tauri/src/commands by the test `ui_types_are_current`; do not edit.\n// Regenerate: ONAIR_BLESS_TS=1 cargo test -p onair-app --lib ui_types_are_current\n",
        );
        for d in decls {
            out.push_str("\nexport ");
            out.push_str(&d);
            out.push('\n');
        }
        out
    }

    /// The checked-in UI types must match the Rust ones.
    #[test]
    fn ui_types_are_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/generated/app.ts");
        let want = typescript();
        if std::env::var_os("ONAIR_BLESS_TS").is_some() {
            std::fs::write(&path, &want).unwrap();
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is out of date with src-tauri/src/commands; regenerate it with\n  ONAIR_BLESS_TS=1 cargo test -p onair-app --lib ui_types_are_current",
            path.display()
        );
    }
}
