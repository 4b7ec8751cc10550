//! Stable-Rust stand-in for cargo-fuzz, shared by each crate's
//! `tests/fuzz_replay.rs` (included with `#[path]`): replays a target's
//! committed corpus (`crates/<crate>/fuzz/corpus/<target>/`), then runs a
//! bounded number of mutated inputs from a fixed-seed PRNG through the same
//! function the cargo-fuzz target calls. A panic names the input and saves
//! it, so it can become a corpus seed and a unit test.
//!
//! `ONAIR_FUZZ_RUNS=N` changes the number of mutated inputs per target,
//! `ONAIR_FUZZ_SEED=N` the PRNG seed (both for a longer local run).

#![allow(dead_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// xorshift64*: small, fast, reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-enough in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }
}

/// Values that sit on the edges parsers get wrong.
const BYTES: [u8; 12] = [0, 1, 3, 0x7f, 0x80, 0xff, b'"', b'\\', b'-', b'0', b'9', b'\n'];
const WORDS: [u32; 8] = [0, 1, 0x7f, 0x80, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];
/// Text tokens for the JSON, SDP and header parsers.
const TOKENS: [&[u8]; 16] = [
    b"null",
    b"{}",
    b"[]",
    b"\"\"",
    b"-1",
    b"1e999",
    b"18446744073709551616",
    b"\\u0000",
    b"\\ud800",
    b"\r\n",
    b"bytes=",
    b"-",
    b",",
    b"=",
    b"candidate:",
    b"\xf0\x9f",
];

/// One to four random edits of `input`; `others` feeds splicing.
pub fn mutate(rng: &mut Rng, input: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        edit(rng, &mut b, others);
    }
    b
}

fn edit(rng: &mut Rng, b: &mut Vec<u8>, others: &[Vec<u8>]) {
    let at = |rng: &mut Rng, b: &Vec<u8>| rng.below(b.len() + 1);
    match rng.below(11) {
        // Flip one bit.
        0 if !b.is_empty() => {
            let i = rng.below(b.len());
            b[i] ^= 1 << rng.below(8);
        }
        // Replace a byte with a random or an edge value.
        1 if !b.is_empty() => {
            let i = rng.below(b.len());
            b[i] = if rng.below(2) == 0 { rng.byte() } else { BYTES[rng.below(BYTES.len())] };
        }
        // Overwrite a big-endian edge word.
        2 if b.len() >= 4 => {
            let i = rng.below(b.len() - 3);
            let w = WORDS[rng.below(WORDS.len())].to_be_bytes();
            let n = if rng.below(2) == 0 { 4 } else { 2 };
            b[i..i + n].copy_from_slice(&w[4 - n..]);
        }
        // Truncate.
        3 => {
            let n = at(rng, b);
            b.truncate(n);
        }
        // Delete a range.
        4 if !b.is_empty() => {
            let i = rng.below(b.len());
            let n = 1 + rng.below((b.len() - i).min(64));
            b.drain(i..i + n);
        }
        // Insert random bytes.
        5 => {
            let i = at(rng, b);
            let n = 1 + rng.below(16);
            let fresh: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
            b.splice(i..i, fresh);
        }
        // Insert a run of one byte (long zero or 0xff runs break length fields).
        6 => {
            let i = at(rng, b);
            let v = [0, 0xff, rng.byte()][rng.below(3)];
            let n = 1 + rng.below(64);
            b.splice(i..i, std::iter::repeat_n(v, n));
        }
        // Copy a range of the input elsewhere in it.
        7 if !b.is_empty() => {
            let s = rng.below(b.len());
            let n = 1 + rng.below((b.len() - s).min(256));
            let part = b[s..s + n].to_vec();
            let i = at(rng, b);
            b.splice(i..i, part);
        }
        // Splice: this input's head, another's tail.
        8 if !others.is_empty() => {
            let o = &others[rng.below(others.len())];
            let cut = at(rng, b);
            let from = rng.below(o.len() + 1);
            b.truncate(cut);
            b.extend_from_slice(&o[from..]);
        }
        // Insert a text token.
        9 => {
            let i = at(rng, b);
            b.splice(i..i, TOKENS[rng.below(TOKENS.len())].iter().copied());
        }
        // Insert bits at any bit offset: n zeros, a one, then n ones or
        // random bits, which is a huge Exp-Golomb code in a bitstream (SPS).
        _ => {
            let n = rng.below(34);
            let mut bits: Vec<bool> = vec![false; n];
            bits.push(true);
            let ones = rng.below(2) == 0;
            bits.extend((0..n).map(|_| ones || rng.below(2) == 0));
            insert_bits(b, rng.below(b.len() * 8 + 1), &bits);
        }
    }
}

fn insert_bits(b: &mut Vec<u8>, at: usize, bits: &[bool]) {
    let mut all: Vec<bool> = (0..b.len() * 8).map(|i| b[i / 8] >> (7 - i % 8) & 1 == 1).collect();
    all.splice(at..at, bits.iter().copied());
    b.clear();
    b.extend(all.chunks(8).map(|c| c.iter().enumerate().fold(0u8, |acc, (i, &v)| acc | (u8::from(v) << (7 - i)))));
}

/// The corpus files of one target, in name order.
pub fn corpus(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("fuzz corpus {} is missing: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files.into_iter().map(|p| (p.clone(), std::fs::read(&p).expect("corpus file is readable"))).collect()
}

fn env_num(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Replays `crate_dir/fuzz/corpus/<target>/` through `f`, then `runs` mutated
/// inputs. Fails the test on the first input that panics.
pub fn run(crate_dir: &str, target: &str, runs: usize, f: impl Fn(&[u8])) {
    let dir = Path::new(crate_dir).join("fuzz/corpus").join(target);
    let seeds = corpus(&dir);
    assert!(!seeds.is_empty(), "fuzz corpus {} has no seeds", dir.display());
    for (path, data) in &seeds {
        check(target, data, &f, || format!("corpus file {}", path.display()));
    }
    let inputs: Vec<Vec<u8>> = seeds.into_iter().map(|(_, d)| d).collect();
    let seed = env_num("ONAIR_FUZZ_SEED").unwrap_or(0x0a1b_2c3d)
        ^ target.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, c| (h ^ u64::from(c)).wrapping_mul(0x100_0000_01b3));
    let runs = env_num("ONAIR_FUZZ_RUNS").map_or(runs, |n| n as usize);
    let mut rng = Rng::new(seed);
    for i in 0..runs {
        let pick = rng.below(inputs.len());
        let data = mutate(&mut rng, &inputs[pick], &inputs);
        check(target, &data, &f, || format!("mutated input #{i} (seed {seed:#x})"));
    }
}

fn check(target: &str, data: &[u8], f: &impl Fn(&[u8]), what: impl Fn() -> String) {
    if catch_unwind(AssertUnwindSafe(|| f(data))).is_ok() {
        return;
    }
    let dir = std::env::temp_dir().join("onair-fuzz-crashes");
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join(format!("{target}-{:016x}.bin", data.iter().fold(0u64, |h, &c| h.rotate_left(5) ^ u64::from(c))));
    let _ = std::fs::write(&file, data);
    let hex: String = data.iter().take(128).map(|c| format!("{c:02x}")).collect();
    panic!(
        "fuzz target {target} panicked on {} ({} bytes, saved as {}): {hex}{}\n\
         Fix the parser, add a unit test, and keep the input as a seed: copy it into fuzz/corpus/{target}/ with an extension.",
        what(),
        data.len(),
        file.display(),
        if data.len() > 128 { "…" } else { "" }
    );
}
