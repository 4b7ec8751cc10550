//! Live rooms across relay nodes (issue 14): a publisher lands on a node
//! through nginx (the origin); viewers on another node get the low-latency
//! stream and HLS through it, which pulls the live once from the origin (the
//! SRS edge model) and stops when they leave; the origin killed, the
//! publisher reconnects to a survivor and viewers watch again; the replay
//! plays from any node; nobody but a node can use the pull.
//!
//! Real parts: `redis-server`, three `onair relay` nodes sharing one data
//! folder (tests/nodes_support), `onair live` publishing the stamped test
//! source over RTMP, `onair watch` as viewers (their latency from the
//! stamps), ffprobe.

mod nodes_support;

use nodes_support::*;
use serde_json::Value;
use std::process::{Child, Command, Stdio};

struct KillOnDrop(Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn room_info(node: &Node, id: &str) -> Value {
    let (st, body) = http(&node.addr, "GET", &format!("/v1/rooms/{id}"), None, None);
    assert_eq!(st, 200, "room {id} on {}: {body}", node.id);
    serde_json::from_str(&body).unwrap()
}

/// `onair watch ROOM --relay NODE …` for `secs`; the stats file it writes.
fn watch(node: &Node, home: &std::path::Path, id: &str, name: &str, extra: &[&str], secs: u32) -> (KillOnDrop, std::path::PathBuf) {
    let stats = home.join(format!("{name}.json"));
    let c = Command::new(BIN)
        .args(["watch", id, "--relay", &node.url(), "--duration", &secs.to_string(), "--stats-json"])
        .arg(&stats)
        .args(extra)
        .env("ONAIR_HOME", home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (KillOnDrop(c), stats)
}

fn stats(mut w: KillOnDrop, path: &std::path::Path) -> Value {
    let st = w.0.wait().unwrap();
    assert!(st.success(), "onair watch failed ({st})");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The node the bus names as `id`'s origin (`onair:origins`).
fn origin_of(cluster: &Cluster, id: &str) -> Option<usize> {
    let v = cluster.redis.command(&format!("HGET onair:origins {id}\r\n"));
    let node = v.lines().nth(1)?.split('|').next()?.to_string();
    cluster.nodes.iter().position(|n| n.id == node)
}

#[test]
fn a_live_is_watched_through_any_node_survives_its_origin_and_replays_anywhere() {
    let mut cluster = Cluster::start(3, &["--ladder", "360p"]);
    let front = cluster.nginx();
    let ann = register(&cluster.nodes[0], "ann");
    let (st, body) = http(&front.addr, "POST", "/v1/rooms", Some(&ann), Some(r#"{"title":"Across nodes","category":"test"}"#));
    assert_eq!(st, 201, "{body}");
    let room: Value = serde_json::from_str(&body).unwrap();
    let id = room["id"].as_str().unwrap().to_string();
    let key = room["stream_key"].as_str().unwrap();
    let home = tempfile::tempdir().unwrap();

    // Not live anywhere yet: no node has anything to pull.
    assert_eq!(room_info(&cluster.nodes[2], &id)["live"], false);
    assert_eq!(http(&cluster.nodes[2].addr, "GET", &format!("/live/{id}/index.m3u8"), None, None).0, 404);

    // The publisher goes through the balancer (deploy/nginx-nodes.conf's
    // stream block); the node it lands on is the origin.
    let mut live = KillOnDrop(
        Command::new(BIN)
            .args(["live", "--to", &format!("rtmp://{}/live/{key}", front.rtmp), "--video", "test", "--audio", "test", "--preset", "480p30", "--duration", "90"])
            .env("ONAIR_HOME", home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let o = wait_for(60, "the room to go live on some node", || origin_of(&cluster, &id));
    let e = (o + 1) % 3;
    let (origin, edge) = (&cluster.nodes[o], &cluster.nodes[e]);
    // Every node's directory says so (the origin is on the bus).
    wait_for(10, "the other node to see the room live", || (room_info(edge, &id)["live"] == true).then_some(()));

    // Low-latency viewers on the origin and on the edge at once (same
    // frames, same clock), a second one on the edge, and an HLS viewer.
    let (wa, sa) = watch(origin, home.path(), &id, "origin-ll", &["--low-latency"], 10);
    let (wc, sc) = watch(edge, home.path(), &id, "edge-ll", &["--low-latency"], 10);
    let (wc2, sc2) = watch(edge, home.path(), &id, "edge-flv", &["--low-latency", "--flv"], 10);
    let (wh, sh) = watch(edge, home.path(), &id, "edge-hls", &[], 10);
    // The origin sends one stream to the edge however many watch there.
    let t = std::time::Instant::now();
    while room_info(edge, &id)["stream_viewers"].as_u64() < Some(2) {
        assert!(t.elapsed().as_secs() < 30, "the edge's viewers never played: {}\n{}", room_info(edge, &id), edge.log());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let at_origin = room_info(origin, &id)["stream_viewers"].as_u64().unwrap();
    assert!(at_origin <= 2, "the origin serves its own viewer and one pull, not each of the edge's viewers: {at_origin}");

    let (va, vc, vc2, vh) = (stats(wa, &sa), stats(wc, &sc), stats(wc2, &sc2), stats(wh, &sh));
    for (name, v) in [("origin fMP4", &va), ("edge fMP4", &vc), ("edge FLV", &vc2), ("edge HLS", &vh)] {
        let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{name}: {k} missing: {v}"));
        assert!(n("video_frames_expected") >= 100, "{name}: {v}");
        assert!(n("video_frames_stamped") as f64 >= 0.8 * n("video_frames_expected") as f64, "{name}: {v}");
        let p50 = v["latency_ms_p50"].as_i64().unwrap_or_else(|| panic!("{name}: no latency: {v}"));
        assert!(p50 > 0 && p50 < 15_000, "{name}: {v}");
    }
    let (la, lc) = (va["latency_ms_p50"].as_i64().unwrap(), vc["latency_ms_p50"].as_i64().unwrap());
    eprintln!("low-latency p50: {la} ms on the origin, {lc} ms through the edge (+{} ms)", lc - la);
    // The issue's figure is ~100 ms; a loaded 2-core machine running
    // three relays, nginx, a publisher and four viewers gets a wider bound.
    assert!(lc - la < 500, "the edge adds {} ms (origin {va}, edge {vc})", lc - la);

    // The ladder's rung, made by the edge from its pull.
    let (w, s360) = watch(edge, home.path(), &id, "edge-360p", &["--quality", "360p"], 5);
    let v = stats(w, &s360);
    assert!(v["video_frames_decoded"].as_u64().unwrap_or(0) >= 30, "360p through the edge: {v}");
    assert!(edge.log().contains("ladder: encoding this rung"), "{}", edge.log());

    // Nobody watches on the edge any more: it stops pulling (IDLE is 8 s).
    wait_for(40, "the edge to stop pulling", || (room_info(origin, &id)["stream_viewers"].as_u64() == Some(0)).then_some(()));
    assert!(edge.log().contains("edge: stopped pulling"), "{}", edge.log());

    // A crafted pull: no ticket, a made-up one, a forged signature, HLS.
    for q in ["edge=", "edge=et.x.99999999999999.00", &format!("edge=et.{id}.99999999999999.{}", "ab".repeat(32))] {
        let (st, _) = http(&origin.addr, "GET", &format!("/live/{id}/live.flv?{q}"), None, None);
        assert!(st == 401 || st == 404, "{q}: {st}");
    }
    assert_eq!(http(&origin.addr, "GET", &format!("/live/{id}/index.m3u8?edge=et.{id}.1.00"), None, None).0, 404);

    // The origin dies (SIGKILL). The publisher reconnects through the
    // balancer to a surviving node; viewers of the other node watch again.
    let old = origin.id.clone();
    cluster.nodes[o].kill9();
    let moved = wait_for(60, "the publisher to land on another node", || origin_of(&cluster, &id).filter(|n| cluster.nodes[*n].id != old));
    let viewer = &cluster.nodes[if moved == e { (e + 1) % 3 } else { e }];
    assert_ne!(viewer.id, old);
    let (w, s2) = watch(viewer, home.path(), &id, "after", &["--low-latency"], 4);
    let v = stats(w, &s2);
    assert!(v["video_frames_decoded"].as_u64().unwrap_or(0) >= 30, "after the origin died, through {}: {v}", viewer.id);

    // The publisher ends: its replay (written by the new origin into the
    // shared data folder) is listed and plays from another node.
    unsafe { libc::kill(live.0.id() as i32, libc::SIGTERM) };
    let _ = live.0.wait();
    let replay = wait_for(60, "a replay to be listed", || {
        let (st, body) = http(&viewer.addr, "GET", &format!("/v1/rooms/{id}/replays"), None, None);
        let list: Value = serde_json::from_str(&body).ok()?;
        (st == 200).then(|| list.as_array()?.iter().find_map(|r| r.get("path")?.as_str().map(String::from))).flatten()
    });
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name,width", "-of", "csv=p=0"])
        .arg(format!("{}{replay}", viewer.url()))
        .output()
        .unwrap();
    let probe = String::from_utf8_lossy(&out.stdout);
    assert!(probe.contains("h264,854") && probe.contains("aac"), "replay through {}: {probe} {}", viewer.id, String::from_utf8_lossy(&out.stderr));
}
