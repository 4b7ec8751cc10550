//! The behaviour every [`Store`] backend must show. A new backend (say
//! PostgreSQL) runs [`run_all`] against a fresh instance in its tests.

use super::*;
use onair_proto::{AcceptFrom, EntryKind, FriendState};

fn msg(id: &str, sender: &str, at: i64) -> NewEntry {
    NewEntry { id: id.into(), sender: sender.into(), sent_at: at, kind: EntryKind::Message, text: format!("text {id}"), ref_seq: None, burn_secs: None, attachment: None }
}

/// Runs every check; panics with the first difference.
pub fn run_all(s: &dyn Store) {
    accounts_and_tokens(s);
    log_is_ordered_idempotent_and_tombstoned(s);
    batches_are_ordered_idempotent_and_isolated(s, &|items| s.append_batch(items));
    friends_blocks_and_members(s);
    deleting_an_account(s);
    upload_usage(s);
    super::rooms::conformance(s);
    super::follows::conformance(s);
    super::calls::conformance(s);
    super::cloud::conformance(s);
}

fn accounts_and_tokens(s: &dyn Store) {
    s.create_user("ann", "h1", 1).unwrap();
    assert!(matches!(s.create_user("ann", "h2", 2), Err(StoreError::Taken(_))));
    let u = s.user("ann").unwrap().unwrap();
    assert_eq!((u.pw_hash.as_str(), u.accept_from), ("h1", AcceptFrom::Anyone));
    s.set_accept_from("ann", AcceptFrom::Friends).unwrap();
    assert_eq!(s.user("ann").unwrap().unwrap().accept_from, AcceptFrom::Friends);
    let h = [7u8; 32];
    s.insert_token(&h, "ann", 10, 100).unwrap();
    assert_eq!(s.token_user(&h, 50).unwrap().as_deref(), Some("ann"));
    assert_eq!(s.token_user(&h, 100).unwrap(), None, "expired at expires_at");
    s.revoke_token(&h).unwrap();
    assert_eq!(s.token_user(&h, 50).unwrap(), None);
    assert!(s.user("nobody").unwrap().is_none());
}

fn deleting_an_account(s: &dyn Store) {
    for u in ["del", "kim", "lou"] {
        s.create_user(u, "h", 0).unwrap();
    }
    let (mine, other) = ([31u8; 32], [32u8; 32]);
    s.insert_token(&mine, "del", 0, i64::MAX).unwrap();
    s.insert_token(&other, "del", 0, i64::MAX).unwrap();
    assert!(s.set_password("del", "h2").unwrap());
    assert_eq!(s.user("del").unwrap().unwrap().pw_hash, "h2");
    assert_eq!(s.revoke_user_tokens("del", Some(&mine)).unwrap(), 1);
    assert_eq!(s.token_user(&mine, 1).unwrap().as_deref(), Some("del"));
    assert_eq!(s.token_user(&other, 1).unwrap(), None);
    s.ensure_dm("dm:del:kim", "del", "kim", 1).unwrap();
    s.create_group("g:00000000000000de", "g", "del", &["kim".into(), "lou".into()], 1).unwrap();
    s.append("dm:del:kim", &msg("d1", "del", 2)).unwrap();
    s.append("dm:del:kim", &msg("k1", "kim", 3)).unwrap();
    s.append("g:00000000000000de", &msg("d2", "del", 4)).unwrap();
    let row = AttachmentRow { id: "a".repeat(32), conv: "dm:del:kim".into(), owner: "del".into(), name: "f".into(), mime: "x/y".into(), size: 1 };
    s.insert_attachment(&row, 5).unwrap();
    s.set_friend_pair("del", "kim", Some(FriendState::Friends), Some(FriendState::Friends)).unwrap();
    s.set_block("lou", "del", true).unwrap();

    let d = s.delete_account("del", 10).unwrap().expect("a live account");
    assert_eq!(d.tombstones.len(), 2);
    assert_eq!(d.attachments, ["a".repeat(32)]);
    assert_eq!(d.friends, ["kim"]);
    assert!(d.left.iter().any(|(c, rest)| c == "g:00000000000000de" && rest == &["kim", "lou"]));
    let dm = s.entries_after("dm:del:kim", 0, 10).unwrap();
    assert!(dm[0].deleted && dm[0].text.is_empty(), "its message is gone");
    assert!(!dm[1].deleted, "the other side's message stays");
    assert_eq!((dm[2].kind, dm[2].ref_seq), (EntryKind::Recall, Some(1)));
    assert!(s.attachment(&"a".repeat(32)).unwrap().is_none());
    assert!(s.user("del").unwrap().is_none() && s.token_user(&mine, 11).unwrap().is_none());
    assert!(matches!(s.create_user("del", "h", 12), Err(StoreError::Taken(_))), "the name is never reused");
    assert_eq!(s.conv("g:00000000000000de").unwrap().unwrap().owner.as_deref(), Some("kim"));
    assert!(!s.is_member("dm:del:kim", "del").unwrap());
    assert!(s.friends_of("kim").unwrap().is_empty() && !s.blocks("lou", "del").unwrap());
    assert!(!s.set_password("del", "h3").unwrap());
    assert!(s.delete_account("del", 13).unwrap().is_none());
}

/// Quotas count the last 24 hours of uploads (recalled ones too) and the
/// attachments still kept (recalled ones not).
fn upload_usage(s: &dyn Store) {
    use crate::quota::{Usage, DAY_MS};
    for u in ["upa", "upb"] {
        s.create_user(u, "h", 0).unwrap();
    }
    s.ensure_dm("dm:upa:upb", "upa", "upb", 0).unwrap();
    let t0 = 1_000 * DAY_MS;
    assert_eq!(s.upload_usage("upa", t0).unwrap(), Usage::default());
    let row = |id: char, size| AttachmentRow { id: id.to_string().repeat(32), conv: "dm:upa:upb".into(), owner: "upa".into(), name: "f".into(), mime: "x/y".into(), size };
    s.insert_attachment(&row('1', 100), t0).unwrap();
    s.insert_attachment(&row('2', 20), t0 + 1).unwrap();
    s.insert_attachment(&AttachmentRow { owner: "upb".into(), ..row('3', 5) }, t0 + 2).unwrap();
    assert_eq!(s.upload_usage("upa", t0 + 2).unwrap(), Usage { day: 120, kept: 120 });
    assert_eq!(s.upload_usage("upb", t0 + 2).unwrap(), Usage { day: 5, kept: 5 });
    // Recalling the message that carried the first file frees what was
    // kept, not the day's allowance.
    let a = row('1', 100);
    let m = NewEntry { attachment: Some(onair_proto::Attachment { id: a.id, name: a.name, size: a.size, mime: a.mime }), ..msg("up1", "upa", t0 + 3) };
    let seq = s.append("dm:upa:upb", &m).unwrap().seq;
    let recall = NewEntry { id: format!("recall-{seq}"), kind: EntryKind::Recall, text: String::new(), ref_seq: Some(seq), ..msg("r", "upa", t0 + 4) };
    s.append("dm:upa:upb", &recall).unwrap();
    assert_eq!(s.upload_usage("upa", t0 + 5).unwrap(), Usage { day: 120, kept: 20 });
    // A day later the uploads of that day no longer count for the day.
    assert_eq!(s.upload_usage("upa", t0 + DAY_MS).unwrap(), Usage { day: 20, kept: 20 });
    assert_eq!(s.upload_usage("upa", t0 + 1 + DAY_MS).unwrap(), Usage { day: 0, kept: 20 });
    // Old log rows are pruned by later uploads, whoever makes them.
    s.insert_attachment(&AttachmentRow { owner: "upb".into(), ..row('4', 7) }, t0 + 2 * DAY_MS).unwrap();
    assert_eq!(s.upload_usage("upa", t0).unwrap(), Usage { day: 0, kept: 20 }, "pruned, so even the past reads empty");
    assert_eq!(s.upload_usage("upb", t0 + 2 * DAY_MS).unwrap(), Usage { day: 7, kept: 12 });
}

fn log_is_ordered_idempotent_and_tombstoned(s: &dyn Store) {
    for u in ["cat", "dan"] {
        s.create_user(u, "h", 0).unwrap();
    }
    s.ensure_dm("dm:cat:dan", "cat", "dan", 1).unwrap();
    s.ensure_dm("dm:cat:dan", "cat", "dan", 2).unwrap();
    assert_eq!(s.members("dm:cat:dan").unwrap().len(), 2);
    let a = s.append("dm:cat:dan", &msg("m1", "cat", 5)).unwrap();
    let b = s.append("dm:cat:dan", &msg("m2", "dan", 6)).unwrap();
    assert_eq!((a.seq, b.seq, a.duplicate), (1, 2, false));
    let again = s.append("dm:cat:dan", &msg("m1", "cat", 99)).unwrap();
    assert_eq!((again.seq, again.sent_at, again.duplicate), (1, 5, true));
    // Same client id from another sender is another message.
    assert_eq!(s.append("dm:cat:dan", &msg("m1", "dan", 7)).unwrap().seq, 3);
    assert_eq!(s.conv("dm:cat:dan").unwrap().unwrap().last_seq, 3);
    let own = s.own_message("cat", "m1").unwrap().unwrap();
    assert_eq!((own.conv.as_str(), own.seq, own.deleted), ("dm:cat:dan", 1, false));
    let recall = NewEntry { kind: EntryKind::Recall, ref_seq: Some(1), text: String::new(), ..msg("recall-1", "cat", 8) };
    assert_eq!(s.append("dm:cat:dan", &recall).unwrap().seq, 4);
    let e = s.entries_after("dm:cat:dan", 0, 10).unwrap();
    assert_eq!(e.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert!(e[0].deleted && e[0].text.is_empty());
    assert_eq!((e[3].kind, e[3].ref_seq), (EntryKind::Recall, Some(1)));
    assert_eq!(s.entries_after("dm:cat:dan", 2, 1).unwrap()[0].seq, 3);
    assert_eq!(s.entries_before("dm:cat:dan", None, 2).unwrap().iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 3]);
    assert_eq!(s.entries_before("dm:cat:dan", Some(2), 5).unwrap().iter().map(|e| e.seq).collect::<Vec<_>>(), [1]);
    // Read marks only rise.
    assert_eq!(s.set_read("dm:cat:dan", "dan", 3).unwrap(), 3);
    assert_eq!(s.set_read("dm:cat:dan", "dan", 1).unwrap(), 3);
    // Burn timers.
    let burn = NewEntry { burn_secs: Some(5), ..msg("b1", "cat", 9) };
    let seq = s.append("dm:cat:dan", &burn).unwrap().seq;
    assert_eq!(s.unarmed_burns("dm:cat:dan", seq).unwrap(), vec![(seq, "cat".to_string(), 5)]);
    s.arm_burn("dm:cat:dan", seq, 1000).unwrap();
    assert!(s.unarmed_burns("dm:cat:dan", seq).unwrap().is_empty());
    assert!(s.due_burns(999).unwrap().is_empty());
    assert_eq!(s.due_burns(1000).unwrap(), vec![("dm:cat:dan".to_string(), seq)]);
}

/// Group commit: one batch behaves as its appends one after another.
type Batch<'a> = &'a dyn Fn(&[(&str, &NewEntry)]) -> Result<Vec<Result<Appended>>>;

/// Group commit: one batch behaves as its appends one after another.
/// `batch` is the store's `append_batch` (or, in a test, the trait's default).
pub fn batches_are_ordered_idempotent_and_isolated(s: &dyn Store, batch: Batch) {
    for u in ["hal", "ida"] {
        s.create_user(u, "h", 0).unwrap();
    }
    s.ensure_dm("dm:hal:ida", "hal", "ida", 1).unwrap();
    s.create_group("g:00000000000000bb", "pair", "hal", &["ida".into()], 1).unwrap();
    let first = s.append("dm:hal:ida", &msg("h0", "hal", 10)).unwrap();
    let (h1, i1, h1_again, h0_again, g1, lost, h2, recall) = (
        msg("h1", "hal", 11),
        msg("i1", "ida", 12),
        msg("h1", "hal", 13),
        msg("h0", "hal", 14),
        msg("h1", "hal", 15),
        msg("x1", "hal", 16),
        msg("h2", "hal", 17),
        NewEntry { kind: EntryKind::Recall, ref_seq: Some(2), text: String::new(), ..msg("recall-2", "hal", 18) },
    );
    let items: Vec<(&str, &NewEntry)> = vec![
        ("dm:hal:ida", &h1),
        ("dm:hal:ida", &i1),
        // A resend of h1 inside the same batch: its first copy's seq and time.
        ("dm:hal:ida", &h1_again),
        // A resend of a message committed before the batch.
        ("dm:hal:ida", &h0_again),
        // Client ids are per sender, not per conversation: the same id in
        // another conversation is a resend too.
        ("g:00000000000000bb", &g1),
        // A conversation that does not exist fails alone.
        ("dm:hal:zed", &lost),
        ("dm:hal:ida", &h2),
        ("dm:hal:ida", &recall),
    ];
    let r = batch(&items).unwrap();
    assert_eq!(r.len(), items.len());
    let ok = |i: usize| *r[i].as_ref().unwrap_or_else(|e| panic!("item {i}: {e}"));
    assert_eq!(first.seq, 1);
    assert_eq!(ok(0), Appended { seq: 2, sent_at: 11, duplicate: false });
    assert_eq!(ok(1), Appended { seq: 3, sent_at: 12, duplicate: false });
    assert_eq!(ok(2), Appended { seq: 2, sent_at: 11, duplicate: true });
    assert_eq!(ok(3), Appended { seq: 1, sent_at: 10, duplicate: true });
    assert_eq!(ok(4), Appended { seq: 2, sent_at: 11, duplicate: true });
    assert!(r[5].is_err(), "no such conversation");
    assert_eq!(ok(6), Appended { seq: 4, sent_at: 17, duplicate: false });
    assert_eq!(ok(7), Appended { seq: 5, sent_at: 18, duplicate: false });
    let e = s.entries_after("dm:hal:ida", 0, 10).unwrap();
    assert_eq!(e.iter().map(|e| (e.seq, e.id.as_str())).collect::<Vec<_>>(), [(1, "h0"), (2, "h1"), (3, "i1"), (4, "h2"), (5, "recall-2")]);
    assert!(e[1].deleted, "the recall in the batch deleted h1");
    assert_eq!(s.conv("dm:hal:ida").unwrap().unwrap().last_seq, 5);
    assert_eq!(s.conv("g:00000000000000bb").unwrap().unwrap().last_seq, 0);
    assert!(s.own_message("hal", "x1").unwrap().is_none());
    assert!(batch(&[]).unwrap().is_empty());
}

fn friends_blocks_and_members(s: &dyn Store) {
    for u in ["eve", "fay", "gus"] {
        s.create_user(u, "h", 0).unwrap();
    }
    s.set_friend_pair("eve", "fay", Some(FriendState::Outgoing), Some(FriendState::Incoming)).unwrap();
    assert_eq!(s.friend_state("fay", "eve").unwrap(), Some(FriendState::Incoming));
    s.set_friend_pair("fay", "eve", Some(FriendState::Friends), Some(FriendState::Friends)).unwrap();
    assert_eq!(s.friends_of("eve").unwrap().iter().map(|f| (f.0.as_str(), f.1)).collect::<Vec<_>>(), [("fay", FriendState::Friends)]);
    s.set_friend_pair("eve", "fay", None, None).unwrap();
    assert!(s.friends_of("fay").unwrap().is_empty());
    s.set_block("eve", "gus", true).unwrap();
    assert!(s.blocks("eve", "gus").unwrap() && !s.blocks("gus", "eve").unwrap());
    assert_eq!(s.blocked_by("eve").unwrap(), ["gus"]);
    assert_eq!(s.blockers_of("gus").unwrap(), ["eve"]);
    assert!(s.blockers_of("eve").unwrap().is_empty());
    s.set_block("eve", "gus", false).unwrap();
    assert!(!s.blocks("eve", "gus").unwrap());

    s.create_group("g:00000000000000aa", "crew", "eve", &["fay".into(), "fay".into()], 1).unwrap();
    assert_eq!(s.members("g:00000000000000aa").unwrap(), ["eve", "fay"]);
    assert!(s.is_member("g:00000000000000aa", "fay").unwrap() && !s.is_member("g:00000000000000aa", "gus").unwrap());
    s.add_member("g:00000000000000aa", "gus", 2).unwrap();
    s.remove_member("g:00000000000000aa", "eve").unwrap();
    s.set_owner("g:00000000000000aa", Some("fay")).unwrap();
    let c = s.conv("g:00000000000000aa").unwrap().unwrap();
    assert_eq!((c.is_group, c.owner.as_deref()), (true, Some("fay")));
    let convs = s.convs_of("gus").unwrap();
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0].members, ["fay", "gus"]);
    assert!(s.convs_of("eve").unwrap().is_empty());
    let a = AttachmentRow { id: "ab".into(), conv: "g:00000000000000aa".into(), owner: "fay".into(), name: "f.png".into(), mime: "image/png".into(), size: 3 };
    s.insert_attachment(&a, 1).unwrap();
    assert_eq!(s.attachment("ab").unwrap().unwrap().size, 3);
    assert!(s.attachment("zz").unwrap().is_none());
}

#[cfg(test)]
mod tests {
    #[test]
    fn sqlite_in_memory_conforms() {
        super::run_all(&super::SqliteStore::open_in_memory().unwrap());
    }

    #[test]
    fn sqlite_on_disk_conforms_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("relay.db");
        super::run_all(&super::SqliteStore::open(&p).unwrap());
        let s = super::SqliteStore::open(&p).unwrap();
        assert_eq!(super::Store::conv(&s, "dm:cat:dan").unwrap().unwrap().last_seq, 5);
        assert_eq!(super::Store::conv(&s, "dm:hal:ida").unwrap().unwrap().last_seq, 5, "a batch survives reopening");
    }

    /// The trait's default `append_batch` (one append at a time), which a
    /// new backend starts from, shows the same behaviour.
    #[test]
    fn default_append_batch_conforms() {
        let s = super::SqliteStore::open_in_memory().unwrap();
        super::batches_are_ordered_idempotent_and_isolated(&s, &|items| super::append_one_by_one(&s, items));
    }
}
