//! Network partitions in a real 4-validator cluster: the links between validators are cut
//! (silently, as across a real partition) and healed through proxies while every process runs
//! on (see `common::network`). A split that leaves no side more than two thirds of the weight
//! finalizes nothing; a side that has them finalizes on without the rest; once the network
//! heals, every transaction submitted on either side is final on every validator, once, at the
//! same index with the same chain hash.
//! Nothing here is timed: the pauses only give the sides time to gossip among themselves, and
//! the rules they check hold however long they last.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use votegraph_gateway::Envelope;
use votegraph_node::bench::cluster::Cluster;
use votegraph_proto::tx::v1 as pb;

mod common;

use common::network::Mesh;
use common::test_spec;
use common::transactions::{assert_same_chain_at, envelopes, finality, submit};

/// How long a partition lasts before the checks of what it allowed.
const SPLIT: Duration = Duration::from_secs(3);

/// A 4-validator cluster whose validators dial each other through `Mesh`, running.
async fn partitionable_cluster(dir: &Path) -> (Cluster, Mesh) {
    let exe = Path::new(env!("CARGO_BIN_EXE_votegraph"));
    let mut cluster = Cluster::create(exe, &dir.join("net"), &test_spec()).unwrap();
    let mesh = Mesh::install(&cluster).await;
    // A cut link is silent: a sync across it ends at this timeout (20 s by default).
    let timeout = (
        "VOTEGRAPH_GOSSIP_SYNC_TIMEOUT_MS".to_string(),
        "2000".to_string(),
    );
    cluster.env.push(timeout);
    cluster.start_all().unwrap();
    cluster
        .wait_all_ready(Duration::from_secs(60))
        .await
        .unwrap();
    (cluster, mesh)
}

/// The payloads of every transaction in `node`'s ledger.
async fn ledger_payloads(cluster: &Cluster, node: usize) -> Vec<Vec<u8>> {
    let mut client = cluster.client(node).unwrap();
    let head = client
        .get_ledger_head(pb::GetLedgerHeadRequest {})
        .await
        .unwrap()
        .into_inner();
    let mut payloads = Vec::new();
    for index in 0..head.next_transaction_index {
        let tx = client
            .get_transaction(pb::GetTransactionRequest { index })
            .await
            .unwrap()
            .into_inner();
        payloads.push(tx.payload.to_vec());
    }
    payloads
}

/// Fails if `node`'s ledger holds any transaction of `batch`.
async fn assert_none_final(cluster: &Cluster, node: usize, batch: &[Envelope]) {
    let encoded: Vec<Vec<u8>> = batch.iter().map(Envelope::encode).collect();
    let ledger = ledger_payloads(cluster, node).await;
    let ordered = ledger.iter().filter(|p| encoded.contains(p)).count();
    assert_eq!(
        ordered, 0,
        "validator {node} ordered {ordered} transactions"
    );
}

/// Every validator reports every transaction of `batch` final at the same place; returns the
/// highest index among them.
async fn assert_final_everywhere_alike(cluster: &Cluster, batch: &[Envelope]) -> u64 {
    let reference = finality(cluster, 0, batch).await;
    for node in 1..cluster.len() {
        let placed: HashMap<_, _> = finality(cluster, node, batch).await;
        assert_eq!(
            placed, reference,
            "validator {node} placed a transaction elsewhere"
        );
    }
    let last = reference.values().map(|(index, _)| *index).max().unwrap();
    assert_same_chain_at(cluster, &[0, 1, 2, 3], last).await;
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_even_split_finalizes_nothing_and_loses_nothing_once_healed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cluster, mesh) = partitionable_cluster(dir.path()).await;
    let before = envelopes(&cluster.chain, 1, 20);
    submit(&cluster, &[0, 1, 2, 3], &before).await;
    assert_final_everywhere_alike(&cluster, &before).await;

    mesh.partition(&[&[0, 1], &[2, 3]]);
    let west = envelopes(&cluster.chain, 2, 20);
    let east = envelopes(&cluster.chain, 3, 20);
    submit(&cluster, &[0, 1], &west).await;
    submit(&cluster, &[2, 3], &east).await;
    tokio::time::sleep(SPLIT).await;
    // Two validators of four are not more than two thirds: neither side can decide a round
    // that orders what was submitted after the split.
    for node in 0..4 {
        assert_none_final(&cluster, node, &west).await;
        assert_none_final(&cluster, node, &east).await;
    }

    mesh.heal();
    let both: Vec<Envelope> = west.into_iter().chain(east).collect();
    assert_final_everywhere_alike(&cluster, &both).await;
    cluster.stop_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_validator_stops_no_one_and_its_transactions_are_final_once_healed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cluster, mesh) = partitionable_cluster(dir.path()).await;
    mesh.partition(&[&[0, 1, 2], &[3]]);
    let majority = envelopes(&cluster.chain, 4, 20);
    let stranded = envelopes(&cluster.chain, 5, 10);
    submit(&cluster, &[0, 1, 2], &majority).await;
    submit(&cluster, &[3], &stranded).await;
    // Three of four are more than two thirds: they finalize on while validator 3 is away.
    let reference = finality(&cluster, 0, &majority).await;
    for node in [1, 2] {
        assert_eq!(finality(&cluster, node, &majority).await, reference);
    }
    tokio::time::sleep(SPLIT).await;
    // What was submitted to validator 3 is held by it alone (in its pool, or in events of its
    // own that no one else has received).
    for node in 0..4 {
        assert_none_final(&cluster, node, &stranded).await;
    }

    mesh.heal();
    let last = assert_final_everywhere_alike(&cluster, &stranded).await;
    let majority_last = reference.values().map(|(index, _)| *index).max().unwrap();
    assert!(
        last > majority_last,
        "ordered after the majority's transactions"
    );
    assert_final_everywhere_alike(&cluster, &majority).await;
    cluster.stop_all();
}
