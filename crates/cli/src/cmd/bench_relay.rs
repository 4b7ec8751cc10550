//! `onair bench relay`: many WebSocket clients in groups on loopback
//! against a real `onair relay` process; prints delivered messages per
//! second, fan-out latency and the relay's memory and CPU. With `--tls`
//! the same fan-out runs twice, over `ws://` and over `wss://` (the relay
//! serving its own certificate from a throwaway CA made with `openssl`),
//! and prints relay CPU per delivered message for both, their ratio, and
//! full TLS handshakes per second.
//!
//! With `--nodes N --bus redis://… [--store postgres://…]` the same load runs
//! first against the single-node relay (SQLite, no bus) and then against N
//! nodes sharing the store and the bus, clients spread over the nodes so
//! most copies cross nodes; it prints latency for copies that crossed nodes
//! and for those that did not, and relay CPU per delivered message for both
//! set-ups, with their ratio.

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
    /// Run the fan-out over ws:// and again over wss:// (the relay serving
    /// TLS itself) and compare relay CPU per delivered message; also time
    /// full TLS handshakes. Needs the `openssl` command.
    #[arg(long)]
    tls: bool,
    /// Relay nodes sharing one store and one bus (needs --bus); compared
    /// with the single-node relay in the same run.
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// The nodes' shared store (`postgres://…`); default: one SQLite file in
    /// a folder they share. Users are seeded under a name unique to the run.
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// The nodes' bus (`redis://…`).
    #[arg(long, value_name = "URL")]
    bus: Option<String>,
}

/// Where a fan-out run sends its load: one relay, or nodes on a bus.
#[derive(Clone, Copy)]
struct Topology<'a> {
    nodes: usize,
    store: Option<&'a str>,
    bus: Option<&'a str>,
    /// The seeded users' and groups' name prefix (see `seed_store`).
    prefix: &'a str,
}

const SINGLE: Topology<'static> = Topology { nodes: 1, store: None, bus: None, prefix: "" };

/// What one fan-out run measured, for the ws:// and wss:// comparison.
struct Figures {
    connect_s: f64,
    relay_cpu_s: f64,
    delivered: u64,
    /// p50 and p99 (ms) of copies delivered on the sender's node, and of
    /// those that crossed nodes (NaN when there were none).
    same: (f64, f64),
    cross: (f64, f64),
}

/// Full TLS handshakes timed against a fresh relay.
struct Handshakes {
    n: usize,
    per_s: f64,
    relay_cpu_ms_each: f64,
}

impl Figures {
    fn cpu_us_per_delivery(&self) -> f64 {
        1e6 * self.relay_cpu_s / self.delivered as f64
    }
}

/// The bench's own CA and the relay certificate it signed (127.0.0.1).
struct BenchPki {
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    /// Fan-out clients: the usual client (session resumption on).
    client: Arc<rustls::ClientConfig>,
    /// Handshake timing: resumption off, so every handshake is a full one.
    full: Arc<rustls::ClientConfig>,
}

/// Makes a CA and an ECDSA P-256 certificate for IP 127.0.0.1 (what
/// certbot issues by default) in `dir` with the `openssl` command.
fn make_pki(dir: &std::path::Path) -> anyhow::Result<BenchPki> {
    std::fs::create_dir_all(dir)?;
    let openssl = |args: &[&str]| -> anyhow::Result<()> {
        let o = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .output()
            .context("running openssl (bench relay --tls makes its own certificate with it; install openssl)")?;
        anyhow::ensure!(o.status.success(), "openssl {}: {}", args.join(" "), String::from_utf8_lossy(&o.stderr).trim());
        Ok(())
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(&[&["req", "-x509"][..], &ec, &["-days", "2", "-subj", "/CN=OnAir bench CA", "-keyout", "ca.key", "-out", "ca.pem"]].concat())?;
    std::fs::write(dir.join("relay.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")?;
    openssl(&[&["req"][..], &ec, &["-subj", "/CN=127.0.0.1", "-keyout", "relay.key", "-out", "relay.csr"]].concat())?;
    openssl(&["x509", "-req", "-in", "relay.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "relay.ext", "-out", "relay.pem"])?;

    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(dir.join("ca.pem")).context("reading the bench CA")? {
        roots.add(c.context("reading the bench CA")?)?;
    }
    let build = || -> anyhow::Result<rustls::ClientConfig> {
        Ok(rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots.clone())
            .with_no_client_auth())
    };
    let client = Arc::new(build()?);
    let mut full = build()?;
    full.resumption = rustls::client::Resumption::disabled();
    Ok(BenchPki { cert: dir.join("relay.pem"), key: dir.join("relay.key"), client, full: Arc::new(full) })
}

/// Full handshakes timed: one per client, at least 2,000 so the relay's
/// CPU (counted in 10 ms ticks) is read to a few percent.
fn handshakes(clients: usize) -> usize {
    clients.max(2000)
}

/// `n` full TLS handshakes (TCP connect, TLS 1.3 handshake, close) from 8
/// threads, timed, with the relay's CPU over them.
fn time_handshakes(addr: &str, n: usize, cfg: &Arc<rustls::ClientConfig>, relay_pid: u32) -> anyhow::Result<Handshakes> {
    use std::io::Write;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let cpu0 = proc_stats(relay_pid).2;
    let t = Instant::now();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| -> anyhow::Result<()> {
                    while next.fetch_add(1, Relaxed) < n {
                        let mut tcp = std::net::TcpStream::connect(addr).context("connecting for a TLS handshake")?;
                        tcp.set_nodelay(true)?;
                        let name = rustls::pki_types::ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
                        let mut c = rustls::ClientConnection::new(cfg.clone(), name)?;
                        while c.is_handshaking() {
                            c.complete_io(&mut tcp).context("TLS handshake with the relay")?;
                        }
                        while c.wants_write() {
                            c.write_tls(&mut tcp)?;
                        }
                        tcp.flush()?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| w.join().map_err(|_| anyhow::anyhow!("a handshake thread panicked"))?)
    })?;
    let secs = t.elapsed().as_secs_f64();
    let cpu = proc_stats(relay_pid).2.saturating_sub(cpu0) as f64 / 100.0;
    Ok(Handshakes { n, per_s: n as f64 / secs, relay_cpu_ms_each: 1e3 * cpu / n as f64 })
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
    /// The same, split: copies received on the sender's node, and not.
    hist_same: Hist,
    hist_cross: Hist,
    stop: AtomicBool,
}

/// Raises the open-files limit to `want` where allowed (the hard limit can
/// only go up with privileges), else to the hard limit; returns the limit.
/// The relay, our child, inherits it.
#[cfg(not(unix))]
fn raise_fd_limit(want: u64) -> u64 {
    // Windows has no per-process descriptor limit to raise.
    want
}

#[cfg(unix)]
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
    if a.nodes > 1 || a.bus.is_some() || a.store.is_some() {
        return bench_nodes(a, clients, g, dir);
    }
    // Seed accounts and groups straight into the relay's database: the
    // benchmark measures fan-out, not 20,000 argon2 hashes.
    let t = Instant::now();
    let seed = dir.join("seed");
    std::fs::create_dir_all(&seed)?;
    let tokens = seed_store(&SqliteStore::open(&seed.join("relay.db"))?, "", clients, g)?;
    println!("seeded {clients} users in {} groups of {g} in {:.1} s", clients.div_ceil(g), t.elapsed().as_secs_f64());

    let Some(pki) = a.tls.then(|| make_pki(&dir.join("pki"))).transpose()? else {
        fan_out(a, clients, g, &dir.join("ws"), &seed, &tokens, None, SINGLE)?;
        return Ok(0);
    };
    let (ws, _) = fan_out(a, clients, g, &dir.join("ws"), &seed, &tokens, None, SINGLE)?;
    let (wss, hs) = fan_out(a, clients, g, &dir.join("wss"), &seed, &tokens, Some(&pki), SINGLE)?;
    let hs = hs.context("the TLS run timed no handshakes")?;
    let ratio = wss.cpu_us_per_delivery() / ws.cpu_us_per_delivery();
    println!("TLS cost ({clients} clients, groups of {g}, {:.0} msgs/s offered, the same load both times):", a.rate);
    println!(
        "  relay CPU per delivered message: ws:// {:.2} µs, wss:// {:.2} µs: ratio {ratio:.2} (goal <= 1.3: {})",
        ws.cpu_us_per_delivery(),
        wss.cpu_us_per_delivery(),
        if ratio <= 1.3 { "met" } else { "missed" }
    );
    println!("  connecting {clients} clients (TCP, upgrade, hello): ws:// {:.2} s, wss:// {:.2} s (resumption on, as clients have)", ws.connect_s, wss.connect_s);
    println!(
        "  full TLS 1.3 handshakes (ECDSA P-256, no resumption, {} from 8 threads on the same cores): {:.0}/s; relay CPU {:.2} ms each (~{:.0}/s per relay core)",
        hs.n,
        hs.per_s,
        hs.relay_cpu_ms_each,
        1e3 / hs.relay_cpu_ms_each
    );
    Ok(0)
}

/// Seeds `clients` users (named `PREFIXuN`, with tokens) and their groups
/// of `g` into `store`: the benchmark measures fan-out, not 20,000 argon2
/// hashes.
fn seed_store(store: &dyn Store, prefix: &str, clients: usize, g: usize) -> anyhow::Result<Vec<String>> {
    let hash = onair_relay::auth::hash_password("bench password")?;
    let mut tokens = Vec::with_capacity(clients);
    for i in 0..clients {
        let name = format!("{prefix}u{i}");
        store.create_user(&name, &hash, 0)?;
        let (tok, h) = onair_relay::auth::new_token()?;
        store.insert_token(&h, &name, 0, i64::MAX)?;
        tokens.push(tok);
    }
    for grp in 0..clients.div_ceil(g) {
        let members: Vec<String> = (grp * g..((grp + 1) * g).min(clients)).map(|i| format!("{prefix}u{i}")).collect();
        store.create_group(&group_id(prefix, grp), "bench", &members[0], &members[1..], 0)?;
    }
    Ok(tokens)
}

/// `g:` and 16 hex digits (the relay's form); a prefixed run's groups
/// start at a base made from the prefix, so runs never share a group.
fn group_id(prefix: &str, grp: usize) -> String {
    let base = prefix.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))) << 24;
    format!("g:{:016x}", base.wrapping_add(grp as u64))
}

/// The single-node relay and then `--nodes` nodes on the store and bus, the
/// same load on each, compared.
fn bench_nodes(a: &Args, clients: usize, g: usize, dir: &std::path::Path) -> anyhow::Result<i32> {
    let bus = a.bus.as_deref().context("--nodes needs --bus redis://HOST:PORT (the nodes' bus)")?;
    anyhow::ensure!(a.nodes >= 2, "--nodes must be 2 or more with --bus (1 is the single-node relay the bench compares against)");
    anyhow::ensure!(!a.tls, "--tls and --nodes are separate benchmarks; run them one at a time");
    let t = Instant::now();
    let seed = dir.join("seed");
    std::fs::create_dir_all(&seed)?;
    let tokens = seed_store(&SqliteStore::open(&seed.join("relay.db"))?, "", clients, g)?;
    println!("seeded {clients} users in {} groups of {g} in {:.1} s", clients.div_ceil(g), t.elapsed().as_secs_f64());
    let (single, _) = fan_out(a, clients, g, &dir.join("single"), &seed, &tokens, None, SINGLE)?;

    // The nodes: a fresh copy of the seed in a folder they share, or the
    // users seeded again into PostgreSQL under a name unique to this run.
    let nodes_seed = dir.join("nodes-seed");
    std::fs::create_dir_all(&nodes_seed)?;
    let (prefix, tokens) = match a.store.as_deref() {
        Some(url) => {
            let prefix = format!("b{}x", std::process::id());
            let t = Instant::now();
            let store = onair_relay::store::PostgresStore::open(url).with_context(|| format!("opening {}", onair_relay::store::redact_store_url(url)))?;
            let tokens = seed_store(&store, &prefix, clients, g)?;
            println!("seeded them again into {} in {:.1} s", onair_relay::store::redact_store_url(url), t.elapsed().as_secs_f64());
            (prefix, tokens)
        }
        None => (String::new(), tokens),
    };
    let topo = Topology { nodes: a.nodes, store: a.store.as_deref(), bus: Some(bus), prefix: &prefix };
    let seed_for_nodes = if a.store.is_some() { &nodes_seed } else { &seed };
    let (many, _) = fan_out(a, clients, g, &dir.join("nodes"), seed_for_nodes, &tokens, None, topo)?;

    let ratio = many.cpu_us_per_delivery() / single.cpu_us_per_delivery();
    let store_name = if a.store.is_some() { "PostgreSQL" } else { "one shared SQLite file" };
    println!("scale-out ({clients} clients, groups of {g}, {:.0} msgs/s offered = {:.0} copies/s to deliver):", a.rate, a.rate * g as f64);
    println!("  single node (SQLite, no bus): p50 {:.2} ms, p99 {:.2} ms; relay CPU {:.2} µs per delivered message", single.same.0, single.same.1, single.cpu_us_per_delivery());
    println!("  {} nodes ({store_name}, Redis bus): copies that crossed nodes p50 {:.2} ms, p99 {:.2} ms (goal p99 <= 50 ms: {}); on the sender's node p50 {:.2} ms, p99 {:.2} ms", a.nodes, many.cross.0, many.cross.1, if many.cross.1 <= 50.0 { "met" } else { "missed" }, many.same.0, many.same.1);
    println!("  relay CPU per delivered message, all nodes together: {:.2} µs; ratio to the single node {ratio:.2} (goal <= 1.5: {})", many.cpu_us_per_delivery(), if ratio <= 1.5 { "met" } else { "missed" });
    println!("  (every process, Redis and the store included, shares this machine's cores: see the README for what this means on more cores)");
    Ok(0)
}

/// One fan-out run against fresh relays on a copy of the seeded database,
/// over wss:// when `tls` is given (after timing full handshakes).
#[allow(clippy::too_many_arguments)]
fn fan_out(
    a: &Args,
    clients: usize,
    g: usize,
    dir: &std::path::Path,
    seed: &std::path::Path,
    tokens: &[String],
    tls: Option<&BenchPki>,
    topo: Topology<'_>,
) -> anyhow::Result<(Figures, Option<Handshakes>)> {
    std::fs::create_dir_all(dir)?;
    for f in std::fs::read_dir(seed)? {
        let f = f?;
        std::fs::copy(f.path(), dir.join(f.file_name())).context("copying the seeded database")?;
    }
    let cfg = dir.join("relay.toml");
    std::fs::write(&cfg, format!("listen = \"127.0.0.1:0\"\nrtmp = \"127.0.0.1:0\"\ndata = {:?}\nmetrics_token = \"bench\"\n[limits]\nhello_timeout_secs = 120\nmax_conns_per_addr = 0\n", dir.display().to_string()))?;
    let exe = std::env::current_exe().context("finding the onair binary")?;
    let mut relays = Vec::new();
    let out = (|| -> anyhow::Result<(Figures, Option<Handshakes>)> {
        let mut addrs = Vec::new();
        // One at a time: the first creates the schema.
        for n in 0..topo.nodes {
            let ready = dir.join(format!("ready-{n}"));
            let mut cmd = std::process::Command::new(&exe);
            cmd.arg("relay").arg("--config").arg(&cfg).arg("--ready-file").arg(&ready);
            if let Some(p) = tls {
                cmd.arg("--tls-cert").arg(&p.cert).arg("--tls-key").arg(&p.key);
            }
            if let Some(b) = topo.bus {
                cmd.arg("--bus").arg(b).arg("--node-id").arg(format!("bench{n}"));
            }
            if let Some(s) = topo.store {
                cmd.arg("--store").arg(s);
            }
            // The relays' logs go to a file: the bench's output is its figures.
            let log = std::fs::File::create(dir.join(format!("relay-{n}.log")))?;
            relays.push(cmd.stdout(std::process::Stdio::null()).stderr(log).spawn().context("starting the relay")?);
            let deadline = Instant::now() + Duration::from_secs(60);
            addrs.push(loop {
                if let Ok(s) = std::fs::read_to_string(&ready) {
                    if !s.is_empty() {
                        break s;
                    }
                }
                anyhow::ensure!(Instant::now() < deadline, "the relay did not start");
                std::thread::sleep(Duration::from_millis(20));
            });
        }
        let pids: Vec<u32> = relays.iter().map(|r| r.id()).collect();
        let hs = match tls {
            Some(p) => Some(time_handshakes(&addrs[0], handshakes(clients), &p.full, pids[0])?),
            None => None,
        };
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let figures = rt.block_on(drive(a, clients, g, &addrs, tokens.to_vec(), &pids, tls.map(|p| p.client.clone()), topo.prefix))?;
        Ok((figures, hs))
    })();
    for relay in &mut relays {
        // SIGTERM lets the relay shut down gracefully where there is one.
        #[cfg(unix)]
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(relay.id() as i32, libc::SIGTERM)
        };
        #[cfg(not(unix))]
        let _ = relay.kill();
    }
    for relay in &mut relays {
        let _ = relay.wait();
    }
    out
}

/// CPU ticks of all the relays together.
fn relays_cpu(pids: &[u32]) -> u64 {
    pids.iter().map(|p| proc_stats(*p).2).sum()
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    a: &Args,
    clients: usize,
    g: usize,
    addrs: &[String],
    tokens: Vec<String>,
    pids: &[u32],
    tls: Option<Arc<rustls::ClientConfig>>,
    prefix: &str,
) -> anyhow::Result<Figures> {
    let (addr, relay_pid) = (addrs[0].as_str(), pids[0]);
    let shared = Arc::new(Shared {
        base: Instant::now(),
        window_start: AtomicU64::new(u64::MAX),
        window_end: AtomicU64::new(u64::MAX),
        delivered: AtomicU64::new(0),
        hist: Hist::new(),
        hist_same: Hist::new(),
        hist_cross: Hist::new(),
        stop: AtomicBool::new(false),
    });
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    let connector = tls.clone().map(tokio_tungstenite::Connector::Rustls);
    let t = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(128));
    let mut joins = Vec::with_capacity(clients);
    for (i, tok) in tokens.into_iter().enumerate() {
        // Client i on node i mod N: a group's members spread over the nodes.
        let node = i % addrs.len();
        let url = format!("{scheme}://{}/v1/ws", addrs[node]);
        let (sem, shared, connector) = (sem.clone(), shared.clone(), connector.clone());
        joins.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await.ok();
            connect(&url, &tok, shared, connector, node).await
        }));
    }
    let mut senders = Vec::with_capacity(clients);
    for j in joins {
        senders.push(j.await.context("client task")??);
    }
    let connect_s = t.elapsed().as_secs_f64();
    println!("connected {clients} clients over {scheme}:// in {connect_s:.2} s");

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
            cpu0 = relays_cpu(pids);
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
            let group = group_id(prefix, c / g);
            let node = c % addrs.len();
            let now_ns = shared.base.elapsed().as_nanos() as u64;
            let frame = format!(
                r#"{{"t":"req","id":{sent_total},"body":{{"op":"send","client_id":"b{sent_total}","to":{{"conv":"{group}"}},"text":"T{now_ns}N{node}"}}}}"#
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
    let cpu1 = relays_cpu(pids);
    let gen1 = proc_stats(std::process::id()).2;
    let (rss, hwm, _) = proc_stats(relay_pid);
    // Let in-flight deliveries land.
    tokio::time::sleep(Duration::from_secs(2)).await;
    shared.stop.store(true, Relaxed);
    let delivered = shared.delivered.load(Relaxed);
    let expected = sent_window * g as u64;
    let hz = 100.0; // USER_HZ on Linux
    println!(
        "relay bench over {scheme}://: {clients} clients, groups of {g}, offered {:.0} msgs/s for {:.1} s",
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
    let metric = |name: &'static str| {
        let (addr, tls) = (addr.to_string(), tls.clone());
        async move { tokio::task::spawn_blocking(move || relay_metric(&addr, name, tls)).await.ok().flatten() }
    };
    if let (Some(stored), Some(batches)) = (metric("onair_relay_messages_stored_total").await, metric("onair_relay_message_batches_total").await) {
        println!("  group commit: {stored:.0} messages in {batches:.0} transactions over the run ({:.1} per commit)", stored / batches.max(1.0));
    }
    println!("  peer: none measured (no other chat relay on this machine); figures are absolute");
    let q = |h: &Hist| (h.quantile(0.5), h.quantile(0.99));
    Ok(Figures { connect_s, relay_cpu_s: cpu1.saturating_sub(cpu0) as f64 / hz, delivered, same: q(&shared.hist_same), cross: q(&shared.hist_cross) })
}

/// One counter from the relay's `/metrics` (Prometheus text), over TLS
/// when `tls` is given. Blocking: call it off the async workers.
fn relay_metric(addr: &str, name: &str, tls: Option<Arc<rustls::ClientConfig>>) -> Option<f64> {
    use std::io::{Read, Write};
    let tcp = std::net::TcpStream::connect(addr).ok()?;
    tcp.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut s: Box<dyn ReadWrite> = match tls {
        Some(cfg) => {
            let name = rustls::pki_types::ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
            Box::new(rustls::StreamOwned::new(rustls::ClientConnection::new(cfg, name).ok()?, tcp))
        }
        None => Box::new(tcp),
    };
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: relay\r\nAuthorization: Bearer bench\r\n\r\n").ok()?;
    let mut body = Vec::new();
    // A TLS peer may close without close_notify: keep what arrived.
    let _ = s.read_to_end(&mut body);
    String::from_utf8_lossy(&body).lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

trait ReadWrite: std::io::Read + std::io::Write {}
impl<T: std::io::Read + std::io::Write> ReadWrite for T {}

/// Connects one client, says hello, and starts its reader and writer;
/// returns the channel that writes frames to it.
async fn connect(url: &str, token: &str, shared: Arc<Shared>, tls: Option<tokio_tungstenite::Connector>, node: usize) -> anyhow::Result<mpsc::Sender<String>> {
    let cfg = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(8 * 1024).write_buffer_size(8 * 1024);
    let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(url, Some(cfg), true, tls).await.context("connecting a bench client")?;
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
            // Cheap parse: the bench's own text is "T<ns since base>N<sender's node>".
            let Some(i) = s.find("\"text\":\"T") else { continue };
            let digits: String = s[i + 9..].chars().take_while(|c| c.is_ascii_digit()).collect();
            let Ok(sent) = digits.parse::<u64>() else { continue };
            let from: Option<usize> = s[i + 9 + digits.len()..].strip_prefix('N').and_then(|r| r.split('"').next()).and_then(|n| n.parse().ok());
            if sent >= shared.window_start.load(Relaxed) && sent < shared.window_end.load(Relaxed) {
                let now = shared.base.elapsed().as_nanos() as u64;
                let took = now.saturating_sub(sent);
                shared.hist.add(took);
                if from == Some(node) { &shared.hist_same } else { &shared.hist_cross }.add(took);
                shared.delivered.fetch_add(1, Relaxed);
            }
        }
    });
    Ok(tx)
}
