//! A real nginx with the RTMP module on 127.0.0.1, in its own temp dir.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Nginx {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// RTMPS (TLS) port in front of `port`.
    pub tls_port: u16,
    child: Option<Child>,
}

impl Nginx {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        // Workers may run as nobody: every folder on the way must be traversable.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let rec = dir.path().join("rec");
        std::fs::create_dir(&rec).expect("mkdir rec");
        std::fs::set_permissions(&rec, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let port = super::free_port();
        let tls_port = super::free_port();
        let cert = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
            .args(["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
            .arg("-keyout")
            .arg(dir.path().join("key.pem"))
            .arg("-out")
            .arg(dir.path().join("cert.pem"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl is installed (scripts/deps.sh test)");
        assert!(cert.success(), "openssl could not make a test certificate");
        let template = include_str!("../nginx/nginx.conf.in");
        let conf = template
            .replace("@DIR@", &dir.path().display().to_string())
            .replace("@TLSPORT@", &tls_port.to_string())
            .replace("@PORT@", &port.to_string());
        std::fs::write(dir.path().join("nginx.conf"), conf).expect("write nginx.conf");
        let mut n = Nginx { dir, port, tls_port, child: None };
        n.spawn();
        n
    }

    fn spawn(&mut self) {
        let d = self.dir.path();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(d)
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .arg("-e")
            .arg(d.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nginx is installed (scripts/deps.sh test)");
        self.child = Some(child);
        let port = self.port;
        super::wait_until(Duration::from_secs(20), "nginx to listen", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// Kills nginx at once (as a crash or network loss would look to a client).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts nginx again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub fn url(&self, key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{key}", self.port)
    }

    /// The self-signed certificate of the TLS port (a CA file for clients).
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    pub fn tls_url(&self, key: &str) -> String {
        format!("rtmps://127.0.0.1:{}/live/{key}", self.tls_port)
    }

    /// The FLV files nginx recorded, oldest first.
    pub fn recordings(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("rec"))
            .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        v.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        v
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}
