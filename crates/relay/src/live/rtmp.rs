//! The RTMP ingest driver: owns the listening socket and one task per
//! connection; all protocol logic is in `onair_ingest::Session`.
//!
//! A connection must finish the handshake and ask to publish within
//! `Limits::rtmp_handshake_ms` of connecting, in total; a publisher silent for [`IDLE`] is dropped. Any error from the
//! session (garbage, a codec other than H.264/AAC) closes that connection
//! only, with a log line saying why; the stream key never appears in logs.

use super::hls::Writer;
use super::Live;
use crate::state::{now_ms, AppState};
use onair_ingest::{Event, Media, Session};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const IDLE: Duration = Duration::from_secs(30);

/// Quiet FFmpeg once: its log lines are not ours to print.
fn ffmpeg_init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ffmpeg_next::init();
        let level = if std::env::var_os("ONAIR_FFMPEG_LOG").is_some() { ffmpeg_next::log::Level::Info } else { ffmpeg_next::log::Level::Quiet };
        ffmpeg_next::log::set_level(level);
    });
}

/// Accepts publishers until the relay shuts down.
pub async fn run(listener: TcpListener, app: Arc<AppState>, live: Arc<Live>) {
    // Before any publisher is accepted: replays a crash left unfinished.
    let root = live.replays_dir();
    let (a, l) = (app.clone(), live.clone());
    let _ = tokio::task::spawn_blocking(move || {
        super::replay::recover(&root);
        // Then, in the background, renditions a restart interrupted.
        let ladder_of = |room: &str| a.store.room(room).ok().flatten().map(|r| l.ladder_for(&r)).unwrap_or_default();
        super::replay_ladder::resume(&root, &ladder_of);
    })
    .await;
    accept_loop("RTMP", listener, app, live, |tcp, peer, app, live| async move {
        let hello_by = hello_deadline(&app);
        connection(tcp, peer, hello_by, app, live).await
    })
    .await
}

/// Accepts RTMPS publishers (RTMP inside TLS) until the relay shuts down.
/// The TLS handshake counts against the same total handshake deadline.
pub async fn run_tls(listener: TcpListener, tls: crate::tls::Acceptor, app: Arc<AppState>, live: Arc<Live>) {
    accept_loop("RTMPS", listener, app, live, move |tcp, peer, app, live| {
        let tls = tls.clone();
        async move {
            let hello_by = hello_deadline(&app);
            match tokio::time::timeout_at(hello_by, tls.accept(tcp)).await {
                Ok(Ok(stream)) => connection(stream, peer, hello_by, app, live).await,
                Ok(Err(e)) => tracing::info!(%peer, error = %e, "RTMPS handshake failed"),
                Err(_) => tracing::info!(%peer, "RTMPS handshake timed out"),
            }
        }
    })
    .await
}

/// One deadline for the whole handshake and publish request, from the
/// moment of connecting: a client trickling a byte at a time does not get
/// it moved.
fn hello_deadline(app: &AppState) -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_millis(app.limits.rtmp_handshake_ms.max(1))
}

/// Accepts connections and hands each to `serve` in a task of its own.
async fn accept_loop<F, Fut>(what: &'static str, listener: TcpListener, app: Arc<AppState>, live: Arc<Live>, serve: F)
where
    F: Fn(tokio::net::TcpStream, SocketAddr, Arc<AppState>, Arc<Live>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    ffmpeg_init();
    let mut shutdown = app.shutdown.subscribe();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((tcp, peer)) => {
                    let _ = tcp.set_nodelay(true);
                    tokio::spawn(serve(tcp, peer, app.clone(), live.clone()));
                }
                Err(e) => {
                    // Out of descriptors, say: back off instead of spinning.
                    tracing::warn!(error = %e, "{what} accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
}

struct Publishing {
    room: String,
    writer: Writer,
    fan: Arc<super::fanout::Fanout>,
    ladder: Option<super::ladder::Ladder>,
}

async fn connection<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut tcp: S, peer: SocketAddr, hello_by: tokio::time::Instant, app: Arc<AppState>, live: Arc<Live>) {
    let conn = app.next_conn_id();
    let mut shutdown = app.shutdown.subscribe();
    let mut session = Session::new();
    let mut publishing: Option<Publishing> = None;
    let mut stopper: Option<Arc<tokio::sync::Notify>> = None;
    let mut buf = vec![0u8; 64 * 1024];
    let why = 'conn: loop {
        let read = tokio::time::timeout_at(if publishing.is_some() { tokio::time::Instant::now() + IDLE } else { hello_by }, tcp.read(&mut buf));
        let n = tokio::select! {
            r = read => match r {
                Ok(Ok(0)) => break 'conn "closed by the peer".to_string(),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => break 'conn format!("read error: {e}"),
                Err(_) if publishing.is_some() => break 'conn format!("nothing received for {}s", IDLE.as_secs()),
                Err(_) => break 'conn format!("no publish request within {} ms of connecting", app.limits.rtmp_handshake_ms),
            },
            _ = shutdown.changed() => break 'conn "relay shutting down".to_string(),
            _ = async { match &stopper { Some(s) => s.notified().await, None => std::future::pending().await } } => {
                break 'conn "stopped by the room's owner (stop or key rotation)".to_string()
            }
        };
        // rml_rtmp is third-party code on peer input: a panic in it must
        // cost this connection only.
        let input = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session.handle_input(&buf[..n])));
        match input {
            Ok(Ok(())) => {}
            Ok(Err(e)) => break 'conn format!("refused: {e}"),
            Err(_) => break 'conn "ingest session panicked on peer input".to_string(),
        }
        while let Some(ev) = session.poll_output() {
            match ev {
                Event::Send(bytes) => {
                    if let Err(e) = tcp.write_all(&bytes).await {
                        break 'conn format!("write error: {e}");
                    }
                }
                Event::PublishRequested { app: _, key } => {
                    // The store look-up runs on the blocking pool, not on this worker.
                    let (a, l) = (app.clone(), live.clone());
                    let verdict = app.blocking(move || authorize(&a, &l, &key, conn)).await.unwrap_or(Err("internal error"));
                    let answer = match &verdict {
                        Ok(_) => session.accept_publish(),
                        Err(reason) => session.reject_publish(reason),
                    };
                    if let Err(e) = answer {
                        break 'conn format!("answering publish: {e}");
                    }
                    match verdict {
                        Ok(row) => {
                            let rungs = live.ladder_for(&row);
                            // Followers hear of it (once per go-live, not per reconnect).
                            super::follows::went_live(app.clone(), row.clone());
                            let room = row.id;
                            tracing::info!(%peer, room = %room, "publisher on air");
                            let replay = (live.replays_kept > 0).then(|| (live.replays_dir().join(&room), now_ms(), live.replays_kept, rungs.clone()));
                            match Writer::start(&room, live.dir.join(&room), replay) {
                                Ok(writer) => {
                                    let fan = live.fanout_start(&room);
                                    stopper = live.on_air(&room).map(|o| o.stop);
                                    // Other nodes' viewers pull it from here.
                                    app.bus.originate(&room, true);
                                    let ladder = live.ladder_start(&room, &rungs);
                                    publishing = Some(Publishing { room, writer, fan, ladder })
                                }
                                Err(e) => {
                                    live.end(&room, conn);
                                    break 'conn format!("starting HLS output: {e}");
                                }
                            }
                        }
                        Err(reason) => {
                            // Flush the refusal so the client can show it, then close.
                            while let Some(Event::Send(b)) = session.poll_output() {
                                let _ = tcp.write_all(&b).await;
                            }
                            break 'conn format!("publish refused: {reason}");
                        }
                    }
                }
                Event::Media(m) => {
                    if let Some(p) = &mut publishing {
                        if let Media::Video { dts_ms, cts_ms, .. } = &m {
                            // Presentation time: what the capture stamp matches.
                            live.note_video(&p.room, now_ms(), i64::from(*dts_ms) + i64::from(*cts_ms));
                        }
                        p.fan.push(&m);
                        if let Some(l) = &mut p.ladder {
                            l.push(&m);
                        }
                        p.writer.push(m);
                    }
                }
                Event::Finished => break 'conn "publisher ended the stream".to_string(),
            }
        }
    };
    // Refusals (bad key, busy room, another codec, garbage) are worth an
    // operator's attention; ordinary ends are not.
    let refused = why.starts_with("refused") || why.starts_with("publish refused") || why.contains("panicked");
    if let Some(p) = &publishing {
        // Unless a newer publisher of the room took over on this node.
        if live.on_air(&p.room).is_none_or(|o| o.conn == conn) {
            app.bus.originate(&p.room, false);
            live.ladder_end(&p.room);
            super::follows::live_ended(app.clone(), p.room.clone());
        }
    }
    match publishing {
        Some(p) if refused => {
            tracing::warn!(%peer, room = %p.room, "live ended: {why}");
            live.fanout_end(&p.room, &p.fan);
            live.end(&p.room, conn);
            p.writer.finish();
        }
        Some(p) => {
            tracing::info!(%peer, room = %p.room, dropped = p.writer.dropped, "live ended: {why}");
            live.fanout_end(&p.room, &p.fan);
            live.end(&p.room, conn);
            p.writer.finish();
        }
        None if refused => tracing::warn!(%peer, "RTMP connection closed: {why}"),
        None => tracing::info!(%peer, "RTMP connection closed: {why}"),
    }
}

/// The room a key (or a publish ticket) publishes to, claimed for `conn`,
/// or why not. Keys are looked up by their hash: the store has no keys.
fn authorize(app: &AppState, live: &Live, key: &str, conn: u64) -> Result<crate::store::rooms::RoomRow, &'static str> {
    let internal = |e: crate::error::StoreError| {
        tracing::error!(error = %e, "looking up a stream key");
        "internal error"
    };
    let room = if super::ticket::is_publish(key) {
        let id = super::ticket::publish_room(key).ok_or("invalid stream key")?;
        let room = app.store.room(id).map_err(internal)?.ok_or("invalid stream key")?;
        let secret = live.ticket_secret(app.store.as_ref()).map_err(internal)?;
        match super::ticket::check_publish(&secret, key, &room.id, &room.owner, &room.key_hash, now_ms()) {
            Ok(()) => room,
            Err(super::ticket::TicketError::Expired) => return Err("publish ticket expired; ask the relay for a new one"),
            Err(_) => return Err("invalid stream key"),
        }
    } else {
        app.store.room_by_key_hash(&crate::store::rooms::key_hash(key)).map_err(internal)?.ok_or("invalid stream key")?
    };
    if !live.try_start(&room.id, conn, now_ms()) {
        return Err("this room is already live");
    }
    Ok(room)
}

/// Binds the ingest listener; `None` (with an error logged) when the
/// address is taken, so the rest of the relay still serves.
pub async fn bind(addr: SocketAddr) -> Option<TcpListener> {
    match TcpListener::bind(addr).await {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::error!(%addr, error = %e, "RTMP ingest disabled: cannot bind");
            None
        }
    }
}
