//! Where OnAir keeps secrets: relay bearer tokens and stream keys.
//!
//! A secret goes to the OS keychain where one answers (Keychain on macOS,
//! Credential Manager on Windows, the Secret Service — GNOME Keyring,
//! KWallet — on Linux). Where none does (a headless server, a CI box), it
//! goes to `secrets.json` under the data folder, created with mode 0600 so
//! only the user can read it, and [`Stored::File`] tells the caller so it
//! can say where the secret went.
//!
//! `ONAIR_KEYCHAIN` picks the policy: `auto` (default: keychain, else the
//! file), `off` (the file only) or `require` (the keychain or an error).
//!
//! Entries are named per data folder, so two `ONAIR_HOME`s on one machine
//! (two test users, two app profiles) never read each other's secrets.
//!
//! ```no_run
//! let home = std::path::Path::new("/home/me/.local/share/onair");
//! let secrets = onair_secrets::Secrets::new(home);
//! let stored = secrets.set("relay-token", "s3cret")?;
//! assert_eq!(secrets.get("relay-token")?.as_deref(), Some("s3cret"));
//! println!("token kept in {stored}");
//! # Ok::<(), onair_secrets::SecretsError>(())
//! ```

mod file;

pub use file::write_private;

use std::fmt;
use std::path::{Path, PathBuf};

/// The keychain service name every OnAir entry is filed under.
pub const SERVICE: &str = "onair";

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("secrets file {path}: {source}")]
    File { path: String, source: std::io::Error },
    #[error("secrets file {path} is damaged ({reason}); delete it and sign in again")]
    Corrupt { path: String, reason: String },
    #[error("the OS keychain is required (ONAIR_KEYCHAIN=require) but none answers: {0}")]
    NoKeychain(String),
    #[error("the OS keychain refused {name:?}: {reason}")]
    Keychain { name: String, reason: String },
    #[error("ONAIR_KEYCHAIN={0:?} is not one of auto, off, require")]
    BadPolicy(String),
}

/// Where [`Secrets::set`] put a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Keychain,
    File,
}

impl fmt::Display for Stored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stored::Keychain => "the OS keychain",
            Stored::File => "a file only you can read",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Auto,
    Off,
    Require,
}

impl Policy {
    pub fn from_env() -> Result<Policy, SecretsError> {
        match std::env::var("ONAIR_KEYCHAIN").as_deref().unwrap_or("auto") {
            "" | "auto" => Ok(Policy::Auto),
            "off" => Ok(Policy::Off),
            "require" => Ok(Policy::Require),
            other => Err(SecretsError::BadPolicy(other.to_string())),
        }
    }
}

/// The secrets of one data folder.
pub struct Secrets {
    home: PathBuf,
    policy: Policy,
}

impl Secrets {
    /// Secrets under `home` with the policy from `ONAIR_KEYCHAIN` (an
    /// unreadable value falls back to `auto` with a warning).
    pub fn new(home: &Path) -> Secrets {
        let policy = Policy::from_env().unwrap_or_else(|e| {
            tracing::warn!("{e}; using auto");
            Policy::Auto
        });
        Secrets::with_policy(home, policy)
    }

    pub fn with_policy(home: &Path, policy: Policy) -> Secrets {
        Secrets { home: home.to_path_buf(), policy }
    }

    pub fn file_path(&self) -> PathBuf {
        file::path(&self.home)
    }

    /// Stores `secret` under `name`, replacing what was there, and removes
    /// any copy of it from the other place.
    pub fn set(&self, name: &str, secret: &str) -> Result<Stored, SecretsError> {
        if self.policy != Policy::Off {
            match self.keychain_entry(name) {
                Ok(entry) => match entry.set_password(secret) {
                    Ok(()) => {
                        file::remove(&self.home, name)?;
                        return Ok(Stored::Keychain);
                    }
                    Err(e) => self.no_keychain(name, &e)?,
                },
                Err(e) => self.no_keychain(name, &e)?,
            }
        }
        file::set(&self.home, name, secret)?;
        Ok(Stored::File)
    }

    /// The secret stored under `name`, from the keychain or the file.
    pub fn get(&self, name: &str) -> Result<Option<String>, SecretsError> {
        if self.policy != Policy::Off {
            if let Ok(entry) = self.keychain_entry(name) {
                match entry.get_password() {
                    Ok(s) => return Ok(Some(s)),
                    Err(keyring::Error::NoEntry) => {}
                    Err(e) => self.no_keychain(name, &e)?,
                }
            } else if self.policy == Policy::Require {
                return Err(SecretsError::NoKeychain(keychain_status()));
            }
        }
        file::get(&self.home, name)
    }

    /// Forgets `name` in both places; a secret that was not there is fine.
    pub fn delete(&self, name: &str) -> Result<(), SecretsError> {
        if self.policy != Policy::Off {
            if let Ok(entry) = self.keychain_entry(name) {
                match entry.delete_credential() {
                    Ok(()) | Err(keyring::Error::NoEntry) => {}
                    Err(e) => tracing::debug!("keychain delete of {name:?}: {e}"),
                }
            }
        }
        file::remove(&self.home, name)
    }

    fn keychain_entry(&self, name: &str) -> Result<keyring::Entry, keyring::Error> {
        keyring::Entry::new(SERVICE, &self.account(name))
    }

    /// `NAME@HOME`: the data folder keeps profiles apart in one keychain.
    fn account(&self, name: &str) -> String {
        let home = std::fs::canonicalize(&self.home).unwrap_or_else(|_| self.home.clone());
        format!("{name}@{}", home.display())
    }

    /// Under `require` a keychain failure is the caller's error; under
    /// `auto` the file takes over.
    fn no_keychain(&self, name: &str, e: &keyring::Error) -> Result<(), SecretsError> {
        if self.policy == Policy::Require {
            return Err(match e {
                keyring::Error::NoDefaultStore => SecretsError::NoKeychain(keychain_status()),
                other => SecretsError::Keychain { name: name.to_string(), reason: other.to_string() },
            });
        }
        tracing::debug!("no OS keychain for {name:?} ({e}); using the 0600 file");
        Ok(())
    }
}

/// Why the platform keychain is or isn't available, for error messages.
pub fn keychain_status() -> String {
    match keyring::Entry::store_status() {
        Ok(()) => "available".to_string(),
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_policy_round_trips_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let s = Secrets::with_policy(dir.path(), Policy::Off);
        assert_eq!(s.get("a").unwrap(), None);
        assert_eq!(s.set("a", "one").unwrap(), Stored::File);
        s.set("b", "two").unwrap();
        s.set("a", "three").unwrap();
        assert_eq!(s.get("a").unwrap().as_deref(), Some("three"));
        assert_eq!(s.get("b").unwrap().as_deref(), Some("two"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(s.file_path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        s.delete("a").unwrap();
        s.delete("a").unwrap();
        assert_eq!(s.get("a").unwrap(), None);
        assert_eq!(s.get("b").unwrap().as_deref(), Some("two"));
    }

    #[test]
    fn damaged_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let s = Secrets::with_policy(dir.path(), Policy::Off);
        std::fs::write(s.file_path(), b"{not json").unwrap();
        let e = s.get("a").unwrap_err();
        assert!(matches!(e, SecretsError::Corrupt { .. }), "{e}");
    }

    #[test]
    fn profiles_are_kept_apart() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let sa = Secrets::with_policy(a.path(), Policy::Auto);
        let sb = Secrets::with_policy(b.path(), Policy::Auto);
        assert_ne!(sa.account("t"), sb.account("t"));
    }
}
