//! Virtual voting: every witness votes on the fame of the undecided witnesses of earlier
//! rounds, computed from the DAG alone; no vote is ever sent.
//!
//! Votes are cast as soon as a witness is inserted. A witness that arrives after witnesses of
//! later rounds exist (delivered late) is voted on by them at once, in round order, so the
//! result does not depend on the order in which events arrive.

use crate::arena::Handle;
use crate::engine::Engine;
use crate::output::Output;
use crate::types::Round;

impl Engine {
    /// The new witness `voter` computes its voting set and votes on every undecided witness of
    /// the undecided rounds below its own.
    pub(crate) fn cast_votes(&mut self, voter: Handle) {
        let round = self.dag.get(voter).expect("inserted").round;
        let strongly_seen = self.strongly_seen_witnesses(voter, round.saturating_sub(1));
        self.dag
            .get_mut(voter)
            .expect("inserted")
            .witness
            .as_mut()
            .expect("voter is a witness")
            .strongly_seen_prev = strongly_seen;
        let first_undecided = self.last_decided + 1;
        if round <= first_undecided {
            return;
        }
        let candidates: Vec<Handle> = self
            .rounds
            .range(first_undecided..round)
            .filter(|(_, state)| !state.decided)
            .flat_map(|(_, state)| state.witnesses.iter().copied())
            .collect();
        for candidate in candidates {
            if self.dag.get(candidate).is_some_and(|c| c.fame().is_none()) {
                self.vote(voter, candidate);
            }
        }
    }

    /// Witnesses of rounds above a late witness vote on it, lowest round first.
    pub(crate) fn collect_late_votes(&mut self, candidate: Handle) {
        let round = self.dag.get(candidate).expect("inserted").round;
        let voters: Vec<Handle> = self
            .rounds
            .range(round + 1..)
            .flat_map(|(_, state)| state.witnesses.iter().copied())
            .collect();
        for voter in voters {
            if self.dag.get(candidate).expect("inserted").fame().is_some() {
                return;
            }
            if self.dag.get(voter).is_some() {
                self.vote(voter, candidate);
            }
        }
    }

    fn strongly_seen_witnesses(&self, handle: Handle, round: Round) -> Vec<Handle> {
        let node = self.dag.get(handle).expect("inserted");
        let Some(state) = self.rounds.get(&round) else {
            return Vec::new();
        };
        state
            .witnesses
            .iter()
            .copied()
            .filter(|&s| {
                self.dag
                    .get(s)
                    .is_some_and(|s_node| self.strongly_sees(node, s, s_node))
            })
            .collect()
    }

    /// `voter`'s vote on `candidate`'s fame, and the decision it may bring.
    fn vote(&mut self, voter: Handle, candidate: Handle) {
        let y = self.dag.get(voter).expect("voter in DAG");
        let x = self.dag.get(candidate).expect("candidate in DAG");
        let distance = y.round - x.round;
        let (vote, decided) = if distance == 1 {
            (self.sees(y, candidate, x), false)
        } else {
            self.vote_from_previous_round(voter, candidate, distance)
        };
        let votes = &mut self
            .dag
            .get_mut(candidate)
            .expect("candidate in DAG")
            .witness
            .as_mut()
            .expect("candidate is a witness")
            .votes;
        votes.insert(voter, vote);
        if decided {
            self.decide_fame(candidate, vote);
        }
    }

    /// The weighted majority of the strongly seen witnesses of the previous round (a tie is
    /// yes); decides in a normal round on a supermajority, flips the coin in a coin round.
    fn vote_from_previous_round(
        &self,
        voter: Handle,
        candidate: Handle,
        distance: u64,
    ) -> (bool, bool) {
        let y = self.dag.get(voter).expect("voter in DAG");
        let x = self.dag.get(candidate).expect("candidate in DAG");
        let votes = &x.witness.as_ref().expect("candidate is a witness").votes;
        let (mut yes, mut no) = (0, 0);
        for s in &y
            .witness
            .as_ref()
            .expect("voter is a witness")
            .strongly_seen_prev
        {
            let Some(s_node) = self.dag.get(*s) else {
                continue;
            };
            let weight = self.members.weight(s_node.creator);
            match votes.get(s) {
                Some(true) => yes += weight,
                Some(false) => no += weight,
                None => panic!(
                    "witness {} of round {} has no vote on undecided {}",
                    s_node.id, s_node.round, x.id
                ),
            }
        }
        let majority = yes >= no;
        let tally = if majority { yes } else { no };
        let supermajority = self.members.is_supermajority(tally);
        if !distance.is_multiple_of(self.config.coin_frequency) {
            (majority, supermajority)
        } else if supermajority {
            (majority, false)
        } else {
            (y.event.coin_bit(), false)
        }
    }

    pub(crate) fn decide_fame(&mut self, candidate: Handle, famous: bool) {
        let node = self.dag.get_mut(candidate).expect("candidate in DAG");
        let state = node.witness.as_mut().expect("candidate is a witness");
        assert!(state.fame.is_none(), "fame of {} decided twice", node.id);
        state.fame = Some(famous);
        state.votes = Default::default();
        let (id, round) = (node.id, node.round);
        self.outputs.push_back(Output::FameDecided {
            witness: id,
            round,
            famous,
        });
        let round_state = self.rounds.get_mut(&round).expect("round of a witness");
        round_state.undecided -= 1;
        if round_state.undecided == 0 {
            round_state.decided = true;
        }
    }

    /// A witness arriving for a round already decided is not famous.
    pub(crate) fn set_late_witness_not_famous(&mut self, witness: Handle) {
        let node = self.dag.get_mut(witness).expect("inserted");
        node.witness.as_mut().expect("witness").fame = Some(false);
        let (id, round) = (node.id, node.round);
        self.outputs.push_back(Output::FameDecided {
            witness: id,
            round,
            famous: false,
        });
    }
}
