//! A private CA made with `openssl` for the TLS tests, and the server
//! certificates it signs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A private CA and certificates it signs, in a folder of their own.
pub struct Pki {
    dir: tempfile::TempDir,
}

fn openssl(args: &[&str], cwd: &Path) {
    let o = Command::new("openssl").args(args).current_dir(cwd).stdin(Stdio::null()).output().expect("openssl is installed (scripts/deps.sh test)");
    assert!(o.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=OnAir Test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
            dir.path(),
        );
        Pki { dir }
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A server certificate `NAME.pem` / `NAME.key` for `san` (e.g.
    /// `DNS:localhost,IP:127.0.0.1`), valid for `days` (0: expired at once);
    /// `self_signed` leaves our CA out.
    pub fn leaf(&self, name: &str, san: &str, days: u32, self_signed: bool) -> (PathBuf, PathBuf) {
        let d = self.dir.path();
        let (key, cert) = (format!("{name}.key"), format!("{name}.pem"));
        let ext = format!("{name}.ext");
        std::fs::write(d.join(&ext), format!("subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")).unwrap();
        let csr = format!("{name}.csr");
        openssl(
            &["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", &format!("/CN={name}"), "-keyout", &key, "-out", &csr],
            d,
        );
        let days = days.to_string();
        if self_signed {
            openssl(&["x509", "-req", "-in", &csr, "-key", &key, "-days", &days, "-extfile", &ext, "-out", &cert], d);
        } else {
            openssl(&["x509", "-req", "-in", &csr, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", &days, "-extfile", &ext, "-out", &cert], d);
        }
        (d.join(cert), d.join(key))
    }

    /// `--ignore-certificate-errors-spki-list` value for a certificate
    /// (base64 SHA-256 of its public key), for a browser that must accept it.
    pub fn spki_hash(cert: &Path) -> String {
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!("openssl x509 -pubkey -noout -in '{}' | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64", cert.display()))
            .output()
            .expect("openssl");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }
}
