//! Live-room chat (danmaku) through a real `onair relay` process with real
//! `onair room chat` clients: comments in order for everyone, banned words,
//! mute and unmute, kick, join/leave counts and the per-user rate limit.

mod chat_support;

use chat_support::{wait_for, Relay, User};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};

/// `onair room chat ROOM --listen --json`, its lines collected as they come.
struct Listener {
    child: Child,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl Listener {
    fn start(u: &User, room: &str) -> Listener {
        let mut child = u.cmd(&["room", "chat", room, "--listen", "--json", "--duration", "240"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    l.lock().unwrap().push(v);
                }
            }
        });
        Listener { child, lines }
    }

    fn events(&self, ev: &str) -> Vec<Value> {
        self.lines.lock().unwrap().iter().filter(|v| v["ev"] == ev).cloned().collect()
    }

    /// The comments seen so far as "from:text", and whether their seqs rise.
    fn comments(&self) -> (Vec<String>, bool) {
        let c = self.events("room_comment");
        let seqs: Vec<u64> = c.iter().map(|v| v["comment"]["seq"].as_u64().unwrap()).collect();
        let texts = c.iter().map(|v| format!("{}:{}", v["comment"]["from"].as_str().unwrap(), v["comment"]["text"].as_str().unwrap())).collect();
        (texts, seqs.windows(2).all(|w| w[0] < w[1]))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chat_viewers(relay: &Relay, owner: &User, room: &str) -> u64 {
    let all = owner.ok(&["room", "list", "--all", "--json"]);
    all.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find(|r| r["id"] == room).map(|r| r["chat_viewers"].as_u64().unwrap()).unwrap_or_else(|| panic!("room {room} not listed on {}", relay.url()))
}

/// Posts `texts` in one `room chat` run; Err(stderr) on a refusal.
fn say(u: &User, room: &str, texts: &[&str]) -> Result<Vec<Value>, String> {
    let mut args = vec!["room", "chat", room, "--json"];
    for t in texts {
        args.extend(["--send", t]);
    }
    let o = u.run(&args);
    let lines = String::from_utf8_lossy(&o.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    if o.status.success() {
        Ok(lines)
    } else {
        Err(format!("{}\n{}", String::from_utf8_lossy(&o.stderr), String::from_utf8_lossy(&o.stdout)))
    }
}

#[test]
fn room_chat_order_banned_words_mute_kick_counts_and_rate_limit() {
    let pre = tempfile::tempdir().unwrap();
    let banned = pre.path().join("banned.txt");
    std::fs::write(&banned, "# refused in every room\nspam\nbuy now\n").unwrap();
    let relay = Relay::start_with(&["--banned-words", banned.to_str().unwrap()], false);
    let ann = User::register(&relay, "ann");
    let bob = User::register(&relay, "bob");
    let cat = User::register(&relay, "cat");
    let dan = User::register(&relay, "dan");
    let room: Value = serde_json::from_str(ann.ok(&["room", "create", "Chatty", "--json"]).trim()).unwrap();
    let id = room["id"].as_str().unwrap().to_string();

    // Two viewers join; the directory counts them.
    let lb = Listener::start(&bob, &id);
    let lc = Listener::start(&cat, &id);
    wait_for(60, "two viewers in the chat", || (chat_viewers(&relay, &ann, &id) == 2).then_some(()));

    // Each sees the other's comments, and their own, in one order.
    say(&bob, &id, &["b1"]).unwrap();
    say(&cat, &id, &["c1"]).unwrap();
    say(&bob, &id, &["b2"]).unwrap();
    let want = ["bob:b1", "cat:c1", "bob:b2"];
    for l in [&lb, &lc] {
        wait_for(60, "three comments", || (l.comments().0.len() >= 3).then_some(()));
        let (texts, rising) = l.comments();
        assert_eq!(texts, want);
        assert!(rising, "seq must rise");
    }

    // A banned word (any case, whole words) is refused with its own code.
    let e = say(&cat, &id, &["get SPAM here"]).unwrap_err();
    assert!(e.contains("banned_word"), "{e}");
    say(&cat, &id, &["spammers are fine"]).unwrap();

    // Mute: refused until unmuted; only the owner may.
    let o = bob.run(&["room", "mute", &id, "cat"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("not_owner"), "{}", String::from_utf8_lossy(&o.stderr));
    ann.ok(&["room", "mute", &id, "cat"]);
    let e = say(&cat, &id, &["can I talk?"]).unwrap_err();
    assert!(e.contains("muted"), "{e}");
    wait_for(30, "the mute event", || lc.events("room_muted").first().map(|v| assert_eq!(v["user"], "cat")));
    ann.ok(&["room", "unmute", &id, "cat"]);
    say(&cat, &id, &["back again"]).unwrap();

    // Rate limit: a burst of 5, then 1 a second; the 8th at once is refused.
    let before = lb.events("room_viewer").len();
    let e = say(&dan, &id, &["d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8"]).unwrap_err();
    assert!(e.contains("rate_limited"), "{e}");
    let said = e.lines().filter(|l| l.contains("\"room_said\"")).count();
    assert!((5..8).contains(&said), "5 of the burst pass, then refusals: {said}\n{e}");
    // Dan's join and leave reached the others, with the counts.
    wait_for(30, "dan's join and leave", || {
        let v = lb.events("room_viewer");
        let dan: Vec<&Value> = v[before..].iter().filter(|e| e["user"] == "dan").collect();
        (dan.len() >= 2).then(|| {
            assert_eq!((dan[0]["joined"].as_bool(), dan[0]["viewers"].as_u64()), (Some(true), Some(3)));
            assert_eq!((dan[1]["joined"].as_bool(), dan[1]["viewers"].as_u64()), (Some(false), Some(2)));
        })
    });

    // Kick: bob is removed at once, cannot rejoin, and others see him leave.
    let mut lb = lb;
    ann.ok(&["room", "kick", &id, "bob", "--secs", "120"]);
    let st = wait_for(30, "bob's listener to end", || lb.child.try_wait().unwrap());
    assert_eq!(st.code(), Some(4), "a kicked listener exits with 4");
    assert!(lb.events("room_kicked").iter().any(|v| v["user"] == "bob"));
    wait_for(30, "bob gone from the count", || (chat_viewers(&relay, &ann, &id) == 1).then_some(()));
    wait_for(30, "cat sees bob leave", || lc.events("room_viewer").iter().any(|v| v["user"] == "bob" && v["joined"] == false).then_some(()));
    let e = say(&bob, &id, &["let me in"]).unwrap_err();
    assert!(e.contains("kicked"), "{e}");
    // The others carry on.
    say(&cat, &id, &["still here"]).unwrap();
    wait_for(30, "cat's last comment", || lc.comments().0.last().filter(|t| *t == "cat:still here").map(|_| ()));
    assert!(lc.comments().1);
}
