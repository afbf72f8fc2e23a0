//! A validator run twice: a second process with validator 3's key and configuration starts
//! while the cluster runs, as when an operator starts a second copy (a pod scheduled twice, a
//! standby started by mistake). Transactions submitted to both copies at once make them sign
//! different events at the same sequence numbers: validator 3 forks. Validator 1 talks
//! directly only with the second copy, 0 and 2 only with the original, so each builds on the
//! branch it hears from directly and gets the other only through its peers, where sequence
//! vectors cannot name it (it is asked for by id). The three honest validators hold more than
//! two thirds of the weight without validator 3: they must keep finalizing, alike, while the
//! copies run. Once the second copy stops, validator 3 serves again; once it stops too, the
//! honest three go on. Every honest ledger passes its audit.

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

use common::transactions::{assert_finalize_alike, envelopes, HANG_GUARD};
use common::{test_spec, wire};
use tonic::transport::Channel;
use votegraph_proto::tx::v1::transactions_client::TransactionsClient;

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

/// Two transactions of `voter` (nonces past those `assert_finalize_alike` uses) to each copy.
async fn submit_to_both_copies(cluster: &Cluster, twin_address: &str, voter: u8) {
    let batch = envelopes(&cluster.chain, voter, 16);
    let channel = Channel::from_shared(twin_address.to_string())
        .unwrap()
        .connect_lazy();
    let mut copies = [
        cluster.client(TWINNED).unwrap(),
        TransactionsClient::new(channel),
    ];
    for (i, e) in batch[12..].iter().enumerate() {
        // Refusals (a full pool, a copy still starting) only make a fork less likely.
        let _ = copies[i % 2].submit(wire(e)).await;
    }
}

/// Forks of validator 3 logged by any validator, either copy included.
fn forks_logged_anywhere(net: &Path) -> usize {
    let twin = std::fs::read_to_string(net.join("v3-twin/node.log")).unwrap_or_default();
    let in_twin = twin
        .matches("fork: a validator signed two conflicting events")
        .count();
    (0..4).map(|v| forks_logged(net, v)).sum::<usize>() + in_twin
}

/// Forks of validator 3 that validator `node` has logged.
fn forks_logged(net: &Path, node: usize) -> usize {
    let log = testnet::validator_dir(net, node).join("node.log");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("fork: a validator signed two conflicting events")
        .count()
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
    cluster
        .wait_all_ready(Duration::from_secs(60))
        .await
        .unwrap();
    assert_finalize_alike(&cluster, &HONEST, 30).await;
    // The second copy starts while the cluster runs, with an empty ledger; it takes up
    // validator 3's chain from its peers and signs on.
    let mut twin = start_twin(&cluster, &twin_dir, &twin_address).await;

    // Both copies of validator 3 carry transactions submitted to each at once, so they sign
    // events at the same sequence numbers: validator 3 forks.
    let deadline = Instant::now() + HANG_GUARD;
    let mut voter = 100u8;
    while forks_logged_anywhere(&net) == 0 {
        assert!(
            Instant::now() < deadline && voter < 200,
            "no validator holds both events of a fork of validator 3"
        );
        submit_to_both_copies(&cluster, &twin_address, voter).await;
        assert_finalize_alike(&cluster, &HONEST, voter).await;
        voter += 1;
    }
    for voter in 40..44 {
        assert_finalize_alike(&cluster, &HONEST, voter).await;
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

    // Each honest validator's ledger passes its audit; the forks it lists are validator 3's,
    // and those of the validators that saw it fork list them.
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
        let saw_fork = forks_logged(&net, node) > 0;
        assert_eq!(
            !report.equivocations.is_empty(),
            saw_fork,
            "validator {node}"
        );
        assert!(report
            .equivocations
            .iter()
            .all(|q| q.creator == TWINNED as u32));
    }
}
