//! A Byzantine validator floods the others with validly signed events, all in one birth round,
//! more than their whole DAG may hold. Nothing of that round can be pruned until rounds are
//! decided, so without per-validator shares the flood fills the DAG, the honest validators'
//! own events are refused, and the cluster never finalizes again. With shares the flood fills
//! only validator 3's share: the three honest validators (a supermajority) go on ordering
//! transactions, identically.

use std::path::Path;
use std::time::{Duration, Instant};
use votegraph_consensus::encoding::ParentRef;
use votegraph_consensus::VerifiedEvent;
use votegraph_node::bench::cluster::Cluster;
use votegraph_node::genesis::Genesis;
use votegraph_node::keys;

mod common;

use common::byzantine::{events_of, gossip_as};
use common::test_spec;
use common::transactions::{assert_finalize_alike, envelopes, finality, submit, HANG_GUARD};

const FLOODER: u32 = 3;
const HONEST: [usize; 3] = [0, 1, 2];
/// Each validator's DAG bound in this test; validator 3's share is a quarter of it.
const DAG_EVENTS_MAX: usize = 2_000;

/// `count` events continuing `tip`'s chain, in `tip`'s birth round, with no other-parent,
/// preceded by `tip` itself.
fn flood_after(tip: &VerifiedEvent, count: usize, key_file: &Path) -> Vec<VerifiedEvent> {
    let key = keys::read(key_file).unwrap();
    let mut chain = vec![tip.clone()];
    for _ in 0..count {
        let parent = chain.last().unwrap();
        let mut unsigned = parent.unsigned().clone();
        unsigned.creator_seq += 1;
        unsigned.timestamp_ns += 1;
        unsigned.self_parent = Some(ParentRef {
            id: parent.id(),
            birth_round: parent.birth_round(),
        });
        unsigned.other_parent = None;
        unsigned.transactions = Vec::new();
        chain.push(VerifiedEvent::sign(unsigned, &key));
    }
    chain
}

fn share_warning_logged(net: &Path, validator: usize) -> bool {
    std::fs::read_to_string(net.join(format!("v{validator}/node.log")))
        .unwrap_or_default()
        .contains("fill its share of this validator's memory")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_larger_than_the_dag_fills_only_its_creators_share_and_the_others_finalize() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let exe = Path::new(env!("CARGO_BIN_EXE_votegraph"));
    let mut cluster = Cluster::create(exe, &net, &test_spec()).unwrap();
    cluster.env.push((
        "VOTEGRAPH_NODE_DAG_EVENTS_MAX".into(),
        DAG_EVENTS_MAX.to_string(),
    ));
    cluster.start_all().unwrap();
    cluster
        .wait_all_ready(Duration::from_secs(60))
        .await
        .unwrap();
    let before = envelopes(&cluster.chain, 1, 20);
    submit(&cluster, &[0, 1, 2, 3], &before).await;
    finality(&cluster, 0, &before).await;
    cluster.kill(FLOODER as usize);

    let genesis = Genesis::load(&net.join("genesis.toml")).unwrap();
    // Validator 3's whole chain from its own ledger first: its last events may never have left
    // it (two syncs create events concurrently), and without them the flood would wait as
    // orphans instead of meeting the share. The receivers skip the events they hold.
    let mut flood = events_of(&net.join("v3/data"), &genesis, FLOODER);
    let tip = flood.pop().expect("validator 3 made events");
    let key_file = net.join("v3/validator.key");
    flood.extend(flood_after(&tip, 2 * DAG_EVENTS_MAX, &key_file));
    for validator in HONEST {
        let receiver = (validator as u32, cluster.addresses[validator].as_str());
        gossip_as(&genesis, receiver, &key_file, FLOODER, &flood).await;
    }
    let deadline = Instant::now() + HANG_GUARD;
    for validator in HONEST {
        while !share_warning_logged(&net, validator) {
            assert!(
                Instant::now() < deadline,
                "validator {validator} never refused the flood for validator 3's share"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    assert_finalize_alike(&cluster, &HONEST, 2).await;
    cluster.stop_all();
}
