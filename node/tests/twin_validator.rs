//! A validator run twice: two processes with validator 3's key and ledger, as when an operator
//! starts a second copy (a pod scheduled twice, a standby started by mistake). The twins sign
//! different events at the same sequence numbers, so validator 3 forks over and over. Each
//! honest validator first hears one branch: validator 1 talks only with the second copy, 0
//! and 2 only with the original, so they build on different branches. The three honest
//! validators hold more than two thirds of the weight without validator 3: they must keep
//! finalizing, alike, with the twins running and after both stop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use votegraph_node::bench::cluster::Cluster;
use votegraph_node::genesis::Genesis;
use votegraph_node::testnet;

mod common;

use common::test_spec;
use common::transactions::{assert_same_chain_at, envelopes, finality, submit, HANG_GUARD};

const TWINNED: usize = 3;
const HONEST: [usize; 3] = [0, 1, 2];
/// Where a validator dials a peer it must not reach directly (nothing listens there).
const NOWHERE: &str = "http://127.0.0.1:1";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn read_toml(path: &Path) -> toml::Table {
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn section<'a>(config: &'a mut toml::Table, name: &str) -> &'a mut toml::Table {
    config
        .entry(name)
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .unwrap()
}

/// Copies validator 3's directory (key, config, empty ledger) beside it, on ports of its own;
/// returns the twin's directory and gossip address.
fn make_twin(net: &Path) -> (PathBuf, String) {
    let genesis = Genesis::load(&net.join("genesis.toml")).unwrap();
    let original = testnet::validator_dir(net, TWINNED);
    let twin = net.join("v3-twin");
    std::fs::create_dir_all(&twin).unwrap();
    for file in ["node.toml", "validator.key"] {
        std::fs::copy(original.join(file), twin.join(file)).unwrap();
    }
    let listen = format!("127.0.0.1:{}", free_port());
    let mut config = read_toml(&twin.join("node.toml"));
    let node = section(&mut config, "node");
    node.insert("listen".into(), listen.clone().into());
    let metrics = format!("127.0.0.1:{}", free_port());
    node.insert("metrics_listen".into(), metrics.into());
    let peers = section(section(&mut config, "gossip"), "peer_addresses");
    for unreached in [0, 2] {
        let name = genesis.validators[unreached].name.clone();
        peers.insert(name, NOWHERE.into());
    }
    std::fs::write(twin.join("node.toml"), toml::to_string(&config).unwrap()).unwrap();
    (twin, format!("http://{listen}"))
}

/// Makes validator `dialer` dial validator `peer` at `address`.
fn dial_at(net: &Path, dialer: usize, peer: usize, address: &str) {
    let genesis = Genesis::load(&net.join("genesis.toml")).unwrap();
    let path = testnet::validator_dir(net, dialer).join("node.toml");
    let mut config = read_toml(&path);
    let peers = section(section(&mut config, "gossip"), "peer_addresses");
    let name = genesis.validators[peer].name.clone();
    peers.insert(name, address.into());
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
}

fn start_twin(cluster: &Cluster, twin: &Path) -> Child {
    let log = std::fs::File::create(twin.join("node.log")).unwrap();
    Command::new(env!("CARGO_BIN_EXE_votegraph"))
        .arg("node")
        .arg("--config")
        .arg(twin.join("node.toml"))
        .envs(cluster.env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Forks of validator 3 that validator `node` has logged.
fn forks_logged(net: &Path, node: usize) -> usize {
    let log = testnet::validator_dir(net, node).join("node.log");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("fork: a validator signed two conflicting events")
        .count()
}

async fn assert_honest_finalize_alike(cluster: &Cluster, voter: u8) {
    let batch = envelopes(&cluster.chain, voter, 12);
    submit(cluster, &HONEST, &batch).await;
    let reference = finality(cluster, 0, &batch).await;
    for node in [1, 2] {
        assert_eq!(finality(cluster, node, &batch).await, reference);
    }
    let last = reference.values().map(|(index, _)| *index).max().unwrap();
    assert_same_chain_at(cluster, &HONEST, last).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_run_twice_forks_and_the_honest_validators_finalize_on() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let exe = Path::new(env!("CARGO_BIN_EXE_votegraph"));
    let mut cluster = Cluster::create(exe, &net, &test_spec()).unwrap();
    let (twin_dir, twin_address) = make_twin(&net);
    dial_at(&net, 1, TWINNED, &twin_address);
    dial_at(&net, TWINNED, 1, NOWHERE);
    cluster.start_all().unwrap();
    let mut twin = start_twin(&cluster, &twin_dir);
    cluster
        .wait_all_ready(Duration::from_secs(60))
        .await
        .unwrap();

    // Both copies of validator 3 sign events; the honest validators see it fork.
    let deadline = Instant::now() + HANG_GUARD;
    let mut voter = 100u8;
    while HONEST.iter().all(|&v| forks_logged(&net, v) == 0) {
        assert!(
            Instant::now() < deadline && voter < 200,
            "no honest validator saw validator 3 fork"
        );
        assert_honest_finalize_alike(&cluster, voter).await;
        voter += 1;
    }
    for voter in 40..44 {
        assert_honest_finalize_alike(&cluster, voter).await;
    }

    // Both copies stop: the honest three still hold more than two thirds of the weight.
    cluster.kill(TWINNED);
    let _ = twin.kill();
    let _ = twin.wait();
    for voter in 50..53 {
        assert_honest_finalize_alike(&cluster, voter).await;
    }
    cluster.stop_all();
}
