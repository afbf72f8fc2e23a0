//! A Byzantine validator in a real cluster: validator 3's key signs more events at a sequence
//! number it already used, and sends them to validator 0 over authenticated gossip. Validator
//! 0 keeps each fork's two signed events as evidence, up to its bound per forker; its export,
//! taken over the gateway while it runs, verifies and lists those equivocations.

use std::path::Path;
use std::time::{Duration, Instant};
use votegraph_consensus::VerifiedEvent;
use votegraph_node::audit::verify::{verify, VerifyOptions};
use votegraph_node::evidence::PROOFS_PER_CREATOR_MAX;
use votegraph_node::genesis::Genesis;
use votegraph_node::keys;
use votegraph_storage::{RocksConfig, RocksStore, Store};

mod common;

use common::byzantine::{gossip_as, latest_event_of};
use common::{election_cluster, export_over_gateway, ElectionCluster};

const FORKER: u32 = 3;

/// Forks sent: more than validator 0 stores.
const FORKS_SENT: usize = PROOFS_PER_CREATOR_MAX + 4;

fn evidence_held(net: &Path) -> usize {
    let store = RocksStore::open_read_only(&net.join("v0/data"), &RocksConfig::default()).unwrap();
    store
        .state_scan(b"evidence/equivocation/", None, FORKS_SENT + 1)
        .unwrap()
        .len()
}

/// Whether validator 0 logged that it stopped storing the forker's proofs.
fn bound_reached(net: &Path) -> bool {
    std::fs::read_to_string(net.join("v0/node.log"))
        .unwrap_or_default()
        .contains("further forks of this validator are counted, not stored")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_export_from_a_cluster_with_a_forking_validator_verifies_and_lists_its_forks_up_to_the_bound(
) {
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
    let key = keys::read(&net.join("v3/validator.key")).unwrap();
    let forks: Vec<VerifiedEvent> = (1..=FORKS_SENT as u64)
        .map(|n| {
            let mut unsigned = honest.unsigned().clone();
            unsigned.timestamp_ns += n;
            VerifiedEvent::sign(unsigned, &key)
        })
        .collect();
    gossip_as(
        &genesis,
        (0, &cluster.addresses[0]),
        &net.join("v3/validator.key"),
        FORKER,
        &forks,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !bound_reached(&net) {
        assert!(
            Instant::now() < deadline,
            "validator 0 did not reach its bound of stored proofs"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The forks arrived in one frame, so they were judged in one step, stored in one batch.
    assert_eq!(evidence_held(&net), PROOFS_PER_CREATOR_MAX);

    let exported = export_over_gateway(&gateways[0]).await;
    cluster.stop_all();
    let options = VerifyOptions {
        trusted_genesis_hash: Some(genesis.hash()),
        progress: false,
    };
    let report = verify(&exported[..], &options).unwrap();
    assert_eq!(
        report.equivocations.len(),
        PROOFS_PER_CREATOR_MAX,
        "{:?}",
        report.equivocations
    );
    let forks_sent: Vec<String> = forks.iter().map(|e| e.id().to_hex()).collect();
    for fork in &report.equivocations {
        assert_eq!(fork.creator, FORKER);
        assert_eq!(fork.sequence, honest.creator_seq());
        let ids = [fork.first.clone(), fork.second.clone()];
        assert!(ids.contains(&honest.id().to_hex()));
        assert!(ids.iter().any(|id| forks_sent.contains(id)));
    }
    assert_eq!(report.elections[0].ballots_counted, 12);
    assert!(report.render().contains("equivocation     validator 3"));
}
