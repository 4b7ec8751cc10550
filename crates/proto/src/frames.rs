//! The frames and their payloads. Field names are part of the protocol:
//! renaming one is a protocol version bump.

use crate::calls::*;
use serde::{Deserialize, Serialize};

/// A frame from a client to the relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ClientFrame {
    /// First frame on a socket: protocol version and bearer token.
    Hello { v: u32, token: String },
    /// A request; the relay answers with `ServerFrame::Res` carrying the same id.
    Req { id: u64, body: Request },
    /// Keeps idle connections alive through proxies; answered with `Pong`.
    Ping { nonce: u64 },
}

/// A frame from the relay to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ServerFrame {
    Welcome { v: u32, user: String, server_time: i64 },
    Res {
        id: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ok: Option<Response>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        err: Option<ErrorBody>,
    },
    Event { ev: Event },
    /// A frame-level error (bad frame, rate limit); the socket stays open
    /// unless the error says otherwise in `message`.
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
    },
    Pong { nonce: u64 },
}

/// Where a message goes: a user (the 1:1 conversation) or a conversation id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    User(String),
    Conv(String),
}

/// Who may start a 1:1 conversation with a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
pub enum AcceptFrom {
    Anyone,
    Friends,
}

/// A file uploaded over HTTP and referenced by a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[derive(ts_rs::TS)]
pub struct Attachment {
    pub id: String,
    pub name: String,
    #[ts(as = "f64")]
    pub size: u64,
    pub mime: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Post a message. `client_id` makes a resend idempotent: the relay
    /// answers a repeat with the original `seq`.
    Send {
        client_id: String,
        to: Target,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        burn_secs: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attachment: Option<Attachment>,
    },
    /// Every conversation the caller is a member of.
    Conversations,
    /// Entries with `seq > after`, oldest first, at most `limit`.
    Sync { conv: String, after: u64, limit: u32 },
    /// Entries with `seq < before` (or the newest), newest first, at most `limit`.
    History {
        conv: String,
        #[serde(default)]
        before: Option<u64>,
        limit: u32,
    },
    /// The caller has read everything up to `seq`.
    Read { conv: String, seq: u64 },
    /// Delete one's own message for everyone (within the recall window).
    Recall { id: String },
    Members { conv: String },
    FriendsList,
    /// Send a friend request, or accept one if that user already asked.
    FriendAdd { user: String },
    FriendAccept { user: String },
    FriendRemove { user: String },
    Block { user: String },
    Unblock { user: String },
    SetPrivacy { accept_from: AcceptFrom },
    GroupCreate { name: String, members: Vec<String> },
    GroupAdd { conv: String, user: String },
    GroupRemove { conv: String, user: String },
    GroupLeave { conv: String },
    // ---- 1:1 calls (issue 5); WebSocket only except `ice_servers` and
    // `call_audit`. `docs/protocol.md` has the sequences.
    /// Ring `to` on every free device; answered with `call` (the relay's call id).
    CallInvite { to: String, media: Vec<MediaKind> },
    /// Callee: answer on this device (other devices get `call_ended answered_elsewhere`).
    CallAccept { call_id: String },
    /// Callee: refuse a ringing call.
    CallDecline { call_id: String },
    /// Caller: withdraw a ringing call.
    CallCancel { call_id: String },
    /// Either participant: end the call (before an answer it acts as cancel / decline).
    CallHangup { call_id: String },
    /// After a reconnect: bind this connection to a call whose participant
    /// (this user) lost its connection less than the grace period ago.
    CallResume { call_id: String },
    /// An SDP offer or answer for the other participant (accepted calls only).
    CallSdp { call_id: String, kind: SdpKind, sdp: String },
    /// A trickled ICE candidate; `null` means end of candidates.
    CallIce {
        call_id: String,
        #[serde(default)]
        candidate: Option<IceCandidate>,
    },
    /// Start or stop recording this call; start answers `recording`.
    CallRecord { call_id: String, action: RecordAction },
    /// Answer a `call_consent_request`.
    CallConsent { call_id: String, accept: bool },
    /// Our microphone and camera state, for the other participant to show
    /// ("alice muted"); sent on each change and again after a reconnect.
    CallMedia { call_id: String, muted: bool, camera_off: bool },
    /// STUN/TURN servers for `RTCConfiguration.iceServers`.
    IceServers,
    /// The relay's audit record of a call (participants only).
    CallAudit { call_id: String },
    /// Join a live room's chat (WebSocket only: its events go to the
    /// caller's sockets). Answered with `RoomJoined`.
    RoomJoin { room: String },
    RoomLeave { room: String },
    /// Post a comment to a room's chat the caller has joined.
    RoomSay { room: String, text: String },
    /// The room's owner silences a user in its chat (until unmuted).
    RoomMute { room: String, user: String },
    RoomUnmute { room: String, user: String },
    /// The room's owner removes a user from its chat; they cannot rejoin
    /// for `secs` (the relay's default when absent).
    RoomKick {
        room: String,
        user: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secs: Option<u32>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Response {
    Done,
    Sent { id: String, conv: String, seq: u64, sent_at: i64 },
    Conversations { convs: Vec<ConvInfo> },
    Entries { conv: String, entries: Vec<Entry>, more: bool, reads: Vec<ReadMark> },
    Members { conv: String, owner: Option<String>, members: Vec<String> },
    Friends { friends: Vec<FriendInfo> },
    Conv { conv: ConvInfo },
    /// Answer to `call_invite`: the call id the relay chose.
    Call { call_id: String },
    /// Answer to `call_record start`: `may_record` is true when the caller
    /// may start at once; false when the other side's consent is awaited
    /// (a `call_consent_result` event follows).
    Recording { call_id: String, may_record: bool },
    /// `expires_at` (ms): when TURN credentials stop working; null without TURN.
    IceServers { ice_servers: Vec<IceServer>, expires_at: Option<i64> },
    CallAudit { audit: CallAudit },
    /// Who is in the room's chat now, and its latest comments (oldest first).
    RoomJoined { room: String, owner: String, viewers: Vec<String>, recent: Vec<RoomComment> },
    RoomSaid { room: String, seq: u64, sent_at: i64 },
}

/// One comment in a live room's chat; `seq` counts from 1 per live room
/// while the relay runs (room chat is live-only: not stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[derive(ts_rs::TS)]
pub struct RoomComment {
    #[ts(as = "f64")]
    pub seq: u64,
    pub from: String,
    pub text: String,
    #[ts(as = "f64")]
    pub sent_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
pub enum ConvKind {
    Dm,
    Group,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[derive(ts_rs::TS)]
pub struct ConvInfo {
    pub id: String,
    pub kind: ConvKind,
    pub name: String,
    pub owner: Option<String>,
    pub members: Vec<String>,
    #[ts(as = "f64")]
    pub last_seq: u64,
}

/// What one log entry of a conversation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
pub enum EntryKind {
    /// A message (text and/or attachment).
    Message,
    /// The sender recalled the message `ref_seq`.
    Recall,
    /// The burn-after-read message `ref_seq` expired and was deleted.
    Burn,
}

/// One entry of a conversation's log; `seq` counts from 1 per conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[derive(ts_rs::TS)]
pub struct Entry {
    #[ts(as = "f64")]
    pub seq: u64,
    /// The sender's client id for messages; for recall/burn entries, a
    /// relay-made id.
    pub id: String,
    pub from: String,
    /// Milliseconds since the Unix epoch, relay clock.
    #[ts(as = "f64")]
    pub sent_at: i64,
    pub kind: EntryKind,
    #[serde(default)]
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(as = "Option<f64>", optional)]
    pub ref_seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub burn_secs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub attachment: Option<Attachment>,
    /// True once the message was recalled or burned (its text is gone).
    #[serde(default)]
    pub deleted: bool,
}

/// How far a member has read a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadMark {
    pub user: String,
    pub seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
pub enum FriendState {
    Friends,
    /// I asked them; waiting for their accept.
    Outgoing,
    /// They asked me.
    Incoming,
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[derive(ts_rs::TS)]
pub struct FriendInfo {
    pub user: String,
    pub state: FriendState,
    pub online: bool,
    /// Milliseconds since the epoch; None if never seen or not a friend.
    #[ts(as = "Option<f64>")]
    pub last_seen: Option<i64>,
}

/// Things the relay pushes without being asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
#[derive(ts_rs::TS)]
pub enum Event {
    Message { conv: String, entry: Entry },
    Read { conv: String, user: String, #[ts(as = "f64")] seq: u64 },
    Presence { user: String, online: bool, #[ts(as = "Option<f64>")] last_seen: Option<i64> },
    Friend { user: String, state: Option<FriendState> },
    /// Membership or name changed, or the caller was added or removed.
    ConvChanged { conv: String },
    /// A streamer or room the caller follows went live (once per go-live,
    /// to followers who may watch the room).
    RoomLive { room: String, owner: String, title: String, category: String },
    // ---- 1:1 calls (issue 5)
    /// To every free device of the callee.
    CallIncoming { call_id: String, from: String, media: Vec<MediaKind> },
    /// To the caller: at least one device of the callee is ringing.
    CallRinging { call_id: String },
    /// To the caller: the callee answered; the caller now sends the offer.
    CallAccepted { call_id: String },
    /// To participants (and ringing devices): the call is over. `by` is the
    /// user whose action ended it, when one did.
    CallEnded {
        call_id: String,
        reason: EndReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    CallSdp { call_id: String, from: String, kind: SdpKind, sdp: String },
    CallIce { call_id: String, from: String, candidate: Option<IceCandidate> },
    /// The other participant's relay connection dropped (`connected: false`)
    /// or came back with `call_resume` (`true`).
    CallPeer { call_id: String, connected: bool },
    /// To the other participant: `by` started or stopped recording.
    CallRecording { call_id: String, by: String, action: RecordAction },
    /// Consent mode: `by` asks to record; answer with `call_consent`.
    CallConsentRequest { call_id: String, by: String },
    /// Consent mode, to the requester: `by` accepted (record now) or declined.
    CallConsentResult { call_id: String, by: String, accepted: bool },
    /// To the other participant: `from`'s microphone and camera state.
    CallMedia { call_id: String, from: String, muted: bool, camera_off: bool },
    /// A comment in a room's chat, to everyone in it (the sender included).
    RoomComment { room: String, comment: RoomComment },
    /// A user joined (`joined: true`) or left a room's chat; `viewers` is
    /// how many are in it now.
    RoomViewer { room: String, user: String, joined: bool, viewers: u32 },
    RoomMuted { room: String, user: String, muted: bool },
    /// `user` was removed from the room's chat until `until` (ms since the epoch).
    RoomKicked { room: String, user: String, #[ts(as = "f64")] until: i64 },
    /// To both participants: a server recording of their call changed
    /// state (asked, recording, done, failed with `reason`, declined).
    /// Clients need not poll `GET /v1/cloud/live` (kept for old clients).
    CloudRecording {
        id: String,
        call_id: String,
        state: crate::cloud::CloudState,
        started_by: String,
        tier: crate::cloud::Tier,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        reason: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

/// Every error the relay can answer with; `docs/protocol.md` lists when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[derive(ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or JSON that is not a valid frame.
    BadFrame,
    /// The frame or a field exceeds a configured limit.
    TooLarge,
    /// A frame type (`t`) or request op this relay does not know.
    UnknownType,
    /// `Hello.v` is not a version this relay speaks.
    UnsupportedVersion,
    /// No hello yet, or a missing, expired or revoked token.
    Unauthorized,
    /// Too many frames or log-in attempts; slow down.
    RateLimited,
    /// Bad input: user name, client id, empty text, etc.
    Invalid,
    NotFound,
    /// The caller is not a member of the conversation.
    NotMember,
    /// Only the group's owner may do that.
    NotOwner,
    /// The recipient blocked the sender.
    Blocked,
    /// The recipient accepts messages from friends only.
    StrangerRefused,
    /// The recall window has passed.
    TooLate,
    /// The user name is taken.
    Taken,
    /// Wrong user name or password.
    BadCredentials,
    /// Calls: the callee has no free device (every one is in a call or ringing).
    Busy,
    /// Calls: the callee has no live connection.
    Offline,
    /// Calls: unknown call id, or the call has ended.
    NoSuchCall,
    /// Calls: the call exists but this user / device is not in it.
    NotParticipant,
    /// Calls: not allowed in the call's current state (e.g. SDP before accept).
    WrongState,
    /// Calls: an SDP or ICE candidate that is not well formed.
    BadSdp,
    /// A bug or storage failure on the relay; details are in its log only.
    Internal,
    /// The comment contains a word on the relay's banned-words list.
    BannedWord,
    /// The room's owner muted the caller in this room's chat.
    Muted,
    /// The room's owner kicked the caller from this room's chat; rejoining
    /// is refused until the time in the message.
    Kicked,
    /// An upload would take the user past their quota (bytes a day, or
    /// bytes kept); the message says which. Retrying at once will not help.
    QuotaExceeded,
}

impl ServerFrame {
    pub fn ok(id: u64, r: Response) -> Self {
        ServerFrame::Res { id, ok: Some(r), err: None }
    }
    pub fn err(id: u64, code: ErrorCode, message: impl Into<String>) -> Self {
        ServerFrame::Res { id, ok: None, err: Some(ErrorBody { code, message: message.into() }) }
    }
    /// JSON text of the frame. Serialising these types cannot fail: they
    /// hold only strings, numbers, bools and derived enums.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("ServerFrame always serialises")
    }
}

impl ClientFrame {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("ClientFrame always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_request_round_trips_with_documented_shape() {
        let f = ClientFrame::Req {
            id: 7,
            body: Request::Send { client_id: "abc".into(), to: Target::User("bob".into()), text: "hi".into(), burn_secs: None, attachment: None },
        };
        let j = f.to_json();
        assert_eq!(j, r#"{"t":"req","id":7,"body":{"op":"send","client_id":"abc","to":{"user":"bob"},"text":"hi"}}"#);
        let back: ClientFrame = serde_json::from_str(&j).unwrap();
        assert_eq!(back, f);
    }

    #[test]
    fn response_shapes() {
        let j = ServerFrame::ok(1, Response::Sent { id: "x".into(), conv: "dm:a:b".into(), seq: 3, sent_at: 5 }).to_json();
        assert_eq!(j, r#"{"t":"res","id":1,"ok":{"kind":"sent","id":"x","conv":"dm:a:b","seq":3,"sent_at":5}}"#);
        let j = ServerFrame::err(2, ErrorCode::NotMember, "no").to_json();
        assert_eq!(j, r#"{"t":"res","id":2,"err":{"code":"not_member","message":"no"}}"#);
    }
}
