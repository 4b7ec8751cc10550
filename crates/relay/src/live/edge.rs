//! Live rooms across relay nodes, as SRS's edges do it. A publisher lands
//! on any node: that node is the room's **origin** and says so on the bus
//! (`onair:origins`). A viewer who reaches another node makes that node an
//! **edge** for the room: it pulls the live once from the origin, over
//! HTTP-FLV with an edge ticket, and feeds it to the same fan-out and HLS
//! writer an RTMP publisher feeds, so its viewers get every low-latency
//! format and HLS from it. However many viewers an edge has, the origin
//! sends it one stream. The pull stops a few seconds after the edge's last
//! viewer leaves, and ends with the live at the origin.
//!
//! ```text
//! publisher -RTMP-> node A (origin) -HTTP-FLV, one per edge-> node C (edge) -> C's viewers
//! ```
//!
//! Replays are written by the origin only, into the replays folder (one
//! folder every node shares, `--shared-dir`, so any node plays them).

use super::fanout::{Fanout, Format};
use super::hls::Writer;
use super::routes::LiveCtx;
use crate::state::now_ms;
use axum::body::Bytes;
use http_body_util::BodyExt;
use onair_ingest::flv::FlvStream;
use onair_ingest::Media;
use std::sync::Arc;
use std::time::Duration;

/// An edge with no viewers for this long stops pulling. HLS players come
/// back for the playlist every segment or two; low-latency viewers hold a
/// connection open.
pub const IDLE: Duration = Duration::from_secs(8);
/// The origin sending nothing for this long means it is gone.
const SILENT: Duration = Duration::from_secs(10);
/// How long an edge ticket is good for (it is used once, at once).
const TICKET_MS: i64 = 60_000;
/// The origin's header with its clock anchor (see `OnAir::clock_anchor_ms`).
pub const ANCHOR_HEADER: &str = "x-onair-clock-anchor";

/// Makes sure `room` is on air on this node, pulling it from its origin if
/// another node has the publisher. True if it is on air here (now).
pub fn ensure(cx: &LiveCtx, row: &crate::store::rooms::RoomRow) -> bool {
    let room = row.id.as_str();
    if cx.live.on_air(room).is_some() {
        return true;
    }
    let Some((node, url)) = cx.app.bus.origin_of(room) else { return false };
    let conn = cx.app.next_conn_id();
    if !cx.live.try_start_edge(room, conn, now_ms()) {
        // Someone else started it a moment ago.
        return cx.live.on_air(room).is_some();
    }
    // The fan-out exists before the first byte arrives, so the viewer who
    // asked joins it now and gets the headers when they come.
    let fan = cx.live.fanout_start(room);
    let writer = match Writer::start(room, cx.live.dir.join(room), None) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(room, error = %e, "edge: cannot start HLS output");
            cx.live.fanout_end(room, &fan);
            cx.live.end(room, conn);
            return false;
        }
    };
    tracing::info!(room, origin = %node, "edge: pulling the live from its origin node");
    // The edge makes the ladder's rungs for its own viewers, from the pull.
    let ladder = cx.live.ladder_start(room, &cx.live.ladder_for(row));
    tokio::spawn(pull(cx.clone(), room.to_string(), url, conn, writer, fan, ladder));
    true
}

/// Pulls until the live ends at the origin, the link fails, or nobody
/// here watches; then releases the room on this node.
async fn pull(cx: LiveCtx, room: String, url: String, conn: u64, mut writer: Writer, fan: Arc<Fanout>, mut ladder: Option<super::ladder::Ladder>) {
    let stop = cx.live.on_air(&room).map(|o| o.stop);
    let why = match stream(&cx, &room, &url, &mut writer, &fan, &mut ladder, stop).await {
        Ok(why) => why,
        Err(e) => format!("pull failed: {e}"),
    };
    tracing::info!(room = %room, "edge: stopped pulling: {why}");
    cx.live.fanout_end(&room, &fan);
    if cx.live.on_air(&room).is_some_and(|o| o.conn == conn) {
        cx.live.ladder_end(&room);
    }
    cx.live.end(&room, conn);
    writer.finish();
}

#[allow(clippy::too_many_arguments)]
async fn stream(cx: &LiveCtx, room: &str, url: &str, writer: &mut Writer, fan: &Fanout, ladder: &mut Option<super::ladder::Ladder>, stop: Option<Arc<tokio::sync::Notify>>) -> Result<String, String> {
    let app = cx.app.clone();
    let live = cx.live.clone();
    let secret = cx.app.blocking(move || live.ticket_secret(app.store.as_ref())).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
    let ticket = super::ticket::edge(&secret, room, now_ms() + TICKET_MS);
    let path = format!("/live/{room}/live.flv?edge={ticket}");
    let res = tokio::time::timeout(SILENT, get(url, &path)).await.map_err(|_| format!("{url} did not answer"))??;
    if !res.status().is_success() {
        return Ok(format!("the origin answered {} (the live ended there)", res.status()));
    }
    if let Some(a) = res.headers().get(ANCHOR_HEADER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<i64>().ok()) {
        cx.live.note_anchor(room, a);
    }
    let mut body = res.into_body();
    let mut flv = FlvStream::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut idle_since: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            f = tokio::time::timeout(SILENT, body.frame()) => match f {
                Err(_) => return Ok(format!("the origin sent nothing for {} s", SILENT.as_secs())),
                Ok(None) => return Ok("the live ended at the origin".into()),
                Ok(Some(Err(e))) => return Err(e.to_string()),
                Ok(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else { continue };
                    flv.push(&data);
                    loop {
                        match flv.next_media() {
                            Ok(Some(m)) => feed(cx, room, m, writer, fan, ladder),
                            Ok(None) => break,
                            Err(e) => return Err(format!("bad stream from the origin: {e}")),
                        }
                    }
                }
            },
            _ = tick.tick() => {
                let hls = cx.live.hls_idle(room).is_some_and(|d| d < IDLE);
                let rungs = cx.live.rungs(room).iter().any(|(r, f)| f.viewers() > 0 || cx.live.hls_idle(&format!("{room}/{}", r.name)).is_some_and(|d| d < IDLE));
                if fan.viewers() > 0 || hls || rungs {
                    idle_since = None;
                } else if idle_since.get_or_insert_with(tokio::time::Instant::now).elapsed() >= IDLE {
                    return Ok("no viewers left on this node".into());
                }
            }
            _ = async { match &stop { Some(s) => s.notified().await, None => std::future::pending().await } } => {
                return Ok("the publisher is on this node now".into());
            }
        }
    }
}

fn feed(cx: &LiveCtx, room: &str, m: Media, writer: &mut Writer, fan: &Fanout, ladder: &mut Option<super::ladder::Ladder>) {
    if let Media::Video { dts_ms, cts_ms, .. } = &m {
        cx.live.note_video(room, now_ms(), i64::from(*dts_ms) + i64::from(*cts_ms));
    }
    fan.push(&m);
    if let Some(l) = ladder {
        l.push(&m);
    }
    writer.push(m);
}

/// `GET url+path` over plain HTTP/1.1 (nodes talk on their private
/// network; `--node-url` is an `http://` URL).
async fn get(url: &str, path: &str) -> Result<hyper::Response<hyper::body::Incoming>, String> {
    let authority = url.strip_prefix("http://").ok_or_else(|| format!("node URL {url} is not http://"))?.trim_end_matches('/');
    let tcp = tokio::net::TcpStream::connect(authority).await.map_err(|e| format!("connecting to {url}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        // Ends when the body is dropped or the origin closes.
        let _ = conn.await;
    });
    let req = hyper::Request::get(path).header(hyper::header::HOST, authority).body(http_body_util::Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
    send.send_request(req).await.map_err(|e| e.to_string())
}

/// The origin's side: the FLV stream for an edge that showed a valid edge
/// ticket. Only a room published here is served (no edge pulls from
/// another edge), so a pull is always one hop.
pub fn serve(cx: &LiveCtx, room: &str) -> Option<axum::response::Response> {
    let on = cx.live.on_air(room).filter(|o| !o.edge)?;
    let mut res = super::routes::low_latency_stream(cx, room, Format::Flv)?;
    if let Some(a) = on.clock_anchor_ms {
        if let Ok(v) = axum::http::HeaderValue::from_str(&a.to_string()) {
            res.headers_mut().insert(ANCHOR_HEADER, v);
        }
    }
    Some(res)
}
