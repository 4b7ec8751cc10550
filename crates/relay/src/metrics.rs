//! Counters for Prometheus' text format at `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[derive(Default)]
pub struct Metrics {
    pub connections_total: AtomicU64,
    pub frames_in: AtomicU64,
    pub frame_errors: AtomicU64,
    pub messages_stored: AtomicU64,
    /// Transactions the group-commit writer wrote (messages per batch =
    /// messages stored / batches, under load).
    pub append_batches: AtomicU64,
    pub events_delivered: AtomicU64,
    pub slow_clients_dropped: AtomicU64,
    pub http_requests: AtomicU64,
    pub logins_failed: AtomicU64,
    pub logins_rate_limited: AtomicU64,
    /// Calls: invites that rang, calls ringing or answered now, and call
    /// requests refused (bad SDP, third parties, busy…).
    pub calls_started: AtomicU64,
    pub calls_active: AtomicU64,
    pub call_refusals: AtomicU64,
    /// Frames other nodes sent to our connections through the bus.
    pub bus_in: AtomicU64,
}

impl Metrics {
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }

    pub fn render(&self, live_connections: usize) -> String {
        let mut s = String::new();
        let mut line = |name: &str, kind: &str, help: &str, v: u64| {
            let _ = writeln!(s, "# HELP onair_relay_{name} {help}\n# TYPE onair_relay_{name} {kind}\nonair_relay_{name} {v}");
        };
        line("connections", "gauge", "Signed-in WebSocket connections.", live_connections as u64);
        line("connections_total", "counter", "WebSocket connections accepted.", self.connections_total.load(Relaxed));
        line("frames_in_total", "counter", "Frames received from clients.", self.frames_in.load(Relaxed));
        line("frame_errors_total", "counter", "Error frames sent for bad input or limits.", self.frame_errors.load(Relaxed));
        line("messages_stored_total", "counter", "Log entries stored.", self.messages_stored.load(Relaxed));
        line("message_batches_total", "counter", "Group-commit transactions of chat messages.", self.append_batches.load(Relaxed));
        line("events_delivered_total", "counter", "Events queued to connections.", self.events_delivered.load(Relaxed));
        line("slow_clients_dropped_total", "counter", "Connections dropped for a full send queue.", self.slow_clients_dropped.load(Relaxed));
        line("http_requests_total", "counter", "HTTP API requests.", self.http_requests.load(Relaxed));
        line("logins_failed_total", "counter", "Failed log-ins.", self.logins_failed.load(Relaxed));
        line("logins_rate_limited_total", "counter", "Log-ins refused by the rate limiter.", self.logins_rate_limited.load(Relaxed));
        line("calls_active", "gauge", "Calls ringing or answered.", self.calls_active.load(Relaxed));
        line("calls_started_total", "counter", "Call invites that rang.", self.calls_started.load(Relaxed));
        line("call_refusals_total", "counter", "Call signaling requests refused.", self.call_refusals.load(Relaxed));
        s
    }
}
