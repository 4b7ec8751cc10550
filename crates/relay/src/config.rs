//! Relay configuration: defaults, overridden by a TOML file, overridden by
//! flags and environment (the CLI applies those last).

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Limits that protect the relay and other clients from one client.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest WebSocket frame we parse; larger ones get `too_large`.
    pub max_frame_bytes: usize,
    /// Above this the socket is closed without reading the frame.
    pub hard_frame_bytes: usize,
    pub max_text_bytes: usize,
    /// Sustained frames per second per connection, and the burst allowed.
    pub frames_per_sec: f64,
    pub frame_burst: f64,
    pub max_attachment_bytes: u64,
    /// Upload quotas per user: bytes in the last 24 hours (recalled or
    /// burned files included, so upload-and-recall cannot churn the disk),
    /// and bytes kept in all (recalled or burned files no longer count).
    pub upload_bytes_per_day: u64,
    pub upload_bytes_total: u64,
    pub token_ttl_secs: i64,
    pub recall_window_secs: i64,
    pub login_attempts_per_minute: u32,
    pub page_max: u32,
    pub max_group_members: usize,
    /// Frames queued to a slow client before it is disconnected (it
    /// resyncs from its cursor when it comes back).
    pub send_queue: usize,
    /// Seconds a new socket has to send its hello.
    pub hello_timeout_secs: u64,
    /// Live-room chat: comments per second per user per room, and the burst.
    pub room_comments_per_sec: f64,
    pub room_comment_burst: f64,
    /// Longest live-room comment, in characters.
    pub room_comment_max_chars: usize,
    /// How long a user kicked from a room's chat stays out by default.
    pub room_kick_secs: u32,
    /// Milliseconds a new HTTP connection has for its TLS handshake and
    /// first request header, and every later header (an idle HTTP/1.1
    /// keep-alive connection is closed after it too).
    pub http_header_timeout_ms: u64,
    /// Seconds a connection may sit with no request in flight.
    pub http_idle_secs: u64,
    /// Open HTTP connections per client address (IPv6: per /64); more are
    /// closed at once. 0: no cap. Trusted proxies are exempt.
    pub max_conns_per_addr: usize,
    /// Milliseconds an RTMP connection has, in total, for the handshake
    /// and its publish request.
    pub rtmp_handshake_ms: u64,
    /// Seconds a publish ticket (`POST /v1/rooms/ID/publish`) may start a
    /// live; a live it started goes on after that.
    pub publish_ticket_secs: i64,
    /// Seconds a watch ticket for a private room's media lasts.
    pub watch_ticket_secs: i64,
    /// A room back on air within this many seconds of its live ending is
    /// the ingest reconnecting: followers get no second go-live notice.
    pub live_notice_grace_secs: i64,
    /// Largest room cover image accepted, in bytes.
    pub max_cover_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 64 * 1024,
            hard_frame_bytes: 1024 * 1024,
            max_text_bytes: 16 * 1024,
            frames_per_sec: 100.0,
            frame_burst: 400.0,
            max_attachment_bytes: 16 * 1024 * 1024,
            upload_bytes_per_day: 200 * 1024 * 1024,
            upload_bytes_total: 2 * 1024 * 1024 * 1024,
            token_ttl_secs: 30 * 24 * 3600,
            recall_window_secs: 120,
            login_attempts_per_minute: 10,
            page_max: 500,
            max_group_members: 1000,
            send_queue: 1024,
            hello_timeout_secs: 10,
            room_comments_per_sec: 1.0,
            room_comment_burst: 5.0,
            room_comment_max_chars: 300,
            room_kick_secs: 300,
            http_header_timeout_ms: 10_000,
            http_idle_secs: 60,
            max_conns_per_addr: 64,
            rtmp_handshake_ms: 10_000,
            publish_ticket_secs: 300,
            watch_ticket_secs: 600,
            live_notice_grace_secs: 120,
            max_cover_bytes: 2 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    /// RTMP ingest for live rooms (`rtmp://ADDR/live/STREAM_KEY`).
    pub rtmp: SocketAddr,
    /// Replays kept per room (the oldest go first); 0 records none.
    pub replays_kept: usize,
    /// The quality ladder: rungs made below each live's source
    /// (`720p,480p,360p`; empty: the source only).
    pub ladder: String,
    /// A file of words and phrases refused in live-room chat (one a line).
    pub banned_words: Option<PathBuf>,
    pub data: PathBuf,
    pub limits: Limits,
    /// 1:1 call signaling, ICE servers and recording consent (issue 5).
    pub calls: CallConfig,
    /// The relay's own TLS: certificate chain and private key (PEM) for
    /// HTTPS and WSS on `listen`, and RTMPS on `rtmps`; reloaded on change.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// RTMPS ingest (RTMP inside TLS) next to `rtmp`; needs the certificate.
    pub rtmps: Option<SocketAddr>,
    /// Reverse proxies (addresses or CIDR networks) whose `X-Forwarded-For`
    /// names the client; nobody else's is believed.
    pub trusted_proxies: Vec<String>,
    /// `/metrics` answers only requests with `Authorization: Bearer` this
    /// token; without one configured it is not served at all (404).
    pub metrics_token: Option<Secret>,
    /// The bus between relay nodes (`redis://HOST:PORT`); none: this relay
    /// is the only node. A secret: the URL may carry Redis's password.
    pub bus: Option<Secret>,
    /// This node's name among several (`--node-id`); default: random.
    pub node_id: Option<String>,
    /// Where the other nodes reach this one over plain HTTP (`--node-url`,
    /// e.g. `http://10.0.0.5:7380`) to pull a live published here; default:
    /// `http://` and the listening address, when that is one address.
    pub node_url: Option<String>,
    /// Where the relay's records live: `postgres://…` (shared by several
    /// nodes), or unset for SQLite in `data`. Attachments and replays stay
    /// in `data` either way.
    pub store: Option<StoreUrl>,
    /// Server-side call recording (issue 16): master key, tier, limits.
    pub cloud: crate::cloud::CloudConfig,
}

/// A store URL; it may hold a password, so `Debug` shows it redacted.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct StoreUrl(pub String);

impl std::str::FromStr for StoreUrl {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(StoreUrl(s.to_string()))
    }
}

impl std::fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreUrl({})", crate::store::redact_store_url(&self.0))
    }
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::store::redact_store_url(&self.0))
    }
}

/// A secret that never appears in `Debug` output (and so in no log line).
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallConfig {
    /// Seconds a call may ring before the relay ends it (`timeout`).
    pub ring_timeout_secs: u64,
    /// Seconds an accepted call survives a participant's lost connection.
    pub grace_secs: u64,
    /// Recording starts only after the other participant accepts.
    pub require_recording_consent: bool,
    pub stun_urls: Vec<String>,
    pub turn_urls: Vec<String>,
    /// coturn `static-auth-secret`; TURN servers are handed out only with it.
    pub turn_secret: Option<Secret>,
    /// Lifetime of the TURN credentials handed out.
    pub turn_ttl_secs: u64,
}

impl Default for CallConfig {
    fn default() -> Self {
        CallConfig { ring_timeout_secs: 30, grace_secs: 10, require_recording_consent: false, stun_urls: Vec::new(), turn_urls: Vec::new(), turn_secret: None, turn_ttl_secs: 3600 }
    }
}

impl Default for Config {
    fn default() -> Self {
        // An empty `data` means "the front end picks" (the CLI uses $ONAIR_HOME/relay).
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 7380)),
            rtmp: SocketAddr::from(([127, 0, 0, 1], 1935)),
            replays_kept: 20,
            ladder: String::new(),
            banned_words: None,
            data: PathBuf::new(),
            limits: Limits::default(),
            calls: CallConfig::default(),
            tls_cert: None,
            tls_key: None,
            rtmps: None,
            trusted_proxies: Vec::new(),
            metrics_token: None,
            bus: None,
            node_id: None,
            node_url: None,
            store: None,
            cloud: crate::cloud::CloudConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
}

impl Config {
    /// Defaults overridden by the TOML file at `path`.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.into(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_some_fields() {
        let c: Config = toml::from_str("listen = \"127.0.0.1:9000\"\n[limits]\nmax_text_bytes = 10\n").unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.limits.max_text_bytes, 10);
        assert_eq!(c.limits.page_max, 500);
        assert!(toml::from_str::<Config>("nonsense = 1").is_err());
    }

    #[test]
    fn call_settings_from_file_and_the_secret_stays_out_of_debug() {
        let c: Config = toml::from_str("[calls]\nring_timeout_secs = 5\nturn_urls = [\"turn:127.0.0.1:3478\"]\nturn_secret = \"hush-hush\"\n").unwrap();
        assert_eq!((c.calls.ring_timeout_secs, c.calls.grace_secs, c.calls.turn_ttl_secs), (5, 10, 3600));
        assert_eq!(c.calls.turn_secret, Some(Secret("hush-hush".into())));
        assert!(!format!("{c:?}").contains("hush-hush"));
    }

    #[test]
    fn the_store_url_from_file_keeps_its_password_out_of_debug() {
        let c: Config = toml::from_str("store = \"postgres://relay:hush-hush@db:5432/onair\"\n").unwrap();
        assert_eq!(c.store.as_ref().map(|s| s.0.as_str()), Some("postgres://relay:hush-hush@db:5432/onair"));
        assert!(!format!("{c:?}").contains("hush-hush"));
        assert_eq!(c.store.unwrap().to_string(), "postgres://relay:****@db:5432/onair");
    }
}
