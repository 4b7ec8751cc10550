//! A private PostgreSQL 15 for a test: `initdb` into a temp folder, the
//! server on a free port of 127.0.0.1 with its socket in that folder,
//! stopped when dropped. As root (CI) it runs as the `postgres` user, since
//! `initdb` refuses root. Shared by the relay crate's store tests and the
//! root package's relay-on-PostgreSQL test (`#[path]`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct Postgres {
    pub port: u16,
    bin: PathBuf,
    dir: tempfile::TempDir,
    as_postgres: bool,
}

fn bin_dir() -> PathBuf {
    for v in ["15", "16", "17"] {
        let p = PathBuf::from(format!("/usr/lib/postgresql/{v}/bin"));
        if p.join("initdb").exists() {
            return p;
        }
    }
    panic!("PostgreSQL is not installed (no /usr/lib/postgresql/15/bin/initdb): run `scripts/deps.sh test` first");
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Postgres {
    pub fn start() -> Postgres {
        let bin = bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("onair-pg")
            .tempdir()
            .expect("temp dir");
        let as_postgres = is_root();
        if as_postgres {
            // The server runs as `postgres`: it must own its folder.
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(
                ok,
                "could not chown {} to the postgres user",
                dir.path().display()
            );
        }
        let pg = Postgres {
            port: free_port(),
            bin,
            dir,
            as_postgres,
        };
        let data = pg.data();
        let o = pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "--auth=trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        assert!(
            o.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        pg.start_server();
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(tool);
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        c.args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()))
    }

    fn start_server(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        let o = self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &opts,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        assert!(
            o.status.success(),
            "pg_ctl start failed: {}\n{}",
            String::from_utf8_lossy(&o.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.psql("postgres", "SELECT 1").status.success() {
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not answer: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server (fast: open sessions are cut) and starts it again.
    pub fn restart(&self) {
        self.stop();
        self.start_server();
    }

    pub fn stop(&self) {
        let _ = self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    pub fn psql(&self, db: &str, sql: &str) -> Output {
        Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                sql,
            ])
            .output()
            .expect("run psql")
    }

    /// A new empty database; its `postgres://` URL.
    pub fn fresh_db(&self, name: &str) -> String {
        let o = self.psql("postgres", &format!("CREATE DATABASE {name}"));
        assert!(
            o.status.success(),
            "CREATE DATABASE {name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        self.url(name)
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }
}
