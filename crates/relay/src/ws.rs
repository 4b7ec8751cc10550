//! The WebSocket driver: owns one socket, the clock and the fan-out
//! channel, and feeds frames to the sans-IO [`Session`].

use crate::calls::Msg;
use crate::commit;
use crate::metrics::Metrics;
use crate::session::{Output, Session};
use crate::signout::SignedOut;
use crate::state::{now_ms, AppState};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use onair_proto::{ErrorCode, Event, ServerFrame};
use std::sync::Arc;
use tokio::sync::mpsc;

pub async fn run(state: Arc<AppState>, socket: WebSocket) {
    let _task = state.tasks.clone();
    Metrics::inc(&state.metrics.connections_total);
    let conn_id = state.next_conn_id();
    let (mut sink, mut stream) = socket.split();
    let mut session = Session::new(now_ms(), state.limits.frame_burst);
    // Who signed in on this socket (for the clean-up, which must not need
    // the session: it is away on the blocking pool while a frame is handled).
    let mut who: Option<String> = None;
    let (tx, mut rx) = mpsc::channel::<Utf8Bytes>(state.limits.send_queue.max(1));
    let mut tx = Some(tx);
    let mut shutdown = state.shutdown.subscribe();
    let hello = tokio::time::sleep(std::time::Duration::from_secs(state.limits.hello_timeout_secs));
    tokio::pin!(hello);
    // Fires when this socket's token is revoked (see `signout.rs`).
    let mut signed_out: Option<tokio::sync::oneshot::Receiver<SignedOut>> = None;
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + crate::signout::RECHECK, crate::signout::RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    'conn: loop {
        let bytes: Vec<u8> = tokio::select! {
            biased;
            _ = async { let _ = shutdown.wait_for(|s| *s).await; } => {
                // Answers and events already queued (the writer's last
                // batch was answered before the shutdown flag) go out first.
                while let Ok(text) = rx.try_recv() {
                    if sink.feed(Message::Text(text)).await.is_err() {
                        break;
                    }
                }
                let _ = sink.send(Message::Close(Some(CloseFrame { code: 1001, reason: "relay shutting down".into() }))).await;
                break;
            }
            ev = rx.recv(), if tx.is_none() => match ev {
                Some(text) => {
                    // Under fan-out load several events wait at once: write
                    // them together and flush once (one syscall, not many).
                    if sink.feed(Message::Text(text)).await.is_err() { break; }
                    let mut more = 0;
                    while more < 64 {
                        let Ok(next) = rx.try_recv() else { break };
                        if sink.feed(Message::Text(next)).await.is_err() { break 'conn; }
                        more += 1;
                    }
                    if sink.flush().await.is_err() { break; }
                    continue;
                }
                // The hub dropped us: our queue overflowed. The client
                // resyncs from its cursor on reconnect.
                None => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: 1008, reason: "too slow".into() }))).await;
                    break;
                }
            },
            why = async { signed_out.as_mut().expect("guarded by the condition").await }, if signed_out.is_some() => match why {
                Ok(why) => {
                    let f = ServerFrame::Error { code: ErrorCode::Unauthorized, message: format!("{}: this token was revoked", why.reason()), id: None };
                    let _ = sink.feed(Message::Text(f.to_json().into())).await;
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: SignedOut::CLOSE_CODE, reason: why.reason().into() }))).await;
                    break;
                }
                Err(_) => {
                    signed_out = None;
                    continue;
                }
            },
            // Tokens also run out, or are revoked where no close reaches
            // us: the close then comes through `signed_out` above.
            _ = recheck.tick(), if signed_out.is_some() => {
                if let (Some(user), Some(h)) = (session.user().map(str::to_string), session.token_hash().copied()) {
                    let now = now_ms();
                    if matches!(state.store_call(move |s| s.token_user(&h, now)).await, Ok(None)) {
                        state.sockets.close_token(&user, &h, SignedOut::Expired);
                    }
                }
                continue;
            }
            _ = &mut hello, if session.user().is_none() => {
                let f = ServerFrame::Error { code: ErrorCode::Unauthorized, message: "no hello in time".into(), id: None };
                let _ = sink.send(Message::Text(f.to_json().into())).await;
                break;
            }
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(t))) => t.as_bytes().to_vec(),
                Some(Ok(Message::Binary(b))) => b.to_vec(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                // Closed, or a protocol error such as a frame over the hard limit.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            },
        };
        Metrics::inc(&state.metrics.frames_in);
        // The session's store work runs through the seam, never on this
        // worker; the session goes there and back (a socket's frames stay
        // in order: the next is read once this one is handled).
        let now = now_ms();
        session = match state.ctx_call(move |ctx| {
            session.handle_frame(now, &bytes, ctx);
            session
        })
        .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "handling a frame failed");
                break;
            }
        };
        while let Some(out) = session.poll_output() {
            match out {
                Output::Frame(f) => {
                    match &f {
                        ServerFrame::Error { .. } | ServerFrame::Res { err: Some(_), .. } => Metrics::inc(&state.metrics.frame_errors),
                        ServerFrame::Res { ok: Some(onair_proto::Response::Sent { .. }), .. } => Metrics::inc(&state.metrics.messages_stored),
                        _ => {}
                    }
                    // Queued, flushed once after this frame's outputs.
                    if sink.feed(Message::Text(f.to_json().into())).await.is_err() {
                        break 'conn;
                    }
                }
                Output::Fanout(users, ev) => publish(&state, &users, ev),
                Output::SignedIn(user) => {
                    who = Some(user.clone());
                    if let Some(h) = session.token_hash() {
                        signed_out = Some(state.sockets.add(&user, conn_id, *h));
                        // A revocation between the hello's check and this
                        // registration would have found nothing to close.
                        let (h, now) = (*h, now_ms());
                        if !matches!(state.store_call(move |s| s.token_user(&h, now)).await, Ok(Some(_))) {
                            state.sockets.close_token(&user, &h, SignedOut::LoggedOut);
                        }
                    }
                    if let Some(tx) = tx.take() {
                        let first = state.hub.register(&user, conn_id, tx);
                        // Presence, and (with a bus) this user's events from
                        // other nodes, before the welcome goes out below.
                        crate::bus::connected(&state, &user, conn_id, first).await;
                        state.calls.send(Msg::Opened { conn: conn_id, user }).await;
                    }
                }
                Output::Call(id, body) => {
                    let user = session.user().unwrap_or_default().to_string();
                    if !state.calls.send(Msg::Request { conn: conn_id, user, id, body }).await {
                        let f = ServerFrame::err(id, ErrorCode::Internal, "call signaling is not running");
                        if sink.feed(Message::Text(f.to_json().into())).await.is_err() {
                            break 'conn;
                        }
                    }
                }
                Output::Append { id, send } => {
                    let user = session.user().unwrap_or_default().to_string();
                    // The writer answers through this connection's hub
                    // queue once the batch is committed.
                    let (f, events) = match state.appends.submit(commit::Job { conn: conn_id, user, req: id, send }).await {
                        Ok(()) => continue,
                        Err(commit::Refused::Stopped(job)) => (commit::refused_frame(job.req), Vec::new()),
                        // No writer (a router served without `serve`): append inline.
                        Err(commit::Refused::NotRunning(job)) => append_inline(&state, job).await,
                    };
                    if sink.feed(Message::Text(f.to_json().into())).await.is_err() {
                        break 'conn;
                    }
                    events.into_iter().for_each(|(users, ev)| publish(&state, &users, ev));
                }
                Output::Room { id, room, req } => {
                    let user = session.user().unwrap_or_default().to_string();
                    // With several nodes a room's chat lives on one of them:
                    // it answers through the bus.
                    if crate::bus::rooms::forwarded(&state, &user, conn_id, id, &room, &req).await {
                        continue;
                    }
                    let f = match room_request(&state, &user, conn_id, &room, req).await {
                        Ok(r) => ServerFrame::ok(id, r),
                        Err(e) => {
                            Metrics::inc(&state.metrics.frame_errors);
                            let (code, msg) = e.to_wire();
                            ServerFrame::err(id, code, msg)
                        }
                    };
                    if sink.feed(Message::Text(f.to_json().into())).await.is_err() {
                        break 'conn;
                    }
                }
                Output::Close => {
                    let _ = sink.send(Message::Close(None)).await;
                    break 'conn;
                }
            }
        }
        if sink.flush().await.is_err() {
            break;
        }
    }
    if let Some(user) = who.as_deref() {
        state.sockets.remove(user, conn_id);
        state.rooms.gone(user, conn_id, &mut |users, ev| publish(&state, &users, ev));
        state.calls.send(Msg::Closed { conn: conn_id }).await;
        let last = state.hub.unregister(user, conn_id);
        crate::bus::disconnected(&state, user, conn_id, last).await;
    }
}

/// Appends a checked message in its own transaction, for a relay whose
/// group-commit writer is not running: the answer and the events to publish.
async fn append_inline(state: &Arc<AppState>, job: commit::Job) -> (ServerFrame, Vec<(Vec<String>, Event)>) {
    let send = job.send;
    match state.ctx_call(move |ctx| crate::logic::append_now(ctx, send)).await.map_err(crate::error::ApiError::from).and_then(|r| r) {
        Ok(h) => {
            if !h.events.is_empty() {
                Metrics::inc(&state.metrics.messages_stored);
            }
            (ServerFrame::ok(job.req, h.response), h.events)
        }
        Err(e) => {
            Metrics::inc(&state.metrics.frame_errors);
            let (code, msg) = e.to_wire();
            (ServerFrame::err(job.req, code, msg), Vec::new())
        }
    }
}

/// Runs a live-room chat request; its events go to the hub in order.
pub(crate) async fn room_request(state: &Arc<AppState>, me: &str, conn: u64, room: &str, req: crate::live::chat::RoomReq) -> Result<onair_proto::Response, crate::error::ApiError> {
    // The owner is looked up before the room state is locked: rooms never
    // change owner, and the store must not be waited on under that lock.
    let row = if onair_proto::valid_username(me) && room.len() <= 64 {
        let id = room.to_string();
        state.store_call(move |s| s.room(&id)).await?
    } else {
        None
    };
    // A private room's chat is for its owner and members, like its media.
    if let (Some(r), crate::live::chat::RoomReq::Join) = (&row, &req) {
        let (id, user) = (r.id.clone(), me.to_string());
        if r.private && r.owner != me && !state.store_call(move |s| s.is_room_member(&id, &user)).await? {
            return Err(crate::error::ApiError::new(onair_proto::ErrorCode::NotMember, "this room is private: only its owner and the members they add may join"));
        }
    }
    let owner = row.map(|r| r.owner);
    state.rooms.handle(now_ms(), me, conn, room, owner.as_deref(), req, &mut |users, ev| publish(state, &users, ev))
}

/// Delivers an event to every connection of `users`: here, and through the
/// bus on the other nodes.
pub fn publish(state: &AppState, users: &[String], ev: Event) {
    state.bus.forward(users, &ev);
    publish_here(state, users, ev);
}

/// Delivers an event to `users`' connections on this node only.
pub fn publish_here(state: &AppState, users: &[String], ev: Event) {
    let p = state.hub.publish(users, ev);
    state.metrics.events_delivered.fetch_add(p.delivered, std::sync::atomic::Ordering::Relaxed);
    state.metrics.slow_clients_dropped.fetch_add(p.dropped, std::sync::atomic::Ordering::Relaxed);
}
