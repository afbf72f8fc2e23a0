//! A validator holds at most `gossip.syncs_open_per_peer_max` syncs open for one peer: a faulty
//! validator opening more is refused with RESOURCE_EXHAUSTED, and a place frees once one of its
//! syncs ends.

use std::path::Path;
use std::time::{Duration, Instant};
use votegraph_node::bench::cluster::Cluster;
use votegraph_node::genesis::Genesis;

mod common;

use common::byzantine::open_sync_as;
use common::test_spec;
use common::transactions::{envelopes, finality, submit, HANG_GUARD};

/// Validator 3 is never started; the test speaks with its key.
const FAULTY: u32 = 3;
const OPEN_MAX: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_past_its_open_syncs_is_refused_until_one_of_them_ends() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let exe = Path::new(env!("CARGO_BIN_EXE_votegraph"));
    let mut cluster = Cluster::create(exe, &net, &test_spec()).unwrap();
    cluster.env.push((
        "VOTEGRAPH_GOSSIP_SYNCS_OPEN_PER_PEER_MAX".into(),
        OPEN_MAX.to_string(),
    ));
    for validator in 0..3 {
        cluster.start(validator).unwrap();
    }
    for validator in 0..3 {
        cluster
            .wait_ready(validator, Duration::from_secs(60))
            .await
            .unwrap();
    }
    let genesis = Genesis::load(&net.join("genesis.toml")).unwrap();
    let key_file = net.join("v3/validator.key");
    let receiver = (0, cluster.addresses[0].as_str());

    let mut held = Vec::new();
    for _ in 0..OPEN_MAX {
        let sync = open_sync_as(&genesis, receiver, &key_file, FAULTY).await;
        held.push(sync.expect("within the bound a sync is answered"));
    }
    let refused = open_sync_as(&genesis, receiver, &key_file, FAULTY)
        .await
        .expect_err("one sync past the bound is refused");
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "{refused:?}"
    );
    assert!(
        refused.message().contains("syncs_open_per_peer_max"),
        "the refusal names the setting: {refused:?}"
    );

    // The refused peer does not hold up the others.
    let batch = envelopes(&cluster.chain, 11, 5);
    submit(&cluster, &[0, 1, 2], &batch).await;
    finality(&cluster, 0, &batch).await;

    drop(held.pop());
    let deadline = Instant::now() + HANG_GUARD;
    while let Err(status) = open_sync_as(&genesis, receiver, &key_file, FAULTY).await {
        assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
        assert!(
            Instant::now() < deadline,
            "the ended sync's place never freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster.stop_all();
}
