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

#[test]
fn a_peer_address_for_an_unknown_name_stops_the_node_before_it_opens_its_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    testnet(&net);
    let out = start_with_peer_addresses(&net, r#"{ v9 = "http://127.0.0.1:1" }"#);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(r#"names "v9""#), "{stderr}");
    assert!(!net.join("v0/data").exists(), "no ledger was created");
}

#[test]
fn a_peer_address_for_the_validator_itself_stops_the_node_before_it_opens_its_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    testnet(&net);
    let out = start_with_peer_addresses(&net, r#"{ v0 = "http://127.0.0.1:1" }"#);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(r#""v0""#), "{stderr}");
    assert!(!net.join("v0/data").exists(), "no ledger was created");
}
