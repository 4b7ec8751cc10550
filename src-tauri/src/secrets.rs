//! Stream keys for RTMP destinations, through `onair-secrets` (the OS
//! keychain, else a 0600 file in the data folder — and the UI says which).
//! One entry per ingest URL; keys are never logged or sent to the page.

use std::path::Path;

use serde::Serialize;

use crate::error::{AppError, AppResult};

/// Where a key was stored, for the UI's message.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Stored {
    /// `keychain` or `file`.
    #[cfg_attr(test, ts(type = "\"keychain\" | \"file\""))]
    pub store: &'static str,
    /// Shown to the user when the keychain was not used.
    pub note: Option<String>,
}

/// The entry name for an ingest: the URL, trimmed, without a trailing slash.
fn name(url: &str) -> String {
    format!("stream-key:{}", url.trim().trim_end_matches('/'))
}

fn err(e: onair_secrets::SecretsError) -> AppError {
    AppError::Keychain(e.to_string())
}

pub fn save_stream_key(home: &Path, url: &str, key: &str) -> AppResult<Stored> {
    if key.is_empty() {
        return Err(AppError::Invalid("the stream key is empty".into()));
    }
    if url.trim().is_empty() {
        return Err(AppError::Invalid("enter the RTMP URL the key belongs to".into()));
    }
    let secrets = onair_secrets::Secrets::new(home);
    Ok(match secrets.set(&name(url), key).map_err(err)? {
        onair_secrets::Stored::Keychain => Stored { store: "keychain", note: None },
        onair_secrets::Stored::File => Stored {
            store: "file",
            note: Some(format!(
                "No keychain answers on this desktop, so the key was saved in {} (readable only by you).",
                secrets.file_path().display()
            )),
        },
    })
}

pub fn load_stream_key(home: &Path, url: &str) -> AppResult<Option<String>> {
    onair_secrets::Secrets::new(home).get(&name(url)).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ignore_a_trailing_slash() {
        assert_eq!(name("rtmp://h/live/ "), name("rtmp://h/live"));
    }
}
