//! `onair bench chat-cache`: how fast the offline cache opens a
//! conversation and searches, with a million messages in it.

use anyhow::Context;
use clap::Args as ClapArgs;
use onair_chat::Cache;
use rusqlite::params;
use std::time::{Duration, Instant};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Messages in the cache.
    #[arg(long, default_value_t = 1_000_000)]
    messages: u64,
    /// Conversations they are spread over.
    #[arg(long, default_value_t = 200)]
    convs: u64,
    /// Timed repetitions of each query.
    #[arg(long, default_value_t = 200)]
    runs: usize,
}

/// A deterministic word list: bench runs are comparable.
fn words() -> Vec<String> {
    let syll = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "da", "go", "zu"];
    let mut v = Vec::new();
    for a in syll {
        for b in syll {
            for c in ["", "n", "s", "ra", "to"] {
                v.push(format!("{a}{b}{c}"));
            }
        }
    }
    v
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    let dir = tempfile_dir()?;
    let path = dir.join("bench-cache.db");
    let mut cache = Cache::open(&path)?;
    let vocab = words();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };

    let t0 = Instant::now();
    {
        let conn = cache.conn();
        conn.execute_batch("PRAGMA synchronous=OFF")?; // bulk load only
        let tx = conn.transaction()?;
        {
            let mut conv_ins = tx.prepare("INSERT INTO conversations(id, kind, cursor) VALUES (?1, 'group', ?2)")?;
            for c in 0..a.convs {
                conv_ins.execute(params![format!("g:{c:016x}"), (a.messages / a.convs) as i64])?;
            }
            let mut ins = tx.prepare("INSERT INTO messages(id, conv, seq, sender, text, state, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, 'received', ?6)")?;
            for i in 0..a.messages {
                let conv = i % a.convs;
                let seq = i / a.convs + 1;
                let n = 4 + (rnd() % 12) as usize;
                let text = (0..n).map(|_| vocab[(rnd() % vocab.len() as u64) as usize].as_str()).collect::<Vec<_>>().join(" ");
                ins.execute(params![format!("{i:032x}"), format!("g:{conv:016x}"), seq as i64, format!("user{}", i % 50), text, 1_700_000_000_000i64 + i as i64])?;
            }
        }
        tx.commit()?;
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA optimize;")?;
    }
    let load = t0.elapsed();
    drop(cache);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    // Reopen, as the app does at launch.
    let cache = Cache::open(&path)?;
    println!(
        "chat-cache: {} messages in {} conversations, loaded in {:.1} s ({:.0} msgs/s, with FTS5 index), database {:.0} MiB",
        a.messages,
        a.convs,
        load.as_secs_f64(),
        a.messages as f64 / load.as_secs_f64(),
        size as f64 / 1048576.0
    );

    let first = Instant::now();
    let page = cache.history("g:0000000000000000", 50)?;
    let first = first.elapsed();
    anyhow::ensure!(page.len() == 50, "expected 50 messages, got {}", page.len());
    let mut open = Vec::with_capacity(a.runs);
    for i in 0..a.runs {
        let conv = format!("g:{:016x}", (i as u64 * 7919) % a.convs);
        let t = Instant::now();
        let page = cache.history(&conv, 50)?;
        open.push(t.elapsed());
        anyhow::ensure!(page.len() == 50);
    }
    open.sort();
    println!(
        "open last 50 of a conversation: p50 {:.3} ms, p99 {:.3} ms, first {:.3} ms (goal <= 1 ms)",
        ms(pct(&open, 0.5)),
        ms(pct(&open, 0.99)),
        ms(first)
    );

    let mut search = Vec::with_capacity(a.runs);
    let mut hits = 0;
    for _ in 0..a.runs {
        let q = format!("{} {}", vocab[(rnd() % vocab.len() as u64) as usize], vocab[(rnd() % vocab.len() as u64) as usize]);
        let t = Instant::now();
        let r = cache.search(&q, 50)?;
        search.push(t.elapsed());
        hits += r.len();
    }
    search.sort();
    println!(
        "FTS search (two words, newest 50 hits): p50 {:.3} ms, p99 {:.3} ms, {:.1} hits/query (goal <= 20 ms)",
        ms(pct(&search, 0.5)),
        ms(pct(&search, 0.99)),
        hits as f64 / a.runs as f64
    );
    let mut one = Vec::with_capacity(a.runs);
    for _ in 0..a.runs {
        let q = vocab[(rnd() % vocab.len() as u64) as usize].clone();
        let t = Instant::now();
        cache.search(&q, 50)?;
        one.push(t.elapsed());
    }
    one.sort();
    println!("FTS search (one common word, newest 50 hits): p50 {:.3} ms, p99 {:.3} ms", ms(pct(&one, 0.5)), ms(pct(&one, 0.99)));
    println!("peer: none measured (no other chat cache on this machine); figures are absolute");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(0)
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("onair-bench-chat-{}", std::process::id()));
    std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    Ok(d)
}
