//! What governance keeps in the ledger's state table, and under which keys. All keys start with
//! `gov/`; ids in keys are checked ([`check_key_id`]) so one id can never be a prefix path of
//! another's entries. Values use the canonical encoding.

use crate::governance::action::{Ballot, ElectionSpec, ProposalSpec, RollEntry};
use crate::governance::codec;
use crate::governance::overlay::{decode_entry, Overlay, StateError};
use crate::governance::reason::{reject, Reason, Rejection};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::borrow::Cow;

/// Longest election or community id.
pub const KEY_ID_BYTES_MAX: usize = 128;

/// Every governance state key starts with this; state roots and exports cover exactly these.
pub const GOVERNANCE_PREFIX: &[u8] = b"gov/";
pub const ELECTION_STATUS_PREFIX: &[u8] = b"gov/election/";
pub const REJECTED_PREFIX: &[u8] = b"gov/rejected/";
pub const PROPOSAL_PREFIX: &[u8] = b"gov/proposal/";

/// Election and community ids become parts of keys: letters, digits and `-_.:` only.
pub fn check_key_id(what: &str, id: &str) -> Result<(), Rejection> {
    let valid = !id.is_empty()
        && id.len() <= KEY_ID_BYTES_MAX
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if !valid {
        return reject(
            Reason::InvalidId,
            format!("{what} id `{id}` must be 1 to {KEY_ID_BYTES_MAX} letters, digits or `-_.:`"),
        );
    }
    Ok(())
}

fn key(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

pub fn election_status_key(election_id: &str) -> Vec<u8> {
    key(&[ELECTION_STATUS_PREFIX, election_id.as_bytes()])
}

pub fn election_spec_key(election_id: &str) -> Vec<u8> {
    key(&[b"gov/spec/", election_id.as_bytes()])
}

pub fn roll_key(election_id: &str, voter: &[u8; 32]) -> Vec<u8> {
    key(&[b"gov/roll/", election_id.as_bytes(), b"/", voter])
}

pub fn ballot_key(election_id: &str, voter: &[u8; 32]) -> Vec<u8> {
    key(&[b"gov/ballot/", election_id.as_bytes(), b"/", voter])
}

pub fn tally_key(election_id: &str) -> Vec<u8> {
    key(&[b"gov/tally/", election_id.as_bytes()])
}

pub fn approvals_key(action_hash: &[u8; 32]) -> Vec<u8> {
    key(&[b"gov/approvals/", action_hash])
}

pub fn community_key(community_id: &str) -> Vec<u8> {
    key(&[b"gov/community/", community_id.as_bytes()])
}

pub fn member_key(community_id: &str, member: &[u8; 32]) -> Vec<u8> {
    key(&[b"gov/member/", community_id.as_bytes(), b"/", member])
}

pub fn proposal_key(proposal_id: &[u8; 32]) -> Vec<u8> {
    key(&[PROPOSAL_PREFIX, proposal_id])
}

pub fn proposal_vote_key(proposal_id: &[u8; 32], voter: &[u8; 32]) -> Vec<u8> {
    key(&[b"gov/pvote/", proposal_id, b"/", voter])
}

/// What the administrator approval at `index` did (approvals so far, executed or not), so that
/// its receipt reads the same on every validator and at any later time.
pub fn approval_outcome_key(index: u64) -> Vec<u8> {
    key(&[b"gov/approval/", &index.to_be_bytes()])
}

/// The rejection record of the transaction at `index` (big-endian, so scans go in order).
pub fn rejected_key(index: u64) -> Vec<u8> {
    key(&[REJECTED_PREFIX, &index.to_be_bytes()])
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ElectionStatus {
    Draft,
    Open,
    Closed,
    Tallied,
}

impl ElectionStatus {
    pub fn name(self) -> &'static str {
        match self {
            ElectionStatus::Draft => "draft",
            ElectionStatus::Open => "open",
            ElectionStatus::Closed => "closed",
            ElectionStatus::Tallied => "tallied",
        }
    }
}

/// An election's changing part (the definition is stored once, apart, under its spec key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElectionRecord {
    pub election_id: String,
    pub manifest_hash: [u8; 32],
    pub status: ElectionStatus,
    pub open_at_ns: Option<u64>,
    pub close_at_ns: Option<u64>,
    pub created_index: u64,
    pub opened_ns: Option<u64>,
    pub closed_ns: Option<u64>,
    pub roll_voters: u64,
    pub roll_weight: u64,
}

impl ElectionRecord {
    /// The status at consensus time `now_ns`, with the schedule applied.
    pub fn status_at(&self, now_ns: u64) -> ElectionStatus {
        let due = |at: Option<u64>| at.is_some_and(|at| at <= now_ns);
        match self.status {
            ElectionStatus::Draft | ElectionStatus::Open if due(self.close_at_ns) => {
                ElectionStatus::Closed
            }
            ElectionStatus::Draft if due(self.open_at_ns) => ElectionStatus::Open,
            status => status,
        }
    }
}

/// The ballot that counts for a voter, kept so that `last-counts` can take it back out. The
/// ballot is borrowed when a record is written (a ballot of many contests costs more to copy than
/// to check) and owned when one is read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BallotRecord<'a> {
    pub tx_id: [u8; 32],
    pub index: u64,
    pub weight: u64,
    pub ballot: Cow<'a, Ballot>,
    /// The tally entry each write-in was counted under (see `Tally::add`).
    pub write_in_labels: Vec<String>,
    /// How many ballots of this voter were accepted (more than one only under last-counts).
    pub ballots_accepted: u32,
}

/// Approvals collected for one administrative action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approvals {
    pub kind: String,
    /// Sorted administrator keys.
    pub approvers: Vec<[u8; 32]>,
    pub executed_index: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommunityRecord {
    pub members: u64,
    pub weight: u64,
}

/// A community member: weight, and the index of the transaction that set it. A proposal
/// counts only votes of members whose record predates it, so that its electorate (and the
/// quorum's denominator) is fixed when it is created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    pub weight: u64,
    pub since_index: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalRecord {
    pub spec: ProposalSpec,
    pub creator: [u8; 32],
    pub created_index: u64,
    pub created_ns: u64,
    /// The community's weight when the proposal was created: the quorum's denominator.
    pub eligible_weight: u64,
    /// Weight per option, in option order.
    pub votes: Vec<u64>,
    pub voters: u64,
}

impl ProposalRecord {
    pub fn voted_weight(&self) -> u64 {
        self.votes.iter().sum()
    }
}

/// What one administrator approval did: approvals counted so far, how many are needed, and
/// whether this one executed the action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub approvals: u32,
    pub threshold: u32,
    pub executed: bool,
}

impl ApprovalRecord {
    pub fn describe(&self) -> String {
        let (approvals, threshold) = (self.approvals, self.threshold);
        if self.executed {
            format!("approved ({approvals} of {threshold}); executed")
        } else {
            format!("approved ({approvals} of {threshold}); waiting for more approvals")
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectionRecord {
    pub tx_id: [u8; 32],
    pub signer: [u8; 32],
    pub kind: String,
    pub code: u16,
    pub detail: String,
}

/// Typed reads and writes over the overlay.
pub fn read<T: DeserializeOwned>(state: &Overlay, key: &[u8]) -> Result<Option<T>, StateError> {
    match state.get(key)? {
        None => Ok(None),
        Some(bytes) => decode_entry(key, &bytes).map(Some),
    }
}

pub fn write<T: Serialize>(state: &mut Overlay, key: Vec<u8>, value: &T) {
    state.put(key, codec::encode(value));
}

pub fn read_spec(state: &Overlay, election_id: &str) -> Result<Option<ElectionSpec>, StateError> {
    read(state, &election_spec_key(election_id))
}

pub fn read_roll(
    state: &Overlay,
    election_id: &str,
    voter: &[u8; 32],
) -> Result<Option<RollEntry>, StateError> {
    read(state, &roll_key(election_id, voter))
}
