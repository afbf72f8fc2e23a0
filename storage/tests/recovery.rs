//! Rebuilding the engine from the stored events reproduces exactly the stored order; a ledger
//! whose order disagrees with its events is refused, naming the first differing index.

use votegraph_consensus::sim::{member_set, GossipParams, GossipStream};
use votegraph_consensus::{Engine, EngineConfig, Output};
use votegraph_storage::{
    rebuild_engine, round_batch, Batch, MemStore, RecoveryError, RocksConfig, RocksStore,
    RoundCommit, Store,
};

/// Runs a 4-member gossip as a validator would persist it: every event stored when inserted,
/// every decided round committed as one batch.
fn run_validator(store: &dyn Store, events: usize) -> Engine {
    let mut engine = Engine::new(EngineConfig::default(), member_set(4), None).unwrap();
    let mut params = GossipParams::new(4, events, 21);
    params.transactions_per_event = 2;
    params.transaction_bytes = 100;
    let mut stream = GossipStream::new(&params);
    let mut head = store.head().unwrap();
    for _ in 0..events {
        let event = stream.next_event(engine.last_decided_round());
        let mut batch = Batch::new();
        batch.put_event(
            event.id(),
            event.creator(),
            event.creator_seq(),
            event.to_unchecked().encode(),
        );
        store.write(batch).unwrap();
        engine.insert(event).unwrap();
        let mut round: Option<RoundCommit> = None;
        for output in engine.drain_outputs() {
            match output {
                Output::RoundDecided { round: r, .. } => {
                    if let Some(done) = round.take() {
                        let (batch, next) = round_batch(&head, &done);
                        store.write(batch).unwrap();
                        head = next;
                    }
                    round = Some(RoundCommit {
                        round: r,
                        ..RoundCommit::default()
                    });
                }
                Output::Ordered(o) => round.as_mut().unwrap().ordered.push(o),
                _ => {}
            }
        }
        if let Some(done) = round {
            let (batch, next) = round_batch(&head, &done);
            store.write(batch).unwrap();
            head = next;
        }
    }
    engine
}

/// A validator's 400-event ledger on disk, changed by `tamper` through RocksDB directly (as
/// someone with write access to the files would), then opened as a store.
/// The directory is returned with the store: it is removed when dropped.
fn tampered_ledger(tamper: impl FnOnce(&rocksdb::DB)) -> (tempfile::TempDir, RocksStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    let config = RocksConfig {
        fsync: false,
        ..RocksConfig::default()
    };
    {
        let store = RocksStore::open(&path, &config).unwrap();
        run_validator(&store, 400);
    }
    {
        let cfs = rocksdb::DB::list_cf(&rocksdb::Options::default(), &path).unwrap();
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &path, cfs).unwrap();
        tamper(&db);
    }
    let store = RocksStore::open(&path, &config).unwrap();
    (dir, store)
}

/// Appends the checksum a store seals `value` with under `table` and `key` (as a forger with
/// write access to the files would).
fn reseal(table: &str, key: &[u8], value: &mut Vec<u8>) {
    let mut hasher = blake3::Hasher::new();
    hasher.update(table.as_bytes());
    hasher.update(&(key.len() as u32).to_le_bytes());
    hasher.update(key);
    hasher.update(value);
    value.extend_from_slice(&hasher.finalize().as_bytes()[..8]);
}

#[test]
fn rebuilding_from_stored_events_reproduces_the_stored_order() {
    let store = MemStore::new();
    let live = run_validator(&store, 800);
    let recovered = rebuild_engine(&store, EngineConfig::default(), member_set(4), None).unwrap();
    let head = store.head().unwrap();
    assert!(head.next_order_index > 500);
    assert_eq!(recovered.events_checked, head.next_order_index);
    assert_eq!(
        recovered.engine.last_decided_round(),
        live.last_decided_round()
    );
    assert_eq!(
        recovered.engine.stats().events_ordered,
        live.stats().events_ordered
    );
}

#[test]
fn a_stored_order_that_disagrees_with_the_events_is_refused_at_the_first_difference() {
    // Swap the event ids of order records 40 and 41, resealing them with valid checksums.
    let (_dir, store) = tampered_ledger(|db| {
        let cf = db.cf_handle("order").unwrap();
        let mut a = db.get_cf(cf, 40u64.to_be_bytes()).unwrap().unwrap();
        let mut b = db.get_cf(cf, 41u64.to_be_bytes()).unwrap().unwrap();
        let (id_a, id_b) = (a[..32].to_vec(), b[..32].to_vec());
        a[..32].copy_from_slice(&id_b);
        b[..32].copy_from_slice(&id_a);
        for (index, value) in [(40u64, &mut a), (41u64, &mut b)] {
            value.truncate(value.len() - 8);
            reseal("order", &index.to_be_bytes(), value);
            db.put_cf(cf, index.to_be_bytes(), &value[..]).unwrap();
        }
    });
    match rebuild_engine(&store, EngineConfig::default(), member_set(4), None) {
        Err(RecoveryError::OrderMismatch { index, .. }) => assert_eq!(index, 40),
        other => panic!("expected an order mismatch at 40, got {:?}", other.err()),
    }
}

/// A transaction record whose payload was rewritten (and resealed) no longer matches its
/// event: the replay names its index.
#[test]
fn a_stored_transaction_that_differs_from_its_event_is_refused_at_its_index() {
    let (_dir, store) = tampered_ledger(|db| {
        let cf = db.cf_handle("transactions").unwrap();
        let key = 30u64.to_be_bytes();
        let mut value = db.get_cf(cf, key).unwrap().unwrap();
        value.truncate(value.len() - 8);
        // event id (32), position (4), timestamp (8), then the payload.
        value[32 + 4 + 8 + 5] ^= 0x01;
        reseal("transactions", &key, &mut value);
        db.put_cf(cf, key, &value[..]).unwrap();
    });
    match rebuild_engine(&store, EngineConfig::default(), member_set(4), None) {
        Err(RecoveryError::TransactionMismatch { index, .. }) => assert_eq!(index, 30),
        other => panic!(
            "expected a transaction mismatch at 30, got {:?}",
            other.err()
        ),
    }
}

/// A round decided just before a crash, whose batch was never written, comes back from the
/// replay as pending, ready to be committed where the ledger stopped.
#[test]
fn rounds_decided_but_not_committed_before_a_crash_are_returned_pending() {
    let store = MemStore::new();
    run_validator(&store, 600);
    let full = store.head().unwrap();
    // The same events, with every decided round's batch lost.
    let crashed = MemStore::new();
    let mut batch = Batch::new();
    for id in store.all_event_ids().unwrap() {
        let bytes = store.event(&id).unwrap().unwrap();
        let event =
            votegraph_consensus::UncheckedEvent::decode(&bytes, &Default::default()).unwrap();
        batch.put_event(
            id,
            event.unsigned.creator,
            event.unsigned.creator_seq,
            bytes,
        );
    }
    crashed.write(batch).unwrap();
    let recovered = rebuild_engine(&crashed, EngineConfig::default(), member_set(4), None).unwrap();
    assert_eq!(recovered.events_checked, 0);
    assert_eq!(recovered.pending.len() as u64, full.next_order_index);
    assert!(recovered
        .pending
        .iter()
        .enumerate()
        .all(|(i, o)| o.order == i as u64));
    let (batch, head) = round_batch(
        &crashed.head().unwrap(),
        &RoundCommit {
            round: recovered.engine.last_decided_round(),
            ordered: recovered.pending,
            ..RoundCommit::default()
        },
    );
    crashed.write(batch).unwrap();
    assert_eq!(
        head.chain_head, full.chain_head,
        "committing the pending events restores the ledger"
    );
}
