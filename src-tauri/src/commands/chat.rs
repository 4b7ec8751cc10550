//! The Chat screen's commands: sign in or register, conversations with
//! unread counts, history, send / retry / recall, read marks, search,
//! friends and blocking, groups.
//!
//! Everything adapts `onair-chat`. One background listener per signed-in
//! account (its own thread and cache connection) runs the device's relay
//! link (one socket, which calls and room chat share through
//! [`ChatState::link`]): it delivers the outbox, applies pushed events to
//! the cache and emits `chat://event` (see [`ChatPush`]); the UI then
//! re-reads what changed.
//! Commands read and write the cache through a second connection behind a
//! mutex held only for the SQLite call, never across the network, so no
//! command waits on the relay to show the cache.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use onair_chat::net::{LinkTask, RelayLink};
use onair_chat::{account, Client, Command, ConvSummary, Message, Remote, Update};
use onair_proto::{AcceptFrom, ConvInfo, Event, FriendInfo, Request, Response, Target};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager, State};

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The event name the Chat screen listens on.
pub const EVENT: &str = "chat://event";

/// What the listener tells the UI (`chat://event` payload).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChatPush {
    /// Connected and caught up.
    Online,
    /// The relay cannot be reached; cached history and queued sends still work.
    Offline {
        error: String,
        #[cfg_attr(test, ts(as = "f64"))]
        retry_in_ms: u64,
    },
    /// Queued messages were acknowledged (or refused for good).
    Delivered { sent: usize, failed: usize },
    /// Burn-after-read messages expired here.
    Burned,
    /// An event from the relay, already in the cache.
    Event { ev: Event },
    /// The relay no longer accepts this session (token revoked or expired).
    SignedOut { reason: String },
}

/// The signed-in session: the UI's cache handle and the listener.
struct Session {
    client: Client,
    remote: Remote,
    online: Arc<AtomicBool>,
    /// Commands for the listener: flush the outbox now.
    commands: tokio::sync::mpsc::Sender<Command>,
    /// The device's relay link, which the listener runs.
    link: RelayLink,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// The Chat screen's managed state.
#[derive(Default)]
pub struct ChatState {
    session: Mutex<Option<Session>>,
}

impl ChatState {
    fn lock(&self) -> MutexGuard<'_, Option<Session>> {
        // A panic while holding the lock leaves plain data behind; keep going.
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the signed-in client (cache calls only: no network).
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Client) -> AppResult<T>) -> AppResult<T> {
        let mut g = self.lock();
        let s = g.as_mut().ok_or(AppError::NotSignedIn)?;
        f(&mut s.client)
    }

    /// The device's relay link (calls and room chat ride on it).
    pub fn link(&self) -> AppResult<RelayLink> {
        Ok(self.lock().as_ref().ok_or(AppError::NotSignedIn)?.link.clone())
    }

    /// A request on the device's relay link, and its answer.
    pub async fn request(&self, req: Request) -> AppResult<Response> {
        match self.link()?.request(req).await {
            Ok(r) => Ok(r),
            Err(e @ onair_chat::NetError::Refused { .. }) => Err(e.into()),
            Err(_) => Err(AppError::State("offline: the relay cannot be reached right now".into())),
        }
    }

    /// Who is signed in.
    pub fn me(&self) -> AppResult<String> {
        Ok(self.lock().as_ref().ok_or(AppError::NotSignedIn)?.client.me().to_string())
    }

    /// Signed in as whom, and whether the relay is reachable now.
    pub fn connection(&self) -> crate::appstate::ChatConn {
        let g = self.lock();
        crate::appstate::ChatConn {
            signed_in: g.is_some(),
            user: g.as_ref().map(|s| s.client.me().to_string()),
            online: g.as_ref().is_some_and(|s| s.online.load(Ordering::Relaxed)),
        }
    }

    /// Unread messages over every cached conversation.
    pub fn unread(&self) -> AppResult<u64> {
        self.with(|c| {
            let me = c.me().to_string();
            Ok(c.cache.summaries(&me)?.iter().map(|s| s.unread).sum())
        })
    }

    /// Wakes the listener to deliver the outbox now.
    pub(crate) fn flush(&self) {
        if let Some(s) = self.lock().as_ref() {
            let _ = s.commands.try_send(Command::Flush);
        }
    }

    pub(crate) fn remote(&self) -> AppResult<(Remote, String)> {
        let g = self.lock();
        let s = g.as_ref().ok_or(AppError::NotSignedIn)?;
        Ok((s.remote.clone(), s.client.me().to_string()))
    }
}

/// Who is signed in, where, and whether the relay is reachable now.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ChatStatus {
    pub signed_in: bool,
    pub user: Option<String>,
    pub relay: String,
    pub online: bool,
    /// The app's relay is the one it runs itself.
    pub embedded: bool,
}

/// Opens the session for the saved credentials (if any) and starts the
/// listener. Called at start-up and after signing in. The saved relay
/// address is replaced by the app's relay (the embedded relay takes a new
/// port each launch; its token stays valid).
pub fn resume(app: &AppHandle) -> AppResult<bool> {
    let state = app.state::<AppState>();
    let home = state.home.clone();
    let mut creds = match account::load(&home) {
        Ok(c) => c,
        Err(onair_chat::ChatError::NotSignedIn) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    if creds.relay != state.relay.url {
        creds.relay = state.relay.url.clone();
        account::save(&home, &creds)?;
    }
    let client = Client::open(&home)?;
    let remote = client.remote();
    let online = Arc::new(AtomicBool::new(false));
    let (commands, rx) = tokio::sync::mpsc::channel(64);
    let (link, task) = client.link();
    let stop = spawn_listener(app.clone(), home, online.clone(), rx, link.clone(), task)?;
    *app.state::<ChatState>().lock() = Some(Session { client, remote, online, commands, link, stop: Some(stop) });
    Ok(true)
}

/// The listener: its own thread, runtime and cache connection, so SQLite
/// work and reconnect back-off never touch the UI's runtime.
fn spawn_listener(
    app: AppHandle,
    home: std::path::PathBuf,
    online: Arc<AtomicBool>,
    mut commands: tokio::sync::mpsc::Receiver<Command>,
    link: RelayLink,
    task: LinkTask,
) -> AppResult<tokio::sync::oneshot::Sender<()>> {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut client = Client::open(&home)?;
    // The app's own sends wake the listener (Command::Flush); other
    // processes' (`onair chat send`) are found within a second.
    client.poll_interval = Duration::from_millis(1000);
    client.connect_timeout = Duration::from_secs(5);
    std::thread::Builder::new()
        .name("chat-listener".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => return tracing::error!("chat listener runtime: {e}"),
            };
            let me = client.me().to_string();
            let emit = |p: ChatPush| {
                match &p {
                    ChatPush::Event { ev: Event::Message { conv, entry } } => {
                        if entry.from != me && matches!(entry.kind, onair_proto::EntryKind::Message) {
                            notify_message(&app, conv, &entry.from, &entry.text);
                        }
                    }
                    // A followed streamer went live: a desktop notification
                    // (the page shows its own notice from the same event).
                    ChatPush::Event { ev: Event::RoomLive { owner, title, .. } } => notify_live(&app, owner, title),
                    // Call signaling arrives on this socket (the socket is the
                    // device): the Calls screen follows it as `call://state`
                    // (a running call hears it on the link itself).
                    ChatPush::Event { ev } => crate::commands::call::on_event(&app, ev),
                    _ => {}
                }
                let _ = app.emit(EVENT, p);
            };
            let res = rt.block_on(async {
                tokio::select! {
                    r = client.listen_link(&link, Some(task), &mut commands, |u| {
                        let p = match u {
                            Update::Online { .. } => {
                                online.store(true, Ordering::Relaxed);
                                ChatPush::Online
                            }
                            Update::Offline { error, retry_in } => {
                                online.store(false, Ordering::Relaxed);
                                ChatPush::Offline { error: error.to_string(), retry_in_ms: retry_in.as_millis() as u64 }
                            }
                            Update::Delivered { sent, failed } => ChatPush::Delivered { sent, failed },
                            Update::Burned => ChatPush::Burned,
                            Update::Event(ev) => ChatPush::Event { ev: ev.clone() },
                        };
                        emit(p);
                    }) => Some(r),
                    _ = stop_rx => None,
                }
            });
            online.store(false, Ordering::Relaxed);
            if let Some(Err(e)) = res {
                tracing::warn!("chat listener stopped: {e}");
                emit(ChatPush::SignedOut { reason: e.to_string() });
            }
        })
        .map_err(|e| AppError::Internal(format!("starting the chat listener: {e}")))?;
    Ok(stop_tx)
}

/// A desktop notification for a message from someone else, unless the
/// window has focus (the screen shows it already).
fn notify_message(app: &AppHandle, conv: &str, from: &str, text: &str) {
    let focused = app.get_webview_window("main").and_then(|w| w.is_focused().ok()).unwrap_or(false);
    if focused {
        return;
    }
    let w = crate::tray::words(app);
    let title = if onair_proto::is_group_conv(conv) { w.group_from.replace("{from}", from) } else { from.to_string() };
    let body: String = if text.is_empty() { w.sent_file } else { text.chars().take(120).collect() };
    crate::tray::notify(app, &title, &body);
}

/// "alice is live: TITLE", once per go-live (the relay sends one).
fn notify_live(app: &AppHandle, owner: &str, title: &str) {
    let w = crate::tray::words(app);
    let title: String = title.chars().take(120).collect();
    crate::tray::notify(app, "OnAir", &w.live_now.replace("{owner}", owner).replace("{title}", &title));
}

fn status_of(state: &AppState, chat: &ChatState) -> ChatStatus {
    let g = chat.lock();
    ChatStatus {
        signed_in: g.is_some(),
        user: g.as_ref().map(|s| s.client.me().to_string()),
        relay: state.relay.url.clone(),
        online: g.as_ref().is_some_and(|s| s.online.load(Ordering::Relaxed)),
        embedded: state.relay.embedded,
    }
}

/// The session state; picks up credentials saved since start (by
/// `onair account login` in the same ONAIR_HOME, for example).
#[tauri::command]
pub fn chat_status(app: AppHandle) -> AppResult<ChatStatus> {
    if app.state::<ChatState>().lock().is_none() {
        resume(&app)?;
    }
    Ok(status_of(&app.state::<AppState>(), &app.state::<ChatState>()))
}

/// Registers (`register`) or signs in on the app's relay, saves the
/// credentials (mode 0600) and starts the listener.
#[tauri::command]
pub async fn chat_sign_in(app: AppHandle, user: String, password: String, register: bool) -> AppResult<ChatStatus> {
    let user = user.trim().to_string();
    if !onair_proto::valid_username(&user) {
        return Err(AppError::Invalid("user names are 1–32 of a-z 0-9 _ . - starting with a letter or digit".into()));
    }
    if password.is_empty() {
        return Err(AppError::Invalid("enter a password".into()));
    }
    let (home, relay) = {
        let s = app.state::<AppState>();
        (s.home.clone(), s.relay.url.clone())
    };
    // Signing in again shows the token this device still holds, so others'
    // wrong guesses at the account never slow or refuse its owner here.
    let device = if register { None } else { account::device_token(&home, &relay, &user) };
    let creds = account::sign_in_device(&relay, &user, &password, register, device.as_deref()).await?;
    account::save(&home, &creds)?;
    *app.state::<ChatState>().lock() = None;
    resume(&app)?;
    Ok(status_of(&app.state::<AppState>(), &app.state::<ChatState>()))
}

/// Revokes the token (best effort), forgets it and stops the listener.
/// The local cache stays for the next sign-in.
#[tauri::command]
pub async fn chat_sign_out(state: State<'_, AppState>, chat: State<'_, ChatState>) -> AppResult<ChatStatus> {
    let creds = account::load(&state.home).ok();
    chat.lock().take();
    if let Some(mut c) = creds {
        c.relay = state.relay.url.clone();
        if let Err(e) = account::logout(&c).await {
            tracing::warn!("could not revoke the token on the relay: {e}");
        }
        account::forget(&state.home)?;
    }
    Ok(status_of(&state, &chat))
}

/// Every cached conversation with unread counts and its latest message.
#[tauri::command]
pub fn chat_conversations(chat: State<'_, ChatState>) -> AppResult<Vec<ConvSummary>> {
    chat.with(|c| {
        let me = c.me().to_string();
        Ok(c.cache.summaries(&me)?)
    })
}

/// The last `limit` messages of a conversation, from the cache.
#[tauri::command]
pub fn chat_history(chat: State<'_, ChatState>, conv: String, limit: Option<u32>) -> AppResult<Vec<Message>> {
    chat.with(|c| {
        c.cache.purge_burned(onair_chat::now_ms())?;
        Ok(c.cache.history(&conv, limit.unwrap_or(200).min(2000))?)
    })
}

/// Where a message goes, as the UI names it.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum To {
    User(String),
    Conv(String),
}

/// Queues a message (the pending echo is returned at once); the listener
/// delivers it, or later when the relay is back.
#[tauri::command]
pub fn chat_send(chat: State<'_, ChatState>, to: To, text: String, burn_secs: Option<u32>) -> AppResult<Message> {
    if text.trim().is_empty() {
        return Err(AppError::Invalid("nothing to send".into()));
    }
    let target = match to {
        To::User(u) => Target::User(u.trim().to_string()),
        To::Conv(c) => Target::Conv(c),
    };
    let m = chat.with(|c| Ok(c.queue(target, text, burn_secs.filter(|s| *s > 0), None)?))?;
    chat.flush();
    Ok(m)
}

/// Sends a failed message again.
#[tauri::command]
pub fn chat_retry(chat: State<'_, ChatState>, id: String) -> AppResult<Message> {
    let m = chat.with(|c| Ok(c.retry(&id)?))?;
    chat.flush();
    Ok(m)
}

/// Recalls one of my messages for everyone (the relay's window applies);
/// the listener brings the recall into the cache.
#[tauri::command]
pub async fn chat_recall(chat: State<'_, ChatState>, id: String) -> AppResult<()> {
    let (remote, _) = chat.remote()?;
    remote.rpc(Request::Recall { id }).await?;
    Ok(())
}

/// Marks a conversation read here (starting burn timers) and tells the
/// relay if it is reachable; otherwise the next sync does.
#[tauri::command]
pub async fn chat_read(app: AppHandle, chat: State<'_, ChatState>, conv: String) -> AppResult<u64> {
    let (remote, me) = chat.remote()?;
    let seq = chat.with(|c| Ok(c.cache.mark_read(&me, &conv, None, onair_chat::now_ms())?))?;
    crate::appstate::unread_changed(&app);
    if seq > 0 && remote.rpc(Request::Read { conv: conv.clone(), seq }).await.is_ok() {
        chat.with(|c| Ok(c.cache.set_read_sent(&conv, seq)?))?;
    }
    Ok(seq)
}

/// Full-text search over every cached message, newest first.
#[tauri::command]
pub fn chat_search(chat: State<'_, ChatState>, query: String, limit: Option<u32>) -> AppResult<Vec<Message>> {
    chat.with(|c| Ok(c.cache.search(&query, limit.unwrap_or(50).min(500))?))
}

/// Friends, requests both ways and blocked users, with presence.
#[tauri::command]
pub async fn chat_friends(chat: State<'_, ChatState>) -> AppResult<Vec<FriendInfo>> {
    let (remote, _) = chat.remote()?;
    match remote.rpc(Request::FriendsList).await? {
        Response::Friends { friends } => Ok(friends),
        other => Err(AppError::Internal(format!("unexpected answer to friends: {other:?}"))),
    }
}

/// add | accept | remove | block | unblock
#[tauri::command]
pub async fn chat_friend(chat: State<'_, ChatState>, action: String, user: String) -> AppResult<()> {
    let user = user.trim().to_string();
    if !onair_proto::valid_username(&user) {
        return Err(AppError::Invalid(format!("{user:?} is not a user name")));
    }
    let req = match action.as_str() {
        "add" => Request::FriendAdd { user },
        "accept" => Request::FriendAccept { user },
        "remove" => Request::FriendRemove { user },
        "block" => Request::Block { user },
        "unblock" => Request::Unblock { user },
        other => return Err(AppError::Invalid(format!("unknown friend action {other:?}"))),
    };
    let (remote, _) = chat.remote()?;
    remote.rpc(req).await?;
    Ok(())
}

/// Who may start a 1:1 chat with me: "anyone" or "friends".
#[tauri::command]
pub async fn chat_privacy(chat: State<'_, ChatState>, accept_from: AcceptFrom) -> AppResult<()> {
    let (remote, _) = chat.remote()?;
    remote.rpc(Request::SetPrivacy { accept_from }).await?;
    Ok(())
}

/// Creates a group I own; the listener fetches it on the relay's
/// conversation-changed event, and the answer is cached at once too.
#[tauri::command]
pub async fn chat_group_create(chat: State<'_, ChatState>, name: String, members: Vec<String>) -> AppResult<ConvInfo> {
    let (remote, _) = chat.remote()?;
    let members: Vec<String> = members.into_iter().map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).collect();
    match remote.rpc(Request::GroupCreate { name: name.trim().to_string(), members }).await? {
        Response::Conv { conv } => {
            chat.with(|c| Ok(c.cache.upsert_conv(&conv)?))?;
            Ok(conv)
        }
        other => Err(AppError::Internal(format!("unexpected answer to group create: {other:?}"))),
    }
}

/// add | remove (owner only) a member, or leave.
#[tauri::command]
pub async fn chat_group(chat: State<'_, ChatState>, action: String, conv: String, user: Option<String>) -> AppResult<()> {
    let need_user = || user.clone().map(|u| u.trim().to_string()).filter(|u| !u.is_empty()).ok_or_else(|| AppError::Invalid("which user?".into()));
    let req = match action.as_str() {
        "add" => Request::GroupAdd { conv, user: need_user()? },
        "remove" => Request::GroupRemove { conv, user: need_user()? },
        "leave" => Request::GroupLeave { conv },
        other => return Err(AppError::Invalid(format!("unknown group action {other:?}"))),
    };
    let (remote, _) = chat.remote()?;
    remote.rpc(req).await?;
    Ok(())
}
