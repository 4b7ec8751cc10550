//! `onair netem`: a userspace network impairment tool for tests and
//! benchmarks (the kernels here have no `netem` qdisc). A UDP forwarder:
//! clients send to `--listen`, each client gets its own socket towards
//! `--to` (a TURN server, say), and the answers come back the same way.
//! Packets from clients ("up") pass through loss, an outage schedule, a
//! bandwidth cap with a bounded queue, delay, jitter and reordering; with
//! `--both` the way back does too.
//!
//! ```text
//!  client ──▶ [listen] ─up: outage · loss · cap/queue · delay+jitter · reorder─▶ [socket per client] ──▶ --to
//!  client ◀── [listen] ◀──────────────── (--both: the same) ──────────────────── [socket per client] ◀── --to
//! ```
//!
//! The impairment itself ([`Impair`]) is pure: time and randomness come in.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;
use tokio::net::UdpSocket;

#[derive(Debug, Clone, clap::Args)]
pub struct NetemArgs {
    /// Where clients send (IP:PORT; port 0 picks a free one, see --ready-file).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The server behind the tool.
    #[arg(long)]
    to: SocketAddr,
    /// Fraction of packets lost at random (0-1).
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// One-way delay added (ms).
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Uniform jitter added on top of the delay, 0..N ms (reorders packets too).
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Fraction of packets held back an extra delay + 2×jitter + 10 ms, so they arrive after later ones.
    #[arg(long, default_value_t = 0.0)]
    reorder: f64,
    /// Bandwidth cap (kbit/s; 0: none). Packets over it wait in a queue.
    #[arg(long, default_value_t = 0)]
    rate_kbps: u64,
    /// The cap is lifted this many seconds after the first packet (0: it stays).
    #[arg(long, default_value_t = 0.0)]
    cap_secs: f64,
    /// The queue in front of the cap holds this much (ms at the cap); more is dropped.
    #[arg(long, default_value_t = 200)]
    queue_ms: u64,
    /// Nothing passes from AT to AT+LEN seconds after the first packet (repeatable): 8+5.
    #[arg(long, value_name = "AT+LEN")]
    outage: Vec<Outage>,
    /// Impair both directions (default: only what clients send).
    #[arg(long)]
    both: bool,
    /// Drop the first N datagrams (either way, inside TURN or not) that carry
    /// a DTLS ClientKeyExchange: the DTLS client's last handshake flight lost.
    #[arg(long, default_value_t = 0)]
    drop_key_exchange: u64,
    /// Seed for loss, jitter and reordering (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// Write the bound address here once listening.
    #[arg(long)]
    ready_file: Option<PathBuf>,
    /// Rewrite the counters as JSON here every 250 ms.
    #[arg(long)]
    stats_json: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outage {
    pub at: Duration,
    pub len: Duration,
}

impl std::str::FromStr for Outage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("--outage {s:?}: expected AT+LEN in seconds, e.g. 8+5");
        let (a, l) = s.split_once('+').ok_or_else(bad)?;
        let secs = |x: &str| x.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0 && *v < 1e6).map(Duration::from_secs_f64);
        Ok(Outage { at: secs(a).ok_or_else(bad)?, len: secs(l).ok_or_else(bad)? })
    }
}

/// What happened to the packets of one direction.
#[derive(Default, Debug, Serialize)]
pub struct Counters {
    pub packets_in: AtomicU64,
    pub bytes_in: AtomicU64,
    pub packets_out: AtomicU64,
    pub bytes_out: AtomicU64,
    pub dropped_loss: AtomicU64,
    pub dropped_outage: AtomicU64,
    pub dropped_queue: AtomicU64,
    /// Dropped by --drop-key-exchange.
    pub dropped_handshake: AtomicU64,
}

/// The impairment of one direction. `decide` says when a packet leaves,
/// or None when it is dropped.
pub struct Impair {
    loss: f64,
    delay: Duration,
    jitter: Duration,
    reorder: f64,
    rate_bps: u64,
    cap_for: Option<Duration>,
    queue: Duration,
    outages: Vec<Outage>,
    rng: u64,
    /// When the link finishes sending what is queued.
    busy_until: Option<Instant>,
    first: Option<Instant>,
}

pub enum Verdict {
    At(Instant),
    /// Held back to arrive after later packets.
    Reordered(Instant),
    Lost,
    Outage,
    QueueFull,
}

impl Impair {
    fn new(a: &NetemArgs, seed: u64) -> Impair {
        Impair {
            loss: a.loss.clamp(0.0, 1.0),
            delay: Duration::from_millis(a.delay_ms),
            jitter: Duration::from_millis(a.jitter_ms),
            reorder: a.reorder.clamp(0.0, 1.0),
            rate_bps: a.rate_kbps * 1000,
            cap_for: (a.cap_secs > 0.0 && a.cap_secs < 1e6).then(|| Duration::from_secs_f64(a.cap_secs)),
            queue: Duration::from_millis(a.queue_ms),
            outages: a.outage.clone(),
            rng: seed | 1,
            busy_until: None,
            first: None,
        }
    }

    /// A uniform number in [0, 1) (xorshift64*: reproducible with --seed).
    fn random(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn decide(&mut self, now: Instant, len: usize) -> Verdict {
        let first = *self.first.get_or_insert(now);
        let t = now - first;
        if self.outages.iter().any(|o| t >= o.at && t < o.at + o.len) {
            return Verdict::Outage;
        }
        if self.loss > 0.0 && self.random() < self.loss {
            return Verdict::Lost;
        }
        let mut leave = now;
        if self.rate_bps > 0 && self.cap_for.is_none_or(|c| t < c) {
            let start = self.busy_until.map_or(now, |b| b.max(now));
            if start - now > self.queue {
                return Verdict::QueueFull;
            }
            leave = start + Duration::from_nanos(len as u64 * 8 * 1_000_000_000 / self.rate_bps);
            self.busy_until = Some(leave);
        }
        leave += self.delay;
        if !self.jitter.is_zero() {
            leave += self.jitter.mul_f64(self.random());
        }
        if self.reorder > 0.0 && self.random() < self.reorder {
            return Verdict::Reordered(leave + self.delay + self.jitter * 2 + Duration::from_millis(10));
        }
        Verdict::At(leave)
    }
}

#[derive(Serialize)]
struct Report<'a> {
    up: &'a Counters,
    down: &'a Counters,
    clients: usize,
}

/// One packet on its way out: when, and where to (None: the socket's peer).
struct Departure {
    at: Instant,
    to: Option<SocketAddr>,
    data: Vec<u8>,
}

/// Sends packets in the order they were decided, each at its time: a link
/// keeps order (jitter delays, it does not reorder; `--reorder` does).
fn link(sock: Arc<UdpSocket>, c: Arc<Counters>) -> tokio::sync::mpsc::UnboundedSender<Departure> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Departure>();
    tokio::spawn(async move {
        while let Some(d) = rx.recv().await {
            if d.at > Instant::now() {
                tokio::time::sleep_until(d.at.into()).await;
            }
            send(&sock, &c, d.to, &d.data).await;
        }
    });
    tx
}

async fn send(sock: &UdpSocket, c: &Counters, to: Option<SocketAddr>, data: &[u8]) {
    let r = match to {
        Some(to) => sock.send_to(data, to).await,
        None => sock.send(data).await,
    };
    if r.is_ok() {
        c.packets_out.fetch_add(1, Ordering::Relaxed);
        c.bytes_out.fetch_add(data.len() as u64, Ordering::Relaxed);
    }
}

/// The UDP payload a TURN server and a client exchange for a peer: a
/// ChannelData message's data, a Send/Data indication's DATA attribute, or
/// the datagram itself when it is not TURN.
fn turn_payload(d: &[u8]) -> &[u8] {
    if d.len() >= 4 && (0x40..0x80).contains(&d[0]) {
        let len = u16::from_be_bytes([d[2], d[3]]) as usize;
        return d.get(4..4 + len).unwrap_or(&[]);
    }
    if d.len() >= 20 && d[0] < 4 && d[4..8] == [0x21, 0x12, 0xa4, 0x42] {
        let mut at = 20;
        while let Some(h) = d.get(at..at + 4) {
            let (kind, len) = (u16::from_be_bytes([h[0], h[1]]), u16::from_be_bytes([h[2], h[3]]) as usize);
            if kind == 0x0013 {
                return d.get(at + 4..at + 4 + len).unwrap_or(&[]);
            }
            at += 4 + len.div_ceil(4) * 4;
        }
        return &[];
    }
    d
}

/// Whether a datagram carries a DTLS handshake record (epoch 0) whose
/// message is a ClientKeyExchange (16): the DTLS client's last flight.
fn carries_key_exchange(datagram: &[u8]) -> bool {
    let mut d = turn_payload(datagram);
    while d.len() >= 13 {
        let (kind, epoch, len) = (d[0], u16::from_be_bytes([d[3], d[4]]), u16::from_be_bytes([d[11], d[12]]) as usize);
        if kind == 22 && epoch == 0 && d.get(13) == Some(&16) {
            return true;
        }
        d = d.get(13 + len..).unwrap_or(&[]);
    }
    false
}

/// Counts a packet in, decides, and queues it on `out` (or, reordered, on a timer of its own).
fn forward(imp: Option<&Mutex<Impair>>, kx: &AtomicU64, c: &Arc<Counters>, out: &tokio::sync::mpsc::UnboundedSender<Departure>, sock: &Arc<UdpSocket>, to: Option<SocketAddr>, data: &[u8]) {
    c.packets_in.fetch_add(1, Ordering::Relaxed);
    c.bytes_in.fetch_add(data.len() as u64, Ordering::Relaxed);
    if kx.load(Ordering::Relaxed) > 0 && carries_key_exchange(data) && kx.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok() {
        return void(c.dropped_handshake.fetch_add(1, Ordering::Relaxed));
    }
    let now = Instant::now();
    let verdict = match imp {
        Some(m) => m.lock().unwrap_or_else(|p| p.into_inner()).decide(now, data.len()),
        None => Verdict::At(now),
    };
    let at = match verdict {
        Verdict::At(at) => at,
        Verdict::Reordered(at) => {
            let (c, sock, data) = (c.clone(), sock.clone(), data.to_vec());
            tokio::spawn(async move {
                tokio::time::sleep_until(at.into()).await;
                send(&sock, &c, to, &data).await
            });
            return;
        }
        Verdict::Lost => return void(c.dropped_loss.fetch_add(1, Ordering::Relaxed)),
        Verdict::Outage => return void(c.dropped_outage.fetch_add(1, Ordering::Relaxed)),
        Verdict::QueueFull => return void(c.dropped_queue.fetch_add(1, Ordering::Relaxed)),
    };
    let _ = out.send(Departure { at, to, data: data.to_vec() });
}

fn void(_: u64) {}

pub fn run(a: NetemArgs) -> anyhow::Result<i32> {
    if !(0.0..=1.0).contains(&a.loss) || !(0.0..=1.0).contains(&a.reorder) {
        bail!("--loss and --reorder are fractions between 0 and 1 (5% is 0.05)");
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().context("starting the async runtime")?;
    rt.block_on(serve(a))
}

async fn serve(a: NetemArgs) -> anyhow::Result<i32> {
    let listen = Arc::new(UdpSocket::bind(a.listen).await.with_context(|| format!("binding {}", a.listen))?);
    let addr = listen.local_addr()?;
    let seed = a.seed.unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(7));
    let up_imp = Arc::new(Mutex::new(Impair::new(&a, seed)));
    let down_imp = a.both.then(|| Arc::new(Mutex::new(Impair::new(&a, seed.rotate_left(17)))));
    let (up, down) = (Arc::new(Counters::default()), Arc::new(Counters::default()));
    let kx = Arc::new(AtomicU64::new(a.drop_key_exchange));
    type Client = (Arc<UdpSocket>, tokio::sync::mpsc::UnboundedSender<Departure>);
    let clients: Arc<Mutex<HashMap<SocketAddr, Client>>> = Arc::default();
    // Everything back to clients leaves the one listening socket, in order.
    let down_link = link(listen.clone(), down.clone());
    if let Some(f) = &a.ready_file {
        std::fs::write(f, addr.to_string()).with_context(|| format!("writing {}", f.display()))?;
    }
    eprintln!("netem: {addr} → {} (loss {}, delay {} ms, jitter {} ms, cap {} kbit/s)", a.to, a.loss, a.delay_ms, a.jitter_ms, a.rate_kbps);
    if let Some(path) = a.stats_json.clone() {
        let (up, down, clients) = (up.clone(), down.clone(), clients.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let n = clients.lock().map(|c| c.len()).unwrap_or(0);
                let json = serde_json::to_vec(&Report { up: &up, down: &down, clients: n }).unwrap_or_default();
                let tmp = path.with_extension("tmp");
                if std::fs::write(&tmp, json).is_ok() {
                    let _ = std::fs::rename(&tmp, &path);
                }
            }
        });
    }
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, from) = tokio::select! {
            r = listen.recv_from(&mut buf) => r.context("receiving")?,
            _ = tokio::signal::ctrl_c() => return Ok(0),
        };
        let existing = clients.lock().unwrap_or_else(|p| p.into_inner()).get(&from).cloned();
        let sock = match existing {
            Some(s) => s,
            None => {
                // A new client: its own socket towards the server, so the
                // server tells clients apart (as behind a NAT).
                let s = Arc::new(UdpSocket::bind(SocketAddr::new(a.to.ip(), 0)).await.context("binding a client socket")?);
                s.connect(a.to).await.with_context(|| format!("connecting to {}", a.to))?;
                let l = link(s.clone(), up.clone());
                clients.lock().unwrap_or_else(|p| p.into_inner()).insert(from, (s.clone(), l.clone()));
                let (s2, listen, down, imp, back, kx) = (s.clone(), listen.clone(), down.clone(), down_imp.clone(), down_link.clone(), kx.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65_536];
                    while let Ok(n) = s2.recv(&mut buf).await {
                        forward(imp.as_deref(), &kx, &down, &back, &listen, Some(from), &buf[..n]);
                    }
                });
                (s, l)
            }
        };
        forward(Some(&up_imp), &kx, &up, &sock.1, &sock.0, None, &buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: NetemArgs,
    }

    fn imp(args: &[&str]) -> Impair {
        let mut v = vec!["t", "--to", "127.0.0.1:9"];
        v.extend_from_slice(args);
        Impair::new(&T::parse_from(v).a, 42)
    }

    #[test]
    fn loss_outage_and_the_cap_behave() {
        let t0 = Instant::now();
        let mut i = imp(&["--loss", "0.1"]);
        let lost = (0..10_000).filter(|_| matches!(i.decide(t0, 100), Verdict::Lost)).count();
        assert!((800..1200).contains(&lost), "{lost} of 10000 lost at 10 %");

        let mut i = imp(&["--outage", "1+2"]);
        assert!(matches!(i.decide(t0, 100), Verdict::At(_)));
        assert!(matches!(i.decide(t0 + Duration::from_millis(1500), 100), Verdict::Outage));
        assert!(matches!(i.decide(t0 + Duration::from_millis(3000), 100), Verdict::At(_)));

        // 1 Mbit/s, 100 ms of queue: 1250-byte packets take 10 ms each, so about 11 fit at once.
        let mut i = imp(&["--rate-kbps", "1000", "--queue-ms", "100"]);
        let passed: Vec<Instant> = (0..50).filter_map(|_| match i.decide(t0, 1250) { Verdict::At(t) => Some(t), _ => None }).collect();
        assert!((10..=12).contains(&passed.len()), "{} passed", passed.len());
        // Lifted after 1 s: then everything passes at once.
        let mut i = imp(&["--rate-kbps", "1000", "--queue-ms", "100", "--cap-secs", "1"]);
        assert!((0..50).filter(|_| matches!(i.decide(t0, 1250), Verdict::QueueFull)).count() > 30);
        let later = t0 + Duration::from_secs(2);
        assert!((0..50).all(|_| matches!(i.decide(later, 1250), Verdict::At(t) if t == later)));
        assert_eq!(*passed.last().unwrap() - t0, Duration::from_millis(10) * passed.len() as u32);
        assert!("5".parse::<Outage>().is_err() && "x+1".parse::<Outage>().is_err() && "-1+2".parse::<Outage>().is_err());
    }

    #[test]
    fn finds_a_key_exchange_bare_and_inside_turn() {
        // A ChangeCipherSpec record, then a handshake record holding a ClientKeyExchange.
        let mut dtls = vec![20, 254, 253, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1];
        dtls.extend([22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 2, 0, 3, 16, 0, 0]);
        assert!(carries_key_exchange(&dtls));
        let mut channel = vec![0x40, 0x00, 0, dtls.len() as u8];
        channel.extend(&dtls);
        assert!(carries_key_exchange(&channel));
        // A Data indication: a XOR-PEER-ADDRESS, then DATA.
        let mut ind = vec![0x00, 0x17, 0, 0, 0x21, 0x12, 0xa4, 0x42];
        ind.extend([0; 12]);
        ind.extend([0x00, 0x12, 0, 8, 0, 1, 0, 0, 1, 2, 3, 4, 0x00, 0x13, 0, dtls.len() as u8]);
        ind.extend(&dtls);
        assert!(carries_key_exchange(&ind));
        // A ServerHello, an encrypted record (epoch 1) and garbage are not.
        assert!(!carries_key_exchange(&[22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 2]));
        assert!(!carries_key_exchange(&[22, 254, 253, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 16]));
        assert!(!carries_key_exchange(&[0x40, 0, 0xff, 0xff, 22]) && !carries_key_exchange(&[0xff; 3]));
    }
}
