//! A governance machine over an in-memory state map, committing like the node: each commit
//! applies a run of ordered transactions on one overlay and writes the result.
#![allow(dead_code)]

use ed25519_dalek::SigningKey;
use std::cell::Cell;
use std::collections::BTreeMap;
use votegraph_gateway::governance::action::*;
use votegraph_gateway::governance::checkpoint::ValidatorSet;
use votegraph_gateway::governance::definition::*;
use votegraph_gateway::governance::overlay::{Overlay, StateError, StateRead};
use votegraph_gateway::governance::reason::{Reason, Rejection};
use votegraph_gateway::governance::records::{self, RejectionRecord};
use votegraph_gateway::governance::tally::Tally;
use votegraph_gateway::governance::{Applied, Governance, GovernanceConfig, TxContext};

pub const SECOND_NS: u64 = 1_000_000_000;

pub fn key(n: u8) -> [u8; 32] {
    [n; 32]
}

pub fn admins() -> Vec<[u8; 32]> {
    vec![key(201), key(202), key(203)]
}

pub struct Chain {
    pub governance: Governance,
    pub state: BTreeMap<Vec<u8>, Vec<u8>>,
    pub next_index: u64,
    pub now_ns: u64,
    pub nonce: u64,
}

pub type Outcome = Result<Applied, Rejection>;

impl Chain {
    /// Three administrators, two of whom must approve.
    pub fn new() -> Self {
        Chain::with_admins(admins(), 2)
    }

    pub fn with_admins(admins: Vec<[u8; 32]>, admin_threshold: u32) -> Self {
        Chain {
            governance: Governance::new(GovernanceConfig {
                admins,
                admin_threshold,
                validators: validator_set(),
            }),
            state: BTreeMap::new(),
            next_index: 0,
            now_ns: 1_000 * SECOND_NS,
            nonce: 0,
        }
    }

    /// Orders and commits `txs` (signer, payload) as one round, each one second apart.
    pub fn commit(&mut self, txs: &[([u8; 32], Vec<u8>)]) -> Vec<Outcome> {
        let mut overlay = Overlay::new(&self.state);
        let mut outcomes = Vec::new();
        for (signer, payload) in txs {
            self.now_ns += SECOND_NS;
            self.nonce += 1;
            let tx = TxContext {
                index: self.next_index,
                tx_id: tx_id(self.next_index),
                signer: *signer,
                consensus_ns: self.now_ns,
            };
            self.next_index += 1;
            self.governance.advance_time(&mut overlay, &tx).unwrap();
            outcomes.push(self.governance.apply(&mut overlay, &tx, payload).unwrap());
        }
        for (key, value) in overlay.into_writes() {
            match value {
                Some(value) => self.state.insert(key, value),
                None => self.state.remove(&key),
            };
        }
        outcomes
    }

    /// The gateway's early check of `action` as the next transaction, on committed state, and
    /// how many times it read the state entry `watched`.
    pub fn check(&self, signer: [u8; 32], action: &Action, watched: &[u8]) -> (Outcome, usize) {
        let tx = TxContext {
            index: self.next_index,
            tx_id: tx_id(self.next_index),
            signer,
            consensus_ns: self.now_ns + SECOND_NS,
        };
        let base = WatchedReads {
            state: &self.state,
            watched,
            reads: Cell::new(0),
        };
        let outcome = self.governance.check(&base, &tx, action).unwrap();
        (outcome, base.reads.get())
    }

    pub fn one(&mut self, signer: [u8; 32], action: &Action) -> Outcome {
        self.commit(&[(signer, action.encode())]).remove(0)
    }

    /// Approvals by the first `count` admins, one transaction each; the last outcome.
    pub fn admin(&mut self, count: usize, action: AdminAction) -> Outcome {
        let action = Action::Admin(action);
        let mut last = None;
        for admin in admins().into_iter().take(count) {
            last = Some(self.one(admin, &action));
        }
        last.expect("at least one approval")
    }

    pub fn rejection_at(&self, index: u64) -> Option<RejectionRecord> {
        self.state
            .get(&records::rejected_key(index))
            .map(|bytes| votegraph_gateway::governance::codec::decode(bytes).unwrap())
    }

    pub fn tally(&self, election_id: &str) -> Tally {
        let bytes = self.state.get(&records::tally_key(election_id)).unwrap();
        votegraph_gateway::governance::codec::decode(bytes).unwrap()
    }

    pub fn count(&self, election_id: &str, selection_id: &str) -> u64 {
        self.tally(election_id)
            .contests
            .iter()
            .flat_map(|c| c.selections.iter())
            .find(|(id, _)| id == selection_id)
            .map(|(_, n)| *n)
            .unwrap()
    }
}

/// Committed state that counts the reads of one key.
struct WatchedReads<'a> {
    state: &'a BTreeMap<Vec<u8>, Vec<u8>>,
    watched: &'a [u8],
    reads: Cell<usize>,
}

impl StateRead for WatchedReads<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        if key == self.watched {
            self.reads.set(self.reads.get() + 1);
        }
        Ok(self.state.get(key).cloned())
    }
}

pub fn tx_id(index: u64) -> [u8; 32] {
    *blake3::hash(&index.to_be_bytes()).as_bytes()
}

pub fn reason(outcome: &Outcome) -> Reason {
    outcome.as_ref().expect_err("expected a rejection").reason
}

/// Mayor (one of three, with a write-in line) and council (two of three), two styles.
pub fn definition(election_id: &str) -> ElectionDefinition {
    let selection = |id: &str, write_in| Selection {
        object_id: id.to_string(),
        candidate_id: id.to_string(),
        write_in,
    };
    ElectionDefinition {
        election_id: election_id.to_string(),
        name: "Test election".to_string(),
        contests: vec![
            Contest {
                object_id: "mayor".to_string(),
                name: "Mayor".to_string(),
                variation: VoteVariation::OneOfM,
                votes_allowed: 1,
                selections: vec![
                    selection("alice", false),
                    selection("bob", false),
                    selection("mayor-write-in", true),
                ],
            },
            Contest {
                object_id: "council".to_string(),
                name: "Council".to_string(),
                variation: VoteVariation::NOfM,
                votes_allowed: 2,
                selections: vec![
                    selection("carol", false),
                    selection("dave", false),
                    selection("erin", false),
                ],
            },
        ],
        ballot_styles: vec![
            BallotStyle {
                object_id: "full".to_string(),
                contest_ids: vec!["mayor".to_string(), "council".to_string()],
            },
            BallotStyle {
                object_id: "mayor-only".to_string(),
                contest_ids: vec!["mayor".to_string()],
            },
        ],
    }
}

pub fn spec(election_id: &str, policy: SecondBallotPolicy) -> ElectionSpec {
    ElectionSpec {
        definition: definition(election_id),
        policy,
        open_at_ns: None,
        close_at_ns: None,
    }
}

pub fn roll(election_id: &str, voters: &[(u8, &str, u64)]) -> AdminAction {
    AdminAction::AmendRoll {
        election_id: election_id.to_string(),
        add: voters
            .iter()
            .map(|(n, style, weight)| RollEntry {
                voter: key(*n),
                ballot_style: style.to_string(),
                weight: *weight,
            })
            .collect(),
        remove: Vec::new(),
    }
}

/// A ballot for `election_id` (with its real manifest hash) marking `marks` (contest, selection).
pub fn ballot(election_id: &str, style: &str, marks: &[(&str, &str)]) -> Action {
    ballot_with_hash(
        election_id,
        definition(election_id).manifest_hash(),
        style,
        marks,
    )
}

pub fn ballot_with_hash(
    election_id: &str,
    manifest_hash: [u8; 32],
    style: &str,
    marks: &[(&str, &str)],
) -> Action {
    let mut contests: Vec<ContestVote> = Vec::new();
    for (contest, selection) in marks {
        let vote = SelectionVote {
            selection_id: selection.to_string(),
            write_in: None,
        };
        match contests.iter_mut().find(|c| c.contest_id == *contest) {
            Some(c) => c.selections.push(vote),
            None => contests.push(ContestVote {
                contest_id: contest.to_string(),
                selections: vec![vote],
            }),
        }
    }
    Action::CastBallot(Ballot {
        election_id: election_id.to_string(),
        manifest_hash,
        ballot_style: style.to_string(),
        contests,
    })
}

/// An open election `id` with voters 1..=4 (style full, weight 1) and voter 5 (mayor-only).
pub fn open_election(chain: &mut Chain, id: &str, policy: SecondBallotPolicy) {
    assert!(chain
        .admin(2, AdminAction::CreateElection(spec(id, policy)))
        .is_ok());
    let voters = [
        (1, "full", 1),
        (2, "full", 1),
        (3, "full", 1),
        (4, "full", 1),
        (5, "mayor-only", 1),
    ];
    assert!(chain.admin(2, roll(id, &voters)).is_ok());
    assert!(chain
        .admin(
            2,
            AdminAction::OpenElection {
                election_id: id.to_string()
            }
        )
        .is_ok());
}

/// Four validators of weight 1 (keys from seeds 200..204).
pub fn validator_keys() -> Vec<SigningKey> {
    (200u8..204)
        .map(|seed| SigningKey::from_bytes(&[seed; 32]))
        .collect()
}

pub fn validator_set() -> ValidatorSet {
    ValidatorSet {
        chain_id: "governance-test".into(),
        validators: validator_keys()
            .iter()
            .map(|k| (k.verifying_key().to_bytes(), 1))
            .collect(),
    }
}
