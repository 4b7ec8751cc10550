//! Server-side call recordings from the command line (issue 16):
//! `onair recordings cloud …`, and the watcher `onair call` runs so both
//! sides see "Recorded by the server" while the relay records.

use super::chat_common::{home, json_line, runtime};
use anyhow::Context;
use clap::Subcommand;
use onair_chat::account;
use onair_chat::net::{Http, Method, RelayUrl};
use onair_proto::cloud::*;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum CloudCommand {
    /// Server recordings of your calls, newest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One recording with its bookmarks and its access audit.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Download a recording (decrypted by the relay for you) as MP4.
    Download {
        id: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Keep a recording whatever the relay's retention.
    Pin { id: String },
    /// Let the relay's retention delete it again.
    Unpin { id: String },
    /// Delete a recording from the relay.
    Delete { id: String },
    /// Your standing answer to being recorded by the server: ask | allow | never
    /// (without one: show it).
    Consent { answer: Option<String> },
    /// Answer another participant's request to record: yes | no.
    Answer { id: String, answer: String },
}

fn creds() -> anyhow::Result<(String, Http)> {
    let c = account::load(&home()).context("server recordings need a signed-in account (onair account login)")?;
    Ok((c.token, Http::new(RelayUrl::parse(&c.relay)?)))
}

fn check_id(id: &str) -> anyhow::Result<()> {
    if id.len() == 17 && id.starts_with('r') && id[1..].bytes().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        anyhow::bail!("{id:?} is not a server recording id (like r0123456789abcdef; see `onair recordings cloud list`)")
    }
}

fn stamp(ms: i64) -> String {
    crate::time::utc_stamp(ms / 1000, " ")
}

fn line(r: &CloudRecording) -> String {
    let s = r.duration_ms / 1000;
    format!(
        "{}  {}  {:>2}:{:02}:{:02}  {:>9}  {:<9} {:<6} {} ↔ {}{}{}",
        r.id,
        stamp(r.created_at),
        s / 3600,
        s / 60 % 60,
        s % 60,
        format!("{:.1} MB", r.bytes as f64 / 1e6),
        serde_json::to_value(r.state).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
        r.tier.name(),
        r.caller,
        r.callee,
        if r.pinned { "  pinned" } else { "" },
        if r.bookmarks.is_empty() { String::new() } else { format!("  {} bookmarks", r.bookmarks.len()) },
    )
}

pub fn run(cmd: CloudCommand) -> anyhow::Result<i32> {
    let rt = runtime()?;
    let (token, http) = creds()?;
    let api = onair_chat::cloud::CloudApi::new(http.url.clone(), token);
    rt.block_on(async {
        match cmd {
            CloudCommand::List { json } => {
                let v = api.list().await?;
                if json {
                    json_line(&v);
                } else if v.is_empty() {
                    println!("no server recordings");
                } else {
                    v.iter().for_each(|r| println!("{}", line(r)));
                }
            }
            CloudCommand::Show { id, json } => {
                check_id(&id)?;
                let r = api.show(&id).await?;
                if json {
                    json_line(&r);
                } else {
                    println!("{}", line(&r));
                    for b in &r.bookmarks {
                        println!("  bookmark {:>8.1} s  {}  by {}", b.t_ms as f64 / 1000.0, b.label, b.by);
                    }
                    for a in &r.audit {
                        println!("  audit {}  {:<10} {}", stamp(a.at), a.user, a.action);
                    }
                }
            }
            CloudCommand::Download { id, out } => {
                check_id(&id)?;
                let n = api.download(&id, &out, |_, _| {}).await.map_err(|e| anyhow::anyhow!("downloading {id}: {e}"))?;
                println!("downloaded {id} to {} ({:.1} MB)", out.display(), n as f64 / 1e6);
            }
            CloudCommand::Pin { id } => {
                check_id(&id)?;
                api.pin(&id, true).await.map_err(refusal)?;
                println!("pinned {id}");
            }
            CloudCommand::Unpin { id } => {
                check_id(&id)?;
                api.pin(&id, false).await.map_err(refusal)?;
                println!("unpinned {id}");
            }
            CloudCommand::Delete { id } => {
                check_id(&id)?;
                api.delete(&id).await.map_err(refusal)?;
                println!("deleted {id}");
            }
            CloudCommand::Consent { answer: None } => println!("{}", name(api.consent().await?)),
            CloudCommand::Consent { answer: Some(a) } => {
                let answer: ConsentAnswer = a.parse().map_err(anyhow::Error::msg)?;
                println!("server recording: {}", name(api.set_consent(answer).await?));
            }
            CloudCommand::Answer { id, answer } => {
                check_id(&id)?;
                let accept = match answer.as_str() {
                    "yes" => true,
                    "no" => false,
                    _ => anyhow::bail!("answer yes or no"),
                };
                api.answer(&id, accept).await.map_err(refusal)?;
                println!("server recording {id}: {}", if accept { "accepted" } else { "declined" });
            }
        }
        Ok(0)
    })
}

/// The relay's refusal in the words the CLI has always printed.
fn refusal(e: onair_chat::NetError) -> anyhow::Error {
    match e {
        onair_chat::NetError::Refused { message, .. } => anyhow::anyhow!("the relay refused: {message}"),
        e => e.into(),
    }
}

fn name(a: ConsentAnswer) -> String {
    serde_json::to_value(a).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

fn ok_or_refused(s: onair_chat::net::StatusCode, body: &[u8]) -> anyhow::Result<()> {
    if s.is_success() {
        return Ok(());
    }
    match serde_json::from_slice::<onair_proto::ErrorBody>(body) {
        Ok(e) => anyhow::bail!("the relay refused: {}", e.message),
        Err(_) => anyhow::bail!("the relay answered HTTP {s}"),
    }
}

/// A POST whose answer has no body worth reading.
async fn post(http: &Http, t: Option<&str>, path: &str, body: Vec<u8>) -> anyhow::Result<()> {
    let (s, b) = http.call(Method::POST, path, t, "application/json", body).await?;
    ok_or_refused(s, &b)
}

async fn answer_request(http: &Http, t: Option<&str>, id: &str, accept: bool) -> anyhow::Result<()> {
    post(http, t, &format!("/v1/cloud/recordings/{id}/consent"), serde_json::to_vec(&CloudConsent { accept })?).await?;
    println!("server recording {id}: {}", if accept { "accepted" } else { "declined" });
    Ok(())
}

/// What `onair call`'s stdin asks of the server recording.
pub enum CallCloud {
    Start,
    Stop,
    Bookmark(String),
    Answer(bool),
}

/// A thread beside `onair call`: runs `record cloud …` commands and reads
/// the relay's running recordings whenever its `cloud_recording` push
/// comes (the call's driver forwards it: `pushes`), and every 5 s in case
/// one was missed (a reconnect), so this side prints when a server
/// recording of its call starts, stops or fails — whoever started it.
pub struct CloudWatcher {
    pub tx: mpsc::Sender<CallCloud>,
    running: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl CloudWatcher {
    /// The running recording's id (stdin's `b` goes to it).
    pub fn running(&self) -> Option<String> {
        self.running.lock().ok().and_then(|g| g.clone())
    }
}

pub fn watch(relay: &str, token: String, tier: Option<Tier>, start_now: bool, pushes: mpsc::Receiver<onair_proto::Event>) -> anyhow::Result<CloudWatcher> {
    let http = Http::new(RelayUrl::parse(relay)?);
    let (tx, rx) = mpsc::channel();
    let running = std::sync::Arc::new(std::sync::Mutex::new(None));
    let shown = running.clone();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::Builder::new().name("cloud-rec".into()).spawn(move || {
        rt.block_on(watch_loop(http, token, tier, start_now, rx, pushes, shown));
    })?;
    Ok(CloudWatcher { tx, running })
}

/// Without a push, the running recordings are read again this often.
const FALLBACK_READ: Duration = Duration::from_secs(5);

async fn watch_loop(
    http: Http,
    token: String,
    tier: Option<Tier>,
    mut start_now: bool,
    rx: mpsc::Receiver<CallCloud>,
    pushes: mpsc::Receiver<onair_proto::Event>,
    shown: std::sync::Arc<std::sync::Mutex<Option<String>>>,
) {
    let t = Some(token.as_str());
    // What this side last printed per recording id: its state.
    let mut seen: std::collections::HashMap<String, CloudState> = Default::default();
    let mut my_id: Option<String> = None;
    let mut pending: Option<CallCloud> = None;
    loop {
        let cmd = match pending.take().map(Ok).unwrap_or_else(|| rx.try_recv()) {
            Ok(c) => Some(c),
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => return,
        };
        if start_now {
            // --record-cloud: the relay accepts once the call is answered.
            match http.json::<CloudRecording>(Method::POST, "/v1/cloud/recordings", t, &StartCloudRecording { call_id: None, tier }).await {
                Ok(r) => {
                    start_now = false;
                    my_id = Some(r.id);
                }
                Err(onair_chat::NetError::Refused {
                    code: onair_proto::ErrorCode::NoSuchCall,
                    ..
                }) => {}
                Err(e) => {
                    start_now = false;
                    println!("server recording refused: {e}");
                }
            }
        }
        // Relay unreachable (restarting): nothing is known to have changed.
        let (live, reached) = match http.json::<Vec<CloudRecording>>(Method::GET, "/v1/cloud/live", t, &serde_json::json!({})).await {
            Ok(l) => (l, true),
            Err(_) => (Vec::new(), false),
        };
        match cmd {
            Some(CallCloud::Start) => match http.json::<CloudRecording>(Method::POST, "/v1/cloud/recordings", t, &StartCloudRecording { call_id: None, tier }).await {
                Ok(r) => my_id = Some(r.id),
                Err(e) => println!("server recording refused: {e}"),
            },
            Some(CallCloud::Stop) => match live.iter().find(|r| matches!(r.state, CloudState::Recording | CloudState::Pending)) {
                Some(r) => {
                    if let Err(e) = post(&http, t, &format!("/v1/cloud/recordings/{}/stop", r.id), Vec::new()).await {
                        println!("server recording: {e}");
                    }
                }
                None => println!("no server recording is running"),
            },
            Some(CallCloud::Bookmark(label)) => {
                if let Some(r) = live.iter().find(|r| r.state == CloudState::Recording) {
                    let body = serde_json::to_vec(&NewCloudBookmark { label: label.clone() }).unwrap_or_default();
                    match post(&http, t, &format!("/v1/cloud/recordings/{}/bookmarks", r.id), body).await {
                        Ok(()) => println!("server bookmark {label:?} added"),
                        Err(e) => println!("server bookmark: {e}"),
                    }
                }
            }
            Some(CallCloud::Answer(yes)) => match live.iter().find(|r| r.state == CloudState::Pending && Some(&r.id) != my_id.as_ref()) {
                Some(r) => {
                    if let Err(e) = answer_request(&http, t, &r.id, yes).await {
                        println!("{e}");
                    }
                }
                None => println!("no server recording request is waiting for your answer"),
            },
            None => {}
        }
        for r in &live {
            let before = seen.insert(r.id.clone(), r.state);
            if before == Some(r.state) {
                continue;
            }
            match r.state {
                CloudState::Pending if Some(&r.id) == my_id.as_ref() => println!("server recording {} requested: waiting for the other side's answer", r.id),
                CloudState::Pending => println!(
                    "{} asks to record this call on the server ({}): answer with `record cloud yes` or `record cloud no`",
                    r.started_by, r.id
                ),
                CloudState::Recording => println!("Recorded by the server ({}, {}, started by {})", r.id, r.tier.name(), r.started_by),
                _ => {}
            }
        }
        let gone: Vec<String> = seen.keys().filter(|id| reached && !live.iter().any(|r| &r.id == *id)).cloned().collect();
        for id in gone {
            seen.remove(&id);
            // The final state says whether it stopped or failed. The relay
            // drops it from the live list before its row has the final state
            // (the remux runs in between): ask again until it has one.
            let mut end = None;
            for _ in 0..40 {
                end = http.json::<CloudRecording>(Method::GET, &format!("/v1/cloud/recordings/{id}"), t, &serde_json::json!({})).await.ok();
                if !end.as_ref().is_some_and(|r| matches!(r.state, CloudState::Recording | CloudState::Pending)) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            match end.map(|r| r.state) {
                Some(CloudState::Failed) => println!("server recording {id} failed: recording stopped (what was recorded is kept)"),
                Some(CloudState::Declined) => println!("server recording {id} declined"),
                _ => println!("server recording {id} stopped"),
            }
        }
        if let (true, Ok(mut g)) = (reached, shown.lock()) {
            *g = live.iter().find(|r| r.state == CloudState::Recording).map(|r| r.id.clone());
        }
        // Until the next push, command or fallback read (sooner while
        // --record-cloud waits for the call to be answered, or the relay is away).
        let wait = if start_now || !reached { Duration::from_millis(500) } else { FALLBACK_READ };
        let until = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < until {
            match pushes.try_recv() {
                Ok(_) => {
                    while pushes.try_recv().is_ok() {}
                    break;
                }
                Err(mpsc::TryRecvError::Empty) => {}
                // The call is over: the watcher reads as before.
                Err(mpsc::TryRecvError::Disconnected) => {}
            }
            match rx.try_recv() {
                Ok(c) => {
                    pending = Some(c);
                    break;
                }
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
