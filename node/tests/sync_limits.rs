//! A validator bounds the syncs one peer may hold open at it: a faulty validator that opens
//! more is refused, and honest validators go on finalizing meanwhile.

use std::time::Duration;
use votegraph_node::genesis::Genesis;
use votegraph_node::gossip::incoming::INCOMING_SYNCS_PER_PEER_MAX;

mod common;

use common::byzantine::open_sync_as;
use common::running_cluster;
use common::transactions::{envelopes, finality, submit};

const GREEDY: u32 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_holding_the_most_syncs_open_is_refused_another_and_others_finalize_on() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let mut cluster = running_cluster(&net).await;
    // Validator 3 stops, and its key holds syncs open at validator 0 that send nothing.
    cluster.kill(GREEDY as usize);
    let genesis = Genesis::load(&net.join("genesis.toml")).unwrap();
    let key_file = net.join("v3/validator.key");
    let mut held = Vec::new();
    for offset_ms in 0..INCOMING_SYNCS_PER_PEER_MAX as u64 {
        let sync = open_sync_as(
            &cluster.addresses[0],
            &genesis,
            &key_file,
            GREEDY,
            offset_ms,
        )
        .await
        .expect("a sync within the bound is answered");
        held.push(sync);
    }
    let offset_ms = INCOMING_SYNCS_PER_PEER_MAX as u64;
    let refused = open_sync_as(
        &cluster.addresses[0],
        &genesis,
        &key_file,
        GREEDY,
        offset_ms,
    )
    .await
    .err()
    .expect("one sync more than the bound is refused");
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "{refused:?}"
    );
    assert!(refused.message().contains("syncs open"), "{refused:?}");

    let batch = envelopes(&cluster.chain, 7, 5);
    submit(&cluster, &[0, 1, 2], &batch).await;
    finality(&cluster, 0, &batch).await;

    // Closed syncs free their slots.
    drop(held);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut offset_ms = offset_ms + 1;
    while open_sync_as(
        &cluster.addresses[0],
        &genesis,
        &key_file,
        GREEDY,
        offset_ms,
    )
    .await
    .is_err()
    {
        assert!(std::time::Instant::now() < deadline, "no slot freed");
        offset_ms += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster.stop_all();
}
