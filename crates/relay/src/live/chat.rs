//! Live-room chat (danmaku): who is in each room's chat, comments in order,
//! a per-user rate limit, a banned-words list, and the owner's mute and
//! kick. No IO: time comes in as `now`, the room's owner as a lookup, and
//! events leave through a `deliver` callback the driver (`ws.rs`) points at
//! the hub.
//!
//! `deliver` is called while this room's state is locked, so every viewer
//! receives a room's events in `seq` order even when two users post at the
//! same instant from different sockets.
//!
//! Room chat is live-only and kept in memory: comments, mutes and kicks
//! last while the relay runs (nothing goes to the store). Membership is per
//! connection and counted per user: a user is in a room's chat while any of
//! their sockets has joined it (until `room_leave` on it, a kick, or the
//! socket closing); events go to all of that user's sockets.

use crate::error::ApiError;
use onair_proto::{ErrorCode, Event, Response, RoomComment};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Mutex, RwLock};

/// Comments a joiner is shown.
const RECENT: usize = 50;
/// Longest kick a request may ask for.
const MAX_KICK_SECS: u32 = 24 * 3600;

/// One room-chat request, taken out of `onair_proto::Request` (it travels
/// between relay nodes to the node holding the room's chat: `bus/rooms.rs`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum RoomReq {
    Join,
    Leave,
    Say(String),
    Mute(String, bool),
    Kick(String, Option<u32>),
}

impl RoomReq {
    /// The room and the request, if `r` is a room-chat request.
    pub fn from_request(r: &onair_proto::Request) -> Option<(String, RoomReq)> {
        use onair_proto::Request as Q;
        Some(match r {
            Q::RoomJoin { room } => (room.clone(), RoomReq::Join),
            Q::RoomLeave { room } => (room.clone(), RoomReq::Leave),
            Q::RoomSay { room, text } => (room.clone(), RoomReq::Say(text.clone())),
            Q::RoomMute { room, user } => (room.clone(), RoomReq::Mute(user.clone(), true)),
            Q::RoomUnmute { room, user } => (room.clone(), RoomReq::Mute(user.clone(), false)),
            Q::RoomKick { room, user, secs } => (room.clone(), RoomReq::Kick(user.clone(), *secs)),
            _ => return None,
        })
    }
}

/// Rules of room chat (the relay's `[limits]` and `--banned-words`).
#[derive(Debug, Clone)]
pub struct ChatRules {
    /// Comments per second per user per room, sustained, and the burst.
    pub per_sec: f64,
    pub burst: f64,
    /// Longest comment, in characters.
    pub max_chars: usize,
    /// How long a kicked user stays out unless the kick says otherwise.
    pub kick_secs: u32,
}

#[derive(Default)]
struct Room {
    /// user → the connections that joined.
    members: BTreeMap<String, HashSet<u64>>,
    muted: HashSet<String>,
    /// user → wall-clock ms until which joining is refused.
    kicked: HashMap<String, i64>,
    seq: u64,
    recent: VecDeque<RoomComment>,
    /// user → (tokens, last refill ms).
    buckets: HashMap<String, (f64, i64)>,
}

pub type Deliver<'a> = &'a mut dyn FnMut(Vec<String>, Event);

pub struct RoomChats {
    rules: ChatRules,
    /// Each entry: the words of one banned word or phrase, lower case.
    banned: RwLock<Vec<Vec<String>>>,
    rooms: Mutex<HashMap<String, Room>>,
}

fn refuse<T>(code: ErrorCode, m: impl Into<String>) -> Result<T, ApiError> {
    Err(ApiError::new(code, m))
}

/// Lower-case words of `s` (letters and digits; everything else separates).
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| w.to_lowercase()).collect()
}

/// Parses a banned-words file: one word or phrase a line; blank lines and
/// lines starting with `#` are skipped.
pub fn parse_banned(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect()
}

impl RoomChats {
    pub fn new(rules: ChatRules) -> Self {
        RoomChats { rules, banned: RwLock::new(Vec::new()), rooms: Mutex::new(HashMap::new()) }
    }

    /// Replaces the banned list. Matching is by whole words, any case: "Spam"
    /// refuses "SPAM!" but not "spammer".
    pub fn set_banned(&self, list: &[String]) {
        let v = list.iter().map(|w| words(w)).filter(|w| !w.is_empty()).collect();
        *self.banned.write().unwrap_or_else(|p| p.into_inner()) = v;
    }

    fn banned_in(&self, text: &str) -> Option<String> {
        let w = words(text);
        let banned = self.banned.read().unwrap_or_else(|p| p.into_inner());
        banned.iter().find(|b| w.windows(b.len()).any(|x| x == b.as_slice())).map(|b| b.join(" "))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Room>> {
        // Every update below leaves a room consistent between statements
        // that could panic, so a poisoned lock is still usable.
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Users in `room`'s chat now.
    pub fn chatters(&self, room: &str) -> usize {
        self.lock().get(room).map_or(0, |r| r.members.len())
    }

    /// Handles one request of `me` on connection `conn` in `room`, whose
    /// owner is `owner` (None: no such room). Events go out through `deliver`.
    #[allow(clippy::too_many_arguments)]
    pub fn handle(&self, now: i64, me: &str, conn: u64, room: &str, owner: Option<&str>, req: RoomReq, deliver: Deliver) -> Result<Response, ApiError> {
        let Some(owner) = owner else {
            return refuse(ErrorCode::NotFound, format!("no room {room:?}"));
        };
        let mut rooms = self.lock();
        let r = rooms.entry(room.to_string()).or_default();
        let everyone = |r: &Room| r.members.keys().cloned().collect::<Vec<_>>();
        match req {
            RoomReq::Join => {
                if let Some(&until) = r.kicked.get(me) {
                    if until > now {
                        return refuse(ErrorCode::Kicked, format!("kicked from this room's chat for {} more seconds", (until - now + 999) / 1000));
                    }
                    r.kicked.remove(me);
                }
                let conns = r.members.entry(me.to_string()).or_default();
                conns.insert(conn);
                if conns.len() == 1 {
                    let n = r.members.len() as u32;
                    deliver(everyone(r), Event::RoomViewer { room: room.into(), user: me.into(), joined: true, viewers: n });
                }
                Ok(Response::RoomJoined { room: room.into(), owner: owner.into(), viewers: everyone(r), recent: r.recent.iter().cloned().collect() })
            }
            RoomReq::Leave => {
                Self::remove(r, room, me, Some(conn), deliver);
                Ok(Response::Done)
            }
            RoomReq::Say(text) => {
                if !r.members.contains_key(me) {
                    return refuse(ErrorCode::NotMember, "join the room's chat first");
                }
                if r.muted.contains(me) {
                    return refuse(ErrorCode::Muted, "the room's owner muted you in this chat");
                }
                let text = text.trim();
                if text.is_empty() || text.chars().any(|c| c.is_control()) {
                    return refuse(ErrorCode::Invalid, "a comment is one line of text");
                }
                if text.chars().count() > self.rules.max_chars {
                    return refuse(ErrorCode::TooLarge, format!("a comment is at most {} characters", self.rules.max_chars));
                }
                if let Some(w) = self.banned_in(text) {
                    return refuse(ErrorCode::BannedWord, format!("{w:?} is not allowed in this relay's chats"));
                }
                let (tokens, last) = r.buckets.entry(me.to_string()).or_insert((self.rules.burst, now));
                *tokens = (*tokens + (now - *last).max(0) as f64 / 1000.0 * self.rules.per_sec).min(self.rules.burst);
                *last = now;
                if *tokens < 1.0 {
                    return refuse(ErrorCode::RateLimited, format!("at most {} comments a second; slow down", self.rules.per_sec));
                }
                *tokens -= 1.0;
                r.seq += 1;
                let c = RoomComment { seq: r.seq, from: me.into(), text: text.into(), sent_at: now };
                if r.recent.len() == RECENT {
                    r.recent.pop_front();
                }
                r.recent.push_back(c.clone());
                deliver(everyone(r), Event::RoomComment { room: room.into(), comment: c });
                Ok(Response::RoomSaid { room: room.into(), seq: r.seq, sent_at: now })
            }
            RoomReq::Mute(user, muted) => {
                Self::owner_only(me, owner, &user)?;
                // Only someone in the chat can be muted; an unmute is always fine
                // (it lifts a mute of someone who has since left).
                if muted && !r.members.contains_key(&user) {
                    return refuse(ErrorCode::NotMember, format!("{user} is not in this room's chat"));
                }
                let changed = if muted { r.muted.insert(user.clone()) } else { r.muted.remove(&user) };
                if changed {
                    let mut to = everyone(r);
                    if !to.contains(&user) {
                        to.push(user.clone());
                    }
                    deliver(to, Event::RoomMuted { room: room.into(), user, muted });
                }
                Ok(Response::Done)
            }
            RoomReq::Kick(user, secs) => {
                Self::owner_only(me, owner, &user)?;
                if !r.members.contains_key(&user) {
                    return refuse(ErrorCode::NotMember, format!("{user} is not in this room's chat"));
                }
                // Expired kicks are forgotten, so the list stays as long as
                // the kicks in force.
                r.kicked.retain(|_, until| *until > now);
                let secs = secs.unwrap_or(self.rules.kick_secs).min(MAX_KICK_SECS);
                let until = now + i64::from(secs) * 1000;
                r.kicked.insert(user.clone(), until);
                let mut to = everyone(r);
                if !to.contains(&user) {
                    to.push(user.clone());
                }
                deliver(to, Event::RoomKicked { room: room.into(), user: user.clone(), until });
                Self::remove(r, room, &user, None, deliver);
                Ok(Response::Done)
            }
        }
    }

    fn owner_only(me: &str, owner: &str, user: &str) -> Result<(), ApiError> {
        if me != owner {
            return refuse(ErrorCode::NotOwner, "only the room's owner can do that");
        }
        if !onair_proto::valid_username(user) {
            return refuse(ErrorCode::Invalid, "invalid user name");
        }
        if user == owner {
            return refuse(ErrorCode::Invalid, "the owner cannot mute or kick themselves");
        }
        Ok(())
    }

    /// Takes `conn` (None: every connection) of `user` out of the room; the
    /// leave event goes out when the user's last one goes.
    fn remove(r: &mut Room, room: &str, user: &str, conn: Option<u64>, deliver: Deliver) {
        let Some(conns) = r.members.get_mut(user) else { return };
        match conn {
            Some(c) => {
                conns.remove(&c);
            }
            None => conns.clear(),
        }
        if conns.is_empty() {
            r.members.remove(user);
            let n = r.members.len() as u32;
            let mut to: Vec<String> = r.members.keys().cloned().collect();
            to.push(user.into());
            deliver(to, Event::RoomViewer { room: room.into(), user: user.into(), joined: false, viewers: n });
        }
    }

    /// Connection `conn` of `user` closed: it leaves every room's chat.
    pub fn gone(&self, user: &str, conn: u64, deliver: Deliver) {
        let mut rooms = self.lock();
        for (id, r) in rooms.iter_mut() {
            Self::remove(r, id, user, Some(conn), deliver);
        }
        // Forget rooms with nobody in them and nothing to remember.
        let now = crate::state::now_ms();
        for r in rooms.values_mut() {
            r.kicked.retain(|_, until| *until > now);
        }
        rooms.retain(|_, r| !r.members.is_empty() || !r.muted.is_empty() || !r.kicked.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> ChatRules {
        ChatRules { per_sec: 1.0, burst: 2.0, max_chars: 20, kick_secs: 60 }
    }

    type Sent = Vec<(Vec<String>, Event)>;

    fn go(c: &RoomChats, now: i64, me: &str, req: RoomReq, sent: &mut Sent) -> Result<Response, ErrorCode> {
        // One connection per user here, numbered by the name's first letter.
        let conn = u64::from(me.as_bytes()[0]);
        c.handle(now, me, conn, "r1", Some("owner"), req, &mut |u, e| sent.push((u, e))).map_err(|e| e.to_wire().0)
    }

    #[test]
    fn comments_reach_everyone_in_order_with_join_and_leave_counts() {
        let c = RoomChats::new(rules());
        let mut s = Sent::new();
        go(&c, 0, "ann", RoomReq::Join, &mut s).unwrap();
        let Ok(Response::RoomJoined { viewers, .. }) = go(&c, 0, "bob", RoomReq::Join, &mut s) else { panic!() };
        assert_eq!(viewers, ["ann", "bob"]);
        assert!(matches!(&s[1], (to, Event::RoomViewer { joined: true, viewers: 2, .. }) if to.len() == 2));
        assert_eq!(c.chatters("r1"), 2);
        go(&c, 1, "ann", RoomReq::Say("hello".into()), &mut s).unwrap();
        go(&c, 2, "bob", RoomReq::Say("hi ann".into()), &mut s).unwrap();
        let seqs: Vec<u64> = s.iter().filter_map(|(_, e)| if let Event::RoomComment { comment, .. } = e { Some(comment.seq) } else { None }).collect();
        assert_eq!(seqs, [1, 2]);
        let Ok(Response::RoomJoined { recent, .. }) = go(&c, 3, "cat", RoomReq::Join, &mut s) else { panic!() };
        assert_eq!(recent.len(), 2, "a joiner sees the latest comments");
        go(&c, 4, "bob", RoomReq::Leave, &mut s).unwrap();
        assert!(matches!(&s.last().unwrap().1, Event::RoomViewer { joined: false, viewers: 2, .. }));
        c.gone("ann", u64::from(b'a'), &mut |u, e| s.push((u, e)));
        assert_eq!(c.chatters("r1"), 1);
        assert_eq!(go(&c, 5, "bob", RoomReq::Say("x".into()), &mut s), Err(ErrorCode::NotMember));
    }

    #[test]
    fn a_user_stays_while_one_of_their_connections_is_in() {
        let c = RoomChats::new(rules());
        let mut s = Sent::new();
        let mut on = |conn, req| c.handle(0, "ann", conn, "r1", Some("owner"), req, &mut |u, e| s.push((u, e))).unwrap();
        on(1, RoomReq::Join);
        on(2, RoomReq::Join);
        on(2, RoomReq::Leave);
        assert_eq!(c.chatters("r1"), 1);
        c.gone("ann", 1, &mut |_, _| {});
        assert_eq!(c.chatters("r1"), 0);
        let joins = s.iter().filter(|(_, e)| matches!(e, Event::RoomViewer { joined: true, .. })).count();
        assert_eq!(joins, 1, "one join event per user, not per socket");
    }

    #[test]
    fn banned_words_rate_limit_and_bad_text() {
        let c = RoomChats::new(rules());
        c.set_banned(&parse_banned("# comment\nSpam\n\nbad phrase\n"));
        let mut s = Sent::new();
        go(&c, 0, "ann", RoomReq::Join, &mut s).unwrap();
        assert_eq!(go(&c, 0, "ann", RoomReq::Say("buy SPAM now".into()), &mut s), Err(ErrorCode::BannedWord));
        assert_eq!(go(&c, 0, "ann", RoomReq::Say("a Bad  phrase!".into()), &mut s), Err(ErrorCode::BannedWord));
        assert_eq!(go(&c, 0, "ann", RoomReq::Say("   ".into()), &mut s), Err(ErrorCode::Invalid));
        assert_eq!(go(&c, 0, "ann", RoomReq::Say("x".repeat(21)), &mut s), Err(ErrorCode::TooLarge));
        // Refused comments cost no tokens: the burst of 2 is still there.
        go(&c, 0, "ann", RoomReq::Say("spammer is fine".into()), &mut s).unwrap();
        go(&c, 0, "ann", RoomReq::Say("two".into()), &mut s).unwrap();
        assert_eq!(go(&c, 0, "ann", RoomReq::Say("three".into()), &mut s), Err(ErrorCode::RateLimited));
        go(&c, 1000, "ann", RoomReq::Say("a second later".into()), &mut s).unwrap();
    }

    #[test]
    fn owner_mutes_unmutes_and_kicks() {
        let c = RoomChats::new(rules());
        let mut s = Sent::new();
        go(&c, 0, "bob", RoomReq::Join, &mut s).unwrap();
        assert_eq!(go(&c, 0, "bob", RoomReq::Mute("ann".into(), true), &mut s), Err(ErrorCode::NotOwner));
        assert_eq!(go(&c, 0, "owner", RoomReq::Mute("zed".into(), true), &mut s), Err(ErrorCode::NotMember), "not in the room");
        assert_eq!(go(&c, 0, "owner", RoomReq::Kick("zed".into(), None), &mut s), Err(ErrorCode::NotMember), "not in the room");
        assert_eq!(go(&c, 0, "owner", RoomReq::Mute("owner".into(), true), &mut s), Err(ErrorCode::Invalid));
        go(&c, 0, "owner", RoomReq::Mute("bob".into(), true), &mut s).unwrap();
        assert_eq!(go(&c, 0, "bob", RoomReq::Say("hi".into()), &mut s), Err(ErrorCode::Muted));
        go(&c, 0, "owner", RoomReq::Mute("bob".into(), false), &mut s).unwrap();
        go(&c, 0, "bob", RoomReq::Say("hi".into()), &mut s).unwrap();
        s.clear();
        go(&c, 10, "owner", RoomReq::Kick("bob".into(), Some(5)), &mut s).unwrap();
        assert!(matches!(&s[0], (to, Event::RoomKicked { until: 5010, .. }) if to == &["bob".to_string()]));
        assert!(matches!(&s[1].1, Event::RoomViewer { joined: false, viewers: 0, .. }));
        assert_eq!(c.chatters("r1"), 0);
        assert_eq!(go(&c, 5000, "bob", RoomReq::Join, &mut s), Err(ErrorCode::Kicked));
        assert!(go(&c, 5010, "bob", RoomReq::Join, &mut s).is_ok());
        let none = c.handle(0, "bob", 1, "nope", None, RoomReq::Join, &mut |_, _| {});
        assert_eq!(none.unwrap_err().to_wire().0, ErrorCode::NotFound);
    }
}
