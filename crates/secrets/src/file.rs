//! The fallback: `secrets.json` (name → secret), mode 0600, replaced
//! atomically so a crash leaves the old file or the new one.

use crate::SecretsError;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn path(home: &Path) -> PathBuf {
    home.join("secrets.json")
}

fn read(home: &Path) -> Result<BTreeMap<String, String>, SecretsError> {
    let p = path(home);
    match std::fs::read(&p) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| SecretsError::Corrupt { path: p.display().to_string(), reason: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(source) => Err(SecretsError::File { path: p.display().to_string(), source }),
    }
}

fn write(home: &Path, map: &BTreeMap<String, String>) -> Result<(), SecretsError> {
    let p = path(home);
    let json = serde_json::to_vec_pretty(map).expect("a string map always serialises");
    write_private(&p, &json).map_err(|source| SecretsError::File { path: p.display().to_string(), source })
}

/// Writes `bytes` to `path` readable by the user only (0600 on Unix),
/// through a synced temporary file and a rename, so a crash leaves the old
/// file or the new one. Creates the parent folder.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let mut f = o.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

pub fn get(home: &Path, name: &str) -> Result<Option<String>, SecretsError> {
    Ok(read(home)?.remove(name))
}

pub fn set(home: &Path, name: &str, secret: &str) -> Result<(), SecretsError> {
    let mut map = read(home)?;
    map.insert(name.to_string(), secret.to_string());
    write(home, &map)
}

pub fn remove(home: &Path, name: &str) -> Result<(), SecretsError> {
    if !path(home).exists() {
        return Ok(());
    }
    let mut map = read(home)?;
    if map.remove(name).is_some() {
        write(home, &map)?;
    }
    Ok(())
}
