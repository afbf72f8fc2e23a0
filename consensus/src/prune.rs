//! Bounded memory: events that became ancient without reaching consensus are declared stale,
//! and events two ancient windows behind the latest decided round leave memory. By the horizon
//! rule no event the engine can still accept reaches them.

use crate::arena::Handle;
use crate::engine::Engine;
use crate::node::Status;
use crate::output::Output;

impl Engine {
    pub(crate) fn sweep_stale(&mut self) {
        let below = self.ancient_below();
        let births: Vec<u64> = self
            .by_birth_round
            .range(self.stale_swept_below..below)
            .map(|(b, _)| *b)
            .collect();
        for birth in births {
            for handle in self.by_birth_round[&birth].clone() {
                self.mark_stale(handle);
            }
        }
        self.stale_swept_below = self.stale_swept_below.max(below);
    }

    /// A pending event that can no longer be ordered becomes stale.
    pub(crate) fn mark_stale(&mut self, handle: Handle) {
        let node = self.dag.get_mut(handle).expect("indexed node");
        if node.status == Status::Pending {
            node.status = Status::Stale;
            self.stats.events_stale += 1;
            self.outputs.push_back(Output::Stale { id: node.id });
        }
    }

    pub(crate) fn prune(&mut self) {
        let below = self.forgotten_below();
        let mut kept = Vec::new();
        while let Some(entry) = self.by_birth_round.first_entry() {
            if *entry.key() >= below {
                break;
            }
            for handle in entry.remove() {
                if !self.remove_node(handle) {
                    kept.push(handle);
                }
            }
        }
        if !kept.is_empty() {
            // Witnesses whose fame is still being voted on stay until it is decided.
            self.by_birth_round.entry(below).or_default().extend(kept);
        }
        let last_decided = self.last_decided;
        self.rounds
            .retain(|round, state| *round > last_decided || !state.witnesses.is_empty());
    }

    /// Removes a node and every index entry pointing at it; false if it must stay.
    fn remove_node(&mut self, handle: Handle) -> bool {
        let node = self.dag.get(handle).expect("indexed node");
        assert!(
            node.status != Status::Pending,
            "pending event {} reached the prune horizon",
            node.id
        );
        if node.is_witness() && node.fame().is_none() {
            return false;
        }
        let node = self.dag.remove(handle).expect("indexed node");
        self.shares.dag_removed(node.creator);
        self.by_id.remove(&node.id);
        if self.latest_by_creator[node.creator.index()] == Some(handle) {
            self.latest_by_creator[node.creator.index()] = None;
        }
        let key = (node.creator, node.seq);
        if self.by_creator_seq.get(&key) == Some(&handle) {
            self.by_creator_seq.remove(&key);
        }
        if node.is_witness() {
            let by_seq = &mut self.witnesses_by_creator[node.creator.index()];
            if let Some(list) = by_seq.get_mut(&node.seq) {
                list.retain(|h| *h != handle);
                if list.is_empty() {
                    by_seq.remove(&node.seq);
                }
            }
            if let Some(state) = self.rounds.get_mut(&node.round) {
                state.witnesses.retain(|h| *h != handle);
            }
        }
        self.stats.events_pruned += 1;
        true
    }
}
