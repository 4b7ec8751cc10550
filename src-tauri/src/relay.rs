//! The embedded relay: with no relay configured, the app runs `onair-relay`
//! in-process on 127.0.0.1 (a free port, data under `$ONAIR_HOME/relay`),
//! so a new user can record, go live into a local room and chat between two
//! windows with nothing else installed.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::error::{AppError, AppResult};

/// A running embedded relay; dropping it asks the relay to shut down.
pub struct EmbeddedRelay {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for EmbeddedRelay {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

/// Starts the relay on the Tauri async runtime and waits (up to 15 s) until
/// it listens. Its RTMP ingest for live rooms takes a free port too.
pub fn start(home: &Path) -> AppResult<EmbeddedRelay> {
    let port_file = home.join("relay").join("last-port");
    match reusable_port(&port_file) {
        0 => start_on(home, 0, &port_file),
        // Someone may take the old port between the check and the bind.
        p => start_on(home, p, &port_file).or_else(|_| start_on(home, 0, &port_file)),
    }
}

fn start_on(home: &Path, port: u16, port_file: &Path) -> AppResult<EmbeddedRelay> {
    let config = onair_relay::Config {
        listen: SocketAddr::from(([127, 0, 0, 1], port)),
        rtmp: SocketAddr::from(([127, 0, 0, 1], 0)),
        data: home.join("relay"),
        ..Default::default()
    };
    let (bound_tx, bound_rx) = std::sync::mpsc::sync_channel(1);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let failed_tx = bound_tx.clone();
    tauri::async_runtime::spawn(async move {
        let res = onair_relay::serve(
            config,
            move |addr| {
                let _ = bound_tx.send(Ok(addr));
            },
            async move {
                let _ = stop_rx.await;
            },
        )
        .await;
        if let Err(e) = res {
            tracing::error!("embedded relay: {e}");
            let _ = failed_tx.send(Err(e.to_string()));
        }
    });
    match bound_rx.recv_timeout(Duration::from_secs(15)) {
        Ok(Ok(addr)) => {
            let _ = std::fs::write(port_file, addr.port().to_string());
            Ok(EmbeddedRelay { addr, shutdown: Some(stop_tx) })
        }
        Ok(Err(e)) => Err(AppError::Internal(format!("starting the embedded relay: {e}"))),
        Err(_) => Err(AppError::Internal("the embedded relay did not start within 15 s".into())),
    }
}

/// The port the embedded relay had last time, if it is free now: the
/// relay's address then stays stable across launches (saved credentials and
/// room URLs keep working); otherwise 0, a fresh free port.
fn reusable_port(port_file: &Path) -> u16 {
    let Some(p) = std::fs::read_to_string(port_file).ok().and_then(|s| s.trim().parse::<u16>().ok()) else { return 0 };
    match std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], p))) {
        Ok(l) => {
            drop(l);
            p
        }
        Err(_) => 0,
    }
}
