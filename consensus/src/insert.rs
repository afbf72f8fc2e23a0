//! Adding one event to the DAG: contextual validation, fork detection, then the incremental
//! consensus steps (last-seen vector, first-seeing of witnesses, round, votes, order).

use crate::arena::Handle;
use crate::encoding::ParentRef;
use crate::engine::{Engine, InsertOutcome, OwnTip, RoundState};
use crate::error::{InsertError, InsertRejection};
use crate::event::VerifiedEvent;
use crate::node::{same_chain_root, Node, Status, WitnessState, ANY_CHAIN, NOT_SEEN};
use crate::output::{EquivocationProof, Output};
use std::sync::Arc;

/// A parent after resolution against the DAG and the horizon rule.
enum Resolved {
    Absent,
    /// Beyond the child's horizon: treated as absent, by every node alike.
    Ignored,
    /// Within the child's horizon but already forgotten by this node (born two windows back);
    /// the child is then stale here.
    Forgotten,
    Known(Handle),
}

impl Engine {
    pub(crate) fn insert_now(
        &mut self,
        event: VerifiedEvent,
    ) -> Result<InsertOutcome, InsertError> {
        let limit = self.config.dag_events_max;
        if self.dag.len() >= limit {
            return Err(reject(event, InsertRejection::DagFull { limit }));
        }
        let (self_parent, other_parent) = match self.resolve_parents(&event) {
            Ok(parents) => parents,
            Err(reason) => return Err(reject(event, reason)),
        };
        if let Err(reason) = self.check_self_parent(&event, &self_parent) {
            return Err(reject(event, reason));
        }
        let event = Arc::new(event);
        let root = match self_parent {
            Resolved::Known(h) => Some(self.dag.get(h).expect("resolved handle").chain_root),
            Resolved::Forgotten => Some(ANY_CHAIN),
            Resolved::Absent | Resolved::Ignored => None,
        };
        let handle = self.add_node(&event, known(self_parent), known(other_parent), root);
        if event.birth_round() < self.ancient_below() {
            // Born ancient: it takes part in the DAG (as a parent) but is never ordered.
            self.mark_stale(handle);
        }
        self.detect_fork(handle, &event);
        let seen = self.compute_seen(handle);
        self.dag.get_mut(handle).expect("just inserted").seen = seen;
        self.update_first_seeing(handle);
        let round = self.compute_round(handle);
        let witness = self.is_new_witness(handle, round);
        self.set_round(handle, round, witness);
        self.stats.events_inserted += 1;
        if witness {
            self.add_witness(handle);
        }
        self.advance_order();
        Ok(InsertOutcome::Inserted { round, witness })
    }

    fn resolve_parents(
        &self,
        event: &VerifiedEvent,
    ) -> Result<(Resolved, Resolved), InsertRejection> {
        let mut missing = Vec::new();
        let mut resolve = |parent: Option<&ParentRef>| -> Result<Resolved, InsertRejection> {
            let Some(parent) = parent else {
                return Ok(Resolved::Absent);
            };
            let beyond_horizon =
                parent.birth_round + self.config.ancient_window_rounds < event.birth_round();
            match self
                .by_id
                .get(&parent.id)
                .and_then(|h| Some((*h, self.dag.get(*h)?)))
            {
                Some((handle, node)) => {
                    if node.birth_round != parent.birth_round {
                        return Err(InsertRejection::ParentBirthRoundMismatch {
                            parent: parent.id,
                            claimed: parent.birth_round,
                            actual: node.birth_round,
                        });
                    }
                    Ok(if beyond_horizon {
                        Resolved::Ignored
                    } else {
                        Resolved::Known(handle)
                    })
                }
                None if beyond_horizon => Ok(Resolved::Ignored),
                None if parent.birth_round < self.forgotten_below() => Ok(Resolved::Forgotten),
                None => {
                    missing.push(parent.id);
                    Ok(Resolved::Absent)
                }
            }
        };
        let self_parent = resolve(event.self_parent())?;
        let other_parent = resolve(event.other_parent())?;
        if !missing.is_empty() {
            return Err(InsertRejection::MissingParents(missing));
        }
        Ok((self_parent, other_parent))
    }

    fn check_self_parent(
        &self,
        event: &VerifiedEvent,
        self_parent: &Resolved,
    ) -> Result<(), InsertRejection> {
        let Resolved::Known(handle) = self_parent else {
            return Ok(());
        };
        let parent = self.dag.get(*handle).expect("resolved handle");
        if parent.creator != event.creator() {
            return Err(InsertRejection::SelfParentWrongCreator {
                parent: parent.id,
                parent_creator: parent.creator,
            });
        }
        // A parent whose own self-parent was beyond its horizon may claim any sequence number.
        if parent.seq.checked_add(1) != Some(event.creator_seq()) {
            return Err(InsertRejection::SequenceGap {
                got: event.creator_seq(),
                parent_seq: parent.seq,
            });
        }
        if event.timestamp_ns() <= parent.timestamp_ns {
            return Err(InsertRejection::TimestampNotIncreasing {
                got: event.timestamp_ns(),
                parent: parent.timestamp_ns,
            });
        }
        Ok(())
    }

    fn add_node(
        &mut self,
        event: &Arc<VerifiedEvent>,
        self_parent: Option<Handle>,
        other_parent: Option<Handle>,
        root_of_parent: Option<Handle>,
    ) -> Handle {
        let node = Node {
            event: Arc::clone(event),
            id: event.id(),
            creator: event.creator(),
            seq: event.creator_seq(),
            birth_round: event.birth_round(),
            timestamp_ns: event.timestamp_ns(),
            self_parent,
            other_parent,
            chain_root: root_of_parent.unwrap_or(Handle::DANGLING),
            round: 0,
            seen: Box::new([]),
            status: Status::Pending,
            witness: None,
        };
        let handle = self.dag.insert(node);
        self.shares.dag_added(event.creator());
        if root_of_parent.is_none() {
            self.dag.get_mut(handle).expect("just inserted").chain_root = handle;
        }
        self.by_id.insert(event.id(), handle);
        self.by_birth_round
            .entry(event.birth_round())
            .or_default()
            .push(handle);
        if let Some((local, _)) = &self.local {
            if *local == event.creator()
                && self.own_tip.is_none_or(|tip| event.creator_seq() > tip.seq)
            {
                self.own_tip = Some(OwnTip {
                    id: event.id(),
                    seq: event.creator_seq(),
                    birth_round: event.birth_round(),
                    timestamp_ns: event.timestamp_ns(),
                });
            }
        }
        handle
    }

    /// A second event at the same (creator, seq) is a fork, and so is an event on another
    /// self-chain than the member's latest one within its horizon (a chain restarted behind an
    /// ignored self-parent). Both signed events are kept as proof.
    fn detect_fork(&mut self, handle: Handle, event: &Arc<VerifiedEvent>) {
        let creator = event.creator();
        let key = (creator, event.creator_seq());
        let same_seq = self.by_creator_seq.get(&key).and_then(|h| self.dag.get(*h));
        let first = match same_seq {
            Some(first) => Some(Arc::clone(&first.event)),
            None => {
                self.by_creator_seq.insert(key, handle);
                self.other_chain_event(handle)
            }
        };
        self.update_latest(handle);
        if let Some(first) = first {
            self.forked[creator.index()] = true;
            self.stats.forks_seen += 1;
            self.outputs
                .push_back(Output::Equivocation(EquivocationProof {
                    first,
                    second: Arc::clone(event),
                }));
        }
    }

    /// The member's latest event when it lies on another self-chain within the new event's
    /// horizon, unless the member is already proven to have forked.
    fn other_chain_event(&self, handle: Handle) -> Option<Arc<VerifiedEvent>> {
        let node = self.dag.get(handle).expect("inserted");
        if self.forked[node.creator.index()] {
            return None;
        }
        let latest = self.latest_by_creator[node.creator.index()].and_then(|h| self.dag.get(h))?;
        let other_chain = !same_chain_root(latest.chain_root, node.chain_root)
            && self.in_horizon(latest.birth_round, node.birth_round)
            && self.in_horizon(node.birth_round, latest.birth_round);
        other_chain.then(|| Arc::clone(&latest.event))
    }

    /// Keeps, per member, the event with the highest birth round.
    fn update_latest(&mut self, handle: Handle) {
        let node = self.dag.get(handle).expect("inserted");
        let newer = match self.latest_by_creator[node.creator.index()].and_then(|h| self.dag.get(h))
        {
            Some(latest) => node.birth_round >= latest.birth_round,
            None => true,
        };
        if newer {
            self.latest_by_creator[node.creator.index()] = Some(handle);
        }
    }

    fn set_round(&mut self, handle: Handle, round: u64, witness: bool) {
        let n = self.members.len();
        let node = self.dag.get_mut(handle).expect("inserted");
        node.round = round;
        if witness {
            let mut first_see = vec![NOT_SEEN; n].into_boxed_slice();
            first_see[node.creator.index()] = node.seq;
            node.witness = Some(Box::new(WitnessState {
                first_see,
                fame: None,
                strongly_seen_prev: Vec::new(),
                votes: Default::default(),
            }));
        }
    }

    /// Registers a new witness, then lets it vote and be voted on.
    fn add_witness(&mut self, handle: Handle) {
        let (round, creator, seq) = {
            let node = self.dag.get(handle).expect("inserted");
            (node.round, node.creator, node.seq)
        };
        self.witnesses_by_creator[creator.index()]
            .entry(seq)
            .or_default()
            .push(handle);
        let state = self.rounds.entry(round).or_insert_with(|| RoundState {
            witnesses: Vec::new(),
            undecided: 0,
            decided: false,
        });
        state.witnesses.push(handle);
        let round_decided = state.decided || round <= self.last_decided;
        if !round_decided {
            state.undecided += 1;
        }
        // A witness votes on lower rounds whatever its own fame turns out to be.
        self.cast_votes(handle);
        if round_decided {
            // The famous set of a decided round never changes.
            self.set_late_witness_not_famous(handle);
        } else {
            self.collect_late_votes(handle);
        }
    }
}

fn known(parent: Resolved) -> Option<Handle> {
    match parent {
        Resolved::Known(handle) => Some(handle),
        Resolved::Absent | Resolved::Ignored | Resolved::Forgotten => None,
    }
}

fn reject(event: VerifiedEvent, reason: InsertRejection) -> InsertError {
    InsertError {
        event: Box::new(event),
        reason,
    }
}
