//! What this node knows of the other nodes, sans IO: which are alive (a
//! heartbeat heard within the TTL) and which users each one holds. Time
//! comes in as milliseconds; the Redis driver (`redis.rs`) feeds it the
//! heartbeats and presence notes it hears, and asks it who is online.
//!
//! While this node's own link to Redis is down it hears nobody, so it must
//! not take the silence for death: the driver calls [`Mirror::grace`] when
//! the link comes back, and [`Mirror::expire`] only while the link is up.

use std::collections::{HashMap, HashSet};

#[derive(Debug, Default)]
struct NodeView {
    heard: i64,
    users: HashSet<String>,
}

#[derive(Debug)]
pub struct Mirror {
    ttl_ms: i64,
    nodes: HashMap<String, NodeView>,
}

impl Mirror {
    /// A node not heard from for `ttl_ms` is taken for dead.
    pub fn new(ttl_ms: i64) -> Self {
        Mirror { ttl_ms, nodes: HashMap::new() }
    }

    /// A heartbeat (or any note) from `node`.
    pub fn heard(&mut self, node: &str, now: i64) {
        self.nodes.entry(node.to_string()).or_default().heard = now;
    }

    /// `user` has a connection on `node`. True if the user was on no
    /// other node this mirror knows of (the caller adds its own).
    pub fn on(&mut self, node: &str, user: &str, now: i64) -> bool {
        let was = self.online(user);
        let v = self.nodes.entry(node.to_string()).or_default();
        v.heard = now;
        v.users.insert(user.to_string());
        !was
    }

    /// `user`'s last connection on `node` closed. True if the user is now
    /// on no other node this mirror knows of.
    pub fn off(&mut self, node: &str, user: &str, now: i64) -> bool {
        let Some(v) = self.nodes.get_mut(node) else { return false };
        v.heard = now;
        v.users.remove(user) && !self.online(user)
    }

    /// Whether `user` is on any other node.
    pub fn online(&self, user: &str) -> bool {
        self.nodes.values().any(|v| v.users.contains(user))
    }

    /// The nodes `user` is on.
    pub fn nodes_of(&self, user: &str) -> Vec<String> {
        self.nodes.iter().filter(|(_, v)| v.users.contains(user)).map(|(n, _)| n.clone()).collect()
    }

    pub fn alive(&self, node: &str, now: i64) -> bool {
        self.nodes.get(node).is_some_and(|v| now - v.heard < self.ttl_ms)
    }

    /// Every node gets a fresh TTL: our link was down, so we heard nobody.
    pub fn grace(&mut self, now: i64) {
        for v in self.nodes.values_mut() {
            v.heard = now;
        }
    }

    /// Replaces what we know with a snapshot read from Redis (after a
    /// reconnect, pub/sub notes may have been missed). Returns the users who
    /// came online and those who went offline, as other nodes go.
    pub fn load(&mut self, snapshot: Vec<(String, HashSet<String>)>, now: i64) -> (Vec<String>, Vec<String>) {
        let before: HashSet<String> = self.nodes.values().flat_map(|v| v.users.iter().cloned()).collect();
        self.nodes = snapshot.into_iter().map(|(n, users)| (n, NodeView { heard: now, users })).collect();
        let after: HashSet<String> = self.nodes.values().flat_map(|v| v.users.iter().cloned()).collect();
        (after.difference(&before).cloned().collect(), before.difference(&after).cloned().collect())
    }

    /// Forgets nodes not heard from within the TTL. Returns each dead node
    /// and its users who are now on no node at all (as far as we know).
    pub fn expire(&mut self, now: i64) -> Vec<(String, Vec<String>)> {
        let dead: Vec<String> = self.nodes.iter().filter(|(_, v)| now - v.heard >= self.ttl_ms).map(|(n, _)| n.clone()).collect();
        let mut out = Vec::new();
        for n in dead {
            let v = self.nodes.remove(&n).expect("listed just above");
            let gone = v.users.into_iter().filter(|u| !self.online(u)).collect();
            out.push((n, gone));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_crosses_and_a_silent_node_expires() {
        let mut m = Mirror::new(4000);
        assert!(m.on("b", "ann", 0), "first node for ann");
        assert!(!m.on("c", "ann", 10), "already online on b");
        assert!(m.online("ann"));
        assert!(!m.off("b", "ann", 20), "still on c");
        assert!(m.on("b", "bob", 30));
        m.heard("b", 3000);
        // c went silent at 10: dead at 4010; b heard at 3000 lives on.
        assert!(m.expire(4000).is_empty());
        assert_eq!(m.expire(4010), vec![("c".to_string(), vec!["ann".to_string()])]);
        assert!(!m.online("ann") && m.online("bob"));
        assert!(m.alive("b", 6999) && !m.alive("b", 7000) && !m.alive("c", 4010));
    }

    #[test]
    fn grace_after_our_own_outage_and_snapshot_diff() {
        let mut m = Mirror::new(4000);
        m.on("b", "ann", 0);
        // Our link was down for 10 s: nobody was heard, nobody is dead.
        m.grace(10_000);
        assert!(m.expire(10_001).is_empty());
        let snap = vec![("b".to_string(), HashSet::from(["bob".to_string()]))];
        let (on, off) = m.load(snap, 10_002);
        assert_eq!((on, off), (vec!["bob".to_string()], vec!["ann".to_string()]));
        assert_eq!(m.nodes_of("bob"), vec!["b".to_string()]);
    }
}
