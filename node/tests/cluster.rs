//! A real 4-validator cluster of `votegraph node` processes on loopback: transactions are
//! ordered identically everywhere, a validator killed with SIGKILL catches up and agrees, and a
//! transaction acknowledged as final is never lost. Nothing here is timed; the deadlines only
//! keep a broken build from hanging CI.

use std::path::Path;
use std::time::Duration;
use tokio_stream::StreamExt;
use votegraph_node::bench::cluster::Cluster;
use votegraph_proto::tx::v1 as pb;

mod common;

use common::transactions::{assert_same_chain_at, envelopes, finality, submit, wait_for_ledger};
use common::{test_spec, wire};

fn cluster(dir: &Path) -> Cluster {
    let exe = Path::new(env!("CARGO_BIN_EXE_votegraph"));
    Cluster::create(exe, &dir.join("net"), &test_spec()).unwrap()
}

/// A 4-validator cluster with every validator started and answering.
async fn running_cluster(dir: &Path) -> Cluster {
    common::running_cluster(&dir.join("net")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_order_submitted_transactions_identically() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = running_cluster(dir.path()).await;
    let batch = envelopes(&cluster.chain, 1, 200);
    submit(&cluster, &[0, 1, 2, 3], &batch).await;
    let reference = finality(&cluster, 0, &batch).await;
    for node in 1..4 {
        assert_eq!(
            finality(&cluster, node, &batch).await,
            reference,
            "validator {node} placed a transaction elsewhere"
        );
    }
    let last = reference.values().map(|(i, _)| *i).max().unwrap();
    assert_same_chain_at(&cluster, &[0, 1, 2, 3], last).await;
    cluster.stop_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_validator_catches_up_and_final_transactions_survive_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = running_cluster(dir.path()).await;
    let first = envelopes(&cluster.chain, 2, 100);
    submit(&cluster, &[0, 1, 2, 3], &first).await;
    let acknowledged = finality(&cluster, 0, &first).await;

    // Validator 3 dies without warning; the other three (a supermajority) go on.
    cluster.kill(3);
    let second = envelopes(&cluster.chain, 3, 100);
    submit(&cluster, &[0, 1, 2], &second).await;
    let mut acknowledged_more = finality(&cluster, 1, &second).await;
    acknowledged_more.extend(acknowledged.clone());

    cluster.start(3).unwrap();
    cluster
        .wait_ready(3, Duration::from_secs(60))
        .await
        .unwrap();
    let total = acknowledged_more.len() as u64;
    wait_for_ledger(&cluster, 3, total).await;
    assert_eq!(finality(&cluster, 3, &second).await.len(), 100);
    assert_same_chain_at(&cluster, &[0, 1, 2, 3], total - 1).await;

    // The validator that acknowledged the first batch dies too; after a restart every
    // acknowledged transaction is where it was acknowledged, with the same chain hash.
    cluster.kill(0);
    cluster.start(0).unwrap();
    cluster
        .wait_ready(0, Duration::from_secs(60))
        .await
        .unwrap();
    for (id, (index, hash)) in &acknowledged_more {
        let stored = cluster.chain_hash_at(0, *index).await.unwrap();
        assert_eq!(&stored, hash, "transaction {id:02x?} changed after a crash");
    }
    cluster.stop_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_bad_signatures_and_strangers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = running_cluster(dir.path()).await;
    let batch = envelopes(&cluster.chain, 4, 1);
    let mut client = cluster.client(0).unwrap();
    client.submit(wire(&batch[0])).await.unwrap();
    let replay = client.submit(wire(&batch[0])).await.unwrap_err();
    assert_eq!(replay.code(), tonic::Code::AlreadyExists);
    let mut forged = batch[0].clone();
    forged.nonce = 99;
    let bad = client.submit(wire(&forged)).await.unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    finality(&cluster, 3, &batch).await;
    // Final now: a replay through another validator is refused as well.
    let mut other = cluster.client(3).unwrap();
    let replay = other.submit(wire(&batch[0])).await.unwrap_err();
    assert_eq!(replay.code(), tonic::Code::AlreadyExists);

    // A gossip peer whose key is not in the genesis is refused: its hello is right in every
    // other way (genesis, receiver, clock), but no validator's key verifies it.
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[200; 32]);
    let genesis =
        votegraph_node::genesis::Genesis::load(&cluster.dir.join("genesis.toml")).unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let hello = votegraph_node::gossip::auth::sign_hello(
        &stranger,
        genesis.hash(),
        0,
        1,
        now_ms,
        vec![0; 4],
        &[],
        &[],
    );
    let channel = tonic::transport::Channel::from_shared(cluster.addresses[1].clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut gossip = votegraph_proto::gossip::v1::gossip_client::GossipClient::new(channel);
    let frames = tokio_stream::iter(vec![votegraph_proto::gossip::v1::SyncFrame {
        frame: Some(votegraph_proto::gossip::v1::sync_frame::Frame::Hello(hello)),
    }]);
    let refused = gossip.sync(frames).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    assert!(
        refused.message().contains("signature does not verify"),
        "{}",
        refused.message()
    );
    cluster.stop_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_answers_resource_exhausted_and_environment_overrides_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = cluster(dir.path());
    // Alone, validator 0 cannot sync, so it creates no event and its pool only fills.
    cluster
        .env
        .push(("VOTEGRAPH_POOL_TRANSACTIONS_MAX".into(), "3".into()));
    cluster.start(0).unwrap();
    cluster
        .wait_ready(0, Duration::from_secs(60))
        .await
        .unwrap();
    let batch = envelopes(&cluster.chain, 5, 4);
    let mut client = cluster.client(0).unwrap();
    for e in &batch[..2] {
        client.submit(wire(e)).await.unwrap();
    }
    // Submissions a stream delivers together may be checked together: the one that fills the
    // pool is admitted, and a forgery behind it is still refused as over the limit, before
    // its signature is looked at, as it is when they are checked one by one.
    let mut forged = wire(&batch[3]);
    let signature = &mut forged.envelope.as_mut().unwrap().signature;
    let mut flipped = signature.to_vec();
    flipped[0] ^= 1;
    *signature = flipped.into();
    let codes: Vec<i32> = client
        .submit_stream(tokio_stream::iter(vec![wire(&batch[2]), forged]))
        .await
        .unwrap()
        .into_inner()
        .map(|r| r.unwrap().code)
        .collect()
        .await;
    assert_eq!(
        codes,
        [
            tonic::Code::Ok as i32,
            tonic::Code::ResourceExhausted as i32
        ]
    );
    let refused = client.submit(wire(&batch[3])).await.unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "{refused:?}"
    );
    // The stream reports the same refusal per item and keeps going.
    let responses: Vec<pb::SubmitResponse> = client
        .submit_stream(tokio_stream::iter(vec![wire(&batch[3]), wire(&batch[0])]))
        .await
        .unwrap()
        .into_inner()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(responses[0].code, tonic::Code::ResourceExhausted as i32);
    assert_eq!(responses[1].code, tonic::Code::AlreadyExists as i32);
    cluster.stop_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_down_longer_than_the_memory_window_catches_up_from_peers_ledgers() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = running_cluster(dir.path()).await;
    let warm = envelopes(&cluster.chain, 6, 10);
    submit(&cluster, &[0, 1, 2, 3], &warm).await;
    finality(&cluster, 3, &warm).await;
    cluster.kill(3);
    // Two ancient windows (2 x 26 rounds) and more pass without validator 3: its peers no
    // longer hold what it lacks in memory, only in their ledgers.
    let start_round = cluster.head(0).await.unwrap().last_decided_round;
    let mut voter = 7u8;
    while cluster.head(0).await.unwrap().last_decided_round < start_round + 70 {
        let batch = envelopes(&cluster.chain, voter, 20);
        submit(&cluster, &[0, 1, 2], &batch).await;
        finality(&cluster, 0, &batch).await;
        voter += 1;
        assert!(voter < 250, "rounds did not advance");
    }
    let total = cluster.head(0).await.unwrap().next_transaction_index;
    cluster.start(3).unwrap();
    cluster
        .wait_ready(3, Duration::from_secs(60))
        .await
        .unwrap();
    // New transactions keep the cluster deciding rounds while validator 3 catches up.
    let after = envelopes(&cluster.chain, 251, 20);
    submit(&cluster, &[0, 1, 2], &after).await;
    wait_for_ledger(&cluster, 3, total).await;
    assert_same_chain_at(&cluster, &[0, 1, 2, 3], total - 1).await;

    // Restarted now, validator 3 holds in memory only its last two windows of events (not
    // from sequence 0): it must still tell its peers everything it has, and go on agreeing.
    cluster.kill(3);
    cluster.start(3).unwrap();
    cluster
        .wait_ready(3, Duration::from_secs(60))
        .await
        .unwrap();
    let again = envelopes(&cluster.chain, 252, 20);
    submit(&cluster, &[3], &again).await;
    let placed = finality(&cluster, 0, &again).await;
    let last = placed.values().map(|(i, _)| *i).max().unwrap();
    wait_for_ledger(&cluster, 3, last + 1).await;
    assert_same_chain_at(&cluster, &[0, 1, 2, 3], last).await;
    cluster.stop_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_restored_from_an_old_backup_of_its_ledger_does_not_fork_itself() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = cluster(dir.path());
    // Tiny syncs: the restored validator gets its own missing events back over many syncs, and
    // must create none before it has them all.
    cluster
        .env
        .push(("VOTEGRAPH_GOSSIP_BYTES_PER_SYNC_MAX".into(), "1".into()));
    cluster.start_all().unwrap();
    cluster
        .wait_all_ready(Duration::from_secs(60))
        .await
        .unwrap();
    let first = envelopes(&cluster.chain, 20, 10);
    submit(&cluster, &[0, 1, 2, 3], &first).await;
    finality(&cluster, 3, &first).await;
    let data = cluster.dir.join("v3").join("data");
    let backup = dir.path().join("backup");
    let exe = env!("CARGO_BIN_EXE_votegraph");
    let status = std::process::Command::new(exe)
        .args(["backup", "create", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&backup)
        .status()
        .unwrap();
    assert!(status.success());
    // Validator 3 goes on creating events that the backup does not hold.
    let second = envelopes(&cluster.chain, 21, 10);
    submit(&cluster, &[3], &second).await;
    finality(&cluster, 0, &second).await;
    cluster.kill(3);
    std::fs::remove_dir_all(&data).unwrap();
    let status = std::process::Command::new(exe)
        .args(["backup", "restore", "--from"])
        .arg(&backup)
        .arg("--data")
        .arg(&data)
        .status()
        .unwrap();
    assert!(status.success());
    cluster.start(3).unwrap();
    cluster
        .wait_ready(3, Duration::from_secs(60))
        .await
        .unwrap();
    let third = envelopes(&cluster.chain, 22, 10);
    submit(&cluster, &[3], &third).await;
    let placed = finality(&cluster, 0, &third).await;
    let last = placed.values().map(|(i, _)| *i).max().unwrap();
    assert_same_chain_at(&cluster, &[0, 1, 2, 3], last).await;
    cluster.stop_all();
    for node in 0..4 {
        let log = std::fs::read_to_string(cluster.dir.join(format!("v{node}/node.log"))).unwrap();
        assert!(
            !log.contains("fork:"),
            "validator {node} saw a fork:\n{log}"
        );
    }
}

/// Validators that do not keep full history store engine snapshots and drop the events those no
/// longer need. One killed with SIGKILL restarts from its snapshot (its ledger can no longer be
/// replayed from genesis) and goes on agreeing; its ledger refuses an audit export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validators_that_prune_restart_from_their_snapshots_and_agree() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = cluster(dir.path());
    cluster.env.extend([
        ("VOTEGRAPH_STORAGE_KEEP_FULL_HISTORY".into(), "false".into()),
        (
            "VOTEGRAPH_STORAGE_SNAPSHOT_INTERVAL_ROUNDS".into(),
            "5".into(),
        ),
    ]);
    cluster.start_all().unwrap();
    cluster
        .wait_all_ready(Duration::from_secs(60))
        .await
        .unwrap();
    // More than two ancient windows (2 x 26 rounds) pass, so the oldest events leave memory
    // and, after the next snapshot, the ledgers.
    let mut voter = 30u8;
    while cluster.head(0).await.unwrap().last_decided_round < 65 {
        let batch = envelopes(&cluster.chain, voter, 20);
        submit(&cluster, &[0, 1, 2, 3], &batch).await;
        finality(&cluster, 0, &batch).await;
        voter += 1;
        assert!(voter < 250, "rounds did not advance");
    }
    let total = cluster.head(2).await.unwrap().next_transaction_index;
    cluster.kill(2);
    cluster.start(2).unwrap();
    cluster
        .wait_ready(2, Duration::from_secs(60))
        .await
        .unwrap();
    let after = envelopes(&cluster.chain, 251, 20);
    submit(&cluster, &[2], &after).await;
    let placed = finality(&cluster, 0, &after).await;
    let last = placed.values().map(|(i, _)| *i).max().unwrap();
    assert!(last >= total);
    assert_same_chain_at(&cluster, &[0, 1, 2, 3], last).await;
    cluster.stop_all();
    let log = std::fs::read_to_string(cluster.dir.join("v2/node.log")).unwrap();
    assert!(
        !log.contains('\u{1b}'),
        "a log written to a file has no colour codes"
    );
    let pruned: u64 = log
        .lines()
        .filter(|l| l.contains("old events pruned"))
        .filter_map(|l| {
            l.split("pruned=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    eprintln!("validator 2 pruned {pruned} events");
    assert!(pruned > 0, "validator 2 never pruned:\n{log}");
    assert!(
        log.contains("engine restored from its snapshot"),
        "validator 2 did not restart from its snapshot:\n{log}"
    );
    let export = std::process::Command::new(env!("CARGO_BIN_EXE_votegraph"))
        .args(["audit", "export", "--data"])
        .arg(cluster.dir.join("v2").join("data"))
        .arg("--out")
        .arg(dir.path().join("pruned.vgx"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&export.stderr);
    assert!(!export.status.success(), "a pruned ledger was exported");
    assert!(stderr.contains("pruned"), "{stderr}");
}
