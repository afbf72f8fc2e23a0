//! A validator's configuration mistakes stop it at start, before it writes anything.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn votegraph(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_votegraph"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run votegraph")
}

/// A 4-validator testnet on free loopback ports, without metrics ports.
fn testnet(net: &Path) {
    let base_port = votegraph_node::bench::cluster::free_ports(4)
        .unwrap()
        .to_string();
    let out = votegraph(
        &[
            "testnet",
            "--validators",
            "4",
            "--base-port",
            &base_port,
            "--metrics-base-port",
            "0",
            "--out",
            net.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts validator 0 with the per-peer setting `setting` (keyed by validator name) set to
/// `table` through its environment variable; it must exit 1 naming the setting and `name`,
/// without creating its ledger.
fn assert_refused_before_the_ledger(setting: &str, table: &str, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    testnet(&net);
    let config = net.join("v0/node.toml");
    let variable = format!("VOTEGRAPH_{}", setting.replace('.', "_").to_uppercase());
    let out = votegraph(
        &["node", "--config", config.to_str().unwrap()],
        &[(variable.as_str(), table)],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(setting), "{stderr}");
    assert!(stderr.contains(&format!("\"{name}\"")), "{stderr}");
    assert!(!net.join("v0/data").exists(), "no ledger was created");
}

#[test]
fn a_peer_address_for_an_unknown_name_stops_the_node_before_it_opens_its_ledger() {
    let table = r#"{ v9 = "http://127.0.0.1:1" }"#;
    assert_refused_before_the_ledger("gossip.peer_addresses", table, "v9");
}

#[test]
fn a_peer_delay_for_an_unknown_name_stops_the_node_before_it_opens_its_ledger() {
    assert_refused_before_the_ledger("wan.peer_delay_ms", "{ v9 = 300 }", "v9");
}

#[test]
fn a_peer_address_for_the_validator_itself_stops_the_node_before_it_opens_its_ledger() {
    let table = r#"{ v0 = "http://127.0.0.1:1" }"#;
    assert_refused_before_the_ledger("gossip.peer_addresses", table, "v0");
}

#[test]
fn log_format_json_writes_one_object_per_line_with_the_fields_at_the_top() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    testnet(&net);
    let config = net.join("v0/node.toml");
    let mut node = Command::new(env!("CARGO_BIN_EXE_votegraph"))
        .args(["node", "--config", config.to_str().unwrap()])
        .args(["--log-format", "json"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start votegraph node");
    let lines = BufReader::new(node.stdout.take().unwrap()).lines();
    let mut serving = None;
    for line in lines {
        let line = line.unwrap();
        let object: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
        assert!(object["level"].is_string(), "{line}");
        if object["message"] == "validator serving" {
            serving = Some(object);
            break;
        }
    }
    node.kill().unwrap();
    node.wait().unwrap();
    let serving = serving.expect("the node logged that it serves");
    assert_eq!(serving["member"], 0);
    assert_eq!(serving["validators"], 4);
}
