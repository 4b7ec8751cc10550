//! The relay's own TLS: one certificate and key (PEM) for HTTPS, WSS and
//! RTMPS, picked up again when the files change, so a certbot renewal needs
//! no restart. A renewal that cannot be read (half-written, wrong key) keeps
//! the certificate already served and says why in the log.

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// How often the certificate files are checked for a change.
pub const RELOAD_CHECK: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS certificate {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("TLS certificate {path}: {why}")]
    Pem { path: PathBuf, why: String },
    #[error("TLS key {path} does not fit the certificate {cert}, or is not a usable key: {why}")]
    Key { path: PathBuf, cert: PathBuf, why: String },
}

/// Where the certificate chain and its key live.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Accepts TLS connections with the current certificate.
pub type Acceptor = tokio_rustls::TlsAcceptor;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads and checks the pair: the chain parses, the key parses and matches.
pub fn load(files: &TlsFiles) -> Result<Arc<CertifiedKey>, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| pem_error(&files.cert, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| pem_error(&files.cert, e))?;
    if chain.is_empty() {
        return Err(TlsError::Pem { path: files.cert.clone(), why: "no CERTIFICATE block".into() });
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| match pem_error(&files.key, e) {
        TlsError::Pem { path, why } => TlsError::Key { path, cert: files.cert.clone(), why },
        other => other,
    })?;
    let ck = CertifiedKey::from_der(chain, key, &provider()).map_err(|e| TlsError::Key { path: files.key.clone(), cert: files.cert.clone(), why: e.to_string() })?;
    Ok(Arc::new(ck))
}

fn pem_error(path: &Path, e: rustls::pki_types::pem::Error) -> TlsError {
    use rustls::pki_types::pem::Error as P;
    let why = match e {
        P::Io(source) => return TlsError::Read { path: path.into(), source },
        P::MissingSectionEnd { end_marker } => format!("a PEM block has no `{}` line (is the file complete?)", String::from_utf8_lossy(&end_marker)),
        P::IllegalSectionStart { .. } => "a `-----BEGIN` line is malformed".into(),
        P::Base64Decode(e) => format!("a PEM block is not valid base64 ({e})"),
        P::NoItemsFound => "no PEM block of the right kind (a CERTIFICATE, or a PRIVATE KEY)".into(),
        other => other.to_string(),
    };
    TlsError::Pem { path: path.into(), why }
}

/// Serves the newest good certificate.
#[derive(Debug)]
pub struct Reloading {
    files: TlsFiles,
    current: RwLock<(Arc<CertifiedKey>, Stamp)>,
}

type Stamp = Option<(SystemTime, u64, SystemTime, u64)>;

fn stamp(files: &TlsFiles) -> Stamp {
    let c = std::fs::metadata(&files.cert).ok()?;
    let k = std::fs::metadata(&files.key).ok()?;
    Some((c.modified().ok()?, c.len(), k.modified().ok()?, k.len()))
}

impl Reloading {
    pub fn new(files: TlsFiles) -> Result<Arc<Self>, TlsError> {
        let st = stamp(&files);
        let ck = load(&files)?;
        Ok(Arc::new(Reloading { files, current: RwLock::new((ck, st)) }))
    }

    /// Loads the files again if they changed since the last look; true
    /// when a new certificate is now served.
    pub fn check(&self) -> bool {
        let st = stamp(&self.files);
        if st.is_none() || self.current.read().unwrap_or_else(|p| p.into_inner()).1 == st {
            return false;
        }
        match load(&self.files) {
            Ok(ck) => {
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = (ck, st);
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(e) => {
                // Half-written by a renewal, most likely: look again next time.
                tracing::warn!(error = %e, "TLS certificate changed but cannot be used yet; still serving the previous one");
                false
            }
        }
    }

    /// A server config whose certificate follows the files.
    pub fn acceptor(self: &Arc<Self>, alpn: &[&[u8]]) -> Acceptor {
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
    }

    /// Checks the files every [`RELOAD_CHECK`] until `stop` flips.
    pub async fn watch(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(RELOAD_CHECK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let me = self.clone();
                    let _ = tokio::task::spawn_blocking(move || me.check()).await;
                }
                _ = stop.changed() => return,
            }
        }
    }
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(|p| p.into_inner()).0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_garbage_files_say_which_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles { cert: dir.path().join("c.pem"), key: dir.path().join("k.pem") };
        let e = load(&files).unwrap_err().to_string();
        assert!(e.contains("c.pem"), "{e}");
        std::fs::write(&files.cert, "not a pem").unwrap();
        let e = load(&files).unwrap_err().to_string();
        assert!(e.contains("c.pem") && e.contains("no CERTIFICATE"), "{e}");
    }
}

