//! Verified events whose parents have not arrived yet. Two syncs running at once can deliver a
//! child before its parent; keeping the child (instead of dropping it and verifying it again
//! when it is re-sent) saves the scarcest resource, signature checks. Bounded: the oldest
//! orphans go first.

use std::collections::{HashMap, VecDeque};
use votegraph_consensus::{EventId, VerifiedEvent};

pub struct Orphans {
    /// Missing parent -> events waiting for it.
    waiting: HashMap<EventId, Vec<EventId>>,
    events: HashMap<EventId, VerifiedEvent>,
    arrival: VecDeque<EventId>,
    events_max: usize,
}

impl Orphans {
    pub fn new(events_max: usize) -> Self {
        Orphans {
            waiting: HashMap::new(),
            events: HashMap::new(),
            arrival: VecDeque::new(),
            events_max,
        }
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
        while self.events.len() >= self.events_max {
            let Some(oldest) = self.arrival.pop_front() else {
                break;
            };
            self.events.remove(&oldest);
        }
        for parent in missing {
            self.waiting.entry(*parent).or_default().push(id);
        }
        self.events.insert(id, event);
        self.arrival.push_back(id);
    }

    /// The orphans that were waiting for `parent` (they may still lack another parent).
    pub fn released_by(&mut self, parent: &EventId) -> Vec<VerifiedEvent> {
        let Some(children) = self.waiting.remove(parent) else {
            return Vec::new();
        };
        let released: Vec<VerifiedEvent> = children
            .iter()
            .filter_map(|child| self.events.remove(child))
            .collect();
        if !released.is_empty() {
            self.arrival.retain(|id| self.events.contains_key(id));
        }
        released
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
        let mut orphans = Orphans::new(2);
        let parent = events[0].id();
        orphans.keep(events[1].clone(), &[parent]);
        orphans.keep(events[2].clone(), &[parent]);
        orphans.keep(events[3].clone(), &[events[2].id()]);
        assert_eq!(orphans.len(), 2, "the limit holds");
        let released = orphans.released_by(&parent);
        assert_eq!(released.len(), 1, "the oldest orphan was dropped");
        assert_eq!(released[0].id(), events[2].id());
        assert!(orphans.released_by(&parent).is_empty());
    }
}
