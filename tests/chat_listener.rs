//! The long-lived chat client as the desktop app runs it
//! (`Client::listen_updates`) against a real relay process: it reports
//! online/offline and deliveries, delivers what another cache handle queued
//! as soon as it is told to (`Command::Flush`), answers requests sent on its
//! socket, and, while the relay is down, answers them at once with
//! `Closed` instead of hanging, then comes back online by itself.

mod chat_support;

use chat_support::{wait_for, Relay, User};
use onair_chat::{Client, Command, NetError, Update};
use onair_proto::{Event, Request, Response, Target};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What the listener reported, owned (Update borrows).
#[derive(Debug)]
enum Seen {
    Online,
    Offline,
    Delivered(usize, usize),
    Message(String),
    Other,
}

struct Listener {
    commands: tokio::sync::mpsc::Sender<Command>,
    seen: mpsc::Receiver<Seen>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    /// Runs `listen_updates` for the account in `home` on its own thread,
    /// with a poll interval long enough that only a Flush explains a fast delivery.
    fn start(home: &std::path::Path) -> Listener {
        let mut client = Client::open(home).unwrap();
        client.poll_interval = Duration::from_secs(30);
        let (commands, mut rx) = tokio::sync::mpsc::channel(16);
        let (seen_tx, seen) = mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                tokio::select! {
                    r = client.listen_updates(&mut rx, |u| {
                        let s = match u {
                            Update::Online { .. } => Seen::Online,
                            Update::Offline { .. } => Seen::Offline,
                            Update::Delivered { sent, failed } => Seen::Delivered(sent, failed),
                            Update::Event(Event::Message { entry, .. }) => Seen::Message(entry.text.clone()),
                            _ => Seen::Other,
                        };
                        let _ = seen_tx.send(s);
                    }) => panic!("listen_updates returned: {r:?}"),
                    _ = stop_rx => {}
                }
            });
        });
        Listener { commands, seen, stop: Some(stop), thread: Some(thread) }
    }

    /// Waits (60 s, for loaded machines) for a report matching `f`.
    fn expect(&self, what: &str, f: impl Fn(&Seen) -> bool) -> Duration {
        let start = Instant::now();
        loop {
            let left = Duration::from_secs(60).saturating_sub(start.elapsed());
            match self.seen.recv_timeout(left) {
                Ok(s) if f(&s) => return start.elapsed(),
                Ok(_) => {}
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    fn request(&self, rt: &tokio::runtime::Runtime, req: Request) -> Result<Response, NetError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        rt.block_on(async {
            self.commands.send(Command::Request { req, reply }).await.expect("listener running");
            tokio::time::timeout(Duration::from_secs(60), rx).await.expect("an answer within 60 s").expect("listener answered")
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn the_app_listener_reports_state_takes_commands_and_rides_out_a_relay_restart() {
    let mut relay = Relay::start();
    let alice = User::register(&relay, "alice");
    let bob = User::register(&relay, "bob");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();

    let l = Listener::start(alice.home_path());
    l.expect("online", |s| matches!(s, Seen::Online));

    // The app queues through its own cache handle, then wakes the listener:
    // delivered long before the 30 s poll would have found it.
    let mut ui = Client::open(alice.home_path()).unwrap();
    ui.queue(Target::User("bob".into()), "queued by the window".into(), None, None).unwrap();
    rt.block_on(l.commands.send(Command::Flush)).unwrap();
    let took = l.expect("the delivery", |s| matches!(s, Seen::Delivered(1, 0)));
    assert!(took < Duration::from_secs(25), "Flush delivered at once, not at the next poll ({took:?})");
    let h = bob.history("alice", false);
    assert_eq!(chat_support::texts(&h), ["queued by the window"]);

    // A request on the listener's socket gets its answer.
    match l.request(&rt, Request::FriendAdd { user: "bob".into() }) {
        Ok(Response::Done) => {}
        other => panic!("friend_add on the socket: {other:?}"),
    }
    match l.request(&rt, Request::FriendsList).unwrap() {
        Response::Friends { friends } => assert!(friends.iter().any(|f| f.user == "bob"), "{friends:?}"),
        other => panic!("friends_list: {other:?}"),
    }

    // Pushed messages arrive as events (already in the cache).
    bob.ok(&["chat", "send", "--to", "alice", "hi from the CLI"]);
    l.expect("bob's message", |s| matches!(s, Seen::Message(t) if t == "hi from the CLI"));
    assert!(ui.cache.history("dm:alice:bob", 10).unwrap().iter().any(|m| m.text == "hi from the CLI" && m.state == "received"));

    // Relay down: offline is reported, and a request is answered at once
    // (Closed) rather than waiting for a reconnect.
    relay.stop();
    l.expect("offline", |s| matches!(s, Seen::Offline));
    let start = Instant::now();
    match l.request(&rt, Request::FriendsList) {
        Err(NetError::Closed) => {}
        other => panic!("a request while offline: {other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(20), "answered without waiting for the relay ({:?})", start.elapsed());

    // Written offline, delivered after the relay is back, exactly once.
    ui.queue(Target::User("bob".into()), "written while offline".into(), None, None).unwrap();
    relay.start_again();
    l.expect("online again", |s| matches!(s, Seen::Online));
    wait_for(60, "the offline message at bob", || {
        let h = bob.history("alice", false);
        let n = chat_support::texts(&h).iter().filter(|t| *t == "written while offline").count();
        (n > 0).then_some(n)
    });
    assert_eq!(chat_support::texts(&bob.history("alice", false)).iter().filter(|t| *t == "written while offline").count(), 1);
}
