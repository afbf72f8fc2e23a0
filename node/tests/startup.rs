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

fn start_with_peer_addresses(net: &Path, table: &str) -> Output {
    let config = net.join("v0/node.toml");
    votegraph(
        &["node", "--config", config.to_str().unwrap()],
        &[("VOTEGRAPH_GOSSIP_PEER_ADDRESSES", table)],
    )
}

/// Starts validator 0 with `table` as its peer addresses; it must exit 1 naming `name`,
/// without creating its ledger.
fn assert_refused_before_the_ledger(table: &str, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    testnet(&net);
    let out = start_with_peer_addresses(&net, table);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("\"{name}\"")), "{stderr}");
    assert!(!net.join("v0/data").exists(), "no ledger was created");
}

#[test]
fn a_peer_address_for_an_unknown_name_stops_the_node_before_it_opens_its_ledger() {
    assert_refused_before_the_ledger(r#"{ v9 = "http://127.0.0.1:1" }"#, "v9");
}

#[test]
fn a_peer_address_for_the_validator_itself_stops_the_node_before_it_opens_its_ledger() {
    assert_refused_before_the_ledger(r#"{ v0 = "http://127.0.0.1:1" }"#, "v0");
}
