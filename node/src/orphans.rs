//! Verified events whose parents have not arrived yet. Two syncs running at once can deliver a
//! child before its parent; keeping the child (instead of dropping it and verifying it again
//! when it is re-sent) saves the scarcest resource, signature checks. Bounded per creator, so
//! that a faulty validator flooding orphans evicts only its own: within a creator's share the
//! oldest orphans go first.
//!
//! A parent still missing after several of this validator's syncs is not on its way: sequence
//! vectors cannot deliver it (it is on a branch of a creator that forked, at a sequence number
//! this validator holds another event for). Those parents are asked for by id (`wanted`, in
//! the turns of `crate::asks`).

use crate::asks::Asks;
use std::collections::{HashMap, VecDeque};
use votegraph_consensus::{EventId, Round, VerifiedEvent};

struct Waiting {
    /// The count of ended syncs when the parent went missing.
    since: u64,
    children: Vec<EventId>,
}

/// One creator's orphans: their arrival order (may hold ids already released: skipped when
/// evicting, swept when it grows past twice the limit) and what they hold.
#[derive(Default)]
struct Share {
    arrival: VecDeque<EventId>,
    events: usize,
    bytes: usize,
}

type Held = HashMap<EventId, (VerifiedEvent, Vec<EventId>)>;

/// Whether a parent is still worth asking for: orphans wait for it, and it has not arrived
/// (as an orphan itself). Borrows the two maps alone, beside a mutable borrow of the asks.
fn still_missing<'a>(
    waiting: &'a HashMap<EventId, Waiting>,
    events: &'a Held,
) -> impl Fn(&EventId) -> bool + 'a {
    move |p| waiting.contains_key(p) && !events.contains_key(p)
}

pub struct Orphans {
    /// Missing parent -> events waiting for it.
    waiting: HashMap<EventId, Waiting>,
    /// Each orphan with the parents it waits for.
    events: Held,
    shares: Vec<Share>,
    events_per_creator_max: usize,
    bytes_per_creator_max: usize,
    /// Syncs of this validator that have ended (the clock of `Waiting::since`).
    syncs_ended: u64,
    asks: Asks,
}

impl Orphans {
    /// At most `events_max` orphans and `bytes_max` bytes, in equal shares per creator.
    pub fn new(members: usize, events_max: usize, bytes_max: usize) -> Self {
        let members = members.max(1);
        let events_per_creator_max = (events_max / members).max(1);
        Orphans {
            waiting: HashMap::new(),
            events: HashMap::new(),
            shares: (0..members).map(|_| Share::default()).collect(),
            events_per_creator_max,
            bytes_per_creator_max: bytes_max / members,
            syncs_ended: 0,
            asks: Asks::new(members, 2 * events_per_creator_max),
        }
    }

    /// One of this validator's syncs ended.
    pub fn sync_ended(&mut self) {
        self.syncs_ended += 1;
    }

    /// Up to `max` parents that have been missing through `asks::SYNCS_BEFORE_ASKING` syncs
    /// and are not orphans themselves, in turn.
    pub fn wanted(&mut self, max: usize) -> Vec<EventId> {
        let still_missing = still_missing(&self.waiting, &self.events);
        self.asks.next(max, self.syncs_ended, still_missing)
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

    /// Keeps `event` until one of `missing` arrives. An event that other orphans were waiting
    /// for passes on how long it was missing: its own missing parents are asked for as soon.
    pub fn keep(&mut self, event: VerifiedEvent, missing: &[EventId]) {
        let id = event.id();
        let creator = event.creator().index();
        if self.events.contains_key(&id) || creator >= self.shares.len() {
            return;
        }
        let size = Self::size(&event);
        self.make_room(creator, size);
        let since = self.waiting.get(&id).map_or(self.syncs_ended, |w| w.since);
        for parent in missing {
            let new = !self.waiting.contains_key(parent);
            let waiting = self.waiting.entry(*parent).or_insert(Waiting {
                since,
                children: Vec::new(),
            });
            waiting.children.push(id);
            if new {
                let still_missing = still_missing(&self.waiting, &self.events);
                let now = self.syncs_ended;
                self.asks
                    .missing(creator, *parent, since, now, still_missing);
            }
        }
        self.events.insert(id, (event, missing.to_vec()));
        let share = &mut self.shares[creator];
        share.events += 1;
        share.bytes += size;
        share.arrival.push_back(id);
        if share.arrival.len() > 2 * self.events_per_creator_max {
            let events = &self.events;
            share.arrival.retain(|id| events.contains_key(id));
        }
    }

    /// Evicts `creator`'s oldest orphans until one more of `size` bytes fits its share.
    fn make_room(&mut self, creator: usize, size: usize) {
        loop {
            let share = &self.shares[creator];
            let full = share.events >= self.events_per_creator_max
                || (share.events > 0 && share.bytes + size > self.bytes_per_creator_max);
            if !full {
                return;
            }
            let Some(oldest) = self.shares[creator].arrival.pop_front() else {
                return;
            };
            self.evict(&oldest);
        }
    }

    fn evict(&mut self, id: &EventId) {
        let Some((event, parents)) = self.events.remove(id) else {
            return;
        };
        self.forget(&event);
        for parent in parents {
            self.forget_child(&parent, id);
        }
    }

    fn forget(&mut self, event: &VerifiedEvent) {
        let share = &mut self.shares[event.creator().index()];
        share.events -= 1;
        share.bytes -= Self::size(event);
    }

    /// Drops orphans born before `birth_round`: their missing parents are out of the engine's
    /// memory, so they no longer wait for them (a peer sends them again if they still matter).
    pub fn drop_born_before(&mut self, birth_round: Round) {
        let old: Vec<EventId> = self
            .events
            .iter()
            .filter(|(_, (event, _))| event.birth_round() < birth_round)
            .map(|(id, _)| *id)
            .collect();
        for id in old {
            self.evict(&id);
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
                self.forget(&event);
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
    use crate::asks::SYNCS_BEFORE_ASKING;
    use votegraph_consensus::replay::signed_events;
    use votegraph_consensus::sim::{generate, GossipParams};
    use votegraph_consensus::MemberId;

    fn events(seed: u64) -> Vec<VerifiedEvent> {
        signed_events(&generate(&GossipParams::new(3, 60, seed))).unwrap()
    }

    fn of(events: &[VerifiedEvent], creator: u32) -> Vec<VerifiedEvent> {
        let mine = events.iter().filter(|e| e.creator() == MemberId(creator));
        mine.cloned().collect()
    }

    fn end_syncs(orphans: &mut Orphans, count: u64) {
        for _ in 0..count {
            orphans.sync_ended();
        }
    }

    #[test]
    fn an_orphan_is_released_by_its_parent_and_a_full_share_drops_its_own_oldest() {
        let all = events(1);
        let (flooder, honest) = (of(&all, 0), of(&all, 1));
        let mut orphans = Orphans::new(3, 6, usize::MAX);
        let parent = EventId([1; 32]);
        orphans.keep(honest[0].clone(), &[parent]);
        for event in &flooder[..5] {
            orphans.keep(event.clone(), &[EventId([2; 32])]);
        }
        assert_eq!(
            orphans.len(),
            3,
            "two per creator: the flooder keeps its newest two"
        );
        let released = orphans.released_by(&parent);
        assert_eq!(
            released.len(),
            1,
            "another creator's flood did not evict it"
        );
        assert_eq!(released[0].id(), honest[0].id());
        assert!(orphans.released_by(&parent).is_empty());
        let flooded = orphans.released_by(&EventId([2; 32]));
        let ids: Vec<EventId> = flooded.iter().map(|e| e.id()).collect();
        assert_eq!(ids, vec![flooder[3].id(), flooder[4].id()]);
        assert_eq!(orphans.waited_for(), 0, "released orphans leave no trace");
        assert!(orphans.is_empty());
    }

    #[test]
    fn a_parent_missing_through_several_syncs_is_wanted_unless_it_is_an_orphan_itself() {
        let all = events(1);
        let mut orphans = Orphans::new(3, 300, usize::MAX);
        let (lost, child, grandchild) = (all[0].id(), &all[1], &all[2]);
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
    fn a_wanted_parent_that_arrives_an_orphan_has_its_own_parent_asked_for_at_once() {
        let all = events(3);
        let mine = of(&all, 0);
        let mut orphans = Orphans::new(3, 300, usize::MAX);
        orphans.keep(mine[2].clone(), &[mine[1].id()]);
        end_syncs(&mut orphans, SYNCS_BEFORE_ASKING);
        assert_eq!(orphans.wanted(8), vec![mine[1].id()]);
        orphans.keep(mine[1].clone(), &[mine[0].id()]);
        assert_eq!(
            orphans.wanted(8),
            vec![mine[0].id()],
            "a branch fetched by id is not slowed down at each step"
        );
    }

    #[test]
    fn every_wanted_parent_is_asked_for_in_turn() {
        let all = events(2);
        let mut orphans = Orphans::new(3, 300, usize::MAX);
        let lost: Vec<EventId> = (0..5).map(|i| EventId([i; 32])).collect();
        for (event, parent) in all.iter().zip(&lost) {
            orphans.keep(event.clone(), &[*parent]);
        }
        end_syncs(&mut orphans, SYNCS_BEFORE_ASKING);
        let mut asked = std::collections::HashSet::new();
        for _ in 0..10 {
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

    #[test]
    fn orphans_born_before_the_engines_memory_are_dropped() {
        let all = events(4);
        let mut orphans = Orphans::new(3, 300, usize::MAX);
        for event in &all[1..] {
            orphans.keep(event.clone(), &[EventId([9; 32])]);
        }
        let newest = all.iter().map(|e| e.birth_round()).max().unwrap();
        assert!(newest > 1, "the simulation spans several birth rounds");
        orphans.drop_born_before(newest);
        assert!(orphans.len() < all.len() - 1);
        let kept = orphans.released_by(&EventId([9; 32]));
        assert!(kept.iter().all(|e| e.birth_round() >= newest));
    }
}
