//! Helpers shared by the storage tests.

use votegraph_storage::RoundCommit;

/// The decided rounds of a simulated 4-member gossip carrying three transactions per event.
pub fn decided_rounds(events: usize, seed: u64) -> Vec<RoundCommit> {
    votegraph_storage::sim::simulated_rounds(events, 3, seed)
}
