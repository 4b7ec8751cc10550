//! The store conformance suite on a real PostgreSQL 15 (started by the
//! test), the same suite SQLite passes, plus what only several writers can
//! show: many threads — on two stores, as two relay nodes would be —
//! appending to one conversation get dense sequence numbers, and a client
//! id sent twice at once is stored once.

mod pg_support;

use onair_proto::EntryKind;
use onair_relay::error::StoreError;
use onair_relay::store::{conformance, Appended, NewEntry, PostgresStore, Store};
use std::collections::HashMap;
use std::sync::Arc;

fn msg(id: &str, sender: &str) -> NewEntry {
    NewEntry {
        id: id.into(),
        sender: sender.into(),
        sent_at: 1,
        kind: EntryKind::Message,
        text: format!("text {id}"),
        ref_seq: None,
        burn_secs: None,
        attachment: None,
    }
}

#[test]
fn postgres_store_conforms_and_orders_concurrent_appends() {
    let pg = pg_support::Postgres::start();

    // The suite, on a fresh database; opening it again migrates nothing twice.
    let url = pg.fresh_db("conformance");
    conformance::run_all(&PostgresStore::open(&url).unwrap());
    let again = PostgresStore::open(&url).unwrap();
    assert_eq!(
        again.conv("dm:cat:dan").unwrap().unwrap().last_seq,
        5,
        "the data survives reopening"
    );
    let o = pg.psql("conformance", "SELECT count(*) FROM schema_migrations");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "4");

    concurrent_appends(&pg.fresh_db("concurrent"));
    nodes_starting_together(&pg.fresh_db("together"));
    clear_errors_without_the_password(&pg);
}

/// 8 threads on two stores (two "nodes"), each appending its own messages
/// to one group, one at a time and in batches, and each also resending the
/// same client ids as its twin on the other store at the same moment.
fn concurrent_appends(url: &str) {
    let nodes = [
        Arc::new(PostgresStore::open(url).unwrap()),
        Arc::new(PostgresStore::open(url).unwrap()),
    ];
    let users: Vec<String> = (0..4).map(|i| format!("u{i}")).collect();
    for u in &users {
        nodes[0].create_user(u, "h", 0).unwrap();
    }
    nodes[0]
        .create_group("g:0000000000000001", "load", "u0", &users[1..], 0)
        .unwrap();
    const PER: usize = 60;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            // Threads t and t+4 send as the same user with the same ids, each
            // on its own node: every message is sent twice, concurrently.
            let store = nodes[t % 2].clone();
            let user = users[t % 4].clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                let mut i = 0;
                while i < PER {
                    if i % 3 == 0 {
                        let batch: Vec<NewEntry> = (i..(i + 5).min(PER))
                            .map(|k| msg(&format!("{user}-{k}"), &user))
                            .collect();
                        let items: Vec<(&str, &NewEntry)> =
                            batch.iter().map(|e| ("g:0000000000000001", e)).collect();
                        for (e, r) in batch.iter().zip(store.append_batch(&items).unwrap()) {
                            got.push((e.id.clone(), r.unwrap()));
                        }
                        i += batch.len();
                    } else {
                        let e = msg(&format!("{user}-{i}"), &user);
                        got.push((
                            e.id.clone(),
                            store.append("g:0000000000000001", &e).unwrap(),
                        ));
                        i += 1;
                    }
                }
                got
            })
        })
        .collect();
    let mut answers: HashMap<String, Vec<Appended>> = HashMap::new();
    for t in threads {
        for (id, a) in t.join().expect("an appending thread panicked") {
            answers.entry(id).or_default().push(a);
        }
    }
    let unique = 4 * PER;
    assert_eq!(answers.len(), unique);
    for (id, a) in &answers {
        assert_eq!(a.len(), 2, "{id} was sent twice");
        assert_eq!(
            a[0].seq, a[1].seq,
            "{id}: both copies answered with one number"
        );
        assert_eq!(
            a.iter().filter(|x| !x.duplicate).count(),
            1,
            "{id}: stored once, the other copy a duplicate: {a:?}"
        );
    }
    let log = nodes[1]
        .entries_after("g:0000000000000001", 0, 10_000)
        .unwrap();
    assert_eq!(
        log.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=unique as u64).collect::<Vec<_>>(),
        "dense, no gaps, no duplicates"
    );
    assert_eq!(
        nodes[0]
            .conv("g:0000000000000001")
            .unwrap()
            .unwrap()
            .last_seq,
        unique as u64
    );
    for e in &log {
        assert_eq!(
            answers[&e.id][0].seq, e.seq,
            "the answer names the stored number"
        );
    }
}

/// Nodes starting at once on an empty database: one migrates, the others
/// wait for it and find the schema done.
fn nodes_starting_together(url: &str) {
    let opened: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn({
                let u = url.to_string();
                move || PostgresStore::open(&u).map(|_| ())
            })
        })
        .collect();
    for t in opened {
        t.join().unwrap().expect("every node opens the store");
    }
}

/// A bad or unreachable URL says what is wrong, and never shows the password.
fn clear_errors_without_the_password(pg: &pg_support::Postgres) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = |url: String| match PostgresStore::open(&url) {
        Ok(_) => panic!("{url} opened"),
        Err(e) => e,
    };
    let e = err(format!("postgres://ann:hunter2@127.0.0.1:{closed}/x"));
    let text = e.to_string();
    assert!(matches!(e, StoreError::Unreachable { .. }), "{text}");
    assert!(
        text.contains(&format!("127.0.0.1:{closed}"))
            && text.contains("ann:****@")
            && !text.contains("hunter2"),
        "{text}"
    );
    let text = err("postgres://ann:hunter2@127.0.0.1:notaport/x".into()).to_string();
    assert!(
        text.contains("not valid") && !text.contains("hunter2"),
        "{text}"
    );
    let text = err("mysql://ann:hunter2@127.0.0.1/x".into()).to_string();
    assert!(
        text.contains("not a postgres:// URL") && !text.contains("hunter2"),
        "{text}"
    );
    // A database that does not exist: the server's own words, no password.
    let text = err(format!(
        "postgres://postgres:hunter2@127.0.0.1:{}/nosuchdb",
        pg.port
    ))
    .to_string();
    assert!(
        text.contains("nosuchdb") && !text.contains("hunter2"),
        "{text}"
    );
}
