//! Server-side call recordings (issue 16): the relay's HTTP API under
//! `/v1/cloud/…` for the two participants, and the job API under
//! `/v1/recorder/…` for recorder workers.

use serde::{Deserialize, Serialize};

/// Picture size of a cloud recording, chosen when it starts (each side's
/// picture is this tall; the two sit side by side), or sound only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub enum Tier {
    #[serde(rename = "360p")]
    P360,
    #[serde(rename = "720p")]
    P720,
    #[serde(rename = "1080p")]
    P1080,
    #[serde(rename = "audio")]
    Audio,
}

impl Tier {
    /// The composite's size: two 16:9 pictures side by side; None for audio only.
    pub fn composite(self) -> Option<(u32, u32)> {
        match self {
            Tier::P360 => Some((1280, 360)),
            Tier::P720 => Some((2560, 720)),
            Tier::P1080 => Some((3840, 1080)),
            Tier::Audio => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Tier::P360 => "360p",
            Tier::P720 => "720p",
            Tier::P1080 => "1080p",
            Tier::Audio => "audio",
        }
    }
}

impl std::str::FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "360p" => Tier::P360,
            "720p" => Tier::P720,
            "1080p" => Tier::P1080,
            "audio" => Tier::Audio,
            _ => return Err(format!("unknown tier {s:?}: use 360p, 720p, 1080p or audio")),
        })
    }
}

/// A user's standing answer to being recorded by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConsentAnswer {
    /// Each recording asks first (the default).
    #[default]
    Ask,
    /// Recordings start without asking (unless the relay requires consent).
    Allow,
    /// This user is never recorded by the server.
    Never,
}

impl std::str::FromStr for ConsentAnswer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(s.into())).map_err(|_| format!("unknown answer {s:?}: use ask, allow or never"))
    }
}

/// `GET` / `PUT /v1/cloud/consent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentSetting {
    pub answer: ConsentAnswer,
}

/// `POST /v1/cloud/recordings`: record this call (default: the caller's
/// answered call) at this tier (default: the relay's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartCloudRecording {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
}

/// Where a recording stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum CloudState {
    /// Waiting for the other participant's answer.
    Pending,
    Recording,
    Done,
    /// The recorder failed or the relay stopped: what was written up to
    /// then is kept (finalised), and both sides were told.
    Failed,
    /// The other participant said no.
    Declined,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct CloudBookmark {
    /// Milliseconds from the start of the recording.
    #[ts(as = "f64")]
    pub t_ms: i64,
    pub by: String,
    pub label: String,
}

/// One audited step or access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct CloudAccess {
    pub user: String,
    pub action: String,
    #[ts(as = "f64")]
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct CloudRecording {
    pub id: String,
    pub call_id: String,
    pub caller: String,
    pub callee: String,
    pub started_by: String,
    pub tier: Tier,
    pub state: CloudState,
    #[ts(as = "f64")]
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(as = "Option<f64>", optional)]
    pub ended_at: Option<i64>,
    #[ts(as = "f64")]
    pub duration_ms: i64,
    /// Size of the (plain) MP4.
    #[ts(as = "f64")]
    pub bytes: i64,
    pub pinned: bool,
    #[serde(default)]
    pub bookmarks: Vec<CloudBookmark>,
    /// `show` only: every step and access, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<CloudAccess>>", optional)]
    pub audit: Vec<CloudAccess>,
}

/// `POST /v1/cloud/recordings/{id}/bookmarks`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCloudBookmark {
    #[serde(default)]
    pub label: String,
}

/// `POST /v1/cloud/recordings/{id}/consent`: the other participant's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudConsent {
    pub accept: bool,
}

/// `POST /v1/cloud/recordings/{id}/pin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudPin {
    pub pinned: bool,
}

/// A recording job as a recorder worker gets it (`POST /v1/recorder/claim`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecorderJob {
    pub id: String,
    pub call_id: String,
    pub tier: Tier,
    /// The most seconds the job may run (the relay's duration limit).
    pub max_secs: u64,
}
