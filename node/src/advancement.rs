//! When an event with no transactions is worth creating.
//!
//! Such an event carries nothing of its own: it passes on what this validator has seen, so that
//! transactions already in events reach a decision. It helps only when it can bring a round
//! closer, and a round advances only once events of validators holding more than two thirds of
//! the weight have seen each other. Creating one after every sync that brought news is not that
//! rule: in a split that leaves no side more than two thirds, each event is news to the peers on
//! its side, who answer with one of theirs, for as long as the split lasts. Nothing can be
//! decided meanwhile, so nothing leaves memory, and the DAG fills towards the engine's bound,
//! past which the validators could not take in each other's events when the network heals.
//!
//! The rule here follows tipset-based event creation. Since a snapshot, this validator notes
//! which peers' chains have advanced (it received a new event of theirs). An empty event is
//! worth creating when that set grew since its last own event. Once the peers that advanced,
//! with this validator, hold more than two thirds of the weight, a round can move and the
//! snapshot starts again. On a side without two thirds the set stops growing after each peer
//! there has spoken once, and the side goes quiet; the first events from across a healed split
//! grow it again. A validator that starts (or restarts) counts as grown: its peers may have
//! gone quiet while it was away, holding events that wait for consensus, and its first event
//! is news to each of them.

use votegraph_consensus::{MemberId, MemberSet};

pub struct Advancement {
    me: MemberId,
    members: MemberSet,
    /// Peers with a new event since the snapshot.
    advanced: Vec<bool>,
    advanced_weight: u64,
    /// The set grew since this validator's last own event (or it has created none since it
    /// started).
    grew: bool,
}

impl Advancement {
    pub fn new(members: &MemberSet, me: MemberId) -> Self {
        Advancement {
            me,
            members: members.clone(),
            advanced: vec![false; members.len()],
            advanced_weight: 0,
            grew: true,
        }
    }

    /// A new event created by `creator` arrived.
    pub fn heard(&mut self, creator: MemberId) {
        let index = creator.index();
        if creator == self.me || index >= self.advanced.len() || self.advanced[index] {
            return;
        }
        self.advanced[index] = true;
        self.advanced_weight += self.members.weight(creator);
        self.grew = true;
        let with_me = self.advanced_weight + self.members.weight(self.me);
        if self.members.is_supermajority(with_me) {
            self.advanced.iter_mut().for_each(|a| *a = false);
            self.advanced_weight = 0;
        }
    }

    /// Whether an event with no transactions is worth creating now: the set grew since the
    /// last own event.
    pub fn worth_an_empty_event(&self) -> bool {
        self.grew
    }

    /// This validator created an event (which passed on what it had heard).
    pub fn created(&mut self) {
        self.grew = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use votegraph_consensus::test_keys;

    fn members(weights: &[u64]) -> MemberSet {
        let names = ["a", "b", "c", "d"];
        test_keys::member_set(names.into_iter().zip(weights.iter().copied())).unwrap()
    }

    fn four() -> Advancement {
        Advancement::new(&members(&[1, 1, 1, 1]), MemberId(0))
    }

    #[test]
    fn news_from_a_peer_is_worth_an_event_once_until_others_speak() {
        let mut a = four();
        assert!(
            a.worth_an_empty_event(),
            "a validator that starts passes on one event"
        );
        a.created();
        a.heard(MemberId(1));
        assert!(a.worth_an_empty_event());
        a.created();
        for _ in 0..100 {
            a.heard(MemberId(1));
            assert!(!a.worth_an_empty_event(), "an even split goes quiet");
        }
        a.heard(MemberId(2));
        assert!(a.worth_an_empty_event(), "a peer from across the split");
    }

    #[test]
    fn a_supermajority_that_advanced_starts_a_new_snapshot() {
        let mut a = four();
        a.heard(MemberId(1));
        a.heard(MemberId(2)); // with this validator, 3 of 4: more than two thirds
        a.created();
        a.heard(MemberId(1));
        assert!(
            a.worth_an_empty_event(),
            "validator 1 counts again after the snapshot"
        );
    }

    #[test]
    fn own_events_and_unknown_members_are_not_news() {
        let mut a = four();
        a.created();
        a.heard(MemberId(0));
        a.heard(MemberId(9));
        assert!(!a.worth_an_empty_event());
    }

    #[test]
    fn weights_decide_when_a_snapshot_starts_again() {
        // Weights 1, 1, 1, 5 (total 8): validators 0, 1 and 2 together hold 3 of 8.
        let mut a = Advancement::new(&members(&[1, 1, 1, 5]), MemberId(0));
        a.heard(MemberId(1));
        a.heard(MemberId(2));
        a.created();
        a.heard(MemberId(1));
        a.heard(MemberId(2));
        assert!(
            !a.worth_an_empty_event(),
            "no snapshot: 3 of 8 is not two thirds"
        );
        a.heard(MemberId(3));
        assert!(a.worth_an_empty_event());
        a.created();
        a.heard(MemberId(1));
        assert!(a.worth_an_empty_event(), "8 of 8 advanced: a new snapshot");
    }
}
