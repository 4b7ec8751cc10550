//! `onair bench relay`: many WebSocket clients in groups on loopback
//! against a real `onair relay` process; prints delivered messages per
//! second, fan-out latency and the relay's memory and CPU.

use anyhow::Context;
use clap::Args as ClapArgs;
use futures_util::{SinkExt, StreamExt};
use onair_relay::store::{SqliteStore, Store};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Concurrent WebSocket clients (capped by the open-files limit).
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Messages per second sent, in total, spread over all clients.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Members per group; each message goes to every member.
    #[arg(long, default_value_t = 10)]
    group_size: usize,
    /// Seconds measured (after 2 s of warm-up).
    #[arg(long, default_value_t = 10)]
    duration: u64,
}

/// Latency histogram in 50 µs buckets up to 10 s.
struct Hist {
    buckets: Vec<AtomicU64>,
}

const BUCKET_NS: u64 = 50_000;

impl Hist {
    fn new() -> Self {
        Hist { buckets: (0..200_000).map(|_| AtomicU64::new(0)).collect() }
    }
    fn add(&self, ns: u64) {
        let i = ((ns / BUCKET_NS) as usize).min(self.buckets.len() - 1);
        self.buckets[i].fetch_add(1, Relaxed);
    }
    fn quantile(&self, q: f64) -> f64 {
        let total: u64 = self.buckets.iter().map(|b| b.load(Relaxed)).sum();
        if total == 0 {
            return f64::NAN;
        }
        let want = (total as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Relaxed);
            if seen >= want {
                return ((i as u64 + 1) * BUCKET_NS) as f64 / 1e6;
            }
        }
        f64::NAN
    }
}

struct Shared {
    base: Instant,
    /// Messages sent at or after this (ns since base) are measured.
    window_start: AtomicU64,
    window_end: AtomicU64,
    delivered: AtomicU64,
    hist: Hist,
    stop: AtomicBool,
}

/// Raises the open-files limit to `want` where allowed (the hard limit can
/// only go up with privileges), else to the hard limit; returns the limit.
/// The relay, our child, inherits it.
fn raise_fd_limit(want: u64) -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct given.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 1024;
        }
        if r.rlim_max < want {
            let up = libc::rlimit { rlim_cur: want, rlim_max: want };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &up) == 0 {
                return want;
            }
        }
        r.rlim_cur = r.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        r.rlim_cur
    }
}

/// (resident KiB, peak KiB, CPU ticks) of a process.
fn proc_stats(pid: u32) -> (u64, u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| status.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (kb("VmRSS:"), kb("VmHWM:"), ticks)
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    let limit = raise_fd_limit(a.clients as u64 + 1024);
    let clients = a.clients.min(limit.saturating_sub(200) as usize).max(1);
    if clients < a.clients {
        println!("note: open-files limit is {limit}; running {clients} clients instead of {}", a.clients);
    }
    let g = a.group_size.clamp(1, clients);
    let dir = std::env::temp_dir().join(format!("onair-bench-relay-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = bench(&a, clients, g, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn bench(a: &Args, clients: usize, g: usize, dir: &std::path::Path) -> anyhow::Result<i32> {
    // Seed accounts and groups straight into the relay's database: the
    // benchmark measures fan-out, not 20,000 argon2 hashes.
    let t = Instant::now();
    let tokens = {
        let store = SqliteStore::open(&dir.join("relay.db"))?;
        let hash = onair_relay::auth::hash_password("bench password")?;
        let mut tokens = Vec::with_capacity(clients);
        for i in 0..clients {
            let name = format!("u{i}");
            store.create_user(&name, &hash, 0)?;
            let (tok, h) = onair_relay::auth::new_token()?;
            store.insert_token(&h, &name, 0, i64::MAX)?;
            tokens.push(tok);
        }
        for grp in 0..clients.div_ceil(g) {
            let members: Vec<String> = (grp * g..((grp + 1) * g).min(clients)).map(|i| format!("u{i}")).collect();
            store.create_group(&format!("g:{grp:016x}"), "bench", &members[0], &members[1..], 0)?;
        }
        tokens
    };
    println!("seeded {clients} users in {} groups of {g} in {:.1} s", clients.div_ceil(g), t.elapsed().as_secs_f64());

    let cfg = dir.join("relay.toml");
    std::fs::write(&cfg, format!("listen = \"127.0.0.1:0\"\ndata = {:?}\n[limits]\nhello_timeout_secs = 120\n", dir.display().to_string()))?;
    let ready = dir.join("ready");
    let exe = std::env::current_exe().context("finding the onair binary")?;
    let mut relay = std::process::Command::new(exe)
        .arg("relay")
        .arg("--config")
        .arg(&cfg)
        .arg("--ready-file")
        .arg(&ready)
        .stdout(std::process::Stdio::null())
        .spawn()
        .context("starting the relay")?;
    let out = (|| {
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            if let Ok(s) = std::fs::read_to_string(&ready) {
                if !s.is_empty() {
                    break s;
                }
            }
            anyhow::ensure!(Instant::now() < deadline, "the relay did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        rt.block_on(drive(a, clients, g, &addr, tokens, relay.id()))
    })();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(relay.id() as i32, libc::SIGTERM) };
    let _ = relay.wait();
    out
}

async fn drive(a: &Args, clients: usize, g: usize, addr: &str, tokens: Vec<String>, relay_pid: u32) -> anyhow::Result<i32> {
    let shared = Arc::new(Shared {
        base: Instant::now(),
        window_start: AtomicU64::new(u64::MAX),
        window_end: AtomicU64::new(u64::MAX),
        delivered: AtomicU64::new(0),
        hist: Hist::new(),
        stop: AtomicBool::new(false),
    });
    let url = format!("ws://{addr}/v1/ws");
    let t = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(128));
    let mut joins = Vec::with_capacity(clients);
    for tok in tokens {
        let (url, sem, shared) = (url.clone(), sem.clone(), shared.clone());
        joins.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await.ok();
            connect(&url, &tok, shared).await
        }));
    }
    let mut senders = Vec::with_capacity(clients);
    for j in joins {
        senders.push(j.await.context("client task")??);
    }
    println!("connected {clients} clients in {:.1} s", t.elapsed().as_secs_f64());

    let (rss0, _, _) = proc_stats(relay_pid);
    let warmup = Duration::from_secs(2);
    let measure = Duration::from_secs(a.duration);
    let start = Instant::now();
    let mut sent_total: u64 = 0;
    let mut sent_window: u64 = 0;
    let mut skipped: u64 = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let mut next_client = 0usize;
    let mut measuring = false;
    let mut cpu0 = 0;
    let mut gen0 = 0;
    let mut window_t0 = start;
    loop {
        tick.tick().await;
        let el = start.elapsed();
        if !measuring && el >= warmup {
            measuring = true;
            shared.window_start.store(shared.base.elapsed().as_nanos() as u64, Relaxed);
            cpu0 = proc_stats(relay_pid).2;
            gen0 = proc_stats(std::process::id()).2;
            window_t0 = Instant::now();
        }
        if el >= warmup + measure {
            break;
        }
        let due = (a.rate * el.as_secs_f64()) as u64;
        while sent_total < due {
            let c = next_client % clients;
            next_client += 1;
            let group = c / g;
            let now_ns = shared.base.elapsed().as_nanos() as u64;
            let frame = format!(
                r#"{{"t":"req","id":{sent_total},"body":{{"op":"send","client_id":"b{sent_total}","to":{{"conv":"g:{group:016x}"}},"text":"T{now_ns}"}}}}"#
            );
            if senders[c].try_send(frame).is_err() {
                skipped += 1;
            } else if measuring {
                sent_window += 1;
            }
            sent_total += 1;
        }
    }
    let window = window_t0.elapsed();
    shared.window_end.store(shared.base.elapsed().as_nanos() as u64, Relaxed);
    let (_, _, cpu1) = proc_stats(relay_pid);
    let gen1 = proc_stats(std::process::id()).2;
    let (rss, hwm, _) = proc_stats(relay_pid);
    // Let in-flight deliveries land.
    tokio::time::sleep(Duration::from_secs(2)).await;
    shared.stop.store(true, Relaxed);
    let delivered = shared.delivered.load(Relaxed);
    let expected = sent_window * g as u64;
    let hz = 100.0; // USER_HZ on Linux
    println!(
        "relay bench: {clients} clients, groups of {g}, offered {:.0} msgs/s for {:.1} s",
        a.rate,
        window.as_secs_f64()
    );
    println!(
        "  sent {sent_window} msgs ({:.0}/s), delivered {delivered} of {expected} fan-out copies ({:.0} deliveries/s, {:.2}% delivered){}",
        sent_window as f64 / window.as_secs_f64(),
        delivered as f64 / window.as_secs_f64(),
        if expected > 0 { 100.0 * delivered as f64 / expected as f64 } else { 0.0 },
        if skipped > 0 { format!(", {skipped} sends skipped by backed-up clients") } else { String::new() }
    );
    println!(
        "  fan-out latency (send to every member's receipt): p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms (goal: p99 <= 50 ms)",
        shared.hist.quantile(0.5),
        shared.hist.quantile(0.99),
        shared.hist.quantile(0.999)
    );
    println!(
        "  relay memory: {:.0} MiB resident after connect, {:.0} MiB at end, {:.0} MiB peak; relay CPU {:.0}% of one core",
        rss0 as f64 / 1024.0,
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0,
        100.0 * (cpu1.saturating_sub(cpu0)) as f64 / hz / window.as_secs_f64()
    );
    println!(
        "  load generator (this process, same cores): CPU {:.0}% of one core",
        100.0 * (gen1.saturating_sub(gen0)) as f64 / hz / window.as_secs_f64()
    );
    if let (Some(stored), Some(batches)) = (relay_metric(addr, "onair_relay_messages_stored_total").await, relay_metric(addr, "onair_relay_message_batches_total").await) {
        println!("  group commit: {stored:.0} messages in {batches:.0} transactions over the run ({:.1} per commit)", stored / batches.max(1.0));
    }
    println!("  peer: none measured (no other chat relay on this machine); figures are absolute");
    Ok(0)
}

/// One counter from the relay's `/metrics` (Prometheus text).
async fn relay_metric(addr: &str, name: &str) -> Option<f64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: relay\r\n\r\n").await.ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).await.ok()?;
    body.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Connects one client, says hello, and starts its reader and writer;
/// returns the channel that writes frames to it.
async fn connect(url: &str, token: &str, shared: Arc<Shared>) -> anyhow::Result<mpsc::Sender<String>> {
    let cfg = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(8 * 1024).write_buffer_size(8 * 1024);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(cfg), true).await.context("connecting a bench client")?;
    let (mut sink, mut stream) = ws.split();
    sink.send(Message::Text(format!(r#"{{"t":"hello","v":1,"token":"{token}"}}"#).into())).await?;
    match stream.next().await {
        Some(Ok(Message::Text(t))) if t.as_str().contains("\"welcome\"") => {}
        other => anyhow::bail!("no welcome: {other:?}"),
    }
    let (tx, mut rx) = mpsc::channel::<String>(256);
    tokio::spawn(async move {
        while let Some(f) = rx.recv().await {
            if sink.send(Message::Text(f.into())).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        while let Some(Ok(m)) = stream.next().await {
            if shared.stop.load(Relaxed) {
                break;
            }
            let Message::Text(t) = m else { continue };
            let s = t.as_str();
            // Cheap parse: the bench's own text is "T<ns since base>".
            let Some(i) = s.find("\"text\":\"T") else { continue };
            let digits: String = s[i + 9..].chars().take_while(|c| c.is_ascii_digit()).collect();
            let Ok(sent) = digits.parse::<u64>() else { continue };
            if sent >= shared.window_start.load(Relaxed) && sent < shared.window_end.load(Relaxed) {
                let now = shared.base.elapsed().as_nanos() as u64;
                shared.hist.add(now.saturating_sub(sent));
                shared.delivered.fetch_add(1, Relaxed);
            }
        }
    });
    Ok(tx)
}
