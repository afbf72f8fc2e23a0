//! A faulty validator's event carries transactions whose signatures do not verify: validator
//! 3's key signs its next event with two forged envelopes inside. Validators admit an event on
//! its own signature and check transaction signatures off the path of consensus, so the
//! forgeries are ordered like any transaction. Every validator must reject them
//! (`invalid_signature`) with no effect, never report them as the outcome of the transactions
//! their signers and nonces name, and accept the real transactions with those signers and
//! nonces, both before a forgery is ordered and after; the audit must recompute the same
//! verdicts. Nothing here is timed; the deadlines only keep a broken build from hanging CI.

use ed25519_dalek::SigningKey;
use std::path::Path;
use std::time::{Duration, Instant};
use votegraph_consensus::encoding::{ParentRef, UnsignedEvent};
use votegraph_consensus::{EventId, MemberId, VerifiedEvent};
use votegraph_gateway::governance::codec;
use votegraph_gateway::governance::reason::Reason;
use votegraph_gateway::governance::records::{RejectionRecord, REJECTED_PREFIX};
use votegraph_gateway::{ChainId, Envelope};
use votegraph_node::audit::verify::{verify, VerifyOptions};
use votegraph_node::bench::cluster::Cluster;
use votegraph_node::client::GatewayClient;
use votegraph_node::genesis::Genesis;
use votegraph_node::keys;
use votegraph_proto::tx::v1 as pb;
use votegraph_storage::{RocksConfig, RocksStore, Store};

mod common;

use common::byzantine::{events_of, gossip_as};
use common::{export_over_gateway, running_cluster, wire};

const FAULTY: u32 = 3;
const HANG_GUARD: Duration = Duration::from_secs(180);

/// Submits `count` fresh envelopes of `voter` to every running validator in turn and waits
/// until validator 0 reports them final: traffic that moves consensus on.
async fn traffic(cluster: &Cluster, chain: &ChainId, voter: u8, count: u64, nodes: &[usize]) {
    let key = SigningKey::from_bytes(&[voter; 32]);
    let batch: Vec<Envelope> = (0..count)
        .map(|n| Envelope::sign(chain, &key, n, format!("traffic {voter}/{n}").into_bytes()))
        .collect();
    let ids: Vec<_> = batch.iter().map(|e| e.id().0.to_vec().into()).collect();
    let mut watch = cluster
        .client(0)
        .unwrap()
        .watch_finalized(pb::WatchFinalizedRequest {
            tx_ids: ids,
            all: false,
        })
        .await
        .unwrap()
        .into_inner();
    for (i, e) in batch.iter().enumerate() {
        let mut client = cluster.client(nodes[i % nodes.len()]).unwrap();
        let answer = client.submit(wire(e)).await.unwrap().into_inner();
        assert_eq!(answer.code, 0, "{}", answer.message);
    }
    let mut seen = 0;
    while seen < batch.len() {
        let next = tokio::time::timeout(HANG_GUARD, watch.message()).await;
        let final_batch = next.expect("traffic became final").unwrap().unwrap();
        seen += final_batch.transactions.len();
    }
}

fn open(net: &Path, validator: usize) -> RocksStore {
    let data = net.join(format!("v{validator}/data"));
    RocksStore::open_read_only(&data, &RocksConfig::default()).unwrap()
}

/// Validator 0's rejection records of reason `invalid_signature` for the ids of `genuine`.
fn invalid_signature_rejections(net: &Path, genuine: &[Envelope]) -> usize {
    let ids: Vec<[u8; 32]> = genuine.iter().map(|e| e.id().0).collect();
    open(net, 0)
        .state_scan(REJECTED_PREFIX, None, 100_000)
        .unwrap()
        .into_iter()
        .filter_map(|(_, value)| codec::decode::<RejectionRecord>(&value).ok())
        .filter(|r| r.code == Reason::InvalidSignature.code() && ids.contains(&r.tx_id))
        .count()
}

/// Submits `envelope` to validator 0, which must admit it, and waits on `watch` for its
/// finality report: the real transaction's, not a forgery's, and not a duplicate.
async fn submit_and_see_final(
    cluster: &Cluster,
    watch: &mut tonic::Streaming<pb::FinalizedBatch>,
    envelope: &Envelope,
) {
    let answer = cluster
        .client(0)
        .unwrap()
        .submit(wire(envelope))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.code, 0, "{}", answer.message);
    let reported = tokio::time::timeout(HANG_GUARD, watch.message())
        .await
        .expect("the real transaction became final")
        .unwrap()
        .unwrap();
    let report = &reported.transactions[0];
    assert_eq!(report.tx_id.to_vec(), envelope.id().0.to_vec());
    assert!(!report.duplicate, "the real transaction is not a duplicate");
    assert_ne!(
        report.reject_code,
        u32::from(Reason::InvalidSignature.code())
    );
}

async fn watch_for(cluster: &Cluster, envelope: &Envelope) -> tonic::Streaming<pb::FinalizedBatch> {
    cluster
        .client(0)
        .unwrap()
        .watch_finalized(pb::WatchFinalizedRequest {
            tx_ids: vec![envelope.id().0.to_vec().into()],
            all: false,
        })
        .await
        .unwrap()
        .into_inner()
}

/// Validator 3's next event after `latest` (its last in its own ledger), carrying
/// `transactions`.
fn next_event_of_faulty(
    net: &Path,
    latest: &VerifiedEvent,
    transactions: Vec<Vec<u8>>,
) -> VerifiedEvent {
    let parent = latest.unsigned();
    let unsigned = UnsignedEvent {
        creator: MemberId(FAULTY),
        creator_seq: latest.creator_seq() + 1,
        birth_round: parent.birth_round,
        timestamp_ns: parent.timestamp_ns + 1,
        self_parent: Some(ParentRef {
            id: latest.id(),
            birth_round: parent.birth_round,
        }),
        other_parent: None,
        transactions,
    };
    VerifiedEvent::sign(
        unsigned,
        &keys::read(&net.join("v3/validator.key")).unwrap(),
    )
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + HANG_GUARD;
    while !done() {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn held_everywhere_but_faulty(net: &Path, id: &EventId) -> bool {
    (0..3).all(|v| open(net, v).event(id).unwrap().is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forged_transaction_in_a_validators_event_is_rejected_and_frees_its_signer_and_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let mut cluster = running_cluster(&net).await;
    let chain = cluster.chain;
    traffic(&cluster, &chain, 1, 8, &[0, 1, 2, 3]).await;
    cluster.kill(FAULTY as usize);

    // The forgeries: a voter's signer and nonce, another payload, the real signature.
    let voter = SigningKey::from_bytes(&[7; 32]);
    let genuine: Vec<Envelope> = [42, 43]
        .map(|nonce| Envelope::sign(&chain, &voter, nonce, b"the voter's own words".to_vec()))
        .to_vec();
    let forged: Vec<Vec<u8>> = genuine
        .iter()
        .map(|e| {
            let mut forged = e.clone();
            forged.payload = b"words put in the voter's mouth".to_vec();
            forged.encode()
        })
        .collect();
    let genesis = Genesis::load(&net.join("genesis.toml")).unwrap();
    // Validator 3's whole chain from its own ledger (validator 0 may lack its last events, and
    // skips those it holds), then the carrier.
    let mut chain_of_faulty = events_of(&net.join("v3/data"), &genesis, FAULTY);
    let latest = chain_of_faulty.last().expect("validator 3 made events");
    let carrier = next_event_of_faulty(&net, latest, forged);
    chain_of_faulty.push(carrier.clone());
    let key_file = net.join("v3/validator.key");
    gossip_as(
        &genesis,
        (0, &cluster.addresses[0]),
        &key_file,
        FAULTY,
        &chain_of_faulty,
    )
    .await;
    // Admitted on its own signature, and gossiped on. Once every running validator holds it,
    // validator 3 restarts and continues its chain from it (rather than fork).
    wait_until("the running validators hold the carrier", || {
        held_everywhere_but_faulty(&net, &carrier.id())
    })
    .await;

    // Before the forgery is ordered: the real transaction is not held off, and it is final.
    let mut first = watch_for(&cluster, &genuine[0]).await;
    submit_and_see_final(&cluster, &mut first, &genuine[0]).await;
    let mut second = watch_for(&cluster, &genuine[1]).await;

    cluster.start(FAULTY as usize).unwrap();
    cluster
        .wait_ready(FAULTY as usize, Duration::from_secs(60))
        .await
        .unwrap();
    let deadline = Instant::now() + HANG_GUARD;
    let mut voter_seed = 10;
    while invalid_signature_rejections(&net, &genuine) < 2 {
        assert!(
            Instant::now() < deadline,
            "the forgeries were never ordered"
        );
        traffic(&cluster, &chain, voter_seed, 4, &[0, 1, 2, 3]).await;
        voter_seed += 1;
    }
    assert_eq!(invalid_signature_rejections(&net, &genuine), 2);

    // After: the second signer and nonce are still free; the watcher hears only of the real
    // transaction.
    submit_and_see_final(&cluster, &mut second, &genuine[1]).await;
    traffic(&cluster, &chain, 99, 4, &[0, 1, 2, 3]).await;

    // Every validator, the faulty one too, ordered the same: the same chain hash at the end.
    let last = cluster.head(0).await.unwrap().next_transaction_index - 1;
    let mut hashes = Vec::new();
    for v in 0..4 {
        let deadline = Instant::now() + HANG_GUARD;
        while cluster.head(v).await.unwrap().next_transaction_index <= last {
            assert!(Instant::now() < deadline, "validator {v} fell behind");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        hashes.push(cluster.chain_hash_at(v, last).await.unwrap());
    }
    assert!(
        hashes.windows(2).all(|w| w[0] == w[1]),
        "validators disagree"
    );

    // The audit recomputes the verdict and the state with it.
    let gateway = GatewayClient::new(&cluster.addresses[0], chain).unwrap();
    let exported = export_over_gateway(&gateway).await;
    cluster.stop_all();
    let options = VerifyOptions {
        trusted_genesis_hash: Some(genesis.hash()),
        progress: false,
    };
    let audit = verify(&exported[..], &options).unwrap();
    assert_eq!(audit.outcomes.get("invalid_signature"), Some(&2));
}
