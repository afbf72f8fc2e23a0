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
//!
//! The orphans also tell which arriving events another validator's event waits for: those are
//! admitted beyond their creator's share of the engine's memory (`Admission::Needed`, see the
//! engine's `shares` module). A faulty validator's own orphans never make its events needed;
//! only an orphan of another creator does, and then every event below it that it waits for.

use crate::asks::Asks;
use std::collections::{HashMap, HashSet, VecDeque};
use votegraph_consensus::{EventId, MemberId, Round, VerifiedEvent};

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

struct Orphan {
    event: VerifiedEvent,
    /// The parents it waits for.
    parents: Vec<EventId>,
    /// An event of another validator waits for it, directly or through its creator's later
    /// orphans.
    needed: bool,
}

type Held = HashMap<EventId, Orphan>;

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
        let needed = self.needs(&event);
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
        for parent in missing {
            let held_creator = self.events.get(parent).map(|o| o.event.creator());
            if held_creator.is_some_and(|c| needed || c != event.creator()) {
                self.mark_needed(*parent);
            }
        }
        let orphan = Orphan {
            event,
            parents: missing.to_vec(),
            needed,
        };
        self.events.insert(id, orphan);
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
        let Some(orphan) = self.events.remove(id) else {
            return;
        };
        self.forget(&orphan.event);
        for parent in orphan.parents {
            self.forget_child(&parent, id);
        }
    }

    /// Whether an event of another validator waits for `event`: an orphan of another creator,
    /// or a needed one.
    pub fn needs(&self, event: &VerifiedEvent) -> bool {
        let Some(waiting) = self.waiting.get(&event.id()) else {
            return false;
        };
        waiting.children.iter().any(|child| {
            self.events
                .get(child)
                .is_some_and(|o| o.needed || o.event.creator() != event.creator())
        })
    }

    /// The events of `batch` (parents first) that another validator's event waits for: an
    /// orphan held here, or a later event of the batch itself. Lets a branch fetched by id,
    /// which arrives with its self-ancestors first, be taken whole.
    pub fn needed_in(&self, batch: &[VerifiedEvent]) -> HashSet<EventId> {
        let mut claims: HashMap<EventId, Vec<(MemberId, bool)>> = HashMap::new();
        let mut needed = HashSet::new();
        for event in batch.iter().rev() {
            let creator = event.creator();
            let claimed = claims
                .remove(&event.id())
                .is_some_and(|c| c.iter().any(|(child, n)| *n || *child != creator));
            let is_needed = claimed || self.needs(event);
            if is_needed {
                needed.insert(event.id());
            }
            for parent in [event.self_parent(), event.other_parent()]
                .into_iter()
                .flatten()
            {
                claims
                    .entry(parent.id)
                    .or_default()
                    .push((creator, is_needed));
            }
        }
        needed
    }

    /// Marks a held orphan needed, and every held orphan it waits for.
    fn mark_needed(&mut self, id: EventId) {
        let mut stack = vec![id];
        while let Some(id) = stack.pop() {
            let Some(orphan) = self.events.get_mut(&id) else {
                continue;
            };
            if !orphan.needed {
                orphan.needed = true;
                stack.extend(orphan.parents.iter().copied());
            }
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
            .filter(|(_, orphan)| orphan.event.birth_round() < birth_round)
            .map(|(id, _)| *id)
            .collect();
        for id in old {
            self.evict(&id);
        }
    }

    /// The orphans that were waiting for `parent`, each with whether it is needed (they may
    /// still lack another parent, and are then kept again by the caller).
    pub fn released_by(&mut self, parent: &EventId) -> Vec<(VerifiedEvent, bool)> {
        let Some(waiting) = self.waiting.remove(parent) else {
            return Vec::new();
        };
        let mut released = Vec::new();
        for child in waiting.children {
            if let Some(orphan) = self.events.remove(&child) {
                self.forget(&orphan.event);
                for other in orphan.parents.iter().filter(|p| *p != parent) {
                    self.forget_child(other, &child);
                }
                released.push((orphan.event, orphan.needed));
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
        assert_eq!(released[0].0.id(), honest[0].id());
        assert!(orphans.released_by(&parent).is_empty());
        let flooded = orphans.released_by(&EventId([2; 32]));
        let ids: Vec<EventId> = flooded.iter().map(|(e, _)| e.id()).collect();
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

    /// An event of creator 1 whose other-parent is creator 0's event with sequence 2 or more,
    /// and that event's chain below it: (the chain up to the other-parent, the event).
    fn chain_and_its_reader(all: &[VerifiedEvent]) -> (Vec<VerifiedEvent>, VerifiedEvent) {
        let chain = of(all, 0);
        let reader = of(all, 1)
            .into_iter()
            .find(|e| {
                let other = e.other_parent().map(|p| p.id);
                chain[2..].iter().any(|c| Some(c.id()) == other)
            })
            .expect("creator 1 read creator 0's later events");
        let other = reader.other_parent().unwrap().id;
        let end = chain.iter().position(|c| c.id() == other).unwrap();
        (chain[..=end].to_vec(), reader)
    }

    #[test]
    fn an_event_is_needed_only_when_another_creators_orphan_waits_for_it_directly_or_below() {
        let (chain, reader) = chain_and_its_reader(&events(5));
        let (below, read) = (&chain[chain.len() - 2], &chain[chain.len() - 1]);
        let mut orphans = Orphans::new(3, 300, usize::MAX);
        orphans.keep(read.clone(), &[below.id()]);
        assert!(
            !orphans.needs(below),
            "its creator's own orphan does not make it needed"
        );
        orphans.keep(reader.clone(), &[read.id()]);
        assert!(orphans.needs(read), "another creator's orphan waits for it");
        assert!(orphans.needs(below), "and through it for the event below");
        let released = orphans.released_by(&below.id());
        assert_eq!(released.len(), 1);
        assert!(released[0].1, "released as needed");
    }

    #[test]
    fn a_branch_fetched_with_the_event_that_reads_it_is_needed_whole() {
        let (chain, reader) = chain_and_its_reader(&events(6));
        let orphans = Orphans::new(3, 300, usize::MAX);
        let mut batch = chain.clone();
        assert!(orphans.needed_in(&batch).is_empty(), "a chain alone is not");
        batch.push(reader.clone());
        let needed = orphans.needed_in(&batch);
        assert_eq!(
            needed.len(),
            chain.len(),
            "every event of the chain, not the reader"
        );
        assert!(chain.iter().all(|e| needed.contains(&e.id())));
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
        assert!(kept.iter().all(|(e, _)| e.birth_round() >= newest));
    }
}
