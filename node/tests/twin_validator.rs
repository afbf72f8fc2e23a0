//! A validator run twice: two processes with validator 3's key and configuration, as when an
//! operator starts a second copy (a pod scheduled twice, a standby started by mistake). The
//! copies sign different events at the same sequence numbers, so validator 3 forks over and
//! over. Validator 1 talks directly only with the second copy, 0 and 2 only with the original,
//! so each builds on the branch it hears from directly and gets the other only through its
//! peers, where sequence vectors cannot name it: honest validators must ask each other for it
//! by id (checked). The three honest validators hold more than two thirds of the weight
//! without validator 3: they must keep finalizing, alike, while the copies run. Once the second
//! copy stops, validator 3 serves again; once it stops too, the honest three go on.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use votegraph_node::audit::export::export;
use votegraph_node::audit::verify::{verify, VerifyOptions};
use votegraph_node::bench::cluster::{free_ports, Cluster};
use votegraph_node::genesis::Genesis;
use votegraph_node::testnet;
use votegraph_storage::{RocksConfig, RocksStore};

mod common;

use common::test_spec;
use common::transactions::{assert_same_chain_at, envelopes, finality, submit, HANG_GUARD};

const TWINNED: usize = 3;
const HONEST: [usize; 3] = [0, 1, 2];
/// Where a validator dials a peer it must not reach directly (nothing listens there).
const NOWHERE: &str = "http://127.0.0.1:1";

/// The second copy, killed when dropped (also when the test fails).
struct Twin(Child);

impl Drop for Twin {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Twin {
    fn assert_running(&mut self) {
        let exited = self.0.try_wait().unwrap();
        assert!(exited.is_none(), "the second copy exited: {exited:?}");
    }
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

/// Copies validator 3's key and configuration beside it, on a port of its own; returns the
/// twin's directory and gossip address.
fn make_twin(net: &Path) -> (PathBuf, String) {
    let genesis = Genesis::load(&net.join("genesis.toml")).unwrap();
    let original = testnet::validator_dir(net, TWINNED);
    let twin = net.join("v3-twin");
    std::fs::create_dir_all(&twin).unwrap();
    for file in ["node.toml", "validator.key"] {
        std::fs::copy(original.join(file), twin.join(file)).unwrap();
    }
    let listen = format!("127.0.0.1:{}", free_ports(1).unwrap());
    let mut config = read_toml(&twin.join("node.toml"));
    let node = section(&mut config, "node");
    node.insert("listen".into(), listen.clone().into());
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

async fn start_twin(cluster: &Cluster, twin: &Path, address: &str) -> Twin {
    let log = std::fs::File::create(twin.join("node.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_votegraph"))
        .arg("node")
        .arg("--config")
        .arg(twin.join("node.toml"))
        .envs(cluster.env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut twin = Twin(child);
    let deadline = Instant::now() + HANG_GUARD;
    while TcpStream::connect(address.trim_start_matches("http://")).is_err() {
        twin.assert_running();
        assert!(Instant::now() < deadline, "the second copy never listened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    twin
}

/// The latest `events_wanted` of validator `node`'s status lines.
fn events_wanted(net: &Path, node: usize) -> u64 {
    let log = testnet::validator_dir(net, node).join("node.log");
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let plain = strip_colours(&text);
    let last = plain.rsplit("events_wanted=").next().unwrap_or("");
    let digits: String = last.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

fn strip_colours(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|c| *c == 'm');
        } else {
            plain.push(c);
        }
    }
    plain
}

/// Forks of validator 3 that validator `node` has logged.
fn forks_logged(net: &Path, node: usize) -> usize {
    let log = testnet::validator_dir(net, node).join("node.log");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("fork: a validator signed two conflicting events")
        .count()
}

/// Transactions of `voter` submitted to `nodes` become final on each of them at the same place.
async fn assert_finalize_alike(cluster: &Cluster, nodes: &[usize], voter: u8) {
    let batch = envelopes(&cluster.chain, voter, 12);
    submit(cluster, nodes, &batch).await;
    let reference = finality(cluster, nodes[0], &batch).await;
    for &node in &nodes[1..] {
        assert_eq!(finality(cluster, node, &batch).await, reference);
    }
    let last = reference.values().map(|(index, _)| *index).max().unwrap();
    assert_same_chain_at(cluster, nodes, last).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_run_twice_forks_and_the_honest_validators_finalize_on() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let exe = Path::new(env!("CARGO_BIN_EXE_votegraph"));
    let mut cluster = Cluster::create(exe, &net, &test_spec()).unwrap();
    let status_every_second = ("VOTEGRAPH_NODE_STATUS_INTERVAL_S".into(), "1".into());
    cluster.env.push(status_every_second);
    let (twin_dir, twin_address) = make_twin(&net);
    dial_at(&net, 1, TWINNED, &twin_address);
    dial_at(&net, TWINNED, 1, NOWHERE);
    cluster.start_all().unwrap();
    let mut twin = start_twin(&cluster, &twin_dir, &twin_address).await;
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
        assert_finalize_alike(&cluster, &HONEST, voter).await;
        voter += 1;
    }
    for voter in 40..44 {
        assert_finalize_alike(&cluster, &HONEST, voter).await;
    }
    // The branch each honest validator lacked came by id.
    while HONEST.iter().all(|&v| events_wanted(&net, v) == 0) {
        assert!(
            Instant::now() < deadline,
            "no honest validator asked for an event by id"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    twin.assert_running();

    // The operator stops the second copy: validator 3 serves again, and what is submitted to
    // it becomes final on all four alike.
    twin.assert_running();
    drop(twin);
    for voter in 50..53 {
        assert_finalize_alike(&cluster, &[3, 0, 1, 2], voter).await;
    }

    // Validator 3 stops too: the honest three still hold more than two thirds of the weight.
    cluster.kill(TWINNED);
    for voter in 60..63 {
        assert_finalize_alike(&cluster, &HONEST, voter).await;
    }
    cluster.stop_all();

    // Each honest validator's ledger passes an audit that lists validator 3's forks.
    let genesis = Genesis::load(&net.join("genesis.toml")).unwrap();
    let options = VerifyOptions {
        trusted_genesis_hash: Some(genesis.hash()),
        progress: false,
    };
    for node in HONEST {
        let data = testnet::validator_dir(&net, node).join("data");
        let store = RocksStore::open_read_only(&data, &RocksConfig::default()).unwrap();
        let mut exported = Vec::new();
        export(&store, None, &mut exported).unwrap();
        let report = verify(&exported[..], &options)
            .unwrap_or_else(|e| panic!("validator {node}'s ledger fails its audit: {e}"));
        assert!(!report.equivocations.is_empty(), "validator {node}");
        assert!(report
            .equivocations
            .iter()
            .all(|q| q.creator == TWINNED as u32));
    }
}
