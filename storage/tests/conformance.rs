//! One conformance suite for every `Store`: each contract test runs against `MemStore` and
//! `RocksStore` alike.

mod common;

use common::decided_rounds;
use std::sync::Arc;
use votegraph_consensus::{EventId, MemberId, OrderedEvent};
use votegraph_storage::{
    round_batch, verify_chain, Batch, LedgerHead, MemStore, OrderRecord, RocksConfig, RocksStore,
    RoundCommit, Store, StoreError,
};

fn commit_all(store: &dyn Store, rounds: &[RoundCommit]) -> LedgerHead {
    votegraph_storage::sim::commit_rounds(store, rounds).unwrap()
}

fn empty_ledger_has_the_default_head(store: Arc<dyn Store>) {
    assert_eq!(store.head().unwrap(), LedgerHead::default());
    assert_eq!(store.order(0).unwrap(), None);
    assert!(store.transactions(0, 10).unwrap().is_empty());
    verify_chain(&*store).unwrap();
}

fn committed_rounds_read_back_and_the_chain_verifies(store: Arc<dyn Store>) {
    let rounds = decided_rounds(600, 1);
    let head = commit_all(&*store, &rounds);
    assert_eq!(store.head().unwrap(), head);
    let ordered: Vec<&OrderedEvent> = rounds.iter().flat_map(|r| &r.ordered).collect();
    assert_eq!(head.next_order_index, ordered.len() as u64);
    let report = verify_chain(&*store).unwrap();
    assert_eq!(report.transactions, head.next_transaction_index);
    assert_eq!(report.chain_head, head.chain_head);
    for o in &ordered {
        let record = store.order(o.order).unwrap().unwrap();
        assert_eq!(record.event_id, o.event.id());
        assert_eq!(record.round_received, o.round_received);
    }
    let txs = store.transactions(0, usize::MAX).unwrap();
    assert_eq!(txs.len() as u64, head.next_transaction_index);
    assert!(txs
        .windows(2)
        .all(|w| w[0].1.consensus_timestamp_ns < w[1].1.consensus_timestamp_ns));
    let some = store.transactions(5, 3).unwrap();
    assert_eq!(some.iter().map(|t| t.0).collect::<Vec<_>>(), vec![5, 6, 7]);
    let last = rounds.last().unwrap().round;
    assert_eq!(
        store.state(format!("round/{last}").as_bytes()).unwrap(),
        Some(last.to_le_bytes().to_vec())
    );
}

fn a_batch_with_an_order_gap_is_refused_whole(store: Arc<dyn Store>) {
    let rounds = decided_rounds(300, 2);
    commit_all(&*store, &rounds[..1]);
    let before = store.head().unwrap();
    let (batch, _) = round_batch(&before, &rounds[2]);
    let mut with_state = batch.clone();
    with_state.put_state(b"should not appear".to_vec(), b"x".to_vec());
    match store.write(with_state) {
        Err(StoreError::OrderGap { expected, got }) => {
            assert_eq!(expected, before.next_order_index);
            assert!(got > expected);
        }
        other => panic!("expected an order gap, got {other:?}"),
    }
    assert_eq!(store.head().unwrap(), before, "nothing was written");
    assert_eq!(store.state(b"should not appear").unwrap(), None);
    verify_chain(&*store).unwrap();
}

/// Batches that would leave records and head disagreeing are refused whole.
fn malformed_batches_are_refused_whole(store: Arc<dyn Store>) {
    let rounds = decided_rounds(300, 4);
    let head = store.head().unwrap();
    let round = rounds.iter().find(|r| !r.ordered.is_empty()).unwrap();
    let first = &round.ordered[0];
    assert!(first.event.transactions().len() > 1);
    // An order record without its transactions and without a new head.
    let mut record = OrderRecord {
        event_id: first.event.id(),
        round_received: first.round_received,
        consensus_timestamp_ns: first.consensus_timestamp_ns,
        first_transaction_index: 0,
        transaction_count: first.event.transactions().len() as u32,
        chain_hash: [0; 32],
    };
    let mut hasher = blake3::Hasher::new();
    hasher.update(&head.order_chain_head);
    hasher.update(&record.unhashed_encoding());
    record.chain_hash = *hasher.finalize().as_bytes();
    let mut incomplete = Batch::new();
    incomplete.put_order(0, record);
    // A whole round, then a second head.
    let (mut two_heads, _) = round_batch(&head, round);
    two_heads.set_head(head);
    // Transactions whose consensus timestamps do not increase.
    let mut flat = round.clone();
    let stamp = flat.ordered[0].consensus_timestamp_ns;
    flat.ordered[0]
        .transaction_timestamps_ns
        .iter_mut()
        .for_each(|t| *t = stamp);
    let (not_increasing, _) = round_batch(&head, &flat);
    for (name, batch) in [
        ("incomplete", incomplete),
        ("two heads", two_heads),
        ("not increasing", not_increasing),
    ] {
        match store.write(batch) {
            Err(StoreError::BadBatch(detail)) => eprintln!("{name}: refused: {detail}"),
            other => panic!("{name}: expected a refused batch, got {other:?}"),
        }
        assert_eq!(store.head().unwrap(), head, "{name}: nothing was written");
        assert_eq!(store.order(0).unwrap(), None, "{name}: nothing was written");
    }
    let (good, _) = round_batch(&head, round);
    store.write(good).unwrap();
    verify_chain(&*store).unwrap();
}

fn events_are_found_by_id_and_by_creator_sequence(store: Arc<dyn Store>) {
    let rounds = decided_rounds(200, 3);
    let ordered: Vec<OrderedEvent> = rounds.iter().flat_map(|r| r.ordered.clone()).collect();
    common::put_events(&*store, ordered.iter().map(|o| &*o.event));
    for o in &ordered {
        let e = &o.event;
        assert_eq!(
            store.event(&e.id()).unwrap(),
            Some(e.to_unchecked().encode())
        );
        assert_eq!(
            store.events_at(e.creator(), e.creator_seq()).unwrap(),
            vec![e.id()]
        );
    }
    assert_eq!(store.all_event_ids().unwrap().len(), ordered.len());
    assert_eq!(store.event(&EventId([9; 32])).unwrap(), None);
    assert!(store.events_at(MemberId(3), 1_000_000).unwrap().is_empty());
    let first = &ordered[0].event;
    let mut batch = Batch::new();
    batch.delete_event(first.id(), first.creator(), first.creator_seq());
    store.write(batch).unwrap();
    assert_eq!(store.event(&first.id()).unwrap(), None);
    assert!(store
        .events_at(first.creator(), first.creator_seq())
        .unwrap()
        .is_empty());
}

fn state_and_checkpoints_are_kept_and_deleted(store: Arc<dyn Store>) {
    let mut batch = Batch::new();
    batch.put_state(b"election/1".to_vec(), b"open".to_vec());
    batch.put_state(b"election/2".to_vec(), b"draft".to_vec());
    batch.put_checkpoint(7, b"certificate".to_vec());
    store.write(batch).unwrap();
    let mut batch = Batch::new();
    batch.put_state(b"election/1".to_vec(), b"closed".to_vec());
    batch.delete_state(b"election/2".to_vec());
    store.write(batch).unwrap();
    assert_eq!(
        store.state(b"election/1").unwrap(),
        Some(b"closed".to_vec())
    );
    assert_eq!(store.state(b"election/2").unwrap(), None);
    assert_eq!(store.checkpoint(7).unwrap(), Some(b"certificate".to_vec()));
    assert_eq!(store.checkpoint(8).unwrap(), None);
}

fn state_scans_page_through_one_prefix_in_key_order(store: Arc<dyn Store>) {
    let mut batch = Batch::new();
    for key in ["a/1", "b/1", "b/2", "b/3", "c/1"] {
        batch.put_state(key.as_bytes().to_vec(), key.as_bytes().to_vec());
    }
    store.write(batch).unwrap();
    let keys = |rows: Vec<(Vec<u8>, Vec<u8>)>| -> Vec<String> {
        rows.into_iter()
            .map(|(k, _)| String::from_utf8(k).unwrap())
            .collect()
    };
    assert_eq!(
        keys(store.state_scan(b"b/", None, 10).unwrap()),
        ["b/1", "b/2", "b/3"]
    );
    assert_eq!(
        keys(store.state_scan(b"b/", None, 2).unwrap()),
        ["b/1", "b/2"]
    );
    assert_eq!(
        keys(store.state_scan(b"b/", Some(b"b/2"), 10).unwrap()),
        ["b/3"]
    );
    assert!(store
        .state_scan(b"b/", Some(b"b/3"), 10)
        .unwrap()
        .is_empty());
    assert!(store.state_scan(b"d/", None, 10).unwrap().is_empty());
}

macro_rules! conformance {
    ($module:ident, $make:expr) => {
        mod $module {
            use super::*;
            #[test]
            fn empty_ledger_has_the_default_head() {
                let (store, _dir) = $make;
                super::empty_ledger_has_the_default_head(store);
            }
            #[test]
            fn committed_rounds_read_back_and_the_chain_verifies() {
                let (store, _dir) = $make;
                super::committed_rounds_read_back_and_the_chain_verifies(store);
            }
            #[test]
            fn a_batch_with_an_order_gap_is_refused_whole() {
                let (store, _dir) = $make;
                super::a_batch_with_an_order_gap_is_refused_whole(store);
            }
            #[test]
            fn malformed_batches_are_refused_whole() {
                let (store, _dir) = $make;
                super::malformed_batches_are_refused_whole(store);
            }
            #[test]
            fn events_are_found_by_id_and_by_creator_sequence() {
                let (store, _dir) = $make;
                super::events_are_found_by_id_and_by_creator_sequence(store);
            }
            #[test]
            fn state_and_checkpoints_are_kept_and_deleted() {
                let (store, _dir) = $make;
                super::state_and_checkpoints_are_kept_and_deleted(store);
            }
            #[test]
            fn state_scans_page_through_one_prefix_in_key_order() {
                let (store, _dir) = $make;
                super::state_scans_page_through_one_prefix_in_key_order(store);
            }
        }
    };
}

fn mem() -> (Arc<dyn Store>, ()) {
    (Arc::new(MemStore::new()), ())
}

fn rocks() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = RocksConfig {
        fsync: false,
        block_cache_bytes: 8 << 20,
        write_buffer_bytes: 4 << 20,
        ..RocksConfig::default()
    };
    let store = RocksStore::open(&dir.path().join("ledger"), &config).unwrap();
    (Arc::new(store), dir)
}

conformance!(mem_store, mem());
conformance!(rocks_store, rocks());
