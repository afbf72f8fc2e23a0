//! Pruning drops old events from the event tables and nothing else; kept events, the order,
//! the transactions and the chain are untouched.

mod common;

use votegraph_consensus::UncheckedEvent;
use votegraph_storage::sim::commit_rounds;
use votegraph_storage::{verify_chain, MemStore, RocksConfig, RocksStore, Store};

#[test]
fn events_born_before_a_round_leave_the_event_tables_only() {
    let dir = tempfile::tempdir().unwrap();
    let config = RocksConfig {
        fsync: false,
        ..RocksConfig::default()
    };
    prune_half(&RocksStore::open(&dir.path().join("ledger"), &config).unwrap());
    prune_half(&MemStore::new());
}

fn prune_half(store: &dyn Store) {
    let rounds = common::decided_rounds(800, 41);
    common::put_events(
        store,
        rounds.iter().flat_map(|r| &r.ordered).map(|o| &*o.event),
    );
    let head = commit_rounds(store, &rounds).unwrap();
    let events = store.all_event_ids().unwrap();
    let birth = |id| {
        let bytes = store.event(id).unwrap().unwrap();
        UncheckedEvent::decode(&bytes, &Default::default())
            .unwrap()
            .unsigned
            .birth_round
    };
    let cut = head.last_decided_round / 2;
    let old = events.iter().filter(|id| birth(id) < cut).count() as u64;
    assert!(old > 0 && old < events.len() as u64);
    assert_eq!(store.prune_events_born_before(cut).unwrap(), old);
    let kept = store.all_event_ids().unwrap();
    assert_eq!(kept.len() as u64, events.len() as u64 - old);
    assert!(kept.iter().all(|id| birth(id) >= cut));
    assert_eq!(store.head().unwrap(), head);
    verify_chain(store).unwrap();
}
