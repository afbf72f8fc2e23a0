//! Rebuilding the engine from the stored events reproduces exactly the stored order; a ledger
//! whose order disagrees with its events is refused, naming the first differing index.

use votegraph_consensus::sim::{member_set, GossipParams, GossipStream};
use votegraph_consensus::{Engine, EngineConfig, Output};
use votegraph_storage::{
    mark_pruned, pruned_below, put_snapshot, rebuild_engine, round_batch, Batch, MemStore,
    RecoveryError, RocksConfig, RocksStore, RoundCommit, Store,
};

/// Runs a 4-member gossip as a validator would persist it: every event stored when inserted,
/// every decided round committed as one batch.
fn run_validator(store: &dyn Store, events: usize) -> Engine {
    run_validator_with(store, events, None)
}

/// How a validator that keeps snapshots behaves: a snapshot in the batch of every decided round
/// at least `interval_rounds` after the last one, for the first `until_event` events; then,
/// when `prune`, the events the snapshot no longer needs are dropped.
struct Snapshots {
    interval_rounds: u64,
    until_event: usize,
    prune: bool,
}

fn run_validator_with(store: &dyn Store, events: usize, snapshots: Option<Snapshots>) -> Engine {
    let mut engine = Engine::new(EngineConfig::default(), member_set(4), None).unwrap();
    let mut params = GossipParams::new(4, events, 21);
    params.transactions_per_event = 2;
    params.transaction_bytes = 100;
    let mut stream = GossipStream::new(&params);
    let mut head = store.head().unwrap();
    let mut snapshot_round = 0;
    for step in 0..events {
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
            let (mut batch, next) = round_batch(&head, &done);
            let due = snapshots.as_ref().filter(|s| {
                step < s.until_event && done.round >= snapshot_round + s.interval_rounds
            });
            let mut prune_below = None;
            if let Some(s) = due {
                put_snapshot(&mut batch, &engine);
                snapshot_round = done.round;
                if s.prune {
                    let below = engine.forgotten_birth_rounds_below();
                    mark_pruned(&mut batch, below);
                    prune_below = Some(below);
                }
            }
            store.write(batch).unwrap();
            if let Some(below) = prune_below {
                store.prune_events_born_before(below).unwrap();
            }
            head = next;
        }
    }
    engine
}

/// A validator's 400-event ledger on disk, changed by `tamper` through RocksDB directly (as
/// someone with write access to the files would), then opened as a store.
/// The directory is returned with the store: it is removed when dropped.
fn tampered_ledger(tamper: impl FnOnce(&rocksdb::DB)) -> (tempfile::TempDir, RocksStore) {
    tampered_ledger_with(None, tamper)
}

fn tampered_ledger_with(
    snapshots: Option<Snapshots>,
    tamper: impl FnOnce(&rocksdb::DB),
) -> (tempfile::TempDir, RocksStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    let config = RocksConfig {
        fsync: false,
        ..RocksConfig::default()
    };
    {
        let store = RocksStore::open(&path, &config).unwrap();
        run_validator_with(&store, 400, snapshots);
    }
    {
        let cfs = rocksdb::DB::list_cf(&rocksdb::Options::default(), &path).unwrap();
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &path, cfs).unwrap();
        tamper(&db);
    }
    let store = RocksStore::open(&path, &config).unwrap();
    (dir, store)
}

/// Swaps the event ids of two order records, resealing them with valid checksums.
fn swap_order_records(db: &rocksdb::DB, first: u64, second: u64) {
    let cf = db.cf_handle("order").unwrap();
    let mut a = db.get_cf(cf, first.to_be_bytes()).unwrap().unwrap();
    let mut b = db.get_cf(cf, second.to_be_bytes()).unwrap().unwrap();
    let (id_a, id_b) = (a[..32].to_vec(), b[..32].to_vec());
    a[..32].copy_from_slice(&id_b);
    b[..32].copy_from_slice(&id_a);
    for (index, value) in [(first, &mut a), (second, &mut b)] {
        value.truncate(value.len() - 8);
        reseal("order", &index.to_be_bytes(), value);
        db.put_cf(cf, index.to_be_bytes(), &value[..]).unwrap();
    }
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

/// A validator built before the engine checked the parents of events born ahead buffered
/// such an event and stored it; if it crashed before its parents came, the ledger holds an
/// event whose parent it lacks. The restart leaves it out, as its release would have.
#[test]
fn a_stored_event_born_ahead_without_its_parent_is_left_out_at_a_restart() {
    use votegraph_consensus::encoding::{ParentRef, UnsignedEvent};
    use votegraph_consensus::{EventId, MemberId, VerifiedEvent};
    let store = MemStore::new();
    let live = run_validator(&store, 800);
    let unsigned = UnsignedEvent {
        creator: MemberId(2),
        creator_seq: 10_000,
        birth_round: live.last_decided_round() + 3,
        timestamp_ns: u64::MAX / 2,
        self_parent: Some(ParentRef {
            id: EventId([7; 32]),
            birth_round: live.last_decided_round() + 2,
        }),
        other_parent: None,
        transactions: vec![],
    };
    let orphan = VerifiedEvent::sign(
        unsigned,
        &votegraph_consensus::test_keys::signing_key_for("m2"),
    );
    let mut batch = Batch::new();
    batch.put_event(
        orphan.id(),
        orphan.creator(),
        orphan.creator_seq(),
        orphan.to_unchecked().encode(),
    );
    store.write(batch).unwrap();
    let recovered = rebuild_engine(&store, EngineConfig::default(), member_set(4), None).unwrap();
    assert!(!recovered.engine.contains(&orphan.id()));
    assert_eq!(
        recovered.engine.stats().events_ordered,
        live.stats().events_ordered
    );
}

#[test]
fn a_stored_order_that_disagrees_with_the_events_is_refused_at_the_first_difference() {
    // Swap the event ids of order records 40 and 41, resealing them with valid checksums.
    let (_dir, store) = tampered_ledger(|db| swap_order_records(db, 40, 41));
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

/// A validator that prunes restarts from its newest snapshot: the events that were dropped are
/// not needed, and the order decided after the snapshot is replayed and checked.
#[test]
fn a_pruned_ledger_restarts_from_its_snapshot_and_checks_the_order_after_it() {
    let store = MemStore::new();
    let snapshots = Snapshots {
        interval_rounds: 5,
        until_event: 1200,
        prune: true,
    };
    let live = run_validator_with(&store, 1500, Some(snapshots));
    let head = store.head().unwrap();
    let cut = pruned_below(&store)
        .unwrap()
        .expect("the ledger says it was pruned");
    let stored = store.all_event_ids().unwrap().len();
    eprintln!("{stored} of 1500 events kept, pruned below birth round {cut}");
    assert!(cut > 0 && stored + 300 < 1500, "events were pruned");
    let recovered = rebuild_engine(&store, EngineConfig::default(), member_set(4), None).unwrap();
    assert!(
        recovered.events_checked > 0,
        "order after the snapshot was checked"
    );
    assert!(recovered.pending.is_empty());
    assert_eq!(
        recovered.engine.next_order_index(),
        head.next_order_index,
        "the replay reached the ledger's head"
    );
    assert_eq!(
        recovered.engine.last_decided_round(),
        live.last_decided_round()
    );
    // With a snapshot it cannot use, or without one, the same ledger cannot be replayed from
    // genesis: it says so.
    let mut batch = Batch::new();
    batch.put_state(
        votegraph_storage::ENGINE_SNAPSHOT_KEY.to_vec(),
        vec![1, 2, 3],
    );
    store.write(batch).unwrap();
    assert!(matches!(
        rebuild_engine(&store, EngineConfig::default(), member_set(4), None),
        Err(RecoveryError::Snapshot(_))
    ));
    let mut batch = Batch::new();
    batch.delete_state(votegraph_storage::ENGINE_SNAPSHOT_KEY.to_vec());
    store.write(batch).unwrap();
    assert!(rebuild_engine(&store, EngineConfig::default(), member_set(4), None).is_err());
}

/// A ledger that keeps every event does not depend on its snapshot: one this build cannot use
/// is set aside (and reported) and the ledger is replayed from genesis.
#[test]
fn an_unusable_snapshot_of_a_full_ledger_is_set_aside_for_a_replay_from_genesis() {
    let store = MemStore::new();
    let snapshots = Snapshots {
        interval_rounds: 5,
        until_event: 400,
        prune: false,
    };
    run_validator_with(&store, 600, Some(snapshots));
    let mut batch = Batch::new();
    batch.put_state(votegraph_storage::ENGINE_SNAPSHOT_KEY.to_vec(), vec![9; 40]);
    store.write(batch).unwrap();
    let recovered = rebuild_engine(&store, EngineConfig::default(), member_set(4), None).unwrap();
    assert!(recovered.snapshot_refused.is_some());
    assert_eq!(recovered.snapshot_round, None);
    assert_eq!(
        recovered.events_checked,
        store.head().unwrap().next_order_index
    );
}

/// With a snapshot, an order record after it that disagrees with the events is still refused
/// at its index.
#[test]
fn a_wrong_order_after_the_snapshot_is_refused_at_its_index() {
    let snapshots = Snapshots {
        interval_rounds: 5,
        until_event: 250,
        prune: false,
    };
    let mut last = 0;
    let (_dir, store) = tampered_ledger_with(Some(snapshots), |db| {
        let cf = db.cf_handle("order").unwrap();
        let (key, _) = db
            .iterator_cf(cf, rocksdb::IteratorMode::End)
            .next()
            .unwrap()
            .unwrap();
        last = u64::from_be_bytes(key.as_ref().try_into().unwrap());
        swap_order_records(db, last - 1, last);
    });
    let snapshot = store
        .state(votegraph_storage::ENGINE_SNAPSHOT_KEY)
        .unwrap()
        .expect("a snapshot was stored");
    assert!(!snapshot.is_empty());
    match rebuild_engine(&store, EngineConfig::default(), member_set(4), None) {
        Err(RecoveryError::OrderMismatch { index, .. }) => assert_eq!(index, last - 1),
        other => panic!("expected an order mismatch, got {:?}", other.err()),
    }
}
