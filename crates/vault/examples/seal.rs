//! `cargo run --release -p onair-vault --example seal -- IN OUT`: encrypts IN
//! as the relay does a recording arriving in ~1 s fragments, then decrypts
//! it whole as a download does; prints the time each took (single-threaded
//! and CPU-bound, so wall time is CPU time). Used by bench/cloud-record.sh.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (src, dst) = match args.as_slice() {
        [_, a, b] => (a, b),
        _ => return Err("usage: seal IN OUT".into()),
    };
    let data = std::fs::read(src)?;
    let key = onair_vault::FileKey::random();
    let t = Instant::now();
    let mut w = onair_vault::Writer::new(std::io::BufWriter::new(std::fs::File::create(dst)?), &key)?;
    // Fragments of about 300 KB (a second of a 2.5 Mbit/s composite).
    for piece in data.chunks(300_000) {
        w.append(piece)?;
    }
    w.finish()?;
    let seal_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut r = onair_vault::open(std::path::Path::new(dst), &key)?;
    let mut n = 0u64;
    let len = r.len();
    r.read_range(0, len, |b| {
        n += b.len() as u64;
        Ok(())
    })?;
    let open_s = t.elapsed().as_secs_f64();
    assert_eq!(n, data.len() as u64);
    println!("{} {seal_s:.4} {open_s:.4}", data.len());
    Ok(())
}
