//! TLS for every client connection to a relay: rustls (ring) with the
//! operating system's trust store through the platform verifier, plus the
//! CA certificates in `ONAIR_CA_FILE` (a private CA, a test's own).
//!
//! One `ClientConfig` per process serves reqwest (HTTP) and
//! tokio-tungstenite (WebSocket) alike, so both check certificates the
//! same way and a failure reads the same whichever path met it.

use crate::error::NetError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::sync::{Arc, Mutex, OnceLock};

/// The environment variable naming a PEM file of extra CA certificates.
pub const CA_FILE_ENV: &str = "ONAIR_CA_FILE";

/// The client TLS configuration, built once per value of `ONAIR_CA_FILE`.
pub fn client_config() -> Result<Arc<rustls::ClientConfig>, NetError> {
    static CACHE: OnceLock<Mutex<Option<(Option<String>, Arc<rustls::ClientConfig>)>>> = OnceLock::new();
    let ca = std::env::var(CA_FILE_ENV).ok().filter(|s| !s.is_empty());
    let cache = CACHE.get_or_init(|| Mutex::new(None));
    let mut slot = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((k, cfg)) = slot.as_ref() {
        if *k == ca {
            return Ok(cfg.clone());
        }
    }
    let cfg = Arc::new(build(ca.as_deref())?);
    *slot = Some((ca, cfg.clone()));
    Ok(cfg)
}

fn build(ca_file: Option<&str>) -> Result<rustls::ClientConfig, NetError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let extra = match ca_file {
        Some(path) => read_ca_file(path)?,
        None => Vec::new(),
    };
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
        .map_err(|e| NetError::TlsSetup(format!("the system's certificate store: {e}")))?;
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::TlsSetup(e.to_string()))?
        .dangerous() // not dangerous: the platform verifier does full chain and name checks
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

fn read_ca_file(path: &str) -> Result<Vec<CertificateDer<'static>>, NetError> {
    let bad = |why: String| NetError::TlsSetup(format!("{CA_FILE_ENV}={path}: {why}"));
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in the file".into()));
    }
    Ok(certs)
}

/// The TLS failure inside `err`'s chain, as a sentence naming the problem
/// (expired, wrong name, unknown issuer), or None when TLS was not the cause.
pub fn tls_reason(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(describe(r));
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(r) = inner.downcast_ref::<rustls::Error>() {
                    return Some(describe(r));
                }
                if let Some(s) = tls_reason(inner) {
                    return Some(s);
                }
            }
        }
        cur = e.source();
    }
    None
}

fn describe(e: &rustls::Error) -> String {
    use rustls::{CertificateError as C, Error as E};
    match e {
        E::InvalidCertificate(c) => match c {
            C::Expired | C::ExpiredContext { .. } => "its certificate has expired".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => "its certificate is not valid yet (check this computer's clock)".into(),
            C::NotValidForName | C::NotValidForNameContext { .. } => "its certificate is for another host name".into(),
            C::UnknownIssuer => format!("its certificate was issued by an unknown authority (a private CA's certificate can be named in {CA_FILE_ENV})"),
            C::Revoked => "its certificate has been revoked".into(),
            C::BadSignature => "its certificate's signature is bad".into(),
            other => format!("its certificate was refused ({other:?})"),
        },
        E::AlertReceived(a) => format!("the server ended the TLS handshake ({a:?})"),
        E::InvalidMessage(_) | E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            "the server did not speak TLS (is it an http:// address?)".into()
        }
        other => format!("TLS failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_found_through_io_errors() {
        let e = std::io::Error::new(std::io::ErrorKind::InvalidData, rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer));
        assert!(tls_reason(&e).unwrap().contains("unknown authority"));
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(tls_reason(&plain).is_none());
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_a_clear_error() {
        let e = build(Some("/nonexistent/ca.pem")).unwrap_err().to_string();
        assert!(e.contains("ONAIR_CA_FILE=/nonexistent/ca.pem"), "{e}");
        let f = tempfile::NamedTempFile::new().unwrap();
        let e = build(Some(f.path().to_str().unwrap())).unwrap_err().to_string();
        assert!(e.contains("no PEM certificate"), "{e}");
    }
}
