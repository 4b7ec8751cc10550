//! Live rooms across relay nodes (issue 14): a publisher on node A, viewers
//! on node C get the low-latency stream and HLS through C, which pulls the
//! live once from A (the SRS edge model) and stops when they leave; the
//! replay plays from any node; nobody but a node can use the pull.
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

#[test]
fn a_live_on_one_node_is_watched_through_another_and_replays_anywhere() {
    let cluster = Cluster::start(3, &[]);
    let (a, c) = (&cluster.nodes[0], &cluster.nodes[2]);
    let ann = register(a, "ann");
    let (st, body) = http(&a.addr, "POST", "/v1/rooms", Some(&ann), Some(r#"{"title":"Across nodes","category":"test"}"#));
    assert_eq!(st, 201, "{body}");
    let room: Value = serde_json::from_str(&body).unwrap();
    let id = room["id"].as_str().unwrap().to_string();
    let key = room["stream_key"].as_str().unwrap();
    let home = tempfile::tempdir().unwrap();

    // Not live anywhere yet: node C has nothing to pull.
    assert_eq!(room_info(c, &id)["live"], false);
    assert_eq!(http(&c.addr, "GET", &format!("/live/{id}/index.m3u8"), None, None).0, 404);

    let _live = KillOnDrop(
        Command::new(BIN)
            .args(["live", "--to", &format!("rtmp://{}/live/{key}", a.rtmp), "--video", "test", "--audio", "test", "--preset", "480p30", "--duration", "35"])
            .env("ONAIR_HOME", home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(60, "the room to go live on A", || (room_info(a, &id)["live"] == true).then_some(()));
    // Every node's directory says so (the origin is on the bus).
    wait_for(10, "node C to see the room live", || (room_info(c, &id)["live"] == true).then_some(()));

    // Low-latency viewers on A and on C at once (same frames, same clock),
    // a second one on C, and an HLS viewer on C.
    let (wa, sa) = watch(a, home.path(), &id, "a-ll", &["--low-latency"], 10);
    let (wc, sc) = watch(c, home.path(), &id, "c-ll", &["--low-latency"], 10);
    let (wc2, sc2) = watch(c, home.path(), &id, "c-flv", &["--low-latency", "--flv"], 10);
    let (wh, sh) = watch(c, home.path(), &id, "c-hls", &[], 10);
    // A sends one stream to C however many watch there: its stream viewers
    // are the one on A and C's pull.
    let t = std::time::Instant::now();
    while room_info(c, &id)["stream_viewers"].as_u64() < Some(2) {
        assert!(t.elapsed().as_secs() < 30, "C's viewers never played: {}\n{}", room_info(c, &id), c.log());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let at_a = room_info(a, &id)["stream_viewers"].as_u64().unwrap();
    assert!(at_a <= 2, "A serves its own viewer and one pull for C, not each of C's viewers: {at_a}");

    let (va, vc, vc2, vh) = (stats(wa, &sa), stats(wc, &sc), stats(wc2, &sc2), stats(wh, &sh));
    for (name, v) in [("A fMP4", &va), ("C fMP4", &vc), ("C FLV", &vc2), ("C HLS", &vh)] {
        let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{name}: {k} missing: {v}"));
        assert!(n("video_frames_expected") >= 100, "{name}: {v}");
        assert!(n("video_frames_stamped") as f64 >= 0.8 * n("video_frames_expected") as f64, "{name}: {v}");
        let p50 = v["latency_ms_p50"].as_i64().unwrap_or_else(|| panic!("{name}: no latency: {v}"));
        assert!(p50 > 0 && p50 < 15_000, "{name}: {v}");
    }
    let (la, lc) = (va["latency_ms_p50"].as_i64().unwrap(), vc["latency_ms_p50"].as_i64().unwrap());
    eprintln!("low-latency p50: {la} ms on the origin, {lc} ms through the edge (+{} ms)", lc - la);
    // The issue's figure is ~100 ms; a loaded 2-core machine running
    // three relays, a publisher and four viewers gets a wider bound.
    assert!(lc - la < 500, "the edge adds {} ms (origin {va}, edge {vc})", lc - la);

    // Nobody watches on C any more: it stops pulling (IDLE is 8 s).
    wait_for(40, "C to stop pulling from A", || (room_info(a, &id)["stream_viewers"].as_u64() == Some(0)).then_some(()));
    assert!(c.log().contains("edge: stopped pulling"), "{}", c.log());

    // A crafted pull: no ticket, a made-up one, one for another room.
    for q in ["edge=", "edge=et.x.99999999999999.00", &format!("edge=et.{id}.99999999999999.{}", "ab".repeat(32))] {
        let (st, _) = http(&a.addr, "GET", &format!("/live/{id}/live.flv?{q}"), None, None);
        assert!(st == 401 || st == 404, "{q}: {st}");
    }
    assert_eq!(http(&a.addr, "GET", &format!("/live/{id}/index.m3u8?edge=et.{id}.1.00"), None, None).0, 404);

    // The publisher ends: the replay (written by A into the shared data
    // folder) is listed and plays from C.
    let replay = wait_for(80, "the replay to be listed on C", || {
        let (st, body) = http(&c.addr, "GET", &format!("/v1/rooms/{id}/replays"), None, None);
        let list: Value = serde_json::from_str(&body).ok()?;
        (st == 200).then(|| list.as_array()?.first()?.get("path")?.as_str().map(String::from)).flatten()
    });
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name,width", "-of", "csv=p=0"])
        .arg(format!("{}{replay}", c.url()))
        .output()
        .unwrap();
    let probe = String::from_utf8_lossy(&out.stdout);
    assert!(probe.contains("h264,854") && probe.contains("aac"), "replay through C: {probe} {}", String::from_utf8_lossy(&out.stderr));
}
