//! Verified events whose parents have not arrived yet. Two syncs running at once can deliver a
//! child before its parent; keeping the child (instead of dropping it and verifying it again
//! when it is re-sent) saves the scarcest resource, signature checks. Bounded: the oldest
//! orphans go first.

use std::collections::{HashMap, VecDeque};
use votegraph_consensus::{EventId, VerifiedEvent};

pub struct Orphans {
    /// Missing parent -> events waiting for it.
    waiting: HashMap<EventId, Vec<EventId>>,
    /// Each orphan with the parents it waits for.
    events: HashMap<EventId, (VerifiedEvent, Vec<EventId>)>,
    /// Arrival order; may hold ids already released (skipped when evicting, compacted when it
    /// grows past twice the limit).
    arrival: VecDeque<EventId>,
    events_max: usize,
    bytes: usize,
    bytes_max: usize,
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
        }
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
        for parent in missing {
            self.waiting.entry(*parent).or_default().push(id);
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
            if let Some(children) = self.waiting.get_mut(&parent) {
                children.retain(|child| child != id);
                if children.is_empty() {
                    self.waiting.remove(&parent);
                }
            }
        }
    }

    /// The orphans that were waiting for `parent` (they may still lack another parent, and are
    /// then kept again by the caller).
    pub fn released_by(&mut self, parent: &EventId) -> Vec<VerifiedEvent> {
        let Some(children) = self.waiting.remove(parent) else {
            return Vec::new();
        };
        let mut released = Vec::new();
        for child in children {
            if let Some((event, parents)) = self.events.remove(&child) {
                self.bytes -= Self::size(&event);
                for other in parents.iter().filter(|p| *p != parent) {
                    if let Some(list) = self.waiting.get_mut(other) {
                        list.retain(|c| *c != child);
                        if list.is_empty() {
                            self.waiting.remove(other);
                        }
                    }
                }
                released.push(event);
            }
        }
        released
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
}
