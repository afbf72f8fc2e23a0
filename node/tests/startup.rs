//! A validator's configuration mistakes stop it at start, before it writes anything.

use std::path::Path;
use std::process::{Command, Output};

fn votegraph(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_votegraph"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run votegraph")
}

fn testnet(net: &Path) {
    let out = votegraph(
        &[
            "testnet",
            "--validators",
            "4",
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
