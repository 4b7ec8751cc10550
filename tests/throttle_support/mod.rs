//! A throttling TCP forwarder for tests (the kernel here has no netem):
//! 127.0.0.1:`port` forwards to an upstream port, one direction limited to
//! a rate that the test changes while connections run.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which way the limit applies.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// Client to upstream (a publisher's uplink).
    Up,
    /// Upstream to client (a viewer's downlink).
    Down,
}

pub struct Throttle {
    pub port: u16,
    rate: Arc<AtomicU64>,
}

fn set_opt(fd: i32, level: i32, name: i32, value: i32) {
    // SAFETY: setsockopt on a socket we own, with a pointer to a c_int of the size given.
    let r = unsafe { libc::setsockopt(fd, level, name, &value as *const _ as *const libc::c_void, std::mem::size_of::<libc::c_int>() as libc::socklen_t) };
    assert_eq!(r, 0, "setsockopt {level}/{name}");
}

impl Throttle {
    pub fn start(upstream: u16, way: Way) -> Throttle {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        // A small receive buffer (inherited by accepted sockets), so the
        // throttle shows at the sender at once instead of after megabytes,
        // and segments the size of a real link's (loopback's are 64 KB,
        // larger than that buffer, which stalls TCP in ways no link does).
        set_opt(listener.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, 16 * 1024);
        set_opt(listener.as_raw_fd(), libc::IPPROTO_TCP, libc::TCP_MAXSEG, 1400);
        let port = listener.local_addr().expect("addr").port();
        let rate = Arc::new(AtomicU64::new(0));
        let rate2 = rate.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
                if way == Way::Down {
                    set_opt(server.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, 16 * 1024);
                }
                let (slow_from, slow_to, fast_from, fast_to) = match way {
                    Way::Up => (client.try_clone(), server.try_clone(), server.try_clone(), client.try_clone()),
                    Way::Down => (server.try_clone(), client.try_clone(), client.try_clone(), server.try_clone()),
                };
                let (Ok(slow_from), Ok(slow_to), Ok(mut fast_from), Ok(mut fast_to)) = (slow_from, slow_to, fast_from, fast_to) else { continue };
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut fast_from, &mut fast_to);
                });
                let rate = rate2.clone();
                std::thread::spawn(move || {
                    forward_throttled(&slow_from, &slow_to, &rate);
                    // Either side gone: close both, as a router would.
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    let _ = server.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        Throttle { port, rate }
    }

    /// Limits the throttled direction to `bits_per_s` (0: no limit).
    pub fn limit(&self, bits_per_s: u64) {
        self.rate.store(bits_per_s / 8, Ordering::Relaxed);
    }
}

/// Copies `from` to `to`, at most `rate` bytes a second (checked every 10 ms).
fn forward_throttled(mut from: &TcpStream, mut to: &TcpStream, rate: &AtomicU64) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut credit = 0f64;
    let mut last = Instant::now();
    loop {
        let r = rate.load(Ordering::Relaxed);
        let want = if r == 0 {
            buf.len()
        } else {
            let now = Instant::now();
            credit = (credit + r as f64 * (now - last).as_secs_f64()).min(r as f64 / 10.0);
            last = now;
            if credit < 1.0 {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            (credit as usize).min(buf.len())
        };
        let n = match from.read(&mut buf[..want]) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if r == 0 {
            // Unlimited: no debt carried into the next throttle.
            (credit, last) = (0.0, Instant::now());
        } else {
            credit -= n as f64;
        }
        if to.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}
