//! Files encrypted at rest: AES-256-GCM over 64 KiB plaintext chunks, so a
//! recording can be appended as its fragments arrive, recovered after a
//! crash up to its last complete chunk, and read at any offset by
//! decrypting only the chunks an HTTP Range needs.
//!
//! ```text
//!  header (24 B): "ONAIRVLT" | version u8 | 7-byte random nonce prefix | chunk size u32 LE | 4 reserved
//!  chunk i:      AES-256-GCM(key, nonce = prefix | i u32 BE | last u8, aad = header) → ciphertext | 16-byte tag
//! ```
//!
//! The chunk index and the last-chunk flag are in the nonce (the STREAM
//! construction), so a reordered chunk, a dropped chunk and a file cut at a
//! chunk boundary all fail to authenticate. Every chunk but the last holds
//! exactly [`CHUNK`] bytes of plaintext, so chunk `i` starts at a known
//! offset. A file whose writer died has no last chunk: [`seal_recovered`]
//! cuts a torn chunk off and appends an empty last chunk.
//!
//! Each file has its own random [`FileKey`]; it is stored wrapped
//! ([`FileKey::wrap`]) by a master key the relay keeps in a file.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Plaintext bytes in every chunk but the last.
pub const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const MAGIC: &[u8; 8] = b"ONAIRVLT";
const VERSION: u8 = 1;
/// Bytes before the first chunk.
pub const HEADER: usize = 24;
const SEALED: u64 = (CHUNK + TAG) as u64;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("not an OnAir encrypted file (bad header)")]
    NotVault,
    #[error("chunk {0} failed to authenticate: the file was altered, reordered or cut, or the key is wrong")]
    Tampered(u64),
    #[error("the file ends without its last chunk: it was cut short or its writer stopped; recover it first")]
    Unsealed,
    #[error("a wrapped key failed to unwrap: wrong master key or altered record")]
    BadWrappedKey,
    #[error("range {0}..{1} is outside the {2} bytes of plaintext")]
    BadRange(u64, u64, u64),
}

pub type Result<T> = std::result::Result<T, VaultError>;

/// A 256-bit key. Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct FileKey([u8; 32]);

impl std::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileKey(..)")
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the OS random source is available");
    b
}

impl FileKey {
    pub fn random() -> FileKey {
        FileKey(random())
    }

    pub fn from_bytes(b: [u8; 32]) -> FileKey {
        FileKey(b)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new_from_slice(&self.0).expect("a 32-byte key is a valid AES-256 key")
    }

    /// This key encrypted by `master`, bound to `label` (the recording's
    /// id) so a wrapped key moved to another row does not unwrap.
    pub fn wrap(&self, master: &FileKey, label: &str) -> Vec<u8> {
        let nonce: [u8; 12] = random();
        let ct = master
            .cipher()
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: &self.0, aad: label.as_bytes() })
            .expect("AES-GCM encrypts 32 bytes");
        [&nonce[..], &ct].concat()
    }

    pub fn unwrap(master: &FileKey, label: &str, wrapped: &[u8]) -> Result<FileKey> {
        if wrapped.len() != 12 + 32 + TAG {
            return Err(VaultError::BadWrappedKey);
        }
        let pt = master
            .cipher()
            .decrypt(
                Nonce::from_slice(&wrapped[..12]),
                Payload {
                    msg: &wrapped[12..],
                    aad: label.as_bytes(),
                },
            )
            .map_err(|_| VaultError::BadWrappedKey)?;
        Ok(FileKey(pt.try_into().map_err(|_| VaultError::BadWrappedKey)?))
    }
}

/// Reads a master key from `path`, or creates one there (mode 0600) if the
/// file does not exist. The file holds the 32 raw bytes.
pub fn load_or_create_master(path: &Path) -> Result<FileKey> {
    match std::fs::read(path) {
        Ok(b) => {
            let b: [u8; 32] = b.try_into().map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} must hold exactly 32 bytes (a key this relay made); move it away to make a new one", path.display()),
                )
            })?;
            Ok(FileKey(b))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = FileKey::random();
            let mut o = OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            let mut f = o.open(path)?;
            f.write_all(&key.0)?;
            f.sync_all()?;
            Ok(key)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Clone, Copy)]
struct Header {
    bytes: [u8; HEADER],
}

impl Header {
    fn new() -> Header {
        let mut bytes = [0u8; HEADER];
        bytes[..8].copy_from_slice(MAGIC);
        bytes[8] = VERSION;
        bytes[9..16].copy_from_slice(&random::<7>());
        bytes[16..20].copy_from_slice(&(CHUNK as u32).to_le_bytes());
        Header { bytes }
    }

    fn parse(bytes: [u8; HEADER]) -> Result<Header> {
        let ok = &bytes[..8] == MAGIC && bytes[8] == VERSION && bytes[16..20] == (CHUNK as u32).to_le_bytes();
        if ok {
            Ok(Header { bytes })
        } else {
            Err(VaultError::NotVault)
        }
    }

    fn nonce(&self, index: u64, last: bool) -> [u8; 12] {
        let mut n = [0u8; 12];
        n[..7].copy_from_slice(&self.bytes[9..16]);
        // More than 2^32 chunks (256 TiB) is refused by the writer.
        n[7..11].copy_from_slice(&(index as u32).to_be_bytes());
        n[11] = last as u8;
        n
    }
}

/// Appends plaintext, writing each full chunk as soon as it fills.
pub struct Writer<W: Write> {
    out: W,
    cipher: Aes256Gcm,
    header: Header,
    pending: Vec<u8>,
    index: u64,
}

impl<W: Write> Writer<W> {
    /// Writes the header of a new file to `out`.
    pub fn new(mut out: W, key: &FileKey) -> Result<Writer<W>> {
        let header = Header::new();
        out.write_all(&header.bytes)?;
        Ok(Writer {
            out,
            cipher: key.cipher(),
            header,
            pending: Vec::with_capacity(CHUNK),
            index: 0,
        })
    }

    fn seal(&mut self, last: bool) -> Result<()> {
        if self.index >= u32::MAX as u64 {
            return Err(std::io::Error::other("file too large for its chunk counter").into());
        }
        let nonce = self.header.nonce(self.index, last);
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &self.pending,
                    aad: &self.header.bytes,
                },
            )
            .expect("AES-GCM encrypts a chunk");
        self.out.write_all(&ct)?;
        self.pending.clear();
        self.index += 1;
        Ok(())
    }

    /// Adds bytes; full chunks reach `out` now, the rest waits in memory
    /// (less than one chunk: what a crash may lose).
    pub fn append(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let take = (CHUNK - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() == CHUNK {
                self.seal(false)?;
            }
        }
        Ok(())
    }

    /// Plaintext bytes appended so far.
    pub fn len(&self) -> u64 {
        self.index * CHUNK as u64 + self.pending.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Writes the last chunk (what is pending, maybe nothing) and flushes.
    pub fn finish(mut self) -> Result<W> {
        self.seal(true)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A [`Writer`] whose first chunk stays in memory until [`HeadWriter::finish`],
/// so bytes in it can still change ([`HeadWriter::patch`]): an MP4 muxer goes
/// back to write its `mdat` size last. Later chunks reach `out` as they fill;
/// chunk 0's place holds zeros until the end (a crash leaves an unreadable
/// file, never plaintext). For finishing files, not for crash-safe recording.
pub struct HeadWriter<W: Write + Seek> {
    w: Writer<W>,
    /// Chunk 0's plaintext once it filled (its place in `out` is zeros).
    head: Option<Vec<u8>>,
}

impl<W: Write + Seek> HeadWriter<W> {
    pub fn new(out: W, key: &FileKey) -> Result<HeadWriter<W>> {
        Ok(HeadWriter { w: Writer::new(out, key)?, head: None })
    }

    pub fn append(&mut self, mut data: &[u8]) -> Result<()> {
        if self.head.is_none() {
            let take = (CHUNK - self.w.pending.len()).min(data.len());
            self.w.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.w.pending.len() < CHUNK {
                return Ok(());
            }
            self.head = Some(std::mem::replace(&mut self.w.pending, Vec::with_capacity(CHUNK)));
            self.w.out.write_all(&[0u8; SEALED as usize])?;
            self.w.index = 1;
        }
        self.w.append(data)
    }

    /// Overwrites plaintext bytes `at..at + bytes.len()`, which must lie in
    /// the first chunk and have been appended already.
    pub fn patch(&mut self, at: u64, bytes: &[u8]) -> Result<()> {
        let end = at + bytes.len() as u64;
        let buf = match self.head.as_mut() {
            Some(h) => h,
            None => &mut self.w.pending,
        };
        if end > buf.len() as u64 || end > CHUNK as u64 {
            return Err(VaultError::BadRange(at, end, buf.len() as u64));
        }
        buf[at as usize..end as usize].copy_from_slice(bytes);
        Ok(())
    }

    /// Plaintext bytes appended so far.
    pub fn len(&self) -> u64 {
        self.w.len()
    }

    pub fn is_empty(&self) -> bool {
        self.w.is_empty()
    }

    /// Writes the last chunk, then chunk 0 in its place, and flushes.
    pub fn finish(mut self) -> Result<W> {
        let Some(head) = self.head.take() else { return self.w.finish() };
        self.w.seal(true)?;
        let ct = self
            .w
            .cipher
            .encrypt(Nonce::from_slice(&self.w.header.nonce(0, false)), Payload { msg: &head, aad: &self.w.header.bytes })
            .expect("AES-GCM encrypts a chunk");
        self.w.out.seek(SeekFrom::Start(HEADER as u64))?;
        self.w.out.write_all(&ct)?;
        self.w.out.seek(SeekFrom::End(0))?;
        self.w.out.flush()?;
        Ok(self.w.out)
    }
}

/// Makes a file whose writer died readable: drops a torn chunk at its end
/// and appends an empty last chunk. Returns the plaintext bytes kept.
/// A file that is already sealed is left as it is.
pub fn seal_recovered(path: &Path, key: &FileKey) -> Result<u64> {
    let mut f = OpenOptions::new().read(true).write(true).open(path)?;
    if let Ok(r) = Reader::new(&mut f, key) {
        return Ok(r.len());
    }
    let mut hb = [0u8; HEADER];
    f.seek(SeekFrom::Start(0))?;
    f.read_exact(&mut hb).map_err(|_| VaultError::NotVault)?;
    let header = Header::parse(hb)?;
    let size = f.metadata()?.len();
    let whole = (size - HEADER as u64) / SEALED;
    let cipher = key.cipher();
    // Every whole chunk must be a middle chunk of this file.
    let mut buf = vec![0u8; SEALED as usize];
    f.seek(SeekFrom::Start(HEADER as u64))?;
    for i in 0..whole {
        f.read_exact(&mut buf)?;
        cipher
            .decrypt(Nonce::from_slice(&header.nonce(i, false)), Payload { msg: &buf, aad: &header.bytes })
            .map_err(|_| VaultError::Tampered(i))?;
    }
    f.set_len(HEADER as u64 + whole * SEALED)?;
    let ct = cipher
        .encrypt(Nonce::from_slice(&header.nonce(whole, true)), Payload { msg: &[], aad: &header.bytes })
        .expect("AES-GCM encrypts an empty chunk");
    f.seek(SeekFrom::End(0))?;
    f.write_all(&ct)?;
    f.sync_all()?;
    Ok(whole * CHUNK as u64)
}

/// Random access to a sealed file's plaintext.
pub struct Reader<R: Read + Seek> {
    inner: R,
    cipher: Aes256Gcm,
    header: Header,
    chunks: u64,
    len: u64,
}

impl<R: Read + Seek> Reader<R> {
    /// Checks the header and that the file ends with its last chunk.
    pub fn new(mut inner: R, key: &FileKey) -> Result<Reader<R>> {
        let size = inner.seek(SeekFrom::End(0))?;
        let mut hb = [0u8; HEADER];
        inner.seek(SeekFrom::Start(0))?;
        inner.read_exact(&mut hb).map_err(|_| VaultError::NotVault)?;
        let header = Header::parse(hb)?;
        let body = size - HEADER as u64;
        if body < TAG as u64 {
            return Err(VaultError::Unsealed);
        }
        let chunks = body.div_ceil(SEALED);
        let last_sealed = body - (chunks - 1) * SEALED;
        if last_sealed < TAG as u64 {
            return Err(VaultError::Unsealed);
        }
        let len = body - chunks * TAG as u64;
        let mut r = Reader {
            inner,
            cipher: key.cipher(),
            header,
            chunks,
            len,
        };
        // The last chunk's flag proves nothing was cut off after it.
        r.chunk(chunks - 1).map_err(|e| match e {
            VaultError::Tampered(_) => VaultError::Unsealed,
            e => e,
        })?;
        Ok(r)
    }

    /// Plaintext length.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The plaintext of chunk `i`.
    pub fn chunk(&mut self, i: u64) -> Result<Vec<u8>> {
        let last = i + 1 == self.chunks;
        let size = if last { (self.len - i * CHUNK as u64) as usize + TAG } else { SEALED as usize };
        let mut buf = vec![0u8; size];
        self.inner.seek(SeekFrom::Start(HEADER as u64 + i * SEALED))?;
        self.inner.read_exact(&mut buf)?;
        self.cipher
            .decrypt(Nonce::from_slice(&self.header.nonce(i, last)), Payload { msg: &buf, aad: &self.header.bytes })
            .map_err(|_| VaultError::Tampered(i))
    }

    /// Plaintext bytes `start..end`, decrypting only the chunks they cover;
    /// `sink` gets them in order, a chunk's worth at a time.
    pub fn read_range(&mut self, start: u64, end: u64, mut sink: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        if start > end || end > self.len {
            return Err(VaultError::BadRange(start, end, self.len));
        }
        let mut at = start;
        while at < end {
            let i = at / CHUNK as u64;
            let c = self.chunk(i)?;
            let from = (at - i * CHUNK as u64) as usize;
            let to = ((end - i * CHUNK as u64) as usize).min(c.len());
            sink(&c[from..to])?;
            at += (to - from) as u64;
        }
        Ok(())
    }
}

/// Opens a sealed file for reading.
pub fn open(path: &Path, key: &FileKey) -> Result<Reader<File>> {
    Reader::new(File::open(path)?, key)
}

#[cfg(test)]
mod tests;
