//! Crash safety: a child process writes batches in a loop and is killed with SIGKILL at random
//! moments (seeded); after each kill the ledger opens, its chain verifies, and every batch the
//! child saw acknowledged is there, whole. `VOTEGRAPH_SEED=n` reruns one seed.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use votegraph_consensus::encoding::UnsignedEvent;
use votegraph_consensus::sim::SplitMix64;
use votegraph_consensus::test_keys::signing_key_for;
use votegraph_consensus::{MemberId, OrderedEvent, VerifiedEvent};
use votegraph_storage::{round_batch, verify_chain, RocksConfig, RocksStore, RoundCommit, Store};

const CHILD_ENV: &str = "VOTEGRAPH_CRASH_CHILD_DIR";
const TRANSACTIONS_PER_BATCH: u64 = 5;

fn config() -> RocksConfig {
    RocksConfig {
        fsync: true,
        block_cache_bytes: 8 << 20,
        write_buffer_bytes: 1 << 20,
        ..RocksConfig::default()
    }
}

/// One batch: one ordered event carrying five ~250-byte transactions.
fn next_round(store: &RocksStore, n: u64) -> RoundCommit {
    let head = store.head().unwrap();
    let unsigned = UnsignedEvent {
        creator: MemberId(0),
        creator_seq: n,
        birth_round: 1,
        timestamp_ns: 1_000 + n,
        self_parent: None,
        other_parent: None,
        transactions: (0..TRANSACTIONS_PER_BATCH)
            .map(|t| vec![(n + t) as u8; 250])
            .collect(),
    };
    let event = Arc::new(VerifiedEvent::sign(unsigned, &signing_key_for("writer")));
    let base = head.last_transaction_timestamp_ns.max(1_000 * (n + 1));
    RoundCommit {
        round: n + 1,
        ordered: vec![OrderedEvent {
            order: head.next_order_index,
            round_received: n + 1,
            consensus_timestamp_ns: base,
            first_transaction_index: head.next_transaction_index,
            transaction_timestamps_ns: (1..=TRANSACTIONS_PER_BATCH).map(|t| base + t).collect(),
            event,
        }],
        state_puts: vec![(b"batches".to_vec(), (n + 1).to_le_bytes().to_vec())],
        ..RoundCommit::default()
    }
}

/// The child: writes batches forever, acknowledging each after `write` returns.
fn child(dir: &Path) {
    let store = RocksStore::open(dir, &config()).unwrap();
    let mut n = store.head().unwrap().next_order_index;
    loop {
        let round = next_round(&store, n);
        let (batch, _) = round_batch(&store.head().unwrap(), &round);
        store.write(batch).unwrap();
        n += 1;
        println!("ack {n}");
    }
}

#[test]
fn acknowledged_batches_survive_sigkill() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(Path::new(&dir));
        return;
    }
    let seed: u64 = std::env::var("VOTEGRAPH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2026);
    eprintln!("crash test seed {seed}");
    let mut rng = SplitMix64::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let mut acknowledged = 0u64;
    for kill in 0..30 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "acknowledged_batches_survive_sigkill",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &ledger)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let wait_for = 1 + rng.below(40);
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        for line in lines {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("ack ") {
                acknowledged = acknowledged.max(n.parse().unwrap());
                seen += 1;
                if seen == wait_for {
                    break;
                }
            }
        }
        assert_eq!(
            seen, wait_for,
            "seed {seed} kill {kill}: the child stopped early"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let store = RocksStore::open(&ledger, &config()).unwrap();
        let head = store.head().unwrap();
        let report =
            verify_chain(&store).unwrap_or_else(|e| panic!("seed {seed} kill {kill}: {e}"));
        assert!(
            head.next_order_index >= acknowledged,
            "seed {seed} kill {kill}: {acknowledged} acknowledged, {} present",
            head.next_order_index
        );
        assert_eq!(
            report.transactions,
            head.next_order_index * TRANSACTIONS_PER_BATCH,
            "batches are whole"
        );
        let state = store.state(b"batches").unwrap().unwrap();
        assert_eq!(
            u64::from_le_bytes(state.try_into().unwrap()),
            head.next_order_index
        );
    }
    assert!(acknowledged >= 30, "the child made progress");
}
