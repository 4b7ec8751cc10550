//! The chat client as the app and the CLI use it: an account, its cache,
//! and the driver that moves messages between them and the relay.

use crate::account::{self, Credentials};
use crate::cache::{new_message_id, Cache, Message, Outgoing};
use crate::error::{ChatError, NetError};
use crate::net::{copy_error, with_task, Connection, Http, LinkEvent, LinkOptions, LinkTask, RelayLink, RelayUrl, Topic};
use crate::sync::{self, Report};
use crate::net::Method;
use onair_proto::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub struct Client {
    pub home: PathBuf,
    pub creds: Credentials,
    pub cache: Cache,
    url: RelayUrl,
    /// How long one connect may take before we call the relay unreachable.
    pub connect_timeout: Duration,
    /// How often a listening client looks at the outbox between events.
    pub poll_interval: Duration,
}

/// What a listening client reports ([`Client::listen_updates`]).
#[derive(Debug)]
pub enum Update<'a> {
    /// Connected and caught up: outbox delivered, `fetched` new entries stored.
    Online { fetched: usize },
    /// The relay cannot be reached (or the connection dropped); the next
    /// attempt is in `retry_in`. Reads and queued sends keep working.
    Offline { error: &'a NetError, retry_in: Duration },
    /// Outbox messages the relay acknowledged (`sent`) or refused for good.
    Delivered { sent: usize, failed: usize },
    /// Burn-after-read messages expired and were deleted here.
    Burned,
    /// An event from the relay, already applied to the cache.
    Event(&'a Event),
}

/// What a front end asks of a listening client ([`Client::listen_updates`]).
#[derive(Debug)]
pub enum Command {
    /// Deliver the outbox now (something was just queued).
    Flush,
    /// Send a request on the live socket; the answer comes back on `reply`
    /// (front ends holding the [`RelayLink`] can call it directly).
    Request { req: Request, reply: tokio::sync::oneshot::Sender<Result<Response, NetError>> },
}

/// The relay's HTTP request endpoints for one signed-in account.
#[derive(Clone)]
pub struct Remote {
    url: RelayUrl,
    token: String,
}

impl std::fmt::Debug for Remote {
    // Never print the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("url", &self.url).finish_non_exhaustive()
    }
}

impl Remote {
    /// A request over HTTP (`POST /v1/rpc`).
    pub async fn rpc(&self, req: Request) -> Result<Response, NetError> {
        Http::new(self.url.clone()).json(Method::POST, "/v1/rpc", Some(&self.token), &req).await
    }

    /// The relay's server recordings of this user's calls.
    pub fn cloud(&self) -> crate::cloud::CloudApi {
        crate::cloud::CloudApi::new(self.url.clone(), self.token.clone())
    }

    /// The account token, to hand to another part that talks to this relay
    /// for the user (the call engine's media leg to the server's recorder).
    /// Never log or show it.
    pub fn bearer(&self) -> &str {
        &self.token
    }

    /// The relay's base URL, `http://host:port`.
    pub fn base(&self) -> String {
        self.url.http()
    }

    /// Uploads a file for `conv` (as [`Client::upload`]) and reports the bytes handed to the connection so
    /// far (in 64 KiB steps), for a progress bar.
    pub async fn upload(&self, conv: &str, name: &str, bytes: Vec<u8>, progress: impl Fn(u64) + Send + Sync + 'static) -> Result<Attachment, NetError> {
        let mut http = Http::new(self.url.clone());
        // A file of several MB on a slow uplink takes longer than a request.
        http.timeout = Duration::from_secs(600);
        let pq = format!("/v1/attachments?conv={}&name={}", enc(conv), enc(name));
        let total = bytes.len();
        let parts: Vec<Vec<u8>> = bytes.chunks(64 * 1024).map(<[u8]>::to_vec).collect();
        // The stream is pulled as the connection takes data, so this counts what went out.
        let mut sent = 0u64;
        let chunks = parts.into_iter().map(move |c| {
            sent += c.len() as u64;
            progress(sent);
            Ok::<_, std::io::Error>(c)
        });
        let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
        // The length up front lets the relay refuse an oversized file before it is sent.
        let req = http.request(Method::POST, &pq, Some(&self.token))?.header("content-type", "application/octet-stream").header("content-length", total).body(body);
        let (status, body) = http.send(req).await?;
        crate::net::http_decode(status, &body)
    }

    /// An attachment's bytes (as [`Client::download`]).
    pub async fn download(&self, id: &str) -> Result<Vec<u8>, NetError> {
        let mut http = Http::new(self.url.clone());
        http.timeout = Duration::from_secs(600);
        let (status, body) = http.call(Method::GET, &format!("/v1/attachments/{}", enc(id)), Some(&self.token), "application/octet-stream", Vec::new()).await?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        crate::net::http_decode::<serde_json::Value>(status, &body).map(|_| Vec::new())
    }
}

/// Delays between delivery attempts: doubling from 250 ms, capped at 5 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((250u64 << attempt.min(5)).min(5000))
}

impl Client {
    /// Opens the signed-in account under `home` and its cache.
    pub fn open(home: &Path) -> Result<Self, ChatError> {
        let creds = account::load(home)?;
        let url = RelayUrl::parse(&creds.relay)?;
        let cache = Cache::open(&home.join(format!("chat-{}.db", creds.user)))?;
        Ok(Client { home: home.into(), creds, cache, url, connect_timeout: Duration::from_secs(5), poll_interval: Duration::from_millis(500) })
    }

    pub fn me(&self) -> &str {
        &self.creds.user
    }

    /// The conversation a target names, known offline too.
    pub fn conv_of(&self, target: &Target) -> Result<String, ChatError> {
        match target {
            Target::User(u) if valid_username(u) => Ok(dm_conv_id(self.me(), u)),
            Target::Conv(c) if valid_conv_id(c) => Ok(c.clone()),
            Target::User(u) => Err(ChatError::Invalid(format!("{u:?} is not a valid user name"))),
            Target::Conv(c) => Err(ChatError::Invalid(format!("{c:?} is not a conversation id"))),
        }
    }

    /// Writes the message to the outbox (the local echo shows `pending`).
    pub fn queue(&mut self, target: Target, text: String, burn_secs: Option<u32>, attachment: Option<Attachment>) -> Result<Message, ChatError> {
        let conv = self.conv_of(&target)?;
        let id = new_message_id().map_err(|e| ChatError::Invalid(format!("OS random source: {e}")))?;
        let me = self.creds.user.clone();
        let out = Outgoing { id, target, text, burn_secs, attachment, attempts: 0 };
        Ok(self.cache.queue(&me, &conv, &out, now_ms(), )?)
    }

    /// One WebSocket to the relay, requests answered in turn (tests,
    /// `onair room chat`).
    pub async fn connect(&self) -> Result<Connection, NetError> {
        Connection::connect(&self.url.ws(), &self.creds.token, self.connect_timeout).await
    }

    /// How this account's relay link behaves.
    pub fn link_options(&self) -> LinkOptions {
        LinkOptions { connect_timeout: self.connect_timeout, ..LinkOptions::default() }
    }

    /// The account's relay link, not dialled yet: run the task (spawn it,
    /// or hand it to [`Client::listen_link`]) and share the handle with
    /// everything else that talks to the relay (calls, room chat).
    pub fn link(&self) -> (RelayLink, LinkTask) {
        RelayLink::new(&self.url.ws(), &self.creds.token, self.link_options())
    }

    /// One round: connect, flush the outbox, fetch everything new.
    pub async fn sync_once(&mut self) -> Result<Report, ChatError> {
        let me = self.creds.user.clone();
        self.cache.purge_burned(now_ms())?;
        let opts = LinkOptions { reconnect: false, ..self.link_options() };
        let (link, task) = RelayLink::connect(&self.url.ws(), &self.creds.token, opts).await?;
        let cache = &mut self.cache;
        let r = with_task(Some(task), async {
            let (sent, failed) = sync::flush_outbox(&link, cache, &me).await?;
            let (conversations, fetched) = sync::fetch_all(&link, cache, &me, 500).await?;
            link.close();
            Ok::<_, ChatError>((sent, failed, conversations, fetched))
        })
        .await;
        link.close();
        let (sent, failed, conversations, fetched) = r?;
        Ok(Report { sent, failed, fetched, conversations, pending: self.cache.outbox_len()? })
    }

    /// Retries [`Client::sync_once`] with capped backoff until it succeeds,
    /// fails for good, or `within` has passed.
    pub async fn sync(&mut self, within: Duration) -> Result<Report, ChatError> {
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            match self.sync_once().await {
                Ok(r) => return Ok(r),
                Err(ChatError::Net(e)) if e.is_transient() && start.elapsed() + backoff(attempt) < within => {
                    tracing::info!(error = %e, attempt, "sync failed; retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Stays connected: delivers the outbox, fetches, then applies pushed
    /// events and hands each to `on_event`; reconnects with backoff. Returns
    /// only on a permanent error (for example a revoked token).
    pub async fn listen(&mut self, mut on_event: impl FnMut(&Event)) -> Result<(), ChatError> {
        // No commands: the sender is dropped, so the channel only ever says "closed".
        let (_, mut commands) = tokio::sync::mpsc::channel(1);
        self.listen_updates(&mut commands, |u| {
            if let Update::Event(ev) = u {
                on_event(ev)
            }
        })
        .await
    }

    /// [`Client::listen`] for front ends that show state and act on the
    /// live connection: besides events it reports going online and offline
    /// and outbox deliveries (so a window can show an offline indicator and
    /// turn `pending` into `sent`), and it takes [`Command`]s: deliver the
    /// outbox now, or send a request on this socket (room chat is joined
    /// per socket). While offline, requests are answered at once with
    /// [`NetError::Closed`]. The listener owns its relay link here; see
    /// [`Client::listen_link`] to share one.
    pub async fn listen_updates(&mut self, commands: &mut tokio::sync::mpsc::Receiver<Command>, on: impl FnMut(Update<'_>)) -> Result<(), ChatError> {
        let (link, task) = self.link();
        self.listen_link(&link, Some(task), commands, on).await
    }

    /// [`Client::listen_updates`] on a relay link others use too (the app's
    /// calls and room chat ride on it). `task` is the link's task when
    /// this listener should run it. Every relay event (chat, call, room) is
    /// reported; chat events are applied to the cache first. On each
    /// (re)connection the outbox is delivered and everything new fetched
    /// before [`Update::Online`].
    pub async fn listen_link(&mut self, link: &RelayLink, task: Option<LinkTask>, commands: &mut tokio::sync::mpsc::Receiver<Command>, mut on: impl FnMut(Update<'_>)) -> Result<(), ChatError> {
        let me = self.creds.user.clone();
        let mut sub = link.subscribe(&Topic::ALL, 1024);
        let poll = self.poll_interval;
        let cache = &mut self.cache;
        let work = async {
            let mut commands_open = true;
            // The connection this cache has caught up on (None: not yet).
            let mut synced: Option<u64> = None;
            // The link's task is gone (closed by its owner).
            let mut ended = false;
            loop {
                if ended {
                    return Err(ChatError::Net(NetError::Closed));
                }
                let (up, gen) = link.status();
                let r: Result<(), ChatError> = async {
                    if up && synced != Some(gen) {
                        let (sent, failed) = sync::flush_outbox(link, cache, &me).await?;
                        let (_, fetched) = sync::fetch_all(link, cache, &me, 500).await?;
                        synced = Some(gen);
                        on(Update::Online { fetched });
                        if sent + failed > 0 {
                            on(Update::Delivered { sent, failed });
                        }
                    }
                    if cache.purge_burned(now_ms())? > 0 {
                        on(Update::Burned);
                    }
                    // New messages queued by another process (`chat send`),
                    // or by the app through its own cache handle, go out
                    // while we listen.
                    if synced == Some(gen) && link.is_up() && cache.outbox_len()? > 0 {
                        let (sent, failed) = sync::flush_outbox(link, cache, &me).await?;
                        if sent + failed > 0 {
                            on(Update::Delivered { sent, failed });
                        }
                    }
                    // All branches are cancel-safe.
                    tokio::select! {
                        biased;
                        c = commands.recv(), if commands_open => match c {
                            None => commands_open = false,
                            Some(Command::Flush) => {}
                            Some(Command::Request { req, reply }) => {
                                let answer = link.start(req);
                                tokio::spawn(async move {
                                    let r = match answer.await {
                                        Ok(r) => Ok(r),
                                        Err(NetError::Refused { code, message }) => Err(NetError::Refused { code, message }),
                                        Err(_) => Err(NetError::Closed),
                                    };
                                    let _ = reply.send(r);
                                });
                            }
                        },
                        e = sub.next() => match e {
                            None => ended = true,
                            Some(LinkEvent::Failed(e)) => return Err(ChatError::Net(copy_error(&e))),
                            Some(LinkEvent::Up { .. }) => {}
                            Some(LinkEvent::Down { error, retry_in }) => on(Update::Offline { error: &*error, retry_in }),
                            Some(LinkEvent::Lagged(n)) => {
                                // Fetch what the dropped events said.
                                tracing::warn!(n, "chat listener fell behind; fetching again");
                                synced = None;
                            }
                            Some(LinkEvent::Event(ev)) => {
                                if synced == Some(gen) && Topic::of(&ev) == Topic::Chat {
                                    sync::apply_event(link, cache, &me, &ev).await?;
                                }
                                on(Update::Event(&ev));
                            }
                        },
                        _ = tokio::time::sleep(poll) => {}
                    }
                    Ok(())
                }
                .await;
                match r {
                    Ok(()) => {}
                    Err(ChatError::Net(e)) if e.is_transient() => {
                        // The connection failed us (a dropped answer, a gap
                        // the relay left): catch up on a fresh one. The
                        // link reports the drop (Offline) itself.
                        tracing::info!(error = %e, "chat sync failed; reconnecting");
                        synced = None;
                        link.reconnect(gen);
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        with_task(task, work).await
    }

    /// Sends one of my failed messages again (same id, so never twice):
    /// it goes back to the outbox as pending; the next flush delivers it.
    pub fn retry(&mut self, id: &str) -> Result<Message, ChatError> {
        let me = self.creds.user.clone();
        self.cache.requeue_failed(&me, id, now_ms())?.ok_or_else(|| ChatError::Invalid(format!("no failed message {id:?} of yours to retry")))
    }

    /// The relay's request endpoints without this client's cache, for
    /// front ends that keep the cache behind a lock and must not hold it
    /// across network calls.
    pub fn remote(&self) -> Remote {
        Remote { url: self.url.clone(), token: self.creds.token.clone() }
    }

    /// A request over HTTP (`POST /v1/rpc`): for one-off commands that need
    /// no socket.
    pub async fn rpc(&self, req: Request) -> Result<Response, NetError> {
        self.remote().rpc(req).await
    }

    /// Recalls one of my messages for everyone, then syncs so this cache
    /// shows it recalled.
    pub async fn recall(&mut self, id: &str) -> Result<(), ChatError> {
        self.rpc(Request::Recall { id: id.into() }).await?;
        self.sync_once().await?;
        Ok(())
    }

    /// Marks `conv` read here, then tells the relay if it can be reached
    /// (otherwise the next sync does).
    pub async fn read(&mut self, conv: &str, upto: Option<u64>) -> Result<u64, ChatError> {
        let me = self.creds.user.clone();
        let seq = self.cache.mark_read(&me, conv, upto, now_ms())?;
        if self.rpc(Request::Read { conv: conv.into(), seq }).await.is_ok() {
            self.cache.set_read_sent(conv, seq)?;
        }
        Ok(seq)
    }

    /// Uploads a file for `conv`; the returned attachment goes in a message.
    pub async fn upload(&self, conv: &str, name: &str, mime: &str, bytes: Vec<u8>) -> Result<Attachment, NetError> {
        let http = Http::new(self.url.clone());
        let pq = format!("/v1/attachments?conv={}&name={}", enc(conv), enc(name));
        let (status, body) = http.call(Method::POST, &pq, Some(&self.creds.token), mime, bytes).await?;
        crate::net::http_decode(status, &body)
    }

    pub async fn download(&self, id: &str) -> Result<Vec<u8>, NetError> {
        let http = Http::new(self.url.clone());
        let (status, body) = http.call(Method::GET, &format!("/v1/attachments/{}", enc(id)), Some(&self.creds.token), "application/octet-stream", Vec::new()).await?;
        if status.is_success() {
            Ok(body.to_vec())
        } else {
            crate::net::http_decode::<serde_json::Value>(status, &body).map(|_| Vec::new())
        }
    }
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
