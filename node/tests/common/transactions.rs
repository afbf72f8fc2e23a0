//! Submitting transactions to a cluster and watching them become final: on which validator,
//! at which index, under which chain hash. Nothing here is timed; the deadline only keeps a
//! broken build from hanging CI.

use super::wire;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use votegraph_gateway::{ChainId, Envelope};
use votegraph_node::bench::cluster::Cluster;
use votegraph_proto::tx::v1 as pb;

pub const HANG_GUARD: Duration = Duration::from_secs(180);

/// `count` ballots of voter `voter`, nonces from 0.
pub fn envelopes(chain: &ChainId, voter: u8, count: u64) -> Vec<Envelope> {
    let key = ed25519_dalek::SigningKey::from_bytes(&[voter; 32]);
    (0..count)
        .map(|n| Envelope::sign(chain, &key, n, format!("ballot {voter}/{n}").into_bytes()))
        .collect()
}

/// Submits each envelope to validator `nodes[i % nodes.len()]`.
pub async fn submit(cluster: &Cluster, nodes: &[usize], batch: &[Envelope]) {
    for (i, e) in batch.iter().enumerate() {
        let node = nodes[i % nodes.len()];
        let mut client = cluster.client(node).unwrap();
        client.submit(wire(e)).await.unwrap();
    }
}

/// Waits until `node` reports every envelope final; returns tx id -> (index, chain hash).
pub async fn finality(
    cluster: &Cluster,
    node: usize,
    batch: &[Envelope],
) -> HashMap<Vec<u8>, (u64, Vec<u8>)> {
    let ids: Vec<Vec<u8>> = batch.iter().map(|e| e.id().0.to_vec()).collect();
    let mut client = cluster.client(node).unwrap();
    let mut stream = client
        .watch_finalized(pb::WatchFinalizedRequest {
            tx_ids: ids.iter().map(|i| i.clone().into()).collect(),
            all: false,
        })
        .await
        .unwrap()
        .into_inner();
    let mut found = HashMap::new();
    let deadline = Instant::now() + HANG_GUARD;
    while found.len() < ids.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let batch = tokio::time::timeout(left, stream.message())
            .await
            .unwrap_or_else(|_| panic!("validator {node}: {} of {} final", found.len(), ids.len()))
            .unwrap()
            .expect("watch ended early");
        for f in batch.transactions {
            assert!(!f.duplicate, "a fresh transaction is not a duplicate");
            found.insert(f.tx_id.to_vec(), (f.index, f.chain_hash.to_vec()));
        }
    }
    found
}

/// Waits until `node` has at least `count` transactions in its ledger.
pub async fn wait_for_ledger(cluster: &Cluster, node: usize, count: u64) {
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        if let Ok(head) = cluster.head(node).await {
            if head.next_transaction_index >= count {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "validator {node} never reached {count} transactions"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until every node in `nodes` holds transaction `index`, then compares chain hashes.
pub async fn assert_same_chain_at(cluster: &Cluster, nodes: &[usize], index: u64) {
    let mut hashes = Vec::new();
    for &node in nodes {
        wait_for_ledger(cluster, node, index + 1).await;
        hashes.push(cluster.chain_hash_at(node, index).await.unwrap());
    }
    assert!(
        hashes.windows(2).all(|w| w[0] == w[1]),
        "validators {nodes:?} disagree at transaction {index}"
    );
}

/// Transactions of `voter` submitted to `nodes` become final on each of them at the same place.
pub async fn assert_finalize_alike(cluster: &Cluster, nodes: &[usize], voter: u8) {
    let batch = envelopes(&cluster.chain, voter, 12);
    submit(cluster, nodes, &batch).await;
    let reference = finality(cluster, nodes[0], &batch).await;
    for &node in &nodes[1..] {
        assert_eq!(finality(cluster, node, &batch).await, reference);
    }
    let last = reference.values().map(|(index, _)| *index).max().unwrap();
    assert_same_chain_at(cluster, nodes, last).await;
}
