//! The `votegraph consensus` command line: replay output format, bad fixtures, determinism.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn votegraph(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_votegraph"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn replay(fixture: &str) -> Output {
    votegraph(&["consensus", "replay", "-"], Some(fixture))
}

const SMALL: &str = r#"{"members": ["A", "B", "C"], "weights": [1, 1, 1], "coin_frequency": 12,
  "events": [
    {"id": "a1", "creator": "A", "self_parent": null, "other_parent": null, "timestamp": 1},
    {"id": "b1", "creator": "B", "self_parent": null, "other_parent": "a1", "timestamp": 5},
    {"id": "b2", "creator": "B", "self_parent": "b1", "other_parent": "a1", "timestamp": 7}
  ]}"#;

#[test]
fn replay_prints_one_entry_per_event_in_input_order_with_nulls_for_undecided() {
    let out = replay(SMALL);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let events = json["events"].as_array().unwrap();
    let ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a1", "b1", "b2"]);
    for e in events {
        let keys: Vec<&String> = e.as_object().unwrap().keys().collect();
        for key in [
            "id",
            "round",
            "witness",
            "famous",
            "round_received",
            "consensus_timestamp",
            "order",
        ] {
            assert!(keys.iter().any(|k| *k == key), "missing {key}");
        }
        assert_eq!(e["round"], 1);
        assert_eq!(
            e["famous"],
            Value::Null,
            "nothing is decided in three events"
        );
        assert_eq!(e["order"], Value::Null);
        assert_eq!(e["round_received"], Value::Null);
        assert_eq!(e["consensus_timestamp"], Value::Null);
    }
    assert_eq!(events[0]["witness"], true);
    assert_eq!(events[1]["witness"], true);
    assert_eq!(events[2]["witness"], false);
}

fn assert_bad_fixture(fixture: &str, expected: &str) {
    let out = replay(fixture);
    assert_eq!(out.status.code(), Some(2), "exit code for {expected}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains(expected),
        "{stderr:?} should mention {expected:?}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_fixtures_give_one_clear_line_and_exit_code_2() {
    assert_bad_fixture(
        &SMALL.replace(
            r#""other_parent": "a1", "timestamp": 5"#,
            r#""other_parent": "zz", "timestamp": 5"#,
        ),
        r#"event "b1": parent "zz" is not listed before it"#,
    );
    assert_bad_fixture(
        &SMALL.replace(r#""self_parent": "b1""#, r#""self_parent": "a1""#),
        r#"event "b2": self-parent "a1" was created by "A", not "B""#,
    );
    assert_bad_fixture(
        &SMALL.replace(r#""id": "b2""#, r#""id": "b1""#),
        r#"event "b1": id is used by an earlier event"#,
    );
    assert_bad_fixture(
        &SMALL.replace(
            r#""creator": "B", "self_parent": null"#,
            r#""creator": "Q", "self_parent": null"#,
        ),
        r#"creator "Q" is not a member"#,
    );
    assert_bad_fixture(&SMALL[..40], "malformed fixture JSON");
    assert_bad_fixture(
        &SMALL.replace(r#""timestamp": 7"#, r#""timestamp": 5"#),
        "timestamp 5 ns is not after the self-parent's 5 ns",
    );
    assert_bad_fixture(
        &SMALL.replace("[1, 1, 1]", "[1, 1]"),
        "2 weights given for 3 members",
    );
    let out = votegraph(&["consensus", "replay", "/nonexistent/fixture.json"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn generate_and_replay_are_deterministic() {
    let dir = std::env::temp_dir().join(format!("votegraph-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("g.json");
    let path_str = path.to_str().unwrap();
    let gen = |out: &str| {
        let o = votegraph(
            &[
                "consensus",
                "generate",
                "--members",
                "5",
                "--events",
                "600",
                "--seed",
                "9",
                "--out",
                out,
            ],
            None,
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read_to_string(out).unwrap()
    };
    let first = gen(path_str);
    let second_path = dir.join("g2.json");
    assert_eq!(
        first,
        gen(second_path.to_str().unwrap()),
        "same seed, same fixture"
    );
    let a = votegraph(&["consensus", "replay", path_str], None);
    let b = votegraph(&["consensus", "replay", path_str], None);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout, "replay is reproducible");
    let json: Value = serde_json::from_slice(&a.stdout).unwrap();
    let ordered: Vec<u64> = json["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["order"].as_u64())
        .collect();
    assert!(
        ordered.len() > 400,
        "a 600-event gossip orders most events ({})",
        ordered.len()
    );
    let mut sorted = ordered.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        (0..ordered.len() as u64).collect::<Vec<_>>(),
        "orders are 0..n without gaps"
    );
    let summary = votegraph(&["consensus", "replay", path_str, "--summary"], None);
    let text = String::from_utf8(summary.stdout).unwrap();
    assert!(
        text.contains("events ordered") && text.contains("famous"),
        "{text}"
    );
    std::fs::remove_dir_all(dir).ok();
}
