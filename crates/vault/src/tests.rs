use super::*;

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

fn sealed(key: &FileKey, plain: &[u8], pieces: usize) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), key).unwrap();
    for p in plain.chunks(pieces.max(1)) {
        w.append(p).unwrap();
    }
    assert_eq!(w.len(), plain.len() as u64);
    w.finish().unwrap()
}

fn read_all(key: &FileKey, file: &[u8]) -> Result<Vec<u8>> {
    let mut r = Reader::new(std::io::Cursor::new(file), key)?;
    let mut out = Vec::new();
    let n = r.len();
    r.read_range(0, n, |b| Ok(out.extend_from_slice(b)))?;
    Ok(out)
}

#[test]
fn round_trips_at_every_size_near_chunk_edges() {
    let key = FileKey::random();
    for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 7] {
        let plain = data(n);
        let file = sealed(&key, &plain, 1000);
        assert_eq!(read_all(&key, &file).unwrap(), plain, "size {n}");
    }
}

#[test]
fn ranges_decrypt_only_what_they_cover() {
    let key = FileKey::random();
    let plain = data(5 * CHUNK + 123);
    let file = sealed(&key, &plain, 7777);
    let mut r = Reader::new(std::io::Cursor::new(&file), &key).unwrap();
    for (s, e) in [(0, 1), (CHUNK - 3, CHUNK + 3), (2 * CHUNK + 5, 4 * CHUNK + 9), (plain.len() - 1, plain.len()), (10, 10)] {
        let mut out = Vec::new();
        r.read_range(s as u64, e as u64, |b| Ok(out.extend_from_slice(b))).unwrap();
        assert_eq!(out, &plain[s..e]);
    }
    assert!(matches!(r.read_range(0, plain.len() as u64 + 1, |_| Ok(())), Err(VaultError::BadRange(..))));
}

#[test]
fn no_plaintext_structure_shows() {
    let key = FileKey::random();
    let mut plain = b"\0\0\0\x20ftypisom".to_vec();
    plain.extend(std::iter::repeat_n(0u8, 3 * CHUNK));
    let file = sealed(&key, &plain, CHUNK);
    assert!(!file.windows(4).any(|w| w == b"ftyp"));
    let zeros = file[HEADER..].iter().filter(|&&b| b == 0).count();
    assert!(zeros < file.len() / 100, "ciphertext of zeros looks random: {zeros} zero bytes");
}

#[test]
fn tampering_reordering_and_cutting_are_detected() {
    let key = FileKey::random();
    let plain = data(3 * CHUNK + 10);
    let file = sealed(&key, &plain, CHUNK);
    // A flipped bit.
    let mut t = file.clone();
    t[HEADER + CHUNK + 40] ^= 1;
    assert!(matches!(read_all(&key, &t), Err(VaultError::Tampered(1))));
    // Two middle chunks swapped.
    let s = SEALED as usize;
    let mut t = file.clone();
    let (a, b) = (HEADER, HEADER + s);
    let first = t[a..a + s].to_vec();
    t.copy_within(b..b + s, a);
    t[b..b + s].copy_from_slice(&first);
    assert!(matches!(read_all(&key, &t), Err(VaultError::Tampered(0))));
    // Cut at a chunk boundary: the new end is not a last chunk.
    assert!(matches!(read_all(&key, &file[..HEADER + 2 * s]), Err(VaultError::Unsealed)));
    // Cut inside a chunk.
    assert!(matches!(read_all(&key, &file[..file.len() - 3]), Err(VaultError::Unsealed)));
    // The wrong key.
    assert!(read_all(&FileKey::random(), &file).is_err());
    // Not our format.
    assert!(matches!(read_all(&key, b"\0\0\0\x20ftypisom and more bytes than a header"), Err(VaultError::NotVault)));
}

#[test]
fn a_crashed_writer_is_recovered_to_its_last_complete_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.vault");
    let key = FileKey::random();
    let plain = data(2 * CHUNK + 500);
    let mut w = Writer::new(File::create(&path).unwrap(), &key).unwrap();
    w.append(&plain).unwrap();
    // The process dies: the pending 500 bytes never reach the disk, and
    // half of a third chunk's bytes did (a torn write).
    let mut f = w.get_mut().try_clone().unwrap();
    drop(w);
    f.write_all(&[7u8; 1000]).unwrap();
    assert!(matches!(open(&path, &key), Err(VaultError::Unsealed)));
    assert_eq!(seal_recovered(&path, &key).unwrap(), 2 * CHUNK as u64);
    let mut r = open(&path, &key).unwrap();
    let mut out = Vec::new();
    r.read_range(0, r.len(), |b| Ok(out.extend_from_slice(b))).unwrap();
    assert_eq!(out, &plain[..2 * CHUNK]);
    // Recovering again changes nothing.
    assert_eq!(seal_recovered(&path, &key).unwrap(), 2 * CHUNK as u64);
}

#[test]
fn wrapped_keys_unwrap_only_with_their_master_and_label() {
    let (master, key) = (FileKey::random(), FileKey::random());
    let w = key.wrap(&master, "r1");
    assert_eq!(FileKey::unwrap(&master, "r1", &w).unwrap(), key);
    assert!(FileKey::unwrap(&master, "r2", &w).is_err());
    assert!(FileKey::unwrap(&FileKey::random(), "r1", &w).is_err());
    assert!(FileKey::unwrap(&master, "r1", &w[1..]).is_err());
    assert_eq!(format!("{key:?}"), "FileKey(..)");
}

#[test]
fn the_master_key_file_is_made_private_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("master.key");
    let k = load_or_create_master(&p).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(load_or_create_master(&p).unwrap(), k);
    std::fs::write(&p, b"short").unwrap();
    assert!(load_or_create_master(&p).is_err());
}

#[test]
fn head_writer_patches_its_first_chunk_at_any_size() {
    let key = FileKey::random();
    for n in [10, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7] {
        let mut plain = data(n);
        let mut w = HeadWriter::new(std::io::Cursor::new(Vec::new()), &key).unwrap();
        for p in plain.chunks(5000) {
            w.append(p).unwrap();
        }
        w.patch(4, b"mdat").unwrap();
        plain[4..8].copy_from_slice(b"mdat");
        assert!(w.patch(CHUNK as u64 - 2, b"xyz").is_err(), "past the first chunk");
        let file = w.finish().unwrap().into_inner();
        assert_eq!(read_all(&key, &file).unwrap(), plain, "size {n}");
    }
}
