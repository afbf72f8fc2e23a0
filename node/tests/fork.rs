//! A Byzantine validator in a real cluster: validator 3's key signs a second event at a
//! sequence number it already used, and sends it to validator 0 over authenticated gossip.
//! Validator 0 keeps both signed events as evidence; its export, taken over the gateway while
//! it runs, verifies and lists the equivocation.

use std::path::Path;
use std::time::{Duration, Instant};
use votegraph_consensus::VerifiedEvent;
use votegraph_node::audit::verify::{verify, VerifyOptions};
use votegraph_node::genesis::Genesis;
use votegraph_node::keys;
use votegraph_storage::{RocksConfig, RocksStore, Store};

mod common;

use common::byzantine::{gossip_as, latest_event_of};
use common::{election_cluster, export_over_gateway, ElectionCluster};

const FORKER: u32 = 3;

fn evidence_held(net: &Path) -> bool {
    let store = RocksStore::open_read_only(&net.join("v0/data"), &RocksConfig::default()).unwrap();
    !store
        .state_scan(b"evidence/equivocation/", None, 1)
        .unwrap()
        .is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_export_from_a_cluster_with_a_forking_validator_verifies_and_lists_the_fork() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let ElectionCluster {
        mut cluster,
        gateways,
        ..
    } = election_cluster(&net, 12, 8).await;
    cluster.kill(FORKER as usize);

    let genesis = Genesis::load(&net.join("genesis.toml")).unwrap();
    let honest = latest_event_of(&net.join("v0/data"), &genesis, FORKER);
    let mut unsigned = honest.unsigned().clone();
    unsigned.timestamp_ns += 1;
    let key = keys::read(&net.join("v3/validator.key")).unwrap();
    let forked = VerifiedEvent::sign(unsigned, &key);
    assert_ne!(forked.id(), honest.id());
    gossip_as(
        &cluster.addresses[0],
        &genesis,
        &net.join("v3/validator.key"),
        FORKER,
        std::slice::from_ref(&forked),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !evidence_held(&net) {
        assert!(Instant::now() < deadline, "validator 0 kept no evidence");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let exported = export_over_gateway(&gateways[0]).await;
    cluster.stop_all();
    let options = VerifyOptions {
        trusted_genesis_hash: Some(genesis.hash()),
        progress: false,
    };
    let report = verify(&exported[..], &options).unwrap();
    assert_eq!(report.equivocations.len(), 1, "{:?}", report.equivocations);
    let fork = &report.equivocations[0];
    assert_eq!(fork.creator, FORKER);
    assert_eq!(fork.sequence, honest.creator_seq());
    let ids = [fork.first.clone(), fork.second.clone()];
    assert!(ids.contains(&honest.id().to_hex()) && ids.contains(&forked.id().to_hex()));
    assert_eq!(report.elections[0].ballots_counted, 12);
    assert!(report.render().contains("equivocation     validator 3"));
}
