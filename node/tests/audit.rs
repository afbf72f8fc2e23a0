//! Independent audit: a cluster's ledger exported and verified with no node; and tampering is
//! always caught and located: a byte flipped anywhere (many seeded positions), a transaction
//! dropped or two reordered, two events swapped, a ballot replaced by another voter's valid one.

use std::path::Path;
use std::time::{Duration, Instant};
use votegraph_consensus::sim::SplitMix64;
use votegraph_gateway::governance::action::Action;
use votegraph_gateway::hex;
use votegraph_gateway::Envelope;
use votegraph_node::audit::consistency;
use votegraph_node::audit::export::export;
use votegraph_node::audit::format::{ExportReader, ExportWriter, Frame};
use votegraph_node::audit::receipt::ReceiptFile;
use votegraph_node::audit::verify::{verify, verify_with_state, VerifyOptions};
use votegraph_node::audit::AuditError;
use votegraph_node::bench::cluster::Cluster;
use votegraph_node::client::GatewayClient;
use votegraph_node::genesis::Genesis;
use votegraph_proto::v1 as pb;
use votegraph_storage::{RocksConfig, RocksStore, Store};

mod common;

use common::{election_cluster, export_over_gateway, ElectionCluster};

const FLIPS: u64 = 300;

/// Runs a 40-voter election on a 4-validator cluster, stops it, and exports validator 0.
async fn exported_election(dir: &Path) -> (Vec<u8>, [u8; 32], ReceiptFile) {
    let net = dir.join("net");
    let ElectionCluster {
        mut cluster,
        gateways,
        ..
    } = election_cluster(&net, 40, 3).await;
    let genesis = Genesis::load(&net.join("genesis.toml")).unwrap();
    let receipt = check_certified_receipts(&cluster, &gateways[0], &genesis, &net).await;
    cluster.stop_all();
    let store = RocksStore::open_read_only(&net.join("v0/data"), &RocksConfig::default()).unwrap();
    let mut bytes = Vec::new();
    export(&store, None, &mut bytes).unwrap();
    (bytes, genesis.hash(), receipt)
}

/// The certificate covering transaction `index`, once validator 0 has one (the signatures of
/// the checkpoint after the tally's publication are ordered shortly after it).
async fn certificate_covering(gateway: &GatewayClient, index: u64) -> pb::CertificateReply {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let reply = gateway
            .ledger
            .clone()
            .get_certificate(pb::GetCertificateRequest {
                covering_index: index,
            })
            .await;
        match reply {
            Ok(reply) => return reply.into_inner(),
            Err(status) if status.code() == tonic::Code::NotFound => {
                assert!(Instant::now() < deadline, "no certificate covers {index}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(status) => panic!("GetCertificate: {status}"),
        }
    }
}

/// Receipts prove inclusion against certificates, offline; consistency proofs link them.
async fn check_certified_receipts(
    cluster: &Cluster,
    gateway: &GatewayClient,
    genesis: &Genesis,
    net: &Path,
) -> ReceiptFile {
    // The tally's publication is the last transaction that is not a checkpoint signature; the
    // checkpoint after its round is certified once those signatures are ordered.
    let store = RocksStore::open_read_only(&net.join("v0/data"), &RocksConfig::default()).unwrap();
    let transactions = store.transactions(0, usize::MAX).unwrap();
    let action = |payload: &[u8]| Action::decode(&Envelope::decode(payload).unwrap().payload);
    let published = transactions
        .iter()
        .rev()
        .find(|(_, r)| !matches!(action(&r.payload), Ok(Action::SignCheckpoint(_))))
        .map(|(index, _)| *index)
        .unwrap();
    let ballot = transactions
        .iter()
        .find(|(_, r)| is_ballot(&r.payload))
        .map(|(_, r)| Envelope::decode(&r.payload).unwrap().id())
        .expect("the election has ballots");
    drop(store);
    let last = certificate_covering(gateway, published).await;
    let first = certificate_covering(gateway, 0).await;
    assert!(last.weight * 3 > last.total_weight * 2);
    assert!(first.next_index <= last.next_index);
    assert!(cluster.head(0).await.unwrap().next_transaction_index >= last.next_index);
    let receipt = gateway
        .ballots
        .clone()
        .get_receipt(pb::GetReceiptRequest {
            tx_id: ballot.0.to_vec().into(),
        })
        .await
        .unwrap()
        .into_inner();
    let file = ReceiptFile::from_receipt(&genesis.chain_id, &receipt).unwrap();
    let validators = genesis.validator_set().unwrap();
    let report = file.verify(&validators).unwrap();
    assert_eq!(report.kind, "cast_ballot");
    assert_eq!(report.index, receipt.index);

    let mut tampered = file.clone();
    let mut record = hex::decode(&tampered.record).unwrap();
    let at = record.len() - 70;
    record[at] ^= 1;
    tampered.record = hex::encode(&record);
    let error = tampered.verify(&validators).unwrap_err();
    assert_eq!(error.item, "receipt proof", "{error}");

    let mut moved = file.clone();
    moved.index += 1;
    assert!(moved.verify(&validators).is_err(), "another index");

    let mut unsigned = file.clone();
    unsigned.certificate.signatures.truncate(2);
    let error = unsigned.verify(&validators).unwrap_err();
    assert!(error.detail.contains("not more than two thirds"), "{error}");

    let mut rerooted = file.clone();
    rerooted.certificate.state_root = hex::encode(&[0; 32]);
    assert!(rerooted.verify(&validators).is_err(), "a changed root");

    // A running validator's export over its gateway: one consistent snapshot that verifies.
    let exported = export_over_gateway(gateway).await;
    let options = VerifyOptions {
        trusted_genesis_hash: Some(genesis.hash()),
        progress: false,
    };
    let live = verify(&exported[..], &options).unwrap();
    assert!(live.transactions >= last.next_index);
    assert!(!live.certificates.is_empty());

    let checked = consistency::check(gateway, &validators, 0, published)
        .await
        .unwrap();
    assert!(checked.starts_with("consistent"), "{checked}");
    file
}

fn check(bytes: &[u8], genesis_hash: [u8; 32]) -> Result<(), AuditError> {
    let options = VerifyOptions {
        trusted_genesis_hash: Some(genesis_hash),
        progress: false,
    };
    verify(bytes, &options).map(|_| ())
}

fn frames(bytes: &[u8]) -> Vec<Frame> {
    let mut reader = ExportReader::new(bytes).unwrap();
    let mut out = Vec::new();
    while let Some((_, frame)) = reader.next_frame().unwrap() {
        out.push(frame);
    }
    out
}

/// Writes `frames`, with the End frame's count fixed up so that only the content is wrong.
fn write(mut frames: Vec<Frame>) -> Vec<u8> {
    let count = frames.len() as u64 - 1;
    if let Some(Frame::End(totals)) = frames.last_mut() {
        totals.frames = count;
    }
    let mut writer = ExportWriter::new(Vec::new()).unwrap();
    for frame in &frames {
        writer.write(frame).unwrap();
    }
    writer.finish().unwrap()
}

fn position(frames: &[Frame], wanted: impl Fn(&Frame) -> bool, nth: usize) -> usize {
    frames
        .iter()
        .enumerate()
        .filter(|(_, f)| wanted(f))
        .nth(nth)
        .unwrap()
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_export_verifies_and_any_tampering_is_caught_and_located() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, genesis_hash, receipt) = exported_election(dir.path()).await;
    let options = VerifyOptions {
        trusted_genesis_hash: Some(genesis_hash),
        progress: false,
    };
    let (report, state) = verify_with_state(&bytes[..], &options).unwrap();
    let found = receipt.check_against(&report, &state).unwrap();
    assert_eq!(found.outcome, "counted", "{found:?}");
    let mut elsewhere = receipt.clone();
    elsewhere.certificate.round += 1;
    assert!(
        elsewhere.check_against(&report, &state).is_err(),
        "a certificate the export does not hold"
    );
    assert_eq!(report.elections[0].ballots_counted, 40);
    assert_eq!(report.elections[0].status, "tallied");
    assert!(
        report.elections[0].certified_by.is_some(),
        "the close is certified"
    );
    assert!(!report.certificates.is_empty());
    assert!(report.disagreeing_checkpoint_signatures.is_empty());
    assert!(
        check(&bytes, [0; 32]).unwrap_err().item == "genesis",
        "an untrusted genesis is refused"
    );

    for seed in 0..FLIPS {
        let mut rng = SplitMix64::new(seed);
        let mut flipped = bytes.clone();
        let at = rng.below(bytes.len() as u64) as usize;
        flipped[at] ^= 1 << rng.below(8);
        assert!(
            check(&flipped, genesis_hash).is_err(),
            "seed {seed}: a flip at byte {at} went unnoticed"
        );
    }

    let original = frames(&bytes);
    let is_tx = |f: &Frame| matches!(f, Frame::Transaction(..));
    let is_event = |f: &Frame| matches!(f, Frame::Event(_));

    let mut dropped = original.clone();
    dropped.remove(position(&original, is_tx, 10));
    let error = check(&write(dropped), genesis_hash).unwrap_err();
    assert!(
        error.to_string().contains("transaction 11"),
        "dropped: {error}"
    );

    let mut reordered = original.clone();
    let (a, b) = (position(&original, is_tx, 5), position(&original, is_tx, 6));
    reordered.swap(a, b);
    let error = check(&write(reordered), genesis_hash).unwrap_err();
    assert!(
        error.to_string().contains("transaction 6"),
        "reordered: {error}"
    );

    let mut swapped = original.clone();
    let (a, b) = (
        position(&original, is_event, 3),
        position(&original, is_event, 4),
    );
    swapped.swap(a, b);
    let error = check(&write(swapped), genesis_hash).unwrap_err();
    assert!(
        error.item.starts_with("event frame at byte"),
        "swapped events: {error}"
    );

    // A ballot replaced by another voter's valid, correctly signed ballot (hash chain resealed
    // by the forger): the validators' signed events still carry the original.
    let mut replaced = original.clone();
    let target = position(
        &original,
        |f| matches!(f, Frame::Transaction(_, r) if is_ballot(&r.payload)),
        7,
    );
    let chain = Genesis::load(&dir.path().join("net/genesis.toml"))
        .unwrap()
        .chain();
    let Frame::Transaction(index, record) = &mut replaced[target] else {
        unreachable!()
    };
    let envelope = Envelope::decode(&record.payload).unwrap();
    let forger = ed25519_dalek::SigningKey::from_bytes(&[77; 32]);
    record.payload = Envelope::sign(&chain, &forger, 1, envelope.payload.clone()).encode();
    let index = *index;
    reseal_from(&mut replaced, index);
    let error = check(&write(replaced), genesis_hash).unwrap_err();
    assert!(
        error
            .to_string()
            .contains(&format!("transaction at index {index}")),
        "replaced: {error}"
    );
}

fn is_ballot(payload: &[u8]) -> bool {
    Envelope::decode(payload)
        .ok()
        .and_then(|e| Action::decode(&e.payload).ok())
        .is_some_and(|a| matches!(a, Action::CastBallot(_)))
}

/// Recomputes the transaction chain from `from` on and the End frame's head, as a forger would.
fn reseal_from(frames: &mut [Frame], from: u64) {
    let mut previous = [0u8; 32];
    for frame in frames.iter_mut() {
        match frame {
            Frame::Transaction(index, record) if *index < from => previous = record.chain_hash,
            Frame::Transaction(_, record) => {
                record.chain_hash = votegraph_storage::TransactionRecord::next_chain_hash(
                    &previous,
                    &record.unhashed_encoding(),
                );
                previous = record.chain_hash;
            }
            Frame::End(totals) => totals.chain_head = previous,
            _ => {}
        }
    }
}
