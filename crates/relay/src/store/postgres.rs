//! The PostgreSQL backend (`onair relay --store postgres://…`), for several
//! relay nodes sharing one database. Same trait, same conformance suite and
//! the same semantics as [`super::SqliteStore`]: a conversation's sequence
//! numbers are taken under its row's lock (`UPDATE … RETURNING`), so
//! concurrent appends from any node get dense numbers; a client id already
//! stored (even by another node, in a transaction that committed while we
//! waited) is answered with its first copy's number.
//!
//! Each call takes a connection from a small pool and runs on the calling
//! thread, which must be allowed to block (see `pool::off_runtime`).
//! Schema: the numbered files in `migrations/postgres/`, applied at start in
//! one transaction under an advisory lock (nodes starting together take
//! turns), recorded in `schema_migrations`.

use super::*;
use crate::error::StoreError;
use ::postgres::error::SqlState;
use ::postgres::types::ToSql;
use ::postgres::{GenericClient, Row};
use onair_proto::ConvKind;

mod calls;
mod cloud;
mod follows;
mod pool;
mod rooms;

pub use pool::redact;
use pool::{PgConn, Pool};

const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../migrations/postgres/0001_init.sql")),
    ("0002_room_ladder", include_str!("../../migrations/postgres/0002_room_ladder.sql")),
    ("0003_cloud_recordings", include_str!("../../migrations/postgres/0003_cloud_recordings.sql")),
    ("0004_follows", include_str!("../../migrations/postgres/0004_follows.sql")),
];

/// Connections per relay node: the session work of a node runs on a
/// bounded blocking pool, so a few connections keep it busy.
const POOL_MAX: usize = 8;

/// Any number, fixed: nodes starting together migrate one at a time.
const MIGRATION_LOCK: i64 = 0x6f6e_6169_725f_6d67;

pub struct PostgresStore {
    pool: Pool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/db`) and
    /// brings the schema up to date. Errors name the URL without its password.
    pub fn open(url: &str) -> Result<Self> {
        let shown = redact(url);
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::BadUrl(format!("the store {shown:?} is not a postgres:// URL (leave --store out for SQLite in the data folder)")));
        }
        let mut config: ::postgres::Config = url
            .parse()
            .map_err(|e| StoreError::BadUrl(format!("the store URL {shown} is not valid: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        config.application_name("onair-relay");
        let pool = Pool::new(config, shown, POOL_MAX);
        pool.with(|c| migrate(&mut c.client))?;
        Ok(PostgresStore { pool })
    }

    /// The URL this store uses, without its password.
    pub fn url(&self) -> &str {
        &self.pool.url
    }

    fn run<T: Send>(
        &self,
        f: impl Fn(&mut Db<'_, ::postgres::Client>) -> Result<T> + Send + Sync,
    ) -> Result<T> {
        self.pool.with(|c| {
            f(&mut Db {
                c: &mut c.client,
                cache: &mut c.cache,
            })
        })
    }

    /// Runs `f` in a transaction, again (up to 3 times) when PostgreSQL
    /// aborted it for a deadlock or a serialization failure.
    fn tx<T: Send>(
        &self,
        f: impl Fn(&mut Db<'_, ::postgres::Transaction<'_>>) -> Result<T> + Send + Sync,
    ) -> Result<T> {
        self.pool.with(|c: &mut PgConn| {
            let mut attempt = 0;
            loop {
                let mut t = c.client.transaction()?;
                let r = f(&mut Db {
                    c: &mut t,
                    cache: &mut c.cache,
                })
                .and_then(|v| t.commit().map(|_| v).map_err(StoreError::from));
                match r {
                    Err(StoreError::Postgres(e)) if attempt < 3 && retryable(&e) => attempt += 1,
                    r => return r,
                }
            }
        })
    }
}

fn retryable(e: &::postgres::Error) -> bool {
    matches!(e.code(), Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE)
}

fn migrate(c: &mut ::postgres::Client) -> Result<()> {
    let mut tx = c.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)")?;
    let done: Vec<String> = tx
        .query("SELECT name FROM schema_migrations", &[])?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()?;
    for (name, sql) in MIGRATIONS {
        if done.iter().any(|d| d == name) {
            continue;
        }
        tx.batch_execute(sql)
            .map_err(|source| StoreError::PgMigration {
                name: *name,
                source,
            })?;
        tx.execute(
            "INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)",
            &[name, &crate::state::now_ms()],
        )?;
        tracing::info!(migration = name, "store migrated");
    }
    tx.commit()?;
    Ok(())
}

/// A connection or transaction with the connection's statement cache.
pub(super) struct Db<'a, C: GenericClient> {
    c: &'a mut C,
    cache: &'a mut std::collections::HashMap<&'static str, ::postgres::Statement>,
}

type P<'a> = &'a [&'a (dyn ToSql + Sync)];

impl<C: GenericClient> Db<'_, C> {
    fn st(&mut self, sql: &'static str) -> Result<::postgres::Statement> {
        if let Some(s) = self.cache.get(sql) {
            return Ok(s.clone());
        }
        let s = self.c.prepare(sql)?;
        self.cache.insert(sql, s.clone());
        Ok(s)
    }

    fn exec(&mut self, sql: &'static str, p: P<'_>) -> Result<u64> {
        let s = self.st(sql)?;
        Ok(self.c.execute(&s, p)?)
    }

    fn rows(&mut self, sql: &'static str, p: P<'_>) -> Result<Vec<Row>> {
        let s = self.st(sql)?;
        Ok(self.c.query(&s, p)?)
    }

    fn opt(&mut self, sql: &'static str, p: P<'_>) -> Result<Option<Row>> {
        let s = self.st(sql)?;
        Ok(self.c.query_opt(&s, p)?)
    }

    fn strings(&mut self, sql: &'static str, p: P<'_>) -> Result<Vec<String>> {
        self.rows(sql, p)?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
    }

    fn exists(&mut self, sql: &'static str, p: P<'_>) -> Result<bool> {
        Ok(self.opt(sql, p)?.is_some())
    }
}

fn friend_state_str(s: FriendState) -> &'static str {
    match s {
        FriendState::Friends => "friends",
        FriendState::Outgoing => "outgoing",
        FriendState::Incoming => "incoming",
        FriendState::Blocked => "blocked",
    }
}

fn parse_friend_state(s: &str) -> Result<FriendState> {
    Ok(match s {
        "friends" => FriendState::Friends,
        "outgoing" => FriendState::Outgoing,
        "incoming" => FriendState::Incoming,
        "blocked" => FriendState::Blocked,
        o => return Err(StoreError::Corrupt(format!("friend state {o:?}"))),
    })
}

fn kind_str(k: EntryKind) -> &'static str {
    match k {
        EntryKind::Message => "message",
        EntryKind::Recall => "recall",
        EntryKind::Burn => "burn",
    }
}

fn row_entry(r: &Row) -> Result<Entry> {
    let kind: &str = r.try_get(4)?;
    let att: Option<String> = r.try_get(8)?;
    Ok(Entry {
        seq: r.try_get::<_, i64>(0)? as u64,
        id: r.try_get(1)?,
        from: r.try_get(2)?,
        sent_at: r.try_get(3)?,
        kind: match kind {
            "message" => EntryKind::Message,
            "recall" => EntryKind::Recall,
            "burn" => EntryKind::Burn,
            o => return Err(StoreError::Corrupt(format!("entry kind {o:?}"))),
        },
        text: r.try_get(5)?,
        ref_seq: r.try_get::<_, Option<i64>>(6)?.map(|v| v as u64),
        burn_secs: r.try_get::<_, Option<i64>>(7)?.map(|v| v as u32),
        attachment: match att {
            Some(a) => Some(
                serde_json::from_str(&a)
                    .map_err(|x| StoreError::Corrupt(format!("attachment json: {x}")))?,
            ),
            None => None,
        },
        deleted: r.try_get(9)?,
    })
}

/// One append inside an open transaction; `None` if the conversation does
/// not exist (found before anything is written).
fn append_in(
    db: &mut Db<'_, ::postgres::Transaction<'_>>,
    conv: &str,
    e: &NewEntry,
) -> Result<Option<Appended>> {
    const DUP: &str =
        "SELECT seq, sent_at FROM entries WHERE sender = $1 AND id = $2 AND kind = 'message'";
    let dup = |r: Row| -> Result<Option<Appended>> {
        Ok(Some(Appended {
            seq: r.try_get::<_, i64>(0)? as u64,
            sent_at: r.try_get(1)?,
            duplicate: true,
        }))
    };
    if e.kind == EntryKind::Message {
        if let Some(r) = db.opt(DUP, &[&e.sender, &e.id])? {
            return dup(r);
        }
    }
    // Takes the conversation's row lock until commit: the next append to
    // it, from any node, waits here and gets the next number.
    let Some(r) = db.opt(
        "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
        &[&conv],
    )?
    else {
        return Ok(None);
    };
    let seq: i64 = r.try_get(0)?;
    let att = e
        .attachment
        .as_ref()
        .map(|a| serde_json::to_string(a).expect("Attachment always serialises"));
    let (ref_seq, burn_secs) = (e.ref_seq.map(|v| v as i64), e.burn_secs.map(i64::from));
    let n = db.exec(
        "INSERT INTO entries(conv, seq, id, sender, sent_at, kind, text, ref_seq, burn_secs, attachment) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10::text::jsonb) ON CONFLICT (sender, id) WHERE kind = 'message' DO NOTHING",
        &[&conv, &seq, &e.id, &e.sender, &e.sent_at, &kind_str(e.kind), &e.text, &ref_seq, &burn_secs, &att],
    )?;
    if n == 0 {
        // Another node stored this client id while we waited on the
        // index: give the number back (we still hold the row, so it is the
        // last one taken) and answer with the first copy.
        db.exec(
            "UPDATE conversations SET last_seq = last_seq - 1 WHERE id = $1",
            &[&conv],
        )?;
        let r = db.opt(DUP, &[&e.sender, &e.id])?.ok_or_else(|| {
            StoreError::Corrupt(format!("client id {:?} conflicted but is not stored", e.id))
        })?;
        return dup(r);
    }
    if let (EntryKind::Recall | EntryKind::Burn, Some(r)) = (e.kind, ref_seq) {
        // Text and attachment gone: the attachment's row now (a download
        // answers 404), its file once a node has removed it.
        let att = db.opt("SELECT attachment->>'id' FROM entries WHERE conv = $1 AND seq = $2 AND attachment IS NOT NULL", &[&conv, &r])?;
        if let Some(id) = att
            .map(|row| row.try_get::<_, Option<String>>(0))
            .transpose()?
            .flatten()
        {
            db.exec("DELETE FROM attachments WHERE id = $1", &[&id])?;
            db.exec(
                "INSERT INTO attachment_trash(id) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&id],
            )?;
        }
        db.exec("UPDATE entries SET deleted = TRUE, text = '', attachment = NULL, burn_at = NULL WHERE conv = $1 AND seq = $2", &[&conv, &r])?;
    }
    Ok(Some(Appended {
        seq: seq as u64,
        sent_at: e.sent_at,
        duplicate: false,
    }))
}

const ENTRY_COLS_AFTER: &str = "SELECT seq, id, sender, sent_at, kind, text, ref_seq, burn_secs, attachment::text, deleted FROM entries WHERE conv = $1 AND seq > $2 ORDER BY seq LIMIT $3";
const ENTRY_COLS_BEFORE: &str = "SELECT seq, id, sender, sent_at, kind, text, ref_seq, burn_secs, attachment::text, deleted FROM entries WHERE conv = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3";
const ENTRY_ONE: &str = "SELECT seq, id, sender, sent_at, kind, text, ref_seq, burn_secs, attachment::text, deleted FROM entries WHERE conv = $1 AND seq = $2";

impl Store for PostgresStore {
    fn create_user(&self, name: &str, pw_hash: &str, now: i64) -> Result<()> {
        let n = self.run(|db| db.exec("INSERT INTO users(name, pw_hash, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING", &[&name, &pw_hash, &now]))?;
        if n == 0 {
            return Err(StoreError::Taken(name.to_string()));
        }
        Ok(())
    }

    fn user(&self, name: &str) -> Result<Option<UserRow>> {
        let row = self.run(|db| db.opt("SELECT name, pw_hash, accept_from, last_seen FROM users WHERE name = $1 AND deleted_at IS NULL", &[&name]))?;
        row.map(|r| {
            let a: &str = r.try_get(2)?;
            Ok(UserRow {
                name: r.try_get(0)?,
                pw_hash: r.try_get(1)?,
                accept_from: if a == "friends" {
                    AcceptFrom::Friends
                } else {
                    AcceptFrom::Anyone
                },
                last_seen: r.try_get(3)?,
            })
        })
        .transpose()
    }

    fn set_last_seen(&self, name: &str, at: i64) -> Result<()> {
        self.run(|db| {
            db.exec(
                "UPDATE users SET last_seen = $2 WHERE name = $1",
                &[&name, &at],
            )
        })?;
        Ok(())
    }

    fn set_accept_from(&self, name: &str, a: AcceptFrom) -> Result<()> {
        let v = match a {
            AcceptFrom::Anyone => "anyone",
            AcceptFrom::Friends => "friends",
        };
        self.run(|db| {
            db.exec(
                "UPDATE users SET accept_from = $2 WHERE name = $1",
                &[&name, &v],
            )
        })?;
        Ok(())
    }

    fn insert_token(&self, hash: &[u8; 32], user: &str, now: i64, expires_at: i64) -> Result<()> {
        let h = &hash[..];
        self.run(|db| db.exec("INSERT INTO tokens(hash, user_name, created_at, expires_at) VALUES ($1, $2, $3, $4)", &[&h, &user, &now, &expires_at]))?;
        Ok(())
    }

    fn token_user(&self, hash: &[u8; 32], now: i64) -> Result<Option<String>> {
        let h = &hash[..];
        let r = self.run(|db| {
            db.opt(
                "SELECT user_name FROM tokens WHERE hash = $1 AND NOT revoked AND expires_at > $2",
                &[&h, &now],
            )
        })?;
        Ok(r.map(|r| r.try_get(0)).transpose()?)
    }

    fn revoke_token(&self, hash: &[u8; 32]) -> Result<()> {
        let h = &hash[..];
        self.run(|db| db.exec("UPDATE tokens SET revoked = TRUE WHERE hash = $1", &[&h]))?;
        Ok(())
    }

    fn set_password(&self, name: &str, pw_hash: &str) -> Result<bool> {
        Ok(self.run(|db| {
            db.exec(
                "UPDATE users SET pw_hash = $2 WHERE name = $1 AND deleted_at IS NULL",
                &[&name, &pw_hash],
            )
        })? > 0)
    }

    fn revoke_user_tokens(&self, user: &str, except: Option<&[u8; 32]>) -> Result<u64> {
        let keep: &[u8] = except.map(|h| &h[..]).unwrap_or(&[]);
        self.run(|db| db.exec("UPDATE tokens SET revoked = TRUE WHERE user_name = $1 AND NOT revoked AND hash <> $2", &[&user, &keep]))
    }

    fn delete_account(&self, name: &str, now: i64) -> Result<Option<DeletedAccount>> {
        self.tx(|db| {
            if !db.exists("SELECT 1 FROM users WHERE name = $1 AND deleted_at IS NULL FOR UPDATE", &[&name])? {
                return Ok(None);
            }
            let mut out = DeletedAccount::default();
            // Each message gone as a recall is: others' histories show it removed.
            let sent = db.rows("SELECT conv, seq FROM entries WHERE sender = $1 AND kind = 'message' AND NOT deleted ORDER BY conv, seq", &[&name])?;
            for r in sent {
                let (conv, seq): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
                let e = NewEntry { id: format!("recall-{seq}"), sender: name.into(), sent_at: now, kind: EntryKind::Recall, text: String::new(), ref_seq: Some(seq as u64), burn_secs: None, attachment: None };
                if let Some(a) = append_in(db, &conv, &e)? {
                    let entry = Entry { seq: a.seq, id: e.id, from: e.sender, sent_at: now, kind: e.kind, text: String::new(), ref_seq: e.ref_seq, burn_secs: None, attachment: None, deleted: false };
                    out.tombstones.push((conv, entry));
                }
            }
            out.attachments = db.strings("DELETE FROM attachments WHERE owner = $1 RETURNING id", &[&name])?;
            out.attachments.sort();
            let convs = db.strings("DELETE FROM members WHERE user_name = $1 RETURNING conv", &[&name])?;
            let mut convs = convs;
            convs.sort();
            for conv in convs {
                let rest = db.strings("SELECT user_name FROM members WHERE conv = $1 ORDER BY joined, user_name", &[&conv])?;
                // A group the user owned passes to its longest-standing member, as on leaving.
                db.exec("UPDATE conversations SET owner = $2 WHERE id = $1 AND owner = $3", &[&conv, &rest.first(), &name])?;
                out.left.push((conv, rest));
            }
            out.friends = db.strings("SELECT other FROM friends WHERE user_name = $1 ORDER BY other", &[&name])?;
            db.exec("DELETE FROM friends WHERE user_name = $1 OR other = $1", &[&name])?;
            db.exec("DELETE FROM blocks WHERE user_name = $1 OR blocked = $1", &[&name])?;
            db.exec("DELETE FROM tokens WHERE user_name = $1", &[&name])?;
            db.exec("UPDATE users SET pw_hash = '', accept_from = 'friends', last_seen = NULL, deleted_at = $2 WHERE name = $1", &[&name, &now])?;
            Ok(Some(out))
        })
    }

    fn friend_state(&self, user: &str, other: &str) -> Result<Option<FriendState>> {
        let r = self.run(|db| {
            db.opt(
                "SELECT state FROM friends WHERE user_name = $1 AND other = $2",
                &[&user, &other],
            )
        })?;
        r.map(|r| parse_friend_state(r.try_get(0)?)).transpose()
    }

    fn set_friend_pair(
        &self,
        user: &str,
        other: &str,
        mine: Option<FriendState>,
        theirs: Option<FriendState>,
    ) -> Result<()> {
        self.tx(|db| {
            for (a, b, s) in [(user, other, mine), (other, user, theirs)] {
                match s {
                    Some(s) => db.exec(
                        "INSERT INTO friends(user_name, other, state) VALUES ($1, $2, $3) ON CONFLICT (user_name, other) DO UPDATE SET state = excluded.state",
                        &[&a, &b, &friend_state_str(s)],
                    )?,
                    None => db.exec("DELETE FROM friends WHERE user_name = $1 AND other = $2", &[&a, &b])?,
                };
            }
            Ok(())
        })
    }

    fn friends_of(&self, user: &str) -> Result<Vec<(String, FriendState, Option<i64>)>> {
        let rows = self.run(|db| db.rows("SELECT f.other, f.state, u.last_seen FROM friends f LEFT JOIN users u ON u.name = f.other WHERE f.user_name = $1 ORDER BY f.other", &[&user]))?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    parse_friend_state(r.try_get(1)?)?,
                    r.try_get(2)?,
                ))
            })
            .collect()
    }

    fn blocks(&self, user: &str, other: &str) -> Result<bool> {
        self.run(|db| {
            db.exists(
                "SELECT 1 FROM blocks WHERE user_name = $1 AND blocked = $2",
                &[&user, &other],
            )
        })
    }

    fn set_block(&self, user: &str, other: &str, blocked: bool) -> Result<()> {
        self.run(|db| {
            if blocked {
                db.exec(
                    "INSERT INTO blocks(user_name, blocked) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&user, &other],
                )
            } else {
                db.exec(
                    "DELETE FROM blocks WHERE user_name = $1 AND blocked = $2",
                    &[&user, &other],
                )
            }
        })?;
        Ok(())
    }

    fn blocked_by(&self, user: &str) -> Result<Vec<String>> {
        self.run(|db| {
            db.strings(
                "SELECT blocked FROM blocks WHERE user_name = $1 ORDER BY blocked",
                &[&user],
            )
        })
    }

    fn blockers_of(&self, user: &str) -> Result<Vec<String>> {
        self.run(|db| {
            db.strings(
                "SELECT user_name FROM blocks WHERE blocked = $1 ORDER BY user_name",
                &[&user],
            )
        })
    }

    fn conv(&self, id: &str) -> Result<Option<ConvRow>> {
        let r = self.run(|db| {
            db.opt(
                "SELECT id, kind, name, owner, last_seq FROM conversations WHERE id = $1",
                &[&id],
            )
        })?;
        r.map(|r| {
            Ok(ConvRow {
                id: r.try_get(0)?,
                is_group: r.try_get::<_, &str>(1)? == "group",
                name: r.try_get(2)?,
                owner: r.try_get(3)?,
                last_seq: r.try_get::<_, i64>(4)? as u64,
            })
        })
        .transpose()
    }

    fn ensure_dm(&self, id: &str, a: &str, b: &str, now: i64) -> Result<()> {
        self.tx(|db| {
            let n = db.exec("INSERT INTO conversations(id, kind, name, created_at) VALUES ($1, 'dm', '', $2) ON CONFLICT (id) DO NOTHING", &[&id, &now])?;
            if n > 0 {
                for u in [a, b] {
                    db.exec("INSERT INTO members(conv, user_name, joined) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", &[&id, &u, &now])?;
                }
            }
            Ok(())
        })
    }

    fn create_group(
        &self,
        id: &str,
        name: &str,
        owner: &str,
        members: &[String],
        now: i64,
    ) -> Result<()> {
        self.tx(|db| {
            db.exec("INSERT INTO conversations(id, kind, name, owner, created_at) VALUES ($1, 'group', $2, $3, $4)", &[&id, &name, &owner, &now])?;
            for u in std::iter::once(owner).chain(members.iter().map(String::as_str)) {
                db.exec("INSERT INTO members(conv, user_name, joined) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", &[&id, &u, &now])?;
            }
            Ok(())
        })
    }

    fn members(&self, conv: &str) -> Result<Vec<String>> {
        self.run(|db| {
            db.strings(
                "SELECT user_name FROM members WHERE conv = $1 ORDER BY joined, user_name",
                &[&conv],
            )
        })
    }

    fn is_member(&self, conv: &str, user: &str) -> Result<bool> {
        self.run(|db| {
            db.exists(
                "SELECT 1 FROM members WHERE conv = $1 AND user_name = $2",
                &[&conv, &user],
            )
        })
    }

    fn add_member(&self, conv: &str, user: &str, now: i64) -> Result<()> {
        self.run(|db| db.exec("INSERT INTO members(conv, user_name, joined) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", &[&conv, &user, &now]))?;
        Ok(())
    }

    fn remove_member(&self, conv: &str, user: &str) -> Result<()> {
        self.run(|db| {
            db.exec(
                "DELETE FROM members WHERE conv = $1 AND user_name = $2",
                &[&conv, &user],
            )
        })?;
        Ok(())
    }

    fn set_owner(&self, conv: &str, owner: Option<&str>) -> Result<()> {
        self.run(|db| {
            db.exec(
                "UPDATE conversations SET owner = $2 WHERE id = $1",
                &[&conv, &owner],
            )
        })?;
        Ok(())
    }

    fn convs_of(&self, user: &str) -> Result<Vec<ConvInfo>> {
        // One statement, so the list and its members come from one snapshot.
        let rows = self.run(|db| {
            db.rows(
                "SELECT c.id, c.kind, c.name, c.owner, c.last_seq, \
                        ARRAY(SELECT m2.user_name::text FROM members m2 WHERE m2.conv = c.id ORDER BY m2.joined, m2.user_name) \
                 FROM conversations c JOIN members m ON m.conv = c.id WHERE m.user_name = $1 ORDER BY c.id",
                &[&user],
            )
        })?;
        rows.iter()
            .map(|r| {
                Ok(ConvInfo {
                    id: r.try_get(0)?,
                    kind: if r.try_get::<_, &str>(1)? == "group" {
                        ConvKind::Group
                    } else {
                        ConvKind::Dm
                    },
                    name: r.try_get(2)?,
                    owner: r.try_get(3)?,
                    members: r.try_get(5)?,
                    last_seq: r.try_get::<_, i64>(4)? as u64,
                })
            })
            .collect()
    }

    fn append(&self, conv: &str, e: &NewEntry) -> Result<Appended> {
        self.tx(|db| {
            append_in(db, conv, e)?.ok_or_else(|| StoreError::NoConversation(conv.to_string()))
        })
    }

    fn append_batch(&self, items: &[(&str, &NewEntry)]) -> Result<Vec<Result<Appended>>> {
        // Conversations' rows are locked in one order (by id; a stable sort
        // keeps each conversation's messages in arrival order): two nodes'
        // batches touching the same conversations queue instead of
        // deadlocking (PostgreSQL would take deadlock_timeout, 1 s, to
        // notice and abort one of them).
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by_key(|&i| items[i].0);
        self.tx(|db| {
            let mut out: Vec<Option<Result<Appended>>> = (0..items.len()).map(|_| None).collect();
            for &i in &order {
                let (conv, e) = items[i];
                // Any error but a missing conversation aborts the whole
                // batch (PostgreSQL aborts the transaction anyway): every
                // sender is told to send again.
                out[i] = Some(
                    append_in(db, conv, e)?
                        .ok_or_else(|| StoreError::NoConversation(conv.to_string())),
                );
            }
            Ok(out.into_iter().map(|r| r.unwrap_or_else(|| Err(StoreError::Corrupt("an append was skipped".into())))).collect())
        })
    }

    fn entries_after(&self, conv: &str, after: u64, limit: u32) -> Result<Vec<Entry>> {
        let (after, limit) = (after.min(i64::MAX as u64) as i64, i64::from(limit));
        self.run(|db| db.rows(ENTRY_COLS_AFTER, &[&conv, &after, &limit]))?
            .iter()
            .map(row_entry)
            .collect()
    }

    fn entries_before(&self, conv: &str, before: Option<u64>, limit: u32) -> Result<Vec<Entry>> {
        let before = before
            .map(|b| b.min(i64::MAX as u64) as i64)
            .unwrap_or(i64::MAX);
        let limit = i64::from(limit);
        self.run(|db| db.rows(ENTRY_COLS_BEFORE, &[&conv, &before, &limit]))?
            .iter()
            .map(row_entry)
            .collect()
    }

    fn own_message(&self, sender: &str, id: &str) -> Result<Option<OwnMessage>> {
        let r = self.run(|db| db.opt("SELECT conv, seq, sent_at, deleted FROM entries WHERE sender = $1 AND id = $2 AND kind = 'message'", &[&sender, &id]))?;
        r.map(|r| {
            Ok(OwnMessage {
                conv: r.try_get(0)?,
                seq: r.try_get::<_, i64>(1)? as u64,
                sent_at: r.try_get(2)?,
                deleted: r.try_get(3)?,
            })
        })
        .transpose()
    }

    fn entry(&self, conv: &str, seq: u64) -> Result<Option<Entry>> {
        let seq = seq.min(i64::MAX as u64) as i64;
        self.run(|db| db.opt(ENTRY_ONE, &[&conv, &seq]))?
            .as_ref()
            .map(row_entry)
            .transpose()
    }

    fn set_read(&self, conv: &str, user: &str, seq: u64) -> Result<u64> {
        let seq = seq.min(i64::MAX as u64) as i64;
        let r = self.run(|db| db.opt("UPDATE members SET read_seq = GREATEST(read_seq, $3) WHERE conv = $1 AND user_name = $2 RETURNING read_seq", &[&conv, &user, &seq]))?;
        let r = r.ok_or_else(|| {
            StoreError::Corrupt(format!(
                "{user:?} has no read mark in {conv:?}: not a member"
            ))
        })?;
        Ok(r.try_get::<_, i64>(0)? as u64)
    }

    fn reads(&self, conv: &str) -> Result<Vec<ReadMark>> {
        let rows = self.run(|db| {
            db.rows(
                "SELECT user_name, read_seq FROM members WHERE conv = $1 ORDER BY user_name",
                &[&conv],
            )
        })?;
        rows.iter()
            .map(|r| {
                Ok(ReadMark {
                    user: r.try_get(0)?,
                    seq: r.try_get::<_, i64>(1)? as u64,
                })
            })
            .collect()
    }

    fn unarmed_burns(&self, conv: &str, upto: u64) -> Result<Vec<(u64, String, u32)>> {
        let upto = upto.min(i64::MAX as u64) as i64;
        let rows = self.run(|db| {
            db.rows(
                "SELECT seq, sender, burn_secs FROM entries WHERE conv = $1 AND seq <= $2 AND burn_secs IS NOT NULL AND burn_at IS NULL AND NOT deleted AND kind = 'message' ORDER BY seq",
                &[&conv, &upto],
            )
        })?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<_, i64>(0)? as u64,
                    r.try_get(1)?,
                    r.try_get::<_, i64>(2)? as u32,
                ))
            })
            .collect()
    }

    fn arm_burn(&self, conv: &str, seq: u64, at: i64) -> Result<()> {
        let seq = seq.min(i64::MAX as u64) as i64;
        self.run(|db| {
            db.exec(
                "UPDATE entries SET burn_at = $3 WHERE conv = $1 AND seq = $2",
                &[&conv, &seq, &at],
            )
        })?;
        Ok(())
    }

    fn due_burns(&self, now: i64) -> Result<Vec<(String, u64)>> {
        let rows = self.run(|db| db.rows("SELECT conv, seq FROM entries WHERE burn_at IS NOT NULL AND NOT deleted AND burn_at <= $1 LIMIT 500", &[&now]))?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get::<_, i64>(1)? as u64)))
            .collect()
    }

    fn insert_attachment(&self, a: &AttachmentRow, now: i64) -> Result<()> {
        let size = a.size.min(i64::MAX as u64) as i64;
        let old = now - crate::quota::DAY_MS;
        self.tx(|db| {
            db.exec("INSERT INTO attachments(id, conv, owner, name, mime, size, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)", &[&a.id, &a.conv, &a.owner, &a.name, &a.mime, &size, &now])?;
            db.exec("INSERT INTO upload_log(owner, at, size) VALUES ($1,$2,$3)", &[&a.owner, &now, &size])?;
            db.exec("DELETE FROM upload_log WHERE at < $1", &[&old])?;
            Ok(())
        })
    }

    fn attachment(&self, id: &str) -> Result<Option<AttachmentRow>> {
        let r = self.run(|db| {
            db.opt(
                "SELECT id, conv, owner, name, mime, size FROM attachments WHERE id = $1",
                &[&id],
            )
        })?;
        r.map(|r| {
            Ok(AttachmentRow {
                id: r.try_get(0)?,
                conv: r.try_get(1)?,
                owner: r.try_get(2)?,
                name: r.try_get(3)?,
                mime: r.try_get(4)?,
                size: r.try_get::<_, i64>(5)?.max(0) as u64,
            })
        })
        .transpose()
    }

    fn take_attachment_trash(&self, limit: u32) -> Result<Vec<String>> {
        let limit = i64::from(limit);
        // SKIP LOCKED: two nodes sweeping at once each get their own ids.
        self.run(|db| db.strings("DELETE FROM attachment_trash WHERE id IN (SELECT id FROM attachment_trash LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING id", &[&limit]))
    }

    fn upload_usage(&self, owner: &str, now: i64) -> Result<crate::quota::Usage> {
        let since = now - crate::quota::DAY_MS;
        let r = self.run(|db| {
            db.opt(
                "SELECT (SELECT COALESCE(SUM(size), 0)::bigint FROM upload_log WHERE owner = $1 AND at > $2), \
                        (SELECT COALESCE(SUM(size), 0)::bigint FROM attachments WHERE owner = $1)",
                &[&owner, &since],
            )
        })?;
        let r = r.ok_or_else(|| StoreError::Corrupt("upload usage: no row".into()))?;
        let (day, kept): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
        Ok(crate::quota::Usage {
            day: day.max(0) as u64,
            kept: kept.max(0) as u64,
        })
    }
}
