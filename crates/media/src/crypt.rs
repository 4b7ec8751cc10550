//! Local recordings encrypted at rest (issue 16).
//!
//! One master key per data folder lives in the OS keychain (through
//! `onair-secrets`, so the `ONAIR_KEYCHAIN` policy applies); each recording
//! has its own random [`FileKey`], stored in the library wrapped by the
//! master key and bound to the recording's id. Files use `onair-vault`'s
//! chunked AES-256-GCM format.
//!
//! ```text
//! recorder ─ fMP4 bytes ─▶ vault::Writer ─▶ NAME.mp4.part   (full 64 KiB chunks reach the disk at once)
//! finalise ─ vault::Reader ─▶ FFmpeg remux + chapters ─▶ FinalSink ─▶ vault::HeadWriter ─▶ NAME.mp4
//! player / export ─ Reader::read_range ─▶ plain bytes (loopback server, `onair recordings export`)
//! ```
//!
//! No plaintext byte of an encrypted recording reaches the disk: the
//! finaliser streams through FFmpeg's custom I/O, holding only the first
//! chunk (its `mdat` size is patched last) and a trailing window (the `moov`
//! box's sizes are patched as it is written) in memory.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use ffmpeg_next::format::context::{Input, StreamIo};
use onair_vault::{FileKey, HeadWriter, Reader, VaultError, Writer, CHUNK};

use crate::{MediaError, Result};

/// The keychain entry that holds the master key (hex).
pub const MASTER_KEY_NAME: &str = "recording-master-key";

/// The master key of the data folder `home`: read from the keychain, or,
/// with `create`, made and stored there on first use. `None`: there is none.
pub fn master_key(home: &Path, create: bool) -> Result<Option<FileKey>> {
    let secrets = onair_secrets::Secrets::new(home);
    let kerr = |e: onair_secrets::SecretsError| MediaError::Invalid(format!("the recording key: {e}"));
    if let Some(hex) = secrets.get(MASTER_KEY_NAME).map_err(kerr)? {
        // A damaged entry reads as no key: the user is told it is missing.
        return Ok(from_hex(&hex).map(FileKey::from_bytes));
    }
    if !create {
        return Ok(None);
    }
    let key = FileKey::random();
    let stored = secrets.set(MASTER_KEY_NAME, &to_hex(key.as_bytes())).map_err(kerr)?;
    tracing::info!("made this computer's recording key; kept in {stored}");
    Ok(Some(key))
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn from_hex(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// What the label binds a wrapped key to.
pub fn wrap_label(id: i64) -> String {
    format!("onair-recording-{id}")
}

pub(crate) fn verr(path: &Path, e: VaultError) -> MediaError {
    MediaError::OpenInput { path: path.display().to_string(), reason: e.to_string() }
}

/// Creates `path` readable by the user only (0600 on Unix), truncating it.
pub(crate) fn private_file(path: &Path) -> std::io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

/// The recorder's sink: FFmpeg writes fMP4 bytes, full chunks are sealed and
/// written at once; the writer is taken back at the end to seal the file.
#[derive(Clone)]
pub(crate) struct SharedWriter(pub Arc<Mutex<Option<Writer<File>>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let w = g.as_mut().ok_or_else(|| std::io::Error::other("the recording was already sealed"))?;
        w.append(buf).map_err(std::io::Error::other)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // A partial chunk cannot be flushed without sealing the file; what
        // waits in memory (< 64 KiB) is what a crash may lose.
        Ok(())
    }
}

/// A plain byte stream sealed as it is written, for a file that arrives
/// whole in order (a server recording downloaded into the library): no
/// plaintext reaches the disk; what a crash leaves has no last chunk and
/// does not open.
pub struct SealingWriter(Writer<std::io::BufWriter<File>>);

impl SealingWriter {
    pub fn new(file: File, key: &FileKey) -> std::io::Result<SealingWriter> {
        Writer::new(std::io::BufWriter::new(file), key).map(SealingWriter).map_err(std::io::Error::other)
    }

    /// Seals the last chunk and syncs the file.
    pub fn finish(self) -> std::io::Result<()> {
        let f = self.0.finish().map_err(std::io::Error::other)?.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()
    }
}

impl Write for SealingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.append(buf).map_err(std::io::Error::other)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How far back the finaliser's muxer may go to patch bytes past the first
/// chunk: the `moov` box at the end fills in its sizes as it goes (about
/// 1.5 MB for an hour at 30 fps).
const WINDOW: usize = 32 << 20;

/// The finaliser's sink: a seekable writer over a [`HeadWriter`]. Bytes stay
/// in `tail` (memory) until they are more than [`WINDOW`] behind the end.
pub(crate) struct FinalSink {
    w: Option<HeadWriter<std::io::BufWriter<File>>>,
    /// Bytes given to `w`.
    committed: u64,
    tail: Vec<u8>,
    pos: u64,
}

impl FinalSink {
    pub fn new(file: File, key: &FileKey) -> Result<FinalSink> {
        let w = HeadWriter::new(std::io::BufWriter::new(file), key).map_err(|e| MediaError::Invalid(e.to_string()))?;
        Ok(FinalSink { w: Some(w), committed: 0, tail: Vec::new(), pos: 0 })
    }

    fn writer(&mut self) -> std::io::Result<&mut HeadWriter<std::io::BufWriter<File>>> {
        self.w.as_mut().ok_or_else(|| std::io::Error::other("the file was already finished"))
    }

    fn commit(&mut self, keep: usize) -> std::io::Result<()> {
        if self.tail.len() <= keep {
            return Ok(());
        }
        let n = self.tail.len() - keep;
        let data: Vec<u8> = self.tail.drain(..n).collect();
        self.writer()?.append(&data).map_err(std::io::Error::other)?;
        self.committed += n as u64;
        Ok(())
    }

    /// Writes what is left and seals the file; returns it synced.
    pub fn finish(&mut self) -> std::io::Result<u64> {
        self.commit(0)?;
        let w = self.w.take().ok_or_else(|| std::io::Error::other("finished twice"))?;
        let len = w.len();
        let f = w.finish().map_err(std::io::Error::other)?.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(len)
    }
}

impl Write for FinalSink {
    fn write(&mut self, mut buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.len();
        if self.pos < self.committed {
            // Only the first chunk can still change once committed.
            let k = ((self.committed - self.pos) as usize).min(buf.len());
            if self.pos + k as u64 > CHUNK as u64 {
                return Err(std::io::Error::other("the muxer went back further than the finaliser keeps in memory"));
            }
            let at = self.pos;
            self.writer()?.patch(at, &buf[..k]).map_err(std::io::Error::other)?;
            self.pos += k as u64;
            buf = &buf[k..];
        }
        if !buf.is_empty() {
            let at = (self.pos - self.committed) as usize;
            if at > self.tail.len() {
                self.tail.resize(at, 0);
            }
            let overlap = (self.tail.len() - at).min(buf.len());
            self.tail[at..at + overlap].copy_from_slice(&buf[..overlap]);
            self.tail.extend_from_slice(&buf[overlap..]);
            self.pos += buf.len() as u64;
        }
        if self.tail.len() > 2 * WINDOW {
            self.commit(WINDOW)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seek for FinalSink {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let end = self.committed + self.tail.len() as u64;
        let p = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => end.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = p.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

/// A sealed vault file read as plain bytes (for FFmpeg's custom I/O), with
/// the last decrypted chunk cached.
pub struct PlainReader {
    r: Reader<File>,
    pos: u64,
    cache: Option<(u64, Vec<u8>)>,
}

impl PlainReader {
    pub fn open(path: &Path, key: &FileKey) -> Result<PlainReader> {
        let r = onair_vault::open(path, key).map_err(|e| verr(path, e))?;
        Ok(PlainReader { r, pos: 0, cache: None })
    }

    pub fn len(&self) -> u64 {
        self.r.len()
    }

    pub fn is_empty(&self) -> bool {
        self.r.is_empty()
    }

    /// Plain bytes `start..end` (decrypting only the chunks they cover).
    pub fn range(&mut self, start: u64, end: u64, mut sink: impl FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()> {
        self.r.read_range(start, end, |b| sink(b).map_err(VaultError::Io)).map_err(std::io::Error::other)
    }
}

impl Read for PlainReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.r.len() || buf.is_empty() {
            return Ok(0);
        }
        let i = self.pos / CHUNK as u64;
        if self.cache.as_ref().map(|c| c.0) != Some(i) {
            let c = self.r.chunk(i).map_err(std::io::Error::other)?;
            self.cache = Some((i, c));
        }
        let c = &self.cache.as_ref().expect("filled above").1;
        let from = (self.pos - i * CHUNK as u64) as usize;
        let n = (c.len() - from).min(buf.len());
        buf[..n].copy_from_slice(&c[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for PlainReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let p = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.r.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = p.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

/// Opens a media file for FFmpeg: plain, or a sealed vault file decrypted
/// as FFmpeg reads it.
pub fn open_input(path: &Path, key: Option<&FileKey>) -> Result<Input> {
    let Some(key) = key else { return crate::source::file::open_input(path) };
    crate::init();
    let reader = PlainReader::open(path, key)?;
    let io = StreamIo::from_read_seek_with_capacity(reader, CHUNK)
        .map_err(|e| MediaError::OpenInput { path: path.display().to_string(), reason: e.to_string() })?;
    ffmpeg_next::format::input_from_stream(io, None, None)
        .map_err(|e| MediaError::OpenInput { path: path.display().to_string(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_junk() {
        let k = [7u8; 32];
        assert_eq!(from_hex(&to_hex(&k)), Some(k));
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex(&"é".repeat(32)), None);
    }

    #[test]
    fn final_sink_patches_the_head_and_the_tail_without_plaintext_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let key = FileKey::random();
        let p = dir.path().join("f");
        let mut s = FinalSink::new(private_file(&p).unwrap(), &key).unwrap();
        let data: Vec<u8> = (0..3 * CHUNK + 99).map(|i| (i % 253) as u8).collect();
        s.write_all(&data).unwrap();
        s.seek(SeekFrom::Start(8)).unwrap();
        s.write_all(b"HEAD").unwrap();
        s.seek(SeekFrom::End(-4)).unwrap();
        s.write_all(b"TAIL").unwrap();
        s.seek(SeekFrom::End(0)).unwrap();
        s.write_all(b"more").unwrap();
        s.finish().unwrap();
        let mut want = data.clone();
        want[8..12].copy_from_slice(b"HEAD");
        let n = want.len();
        want[n - 4..].copy_from_slice(b"TAIL");
        want.extend_from_slice(b"more");
        let mut r = PlainReader::open(&p, &key).unwrap();
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        assert_eq!(got, want);
        let raw = std::fs::read(&p).unwrap();
        assert!(!raw.windows(4).any(|w| w == b"HEAD" || w == b"TAIL"));
    }
}
