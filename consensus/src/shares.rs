//! Each validator's share of the engine's memory.
//!
//! The DAG and the future buffer are bounded as a whole, and nothing leaves the DAG until rounds
//! are decided. One faulty validator signing events as fast as it can within one birth round (a
//! long chain, or forks at every sequence number) could fill a bound on its own: the honest
//! validators' events would then be refused, no round would be decided, nothing would ever be
//! pruned, and every validator would stall. So an event from a peer is held only within its
//! creator's share, an equal part of each bound; beyond it the event is refused as backpressure,
//! like a full DAG, and offered again by gossip once consensus has pruned.
//!
//! One exception keeps the honest validators together. A faulty validator can hand each of them
//! a different branch of its forks, each filling that validator's share; honest events then
//! name those branches as parents, and every honest validator needs the branches the others
//! took. An event that an event of *another* validator waits for (as a parent, or through its
//! creator's later events) is therefore admitted beyond its creator's share, up to the overall
//! bound ([`Admission::Needed`]; the validator decides, since it holds the waiting events). With
//! one faulty validator what that admits is at most what the honest validators took within
//! their shares. Faulty validators acting together can name each other's floods as parents and
//! so still reach the overall bound (see docs/ARCHITECTURE.md, "Per-validator shares").

use crate::config::EngineConfig;
use crate::error::InsertRejection;
use crate::types::MemberId;

/// How an event reached the engine: whether its creator's share applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Already admitted once: from this validator's own ledger (a restart, an audit replay).
    /// Only the overall bounds apply.
    Trusted,
    /// From a peer: held within its creator's share.
    Shared,
    /// From a peer, and an event of another validator waits for it: held beyond its creator's
    /// share, within the overall bounds.
    Needed,
}

/// What each creator holds in the DAG and the future buffer, against its share of each bound.
pub(crate) struct Shares {
    dag_events: Vec<usize>,
    future_events: Vec<usize>,
    future_bytes: Vec<usize>,
    dag_events_share: usize,
    future_events_share: usize,
    future_bytes_share: usize,
}

impl Shares {
    pub(crate) fn new(config: &EngineConfig, members: usize) -> Self {
        let members = members.max(1);
        Shares {
            dag_events: vec![0; members],
            future_events: vec![0; members],
            future_bytes: vec![0; members],
            dag_events_share: (config.dag_events_max / members).max(1),
            future_events_share: (config.future_buffer_events_max / members).max(1),
            future_bytes_share: config.future_buffer_bytes_max / members,
        }
    }

    /// Events of `creator` in the DAG.
    pub(crate) fn dag_events(&self, creator: MemberId) -> usize {
        self.dag_events[creator.index()]
    }

    /// Why one more event of `creator` may not join the DAG, if its share is full.
    pub(crate) fn dag_refusal(&self, creator: MemberId) -> Option<InsertRejection> {
        let held = self.dag_events(creator);
        (held >= self.dag_events_share).then_some(InsertRejection::CreatorShareFull {
            creator,
            held,
            share: self.dag_events_share,
        })
    }

    /// Why one more event of `creator`, of `bytes`, may not join the future buffer, if its share
    /// is full. A creator holding nothing there may always buffer one event.
    pub(crate) fn future_refusal(
        &self,
        creator: MemberId,
        bytes: usize,
    ) -> Option<InsertRejection> {
        let (events, held_bytes) = (
            self.future_events[creator.index()],
            self.future_bytes[creator.index()],
        );
        let full = events >= self.future_events_share
            || (events > 0 && held_bytes + bytes > self.future_bytes_share);
        full.then_some(InsertRejection::FutureShareFull {
            creator,
            events,
            bytes: held_bytes,
        })
    }

    pub(crate) fn dag_added(&mut self, creator: MemberId) {
        self.dag_events[creator.index()] += 1;
    }

    pub(crate) fn dag_removed(&mut self, creator: MemberId) {
        let held = &mut self.dag_events[creator.index()];
        assert!(
            *held > 0,
            "a removed event was counted in its creator's share"
        );
        *held -= 1;
    }

    pub(crate) fn future_added(&mut self, creator: MemberId, bytes: usize) {
        self.future_events[creator.index()] += 1;
        self.future_bytes[creator.index()] += bytes;
    }

    pub(crate) fn future_removed(&mut self, creator: MemberId, bytes: usize) {
        let index = creator.index();
        assert!(
            self.future_events[index] > 0 && self.future_bytes[index] >= bytes,
            "a released event was counted in its creator's share"
        );
        self.future_events[index] -= 1;
        self.future_bytes[index] -= bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares() -> Shares {
        let config = EngineConfig {
            dag_events_max: 8,
            future_buffer_events_max: 8,
            future_buffer_bytes_max: 400,
            ..EngineConfig::default()
        };
        Shares::new(&config, 4)
    }

    #[test]
    fn a_creator_is_refused_at_its_equal_part_of_the_dag_and_others_are_not() {
        let mut shares = shares();
        let (flooder, honest) = (MemberId(3), MemberId(0));
        shares.dag_added(flooder);
        assert!(shares.dag_refusal(flooder).is_none());
        shares.dag_added(flooder);
        assert_eq!(
            shares.dag_refusal(flooder),
            Some(InsertRejection::CreatorShareFull {
                creator: flooder,
                held: 2,
                share: 2
            })
        );
        assert!(shares.dag_refusal(honest).is_none());
        shares.dag_removed(flooder);
        assert!(
            shares.dag_refusal(flooder).is_none(),
            "pruning frees the share"
        );
    }

    #[test]
    fn the_future_share_bounds_events_and_bytes_but_always_takes_a_first_event() {
        let mut shares = shares();
        let creator = MemberId(1);
        assert!(
            shares.future_refusal(creator, 1_000).is_none(),
            "one event of any size fits an empty share"
        );
        shares.future_added(creator, 60);
        assert!(shares.future_refusal(creator, 40).is_none());
        assert!(matches!(
            shares.future_refusal(creator, 41),
            Some(InsertRejection::FutureShareFull { events: 1, .. })
        ));
        shares.future_removed(creator, 60);
        assert!(shares.future_refusal(creator, 41).is_none());
    }
}
