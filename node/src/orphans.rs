//! Verified events whose parents have not arrived yet. Two syncs running at once can deliver a
//! child before its parent; keeping the child (instead of dropping it and verifying it again
//! when it is re-sent) saves the scarcest resource, signature checks. Bounded: the oldest
//! orphans go first.
//!
//! A parent still missing after several of this validator's syncs is not on its way: sequence
//! vectors cannot deliver it (it is on a branch of a creator that forked, at a sequence number
//! this validator holds another event for). Those parents are asked for by id (`wanted`).

use std::collections::{HashMap, VecDeque};
use votegraph_consensus::{EventId, VerifiedEvent};

/// Syncs of this validator that end after an orphan arrived before its missing parents are
/// asked for by id: time enough for a parent that sequence vectors deliver to come.
pub const SYNCS_BEFORE_ASKING: u64 = 4;

struct Waiting {
    /// The count of ended syncs when the first child began waiting.
    since: u64,
    children: Vec<EventId>,
}

pub struct Orphans {
    /// Missing parent -> events waiting for it.
    waiting: HashMap<EventId, Waiting>,
    /// Each orphan with the parents it waits for.
    events: HashMap<EventId, (VerifiedEvent, Vec<EventId>)>,
    /// Arrival order; may hold ids already released (skipped when evicting, compacted when it
    /// grows past twice the limit).
    arrival: VecDeque<EventId>,
    events_max: usize,
    bytes: usize,
    bytes_max: usize,
    /// Syncs of this validator that have ended (the clock of `Waiting::since`).
    syncs_ended: u64,
    /// Where the next `wanted` starts among the parents waited for, so that all are asked for
    /// in turn.
    wanted_cursor: usize,
}

impl Orphans {
    pub fn new(events_max: usize, bytes_max: usize) -> Self {
        Orphans {
            waiting: HashMap::new(),
            events: HashMap::new(),
            arrival: VecDeque::new(),
            events_max,
            bytes: 0,
            bytes_max,
            syncs_ended: 0,
            wanted_cursor: 0,
        }
    }

    /// One of this validator's syncs ended.
    pub fn sync_ended(&mut self) {
        self.syncs_ended += 1;
    }

    /// Up to `max` parents that orphans have waited for through [`SYNCS_BEFORE_ASKING`] syncs
    /// and that are not orphans themselves, a different selection on each call while more wait.
    pub fn wanted(&mut self, max: usize) -> Vec<EventId> {
        let ended = self.syncs_ended;
        let events = &self.events;
        let candidates = || {
            self.waiting
                .iter()
                .filter(move |(parent, w)| {
                    w.since + SYNCS_BEFORE_ASKING <= ended && !events.contains_key(*parent)
                })
                .map(|(parent, _)| *parent)
        };
        let count = candidates().count();
        if count == 0 {
            return Vec::new();
        }
        let start = self.wanted_cursor % count;
        let picked = candidates().skip(start).chain(candidates().take(start));
        let wanted = picked.take(max).collect();
        self.wanted_cursor = start + max;
        wanted
    }

    fn size(event: &VerifiedEvent) -> usize {
        256 + event
            .transactions()
            .iter()
            .map(|t| t.len() + 32)
            .sum::<usize>()
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Keeps `event` until one of `missing` arrives.
    pub fn keep(&mut self, event: VerifiedEvent, missing: &[EventId]) {
        let id = event.id();
        if self.events.contains_key(&id) {
            return;
        }
        let size = Self::size(&event);
        while self.events.len() >= self.events_max
            || (!self.events.is_empty() && self.bytes + size > self.bytes_max)
        {
            let Some(oldest) = self.arrival.pop_front() else {
                break;
            };
            self.evict(&oldest);
        }
        let since = self.syncs_ended;
        for parent in missing {
            let waiting = self.waiting.entry(*parent).or_insert_with(|| Waiting {
                since,
                children: Vec::new(),
            });
            waiting.children.push(id);
        }
        self.bytes += size;
        self.events.insert(id, (event, missing.to_vec()));
        self.arrival.push_back(id);
        if self.arrival.len() > 2 * self.events_max {
            let events = &self.events;
            self.arrival.retain(|id| events.contains_key(id));
        }
    }

    fn evict(&mut self, id: &EventId) {
        let Some((event, parents)) = self.events.remove(id) else {
            return;
        };
        self.bytes -= Self::size(&event);
        for parent in parents {
            self.forget_child(&parent, id);
        }
    }

    /// The orphans that were waiting for `parent` (they may still lack another parent, and are
    /// then kept again by the caller).
    pub fn released_by(&mut self, parent: &EventId) -> Vec<VerifiedEvent> {
        let Some(waiting) = self.waiting.remove(parent) else {
            return Vec::new();
        };
        let mut released = Vec::new();
        for child in waiting.children {
            if let Some((event, parents)) = self.events.remove(&child) {
                self.bytes -= Self::size(&event);
                for other in parents.iter().filter(|p| *p != parent) {
                    self.forget_child(other, &child);
                }
                released.push(event);
            }
        }
        released
    }

    fn forget_child(&mut self, parent: &EventId, child: &EventId) {
        if let Some(waiting) = self.waiting.get_mut(parent) {
            waiting.children.retain(|c| c != child);
            if waiting.children.is_empty() {
                self.waiting.remove(parent);
            }
        }
    }

    /// Parents some orphan waits for (for tests and metrics).
    pub fn waited_for(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use votegraph_consensus::replay::signed_events;
    use votegraph_consensus::sim::{generate, GossipParams};

    #[test]
    fn an_orphan_is_released_by_its_parent_and_the_oldest_go_first_when_full() {
        let events = signed_events(&generate(&GossipParams::new(3, 10, 1))).unwrap();
        let mut orphans = Orphans::new(2, usize::MAX);
        let parent = events[0].id();
        orphans.keep(events[1].clone(), &[parent]);
        orphans.keep(events[2].clone(), &[parent]);
        orphans.keep(events[3].clone(), &[events[2].id()]);
        assert_eq!(orphans.len(), 2, "the limit holds");
        let released = orphans.released_by(&parent);
        assert_eq!(released.len(), 1, "the oldest orphan was dropped");
        assert_eq!(released[0].id(), events[2].id());
        assert!(orphans.released_by(&parent).is_empty());
        assert_eq!(
            orphans.waited_for(),
            1,
            "only the kept orphan's parent is waited for"
        );
        orphans.released_by(&events[2].id());
        assert_eq!(
            orphans.waited_for(),
            0,
            "evicted and released orphans leave no trace"
        );
    }

    #[test]
    fn a_parent_missing_through_several_syncs_is_wanted_unless_it_is_an_orphan_itself() {
        let events = signed_events(&generate(&GossipParams::new(3, 10, 1))).unwrap();
        let mut orphans = Orphans::new(100, usize::MAX);
        let (lost, child, grandchild) = (events[0].id(), &events[1], &events[2]);
        orphans.keep(child.clone(), &[lost]);
        orphans.keep(grandchild.clone(), &[child.id()]);
        for _ in 1..SYNCS_BEFORE_ASKING {
            orphans.sync_ended();
            assert!(orphans.wanted(8).is_empty(), "it may still be on its way");
        }
        orphans.sync_ended();
        assert_eq!(
            orphans.wanted(8),
            vec![lost],
            "the held orphan is not asked for"
        );
        let released = orphans.released_by(&lost);
        assert_eq!(released.len(), 1);
        orphans.released_by(&child.id());
        assert!(orphans.wanted(8).is_empty(), "nothing waits any more");
    }

    #[test]
    fn every_wanted_parent_is_asked_for_in_turn() {
        let events = signed_events(&generate(&GossipParams::new(3, 20, 2))).unwrap();
        let mut orphans = Orphans::new(100, usize::MAX);
        let lost: Vec<EventId> = (0..5).map(|i| EventId([i; 32])).collect();
        for (event, parent) in events.iter().zip(&lost) {
            orphans.keep(event.clone(), &[*parent]);
        }
        for _ in 0..SYNCS_BEFORE_ASKING {
            orphans.sync_ended();
        }
        let mut asked = std::collections::HashSet::new();
        for _ in 0..3 {
            let wanted = orphans.wanted(2);
            assert_eq!(wanted.len(), 2);
            asked.extend(wanted);
        }
        assert_eq!(
            asked.len(),
            lost.len(),
            "no parent is starved by the others"
        );
    }
}
