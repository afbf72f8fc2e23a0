//! Helpers shared by the storage tests.
#![allow(dead_code)]

use votegraph_consensus::VerifiedEvent;
use votegraph_storage::{Batch, RoundCommit, Store};

/// The decided rounds of a simulated 4-member gossip carrying three transactions per event.
pub fn decided_rounds(events: usize, seed: u64) -> Vec<RoundCommit> {
    votegraph_storage::sim::simulated_rounds(events, 3, seed)
}

/// Stores the events (canonical encodings) in one batch.
pub fn put_events<'a>(store: &dyn Store, events: impl IntoIterator<Item = &'a VerifiedEvent>) {
    let mut batch = Batch::new();
    for e in events {
        batch.put_event(
            e.id(),
            e.creator(),
            e.creator_seq(),
            e.to_unchecked().encode(),
        );
    }
    store.write(batch).unwrap();
}
