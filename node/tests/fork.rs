//! A Byzantine validator in a real cluster: validator 3's key signs a second event at a
//! sequence number it already used, and sends it to validator 0 over authenticated gossip.
//! Validator 0 keeps both signed events as evidence; its export, taken over the gateway while
//! it runs, verifies and lists the equivocation.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_stream::wrappers::ReceiverStream;
use votegraph_consensus::{MemberId, UncheckedEvent, VerifiedEvent};
use votegraph_node::audit::verify::{verify, VerifyOptions};
use votegraph_node::genesis::Genesis;
use votegraph_node::gossip::auth::sign_hello;
use votegraph_node::keys;
use votegraph_proto::gossip::v1::gossip_client::GossipClient;
use votegraph_proto::gossip::v1::{sync_frame::Frame, Done, EventBatch, SyncFrame};
use votegraph_storage::{RocksConfig, RocksStore, Store};

mod common;

use common::{election_cluster, export_over_gateway, ElectionCluster};

const FORKER: u32 = 3;

/// The forker's latest event as validator 0 stored it.
fn latest_event_of_forker(net: &Path, genesis: &Genesis) -> VerifiedEvent {
    let store = RocksStore::open_read_only(&net.join("v0/data"), &RocksConfig::default()).unwrap();
    let limits = genesis.engine_config().event_limits;
    let members = genesis.member_set().unwrap();
    store
        .all_event_ids()
        .unwrap()
        .into_iter()
        .filter_map(|id| {
            let bytes = store.event(&id).unwrap()?;
            let event = UncheckedEvent::decode(&bytes, &limits).ok()?;
            event.verify(&members, &limits).ok()
        })
        .filter(|e| e.creator() == MemberId(FORKER))
        .max_by_key(|e| e.creator_seq())
        .expect("the forker created events")
}

/// Sends `event` to validator 0 in one sync, authenticated as the forker.
async fn gossip_as_forker(
    address: &str,
    genesis: &Genesis,
    key_file: &Path,
    event: &VerifiedEvent,
) {
    let key = keys::read(key_file).unwrap();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let members = genesis.validators.len();
    // Claims to know everything, so that validator 0 sends nothing back.
    let hello = sign_hello(
        &key,
        genesis.hash(),
        FORKER,
        0,
        now_ms,
        vec![u64::MAX; members],
    );
    let (out, frames) = tokio::sync::mpsc::channel(4);
    out.send(SyncFrame {
        frame: Some(Frame::Hello(hello)),
    })
    .await
    .unwrap();
    let mut client = GossipClient::connect(address.to_string()).await.unwrap();
    let mut inbound = client
        .sync(ReceiverStream::new(frames))
        .await
        .unwrap()
        .into_inner();
    let answer = inbound.message().await.unwrap();
    assert!(matches!(
        answer,
        Some(SyncFrame {
            frame: Some(Frame::Hello(_))
        })
    ));
    for frame in [
        Frame::Events(EventBatch {
            events: vec![event.encode().into()],
        }),
        Frame::Done(Done { events_sent: 1 }),
    ] {
        out.send(SyncFrame { frame: Some(frame) }).await.unwrap();
    }
    drop(out);
    while inbound.message().await.ok().flatten().is_some() {}
}

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
    let honest = latest_event_of_forker(&net, &genesis);
    let mut unsigned = honest.unsigned().clone();
    unsigned.timestamp_ns += 1;
    let key = keys::read(&net.join("v3/validator.key")).unwrap();
    let forked = VerifiedEvent::sign(unsigned, &key);
    assert_ne!(forked.id(), honest.id());
    gossip_as_forker(
        &cluster.addresses[0],
        &genesis,
        &net.join("v3/validator.key"),
        &forked,
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
