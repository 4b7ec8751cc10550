//! What each request does: authorisation, validation, storage, and which
//! events go to whom. Shared by the WebSocket session and `POST /v1/rpc`;
//! no IO of its own beyond the [`Store`] it is handed, and time comes in as
//! a parameter.

use crate::auth::random_hex;
use crate::config::Limits;
use crate::error::ApiError;
use crate::store::{Appended, NewEntry, Store};
use onair_proto::*;

pub struct Ctx<'a> {
    pub store: &'a dyn Store,
    pub limits: &'a Limits,
    /// Whether a user has a live connection (presence).
    pub online: &'a (dyn Fn(&str) -> bool + Sync),
}

/// A response and the events it causes, each with its recipients.
#[derive(Debug)]
pub struct Handled {
    pub response: Response,
    pub events: Vec<(Vec<String>, Event)>,
}

impl Handled {
    fn only(response: Response) -> Self {
        Handled { response, events: Vec::new() }
    }
}

/// A `send` that passed every check and now needs its append: inline with
/// [`append_now`], or batched by the group-commit writer (`commit.rs`),
/// which then calls [`sent`].
#[derive(Debug)]
pub struct PendingSend {
    pub conv: String,
    pub entry: NewEntry,
}

/// What a request needs after [`begin`]: nothing more, or a message append.
#[derive(Debug)]
pub enum Step {
    Done(Handled),
    Append(PendingSend),
}

type R<T> = Result<T, ApiError>;

fn refuse<T>(code: ErrorCode, msg: impl Into<String>) -> R<T> {
    Err(ApiError::new(code, msg))
}

fn check_user(ctx: &Ctx, name: &str) -> R<()> {
    if !valid_username(name) {
        return refuse(ErrorCode::Invalid, "invalid user name");
    }
    if ctx.store.user(name)?.is_none() {
        return refuse(ErrorCode::NotFound, format!("no user {name:?}"));
    }
    Ok(())
}

/// Non-members get the same answer whether or not the conversation exists,
/// so they learn nothing about it.
fn check_member(ctx: &Ctx, conv: &str, me: &str) -> R<()> {
    if !valid_conv_id(conv) || !ctx.store.is_member(conv, me)? {
        return refuse(ErrorCode::NotMember, "not a member of that conversation");
    }
    Ok(())
}

/// In a group, the messages of users `me` blocked reach `me` as deleted
/// entries: the sequence stays whole (no gap for the client to wait on),
/// the text and attachment do not arrive.
fn hide_blocked(ctx: &Ctx, me: &str, conv: &str, mut entries: Vec<Entry>) -> R<Vec<Entry>> {
    if !conv.starts_with("g:") {
        return Ok(entries);
    }
    let blocked = ctx.store.blocked_by(me)?;
    if blocked.is_empty() {
        return Ok(entries);
    }
    for e in entries.iter_mut().filter(|e| e.kind == EntryKind::Message && blocked.contains(&e.from)) {
        e.text.clear();
        e.attachment = None;
        e.burn_secs = None;
        e.deleted = true;
    }
    Ok(entries)
}

/// May `me` write to `peer` in their 1:1 conversation?
pub(crate) fn check_dm_allowed(ctx: &Ctx, me: &str, peer: &str) -> R<()> {
    if ctx.store.blocks(peer, me)? {
        return refuse(ErrorCode::Blocked, format!("{peer} does not accept your messages"));
    }
    let Some(p) = ctx.store.user(peer)? else {
        return refuse(ErrorCode::NotFound, format!("no user {peer:?}"));
    };
    if p.accept_from == AcceptFrom::Friends && ctx.store.friend_state(peer, me)? != Some(FriendState::Friends) {
        return refuse(ErrorCode::StrangerRefused, format!("{peer} accepts messages from friends only"));
    }
    Ok(())
}

/// Runs a request to the end, appending a message inline (its own
/// transaction): the HTTP API, and relays whose writer is not running.
pub fn handle(ctx: &Ctx, me: &str, now: i64, req: Request) -> R<Handled> {
    match begin(ctx, me, now, req)? {
        Step::Done(h) => Ok(h),
        Step::Append(p) => append_now(ctx, p),
    }
}

/// Appends a checked message in a transaction of its own and builds its answer.
pub fn append_now(ctx: &Ctx, p: PendingSend) -> R<Handled> {
    let a = ctx.store.append(&p.conv, &p.entry)?;
    sent(ctx, p, a)
}

/// Checks and runs a request; a `send` stops before its append.
pub fn begin(ctx: &Ctx, me: &str, now: i64, req: Request) -> R<Step> {
    let done = match req {
        Request::Send { client_id, to, text, burn_secs, attachment } => return send(ctx, me, now, client_id, to, text, burn_secs, attachment),
        Request::RoomJoin { .. } | Request::RoomLeave { .. } | Request::RoomSay { .. } | Request::RoomMute { .. } | Request::RoomUnmute { .. } | Request::RoomKick { .. } => {
            refuse(ErrorCode::Invalid, "live-room chat goes over the WebSocket (/v1/ws)")
        }
        Request::Conversations => Ok(Handled::only(Response::Conversations { convs: ctx.store.convs_of(me)? })),
        Request::Sync { conv, after, limit } => {
            check_member(ctx, &conv, me)?;
            let limit = limit.clamp(1, ctx.limits.page_max.max(1));
            let entries = hide_blocked(ctx, me, &conv, ctx.store.entries_after(&conv, after, limit)?)?;
            let more = entries.len() as u32 == limit;
            let reads = ctx.store.reads(&conv)?;
            Ok(Handled::only(Response::Entries { conv, entries, more, reads }))
        }
        Request::History { conv, before, limit } => {
            check_member(ctx, &conv, me)?;
            let limit = limit.clamp(1, ctx.limits.page_max.max(1));
            let entries = hide_blocked(ctx, me, &conv, ctx.store.entries_before(&conv, before, limit)?)?;
            let more = entries.len() as u32 == limit;
            let reads = ctx.store.reads(&conv)?;
            Ok(Handled::only(Response::Entries { conv, entries, more, reads }))
        }
        Request::Read { conv, seq } => read(ctx, me, now, conv, seq),
        Request::Recall { id } => recall(ctx, me, now, id),
        Request::Members { conv } => {
            check_member(ctx, &conv, me)?;
            let owner = ctx.store.conv(&conv)?.and_then(|c| c.owner);
            Ok(Handled::only(Response::Members { members: ctx.store.members(&conv)?, conv, owner }))
        }
        Request::FriendsList => friends_list(ctx, me),
        Request::FriendAdd { user } => friend_add(ctx, me, user),
        Request::FriendAccept { user } => {
            check_user(ctx, &user)?;
            if ctx.store.friend_state(me, &user)? != Some(FriendState::Incoming) {
                return refuse(ErrorCode::NotFound, format!("no friend request from {user}"));
            }
            befriend(ctx, me, user)
        }
        Request::FriendRemove { user } => {
            check_user(ctx, &user)?;
            ctx.store.set_friend_pair(me, &user, None, None)?;
            Ok(Handled { response: Response::Done, events: vec![(vec![user, me.to_string()], Event::Friend { user: me.into(), state: None })] })
        }
        Request::Block { user } => {
            check_user(ctx, &user)?;
            ctx.store.set_block(me, &user, true)?;
            ctx.store.set_friend_pair(me, &user, None, None)?;
            // Blocked users neither follow each other nor hear of each other's lives.
            ctx.store.unfollow_between(me, &user)?;
            Ok(Handled::only(Response::Done))
        }
        Request::Unblock { user } => {
            check_user(ctx, &user)?;
            ctx.store.set_block(me, &user, false)?;
            Ok(Handled::only(Response::Done))
        }
        Request::SetPrivacy { accept_from } => {
            ctx.store.set_accept_from(me, accept_from)?;
            Ok(Handled::only(Response::Done))
        }
        Request::GroupCreate { name, members } => group_create(ctx, me, now, name, members),
        Request::GroupAdd { conv, user } => {
            owner_check(ctx, &conv, me)?;
            check_user(ctx, &user)?;
            if user != me {
                check_dm_allowed(ctx, me, &user)?;
            }
            if ctx.store.members(&conv)?.len() >= ctx.limits.max_group_members {
                return refuse(ErrorCode::TooLarge, "group is full");
            }
            ctx.store.add_member(&conv, &user, now)?;
            let members = ctx.store.members(&conv)?;
            Ok(Handled { response: Response::Done, events: vec![(members, Event::ConvChanged { conv })] })
        }
        Request::GroupRemove { conv, user } => {
            owner_check(ctx, &conv, me)?;
            if user == me {
                return refuse(ErrorCode::Invalid, "the owner leaves with group_leave");
            }
            if !ctx.store.is_member(&conv, &user)? {
                return refuse(ErrorCode::NotFound, format!("{user} is not in the group"));
            }
            ctx.store.remove_member(&conv, &user)?;
            let mut to = ctx.store.members(&conv)?;
            to.push(user);
            Ok(Handled { response: Response::Done, events: vec![(to, Event::ConvChanged { conv })] })
        }
        Request::GroupLeave { conv } => {
            check_member(ctx, &conv, me)?;
            let Some(row) = ctx.store.conv(&conv)?.filter(|c| c.is_group) else {
                return refuse(ErrorCode::Invalid, "only groups can be left");
            };
            ctx.store.remove_member(&conv, me)?;
            let rest = ctx.store.members(&conv)?;
            if row.owner.as_deref() == Some(me) {
                // Ownership passes to the longest-standing member.
                ctx.store.set_owner(&conv, rest.first().map(String::as_str))?;
            }
            let mut to = rest;
            to.push(me.to_string());
            Ok(Handled { response: Response::Done, events: vec![(to, Event::ConvChanged { conv })] })
        }
        // Call signaling needs a live connection (a device): the WebSocket
        // session routes these ops to the call router before reaching here.
        Request::CallInvite { .. }
        | Request::CallAccept { .. }
        | Request::CallDecline { .. }
        | Request::CallCancel { .. }
        | Request::CallHangup { .. }
        | Request::CallResume { .. }
        | Request::CallSdp { .. }
        | Request::CallIce { .. }
        | Request::CallRecord { .. }
        | Request::CallConsent { .. }
        | Request::CallMedia { .. }
        | Request::IceServers
        | Request::CallAudit { .. } => refuse(ErrorCode::Invalid, "call signaling needs the WebSocket (/v1/ws)"),
    };
    done.map(Step::Done)
}

#[allow(clippy::too_many_arguments)]
fn send(ctx: &Ctx, me: &str, now: i64, client_id: String, to: Target, text: String, burn_secs: Option<u32>, attachment: Option<Attachment>) -> R<Step> {
    if !valid_client_id(&client_id) {
        return refuse(ErrorCode::Invalid, "client_id must be 1-64 of A-Z a-z 0-9 _ -");
    }
    // A resend of something already stored is answered as before, even if
    // the sender has since been blocked: the first send was accepted.
    if let Some(m) = ctx.store.own_message(me, &client_id)? {
        return Ok(Step::Done(Handled::only(Response::Sent { id: client_id, conv: m.conv, seq: m.seq, sent_at: m.sent_at })));
    }
    if text.len() > ctx.limits.max_text_bytes {
        return refuse(ErrorCode::TooLarge, format!("text exceeds {} bytes", ctx.limits.max_text_bytes));
    }
    if text.trim().is_empty() && attachment.is_none() {
        return refuse(ErrorCode::Invalid, "empty message");
    }
    if burn_secs.is_some_and(|b| b > 7 * 24 * 3600) {
        return refuse(ErrorCode::Invalid, "burn_secs is at most a week");
    }
    let conv = match to {
        Target::User(peer) => {
            check_user(ctx, &peer)?;
            if peer == me {
                return refuse(ErrorCode::Invalid, "cannot message yourself");
            }
            check_dm_allowed(ctx, me, &peer)?;
            let conv = dm_conv_id(me, &peer);
            ctx.store.ensure_dm(&conv, me, &peer, now)?;
            conv
        }
        Target::Conv(conv) => {
            check_member(ctx, &conv, me)?;
            if let Some(peer) = dm_peer(&conv, me) {
                check_dm_allowed(ctx, me, peer)?;
            }
            conv
        }
    };
    // The message carries what the relay stored, not what the sender says
    // the file is called, weighs or contains.
    let attachment = match attachment {
        Some(a) => match ctx.store.attachment(&a.id)? {
            Some(row) if row.owner == me && row.conv == conv => Some(Attachment { id: row.id, name: row.name, size: row.size, mime: row.mime }),
            _ => return refuse(ErrorCode::NotFound, "no such attachment of yours in this conversation"),
        },
        None => None,
    };
    let entry = NewEntry { id: client_id, sender: me.into(), sent_at: now, kind: EntryKind::Message, text, ref_seq: None, burn_secs, attachment };
    Ok(Step::Append(PendingSend { conv, entry }))
}

/// The answer and the event of an appended message. A duplicate (a resend
/// that reached the store after its first copy) is answered with the
/// first copy's `seq` and not pushed again.
pub fn sent(ctx: &Ctx, p: PendingSend, a: Appended) -> R<Handled> {
    let PendingSend { conv, entry: e } = p;
    let client_id = e.id.clone();
    let mut events = Vec::new();
    if !a.duplicate {
        let entry = Entry {
            seq: a.seq,
            id: e.id,
            from: e.sender,
            sent_at: a.sent_at,
            kind: EntryKind::Message,
            text: e.text,
            ref_seq: None,
            burn_secs: e.burn_secs,
            attachment: e.attachment,
            deleted: false,
        };
        // In a group both are in, a user who blocked the sender is not
        // handed the sender's messages.
        let mut to = ctx.store.members(&conv)?;
        if conv.starts_with("g:") {
            let blockers = ctx.store.blockers_of(&entry.from)?;
            to.retain(|m| *m == entry.from || !blockers.contains(m));
        }
        events.push((to, Event::Message { conv: conv.clone(), entry }));
    }
    Ok(Handled { response: Response::Sent { id: client_id, conv, seq: a.seq, sent_at: a.sent_at }, events })
}

fn read(ctx: &Ctx, me: &str, now: i64, conv: String, seq: u64) -> R<Handled> {
    check_member(ctx, &conv, me)?;
    let last = ctx.store.conv(&conv)?.map(|c| c.last_seq).unwrap_or(0);
    let seq = ctx.store.set_read(&conv, me, seq.min(last))?;
    // Arm burn-after-read timers for messages every other member has now read.
    let reads = ctx.store.reads(&conv)?;
    for (bseq, sender, secs) in ctx.store.unarmed_burns(&conv, seq)? {
        if reads.iter().all(|r| r.user == sender || r.seq >= bseq) {
            ctx.store.arm_burn(&conv, bseq, now + i64::from(secs) * 1000)?;
        }
    }
    let members = ctx.store.members(&conv)?;
    Ok(Handled { response: Response::Done, events: vec![(members, Event::Read { conv, user: me.into(), seq })] })
}

fn recall(ctx: &Ctx, me: &str, now: i64, id: String) -> R<Handled> {
    let Some(m) = ctx.store.own_message(me, &id)? else {
        return refuse(ErrorCode::NotFound, "no message of yours with that id");
    };
    if m.deleted {
        return Ok(Handled::only(Response::Done));
    }
    check_member(ctx, &m.conv, me)?;
    if now - m.sent_at > ctx.limits.recall_window_secs * 1000 {
        return refuse(ErrorCode::TooLate, format!("messages can be recalled within {} s of sending", ctx.limits.recall_window_secs));
    }
    tombstone(ctx, &m.conv, m.seq, EntryKind::Recall, me, now).map(|ev| Handled { response: Response::Done, events: ev })
}

/// Appends a recall or burn entry for `seq` (which also deletes its text).
pub fn tombstone(ctx: &Ctx, conv: &str, seq: u64, kind: EntryKind, by: &str, now: i64) -> R<Vec<(Vec<String>, Event)>> {
    let tag = if kind == EntryKind::Recall { "recall" } else { "burn" };
    let e = NewEntry { id: format!("{tag}-{seq}"), sender: by.into(), sent_at: now, kind, text: String::new(), ref_seq: Some(seq), burn_secs: None, attachment: None };
    let a = ctx.store.append(conv, &e)?;
    let entry = Entry { seq: a.seq, id: e.id, from: e.sender, sent_at: now, kind, text: String::new(), ref_seq: Some(seq), burn_secs: None, attachment: None, deleted: false };
    Ok(vec![(ctx.store.members(conv)?, Event::Message { conv: conv.into(), entry })])
}

fn friends_list(ctx: &Ctx, me: &str) -> R<Handled> {
    let mut friends: Vec<FriendInfo> = ctx
        .store
        .friends_of(me)?
        .into_iter()
        .map(|(user, state, last_seen)| {
            let is_friend = state == FriendState::Friends;
            // Presence is only shown between friends.
            let online = is_friend && (ctx.online)(&user);
            FriendInfo { last_seen: if is_friend { last_seen } else { None }, user, state, online }
        })
        .collect();
    for b in ctx.store.blocked_by(me)? {
        friends.push(FriendInfo { user: b, state: FriendState::Blocked, online: false, last_seen: None });
    }
    Ok(Handled::only(Response::Friends { friends }))
}

fn friend_add(ctx: &Ctx, me: &str, user: String) -> R<Handled> {
    check_user(ctx, &user)?;
    if user == me {
        return refuse(ErrorCode::Invalid, "cannot befriend yourself");
    }
    if ctx.store.blocks(&user, me)? {
        return refuse(ErrorCode::Blocked, format!("{user} does not accept your requests"));
    }
    match ctx.store.friend_state(me, &user)? {
        Some(FriendState::Friends) | Some(FriendState::Outgoing) => Ok(Handled::only(Response::Done)),
        Some(FriendState::Incoming) => befriend(ctx, me, user),
        _ => {
            ctx.store.set_friend_pair(me, &user, Some(FriendState::Outgoing), Some(FriendState::Incoming))?;
            Ok(Handled { response: Response::Done, events: vec![(vec![user], Event::Friend { user: me.into(), state: Some(FriendState::Incoming) })] })
        }
    }
}

fn befriend(ctx: &Ctx, me: &str, user: String) -> R<Handled> {
    ctx.store.set_friend_pair(me, &user, Some(FriendState::Friends), Some(FriendState::Friends))?;
    Ok(Handled {
        response: Response::Done,
        events: vec![
            (vec![user.clone()], Event::Friend { user: me.into(), state: Some(FriendState::Friends) }),
            (vec![me.into()], Event::Friend { user, state: Some(FriendState::Friends) }),
        ],
    })
}

fn owner_check(ctx: &Ctx, conv: &str, me: &str) -> R<()> {
    check_member(ctx, conv, me)?;
    match ctx.store.conv(conv)? {
        Some(c) if c.is_group && c.owner.as_deref() == Some(me) => Ok(()),
        Some(c) if !c.is_group => refuse(ErrorCode::Invalid, "not a group"),
        _ => refuse(ErrorCode::NotOwner, "only the group's owner can do that"),
    }
}

fn group_create(ctx: &Ctx, me: &str, now: i64, name: String, members: Vec<String>) -> R<Handled> {
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 64 {
        return refuse(ErrorCode::Invalid, "group name must be 1-64 characters");
    }
    if members.len() + 1 > ctx.limits.max_group_members {
        return refuse(ErrorCode::TooLarge, "too many members");
    }
    let mut list: Vec<String> = Vec::new();
    for m in members {
        check_user(ctx, &m)?;
        // The same rules as a 1:1 chat: nobody is put in a group with
        // someone they blocked, or by a stranger while they accept friends only.
        if m != me {
            check_dm_allowed(ctx, me, &m)?;
        }
        if m != me && !list.contains(&m) {
            list.push(m);
        }
    }
    let id = format!("g:{}", random_hex(8).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?);
    ctx.store.create_group(&id, &name, me, &list, now)?;
    let all = ctx.store.members(&id)?;
    let info = ConvInfo { id: id.clone(), kind: ConvKind::Group, name, owner: Some(me.into()), members: all.clone(), last_seq: 0 };
    Ok(Handled { response: Response::Conv { conv: info }, events: vec![(all, Event::ConvChanged { conv: id })] })
}
