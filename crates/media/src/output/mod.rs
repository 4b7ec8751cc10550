//! Outputs that consume encoded packets: RTMP(S) push and the MP4 recorder,
//! plus the final remux that turns a crash-safe recording into a normal MP4.

pub mod adapt;
pub mod finalize;
pub mod mux;
pub mod recorder;
pub mod rtmp;
pub mod url;
