//! Live connections by user on this node, for fan-out and presence. What
//! crosses to other nodes goes through the bus (`bus/`), which hands this
//! hub the frames other nodes send to our connections.

use axum::extract::ws::Utf8Bytes;
use onair_proto::{Event, ServerFrame};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::mpsc;

type Conns = HashMap<String, Vec<(u64, mpsc::Sender<Utf8Bytes>)>>;

#[derive(Default)]
pub struct Hub {
    conns: Mutex<Conns>,
}

/// What a publish did, for metrics.
#[derive(Debug, Default, Clone, Copy)]
pub struct Published {
    pub delivered: u64,
    /// Connections dropped because their queue was full; they resync.
    pub dropped: u64,
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, Conns> {
        // A panic while holding this lock cannot leave the map inconsistent
        // (every update is a single insert/remove), so recover it.
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns true if this is the user's first live connection.
    pub fn register(&self, user: &str, id: u64, tx: mpsc::Sender<Utf8Bytes>) -> bool {
        let mut c = self.lock();
        let v = c.entry(user.to_string()).or_default();
        v.push((id, tx));
        v.len() == 1
    }

    /// Returns true if that was the user's last live connection.
    pub fn unregister(&self, user: &str, id: u64) -> bool {
        let mut c = self.lock();
        let Some(v) = c.get_mut(user) else { return false };
        let before = v.len();
        v.retain(|(i, _)| *i != id);
        if v.is_empty() {
            c.remove(user);
            return before > 0;
        }
        false
    }

    /// Queues one frame for one connection (call signaling is per device).
    /// Returns false if the connection is gone; one whose queue is full is
    /// dropped from the hub, as in [`Hub::publish`].
    pub fn send_to(&self, user: &str, conn: u64, frame: &ServerFrame) -> bool {
        self.send_text(user, conn, frame.to_json().into())
    }

    /// [`Hub::send_to`] for a frame already in JSON (from the bus).
    pub fn send_text(&self, user: &str, conn: u64, text: Utf8Bytes) -> bool {
        let mut c = self.lock();
        let Some(v) = c.get_mut(user) else { return false };
        let Some(pos) = v.iter().position(|(i, _)| *i == conn) else { return false };
        if v[pos].1.try_send(text).is_ok() {
            return true;
        }
        v.remove(pos);
        if v.is_empty() {
            c.remove(user);
        }
        false
    }

    pub fn is_online(&self, user: &str) -> bool {
        self.lock().contains_key(user)
    }

    pub fn connections(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    /// Every user with a connection here, and their connections.
    pub fn users(&self) -> Vec<(String, Vec<u64>)> {
        self.lock().iter().map(|(u, v)| (u.clone(), v.iter().map(|(i, _)| *i).collect())).collect()
    }

    /// Queues a frame already in JSON (from the bus) for every connection of `user`.
    pub fn deliver(&self, user: &str, text: Utf8Bytes) -> Published {
        self.publish_text(std::slice::from_ref(&user.to_string()), text)
    }

    /// Queues the event for every connection of `users`. A connection whose
    /// queue is full is dropped from the hub, which closes its channel and
    /// so the connection: a slow client must not stall everyone else.
    pub fn publish(&self, users: &[String], ev: Event) -> Published {
        self.publish_text(users, ServerFrame::Event { ev }.to_json().into())
    }

    fn publish_text(&self, users: &[String], text: Utf8Bytes) -> Published {
        let mut p = Published::default();
        let mut c = self.lock();
        for u in users {
            let Some(v) = c.get_mut(u) else { continue };
            v.retain(|(_, tx)| match tx.try_send(text.clone()) {
                Ok(()) => {
                    p.delivered += 1;
                    true
                }
                Err(_) => {
                    p.dropped += 1;
                    false
                }
            });
            if v.is_empty() {
                c.remove(u);
            }
        }
        p
    }
}
