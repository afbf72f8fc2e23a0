//! A validator holds at most `gossip.syncs_open_per_peer_max` syncs open for one peer: a faulty
//! validator opening more is refused with RESOURCE_EXHAUSTED, and a place frees once one of its
//! syncs ends, or once the sync timeout has passed for one its caller never ended (a connection
//! that died silently).

use std::path::{Path, PathBuf};
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

/// Validators 0 to 2 of a test cluster, started with `sync_timeout_ms` and the bound of
/// [`OPEN_MAX`] and answering, and what speaking as validator 3 needs.
struct ThreeValidators {
    /// Removed when dropped: bind it for as long as the cluster runs.
    _dir: tempfile::TempDir,
    cluster: Cluster,
    genesis: Genesis,
    key_file: PathBuf,
}

async fn three_validators(sync_timeout_ms: u64) -> ThreeValidators {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let exe = Path::new(env!("CARGO_BIN_EXE_votegraph"));
    let mut cluster = Cluster::create(exe, &net, &test_spec()).unwrap();
    cluster.env.extend([
        (
            "VOTEGRAPH_GOSSIP_SYNCS_OPEN_PER_PEER_MAX".into(),
            OPEN_MAX.to_string(),
        ),
        (
            "VOTEGRAPH_GOSSIP_SYNC_TIMEOUT_MS".into(),
            sync_timeout_ms.to_string(),
        ),
    ]);
    for validator in 0..3 {
        cluster.start(validator).unwrap();
    }
    for validator in 0..3 {
        cluster
            .wait_ready(validator, Duration::from_secs(60))
            .await
            .unwrap();
    }
    ThreeValidators {
        genesis: Genesis::load(&net.join("genesis.toml")).unwrap(),
        key_file: net.join("v3/validator.key"),
        _dir: dir,
        cluster,
    }
}

/// Syncs opened as validator 3 with validator 0 until one is answered; every refusal on the
/// way must be for the bound.
async fn open_when_free(genesis: &Genesis, cluster: &Cluster, key_file: &Path) {
    let receiver = (0, cluster.addresses[0].as_str());
    let deadline = Instant::now() + HANG_GUARD;
    while let Err(status) = open_sync_as(genesis, receiver, key_file, FAULTY).await {
        assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
        assert!(
            Instant::now() < deadline,
            "no place among the open syncs freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Opens [`OPEN_MAX`] syncs as validator 3 with validator 0 and holds them open.
async fn hold_open_max(genesis: &Genesis, cluster: &Cluster, key_file: &Path) -> Vec<impl Sized> {
    let receiver = (0, cluster.addresses[0].as_str());
    let mut held = Vec::new();
    for _ in 0..OPEN_MAX {
        let sync = open_sync_as(genesis, receiver, key_file, FAULTY).await;
        held.push(sync.expect("within the bound a sync is answered"));
    }
    held
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_past_its_open_syncs_is_refused_until_one_of_them_ends() {
    // Far longer than the test's steps take: no sync here ends by the timeout.
    let ThreeValidators {
        mut cluster,
        genesis,
        key_file,
        _dir,
    } = three_validators(120_000).await;
    let receiver = (0, cluster.addresses[0].as_str());

    let mut held = hold_open_max(&genesis, &cluster, &key_file).await;
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
    open_when_free(&genesis, &cluster, &key_file).await;
    cluster.stop_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_its_caller_never_ends_gives_up_its_place_at_the_sync_timeout() {
    let ThreeValidators {
        mut cluster,
        genesis,
        key_file,
        _dir,
    } = three_validators(1_500).await;

    // Held open and never ended, like syncs on a connection that died without a word.
    let _held = hold_open_max(&genesis, &cluster, &key_file).await;
    open_when_free(&genesis, &cluster, &key_file).await;
    cluster.stop_all();
}
