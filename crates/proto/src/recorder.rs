//! Recorder workers' side of server-side call recording (issue 16): the
//! media legs each participant opens to the worker, signalled through the
//! relay (see docs/protocol.md, "Cloud recording legs").

use serde::{Deserialize, Serialize};

/// One participant's offer, as the worker gets it from
/// `GET /v1/recorder/jobs/ID/legs`; the worker answers it with
/// `POST /v1/recorder/jobs/ID/legs/LEG` (the answer SDP as the body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecorderLeg {
    /// The leg's id (`l` + 16 hex digits), for the answer.
    pub leg: String,
    /// `caller` (left in the composite) or `callee` (right).
    pub side: String,
    pub user: String,
    /// A complete SDP offer (ICE gathering finished: no trickle).
    pub offer: String,
}
