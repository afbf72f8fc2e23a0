//! Which missing parents to ask peers for by id, and in what turn. A parent becomes due once it
//! has been missing through [`SYNCS_BEFORE_ASKING`] of this validator's syncs; due parents are
//! asked for in rotation, and in equal shares per creator of the orphans waiting for them, so
//! that a faulty validator whose own orphans wait for parents no one has takes at most its
//! share of each hello.

use std::collections::VecDeque;
use votegraph_consensus::EventId;

/// Syncs of this validator that end after a parent went missing before it is asked for by id:
/// time enough for a parent that sequence vectors deliver to come.
pub const SYNCS_BEFORE_ASKING: u64 = 4;

#[derive(Default)]
struct Share {
    /// Parents not yet due, with the sync count at which they went missing, oldest first.
    not_due: VecDeque<(EventId, u64)>,
    /// Due parents, asked for in turn (may hold parents no longer missing: skipped when met).
    due: VecDeque<EventId>,
}

pub struct Asks {
    shares: Vec<Share>,
    /// Queue entries allowed per creator before stale ones are swept out.
    entries_max: usize,
    /// The share that goes first in the next call, so that all shares lead in turn.
    first_share: usize,
}

impl Asks {
    pub fn new(members: usize, entries_max: usize) -> Self {
        Asks {
            shares: (0..members).map(|_| Share::default()).collect(),
            entries_max,
            first_share: 0,
        }
    }

    /// `parent` went missing at sync count `since` for an orphan created by `creator`.
    /// `still_missing` tells the parents that are, for sweeping the queues.
    pub fn missing(
        &mut self,
        creator: usize,
        parent: EventId,
        since: u64,
        now: u64,
        still_missing: impl Fn(&EventId) -> bool,
    ) {
        let Some(share) = self.shares.get_mut(creator) else {
            return;
        };
        if since + SYNCS_BEFORE_ASKING <= now {
            share.due.push_back(parent);
        } else {
            share.not_due.push_back((parent, since));
        }
        if share.not_due.len() + share.due.len() > 2 * self.entries_max {
            share.not_due.retain(|(p, _)| still_missing(p));
            share.due.retain(|p| still_missing(p));
        }
    }

    /// Up to `max` distinct due parents that are `still_missing` at sync count `now`, taken
    /// in turn from each creator's share.
    pub fn next(
        &mut self,
        max: usize,
        now: u64,
        still_missing: impl Fn(&EventId) -> bool,
    ) -> Vec<EventId> {
        for share in &mut self.shares {
            while let Some(&(parent, since)) = share.not_due.front() {
                if since + SYNCS_BEFORE_ASKING > now {
                    break;
                }
                share.not_due.pop_front();
                share.due.push_back(parent);
            }
        }
        let mut turns: Vec<usize> = self.shares.iter().map(|s| s.due.len()).collect();
        let mut wanted: Vec<EventId> = Vec::new();
        let members = self.shares.len();
        self.first_share = (self.first_share + 1) % members.max(1);
        while wanted.len() < max && turns.iter().any(|t| *t > 0) {
            for offset in 0..members {
                if wanted.len() == max {
                    break;
                }
                let at = (self.first_share + offset) % members;
                let (share, turns_left) = (&mut self.shares[at], &mut turns[at]);
                while *turns_left > 0 {
                    *turns_left -= 1;
                    let parent = share.due.pop_front().expect("a turn is a queued parent");
                    if !still_missing(&parent) {
                        continue;
                    }
                    share.due.push_back(parent);
                    if !wanted.contains(&parent) {
                        wanted.push(parent);
                        break;
                    }
                }
            }
        }
        wanted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> EventId {
        EventId([n; 32])
    }

    #[test]
    fn a_parent_is_due_after_the_syncs_before_asking() {
        let mut asks = Asks::new(2, 100);
        asks.missing(0, id(1), 0, 0, |_| true);
        assert!(asks.next(8, SYNCS_BEFORE_ASKING - 1, |_| true).is_empty());
        assert_eq!(asks.next(8, SYNCS_BEFORE_ASKING, |_| true), vec![id(1)]);
        assert!(
            asks.next(8, SYNCS_BEFORE_ASKING + 1, |p| *p != id(1))
                .is_empty(),
            "a parent that arrived is not asked for"
        );
    }

    #[test]
    fn a_parent_missing_since_long_ago_is_due_at_once() {
        let mut asks = Asks::new(1, 100);
        asks.missing(0, id(1), 0, 10, |_| true);
        assert_eq!(asks.next(8, 10, |_| true), vec![id(1)]);
    }

    #[test]
    fn each_creator_gets_its_share_and_every_parent_its_turn() {
        let mut asks = Asks::new(2, 1000);
        for n in 0..100 {
            asks.missing(0, id(n), 0, 0, |_| true);
        }
        asks.missing(1, id(200), 0, 0, |_| true);
        asks.missing(1, id(201), 0, 0, |_| true);
        let now = SYNCS_BEFORE_ASKING;
        let first = asks.next(4, now, |_| true);
        assert_eq!(first.len(), 4);
        let from_honest = first.iter().filter(|p| p.0[0] >= 200).count();
        assert_eq!(from_honest, 2, "the flooding creator takes only its share");
        let mut asked = std::collections::HashSet::new();
        for _ in 0..60 {
            asked.extend(asks.next(4, now, |_| true));
        }
        assert_eq!(asked.len(), 102, "no parent is starved by the others");
    }

    #[test]
    fn queues_are_swept_of_parents_no_longer_missing() {
        let mut asks = Asks::new(1, 4);
        for n in 0..100 {
            asks.missing(0, id(n), 0, 0, |p| p.0[0] >= 96);
        }
        let queued = asks.shares[0].not_due.len() + asks.shares[0].due.len();
        assert!(queued <= 9, "{queued} entries queued");
    }
}
