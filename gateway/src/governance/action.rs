//! What a transaction asks for: the payload of a signed envelope, in one canonical encoding.
//!
//! The envelope's signature covers the payload, so a ballot's signature binds the voter to the
//! election id, the manifest hash, the ballot style, the selections and the envelope's nonce:
//! it cannot be replayed into another election or altered in flight.

use crate::governance::checkpoint::CheckpointSignature;
use crate::governance::codec::{self, CodecError};
use crate::governance::definition::ElectionDefinition;
use serde::{Deserialize, Serialize};

/// Version byte leading every governance payload.
pub const PAYLOAD_VERSION: u8 = 1;

/// A governance transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// One administrator's approval of an administrative action; it takes effect when
    /// `admin_threshold` distinct administrators have approved the same action.
    Admin(AdminAction),
    CastBallot(Ballot),
    CreateProposal(ProposalSpec),
    VoteProposal(ProposalVote),
    /// A validator's signature over a checkpoint (see [`crate::governance::checkpoint`]).
    SignCheckpoint(CheckpointSignature),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminAction {
    CreateElection(ElectionSpec),
    /// Adds or replaces voters (by key) and removes voters, while the election is a draft.
    AmendRoll {
        election_id: String,
        add: Vec<RollEntry>,
        remove: Vec<[u8; 32]>,
    },
    OpenElection {
        election_id: String,
    },
    CloseElection {
        election_id: String,
    },
    /// Marks a closed election's tally as published (status `tallied`).
    PublishTally {
        election_id: String,
    },
    /// Adds or replaces members of a community (created on first use) and removes members.
    AmendCommunity {
        community_id: String,
        add: Vec<Member>,
        remove: Vec<[u8; 32]>,
    },
}

/// What happens to a voter's second ballot in one election, fixed when it is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecondBallotPolicy {
    /// The first ballot counts; later ones are rejected.
    FirstCounts,
    /// The latest ballot counts; it replaces the earlier one in the tally.
    LastCounts,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElectionSpec {
    pub definition: ElectionDefinition,
    pub policy: SecondBallotPolicy,
    /// Consensus time (ns since the Unix epoch) at which the election opens by itself.
    pub open_at_ns: Option<u64>,
    /// Consensus time at which it closes by itself.
    pub close_at_ns: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollEntry {
    pub voter: [u8; 32],
    pub ballot_style: String,
    pub weight: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub key: [u8; 32],
    pub weight: u64,
}

/// A voter's plaintext ballot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ballot {
    pub election_id: String,
    pub manifest_hash: [u8; 32],
    pub ballot_style: String,
    pub contests: Vec<ContestVote>,
}

/// The selections marked in one contest; an unmarked contest is left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContestVote {
    pub contest_id: String,
    pub selections: Vec<SelectionVote>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionVote {
    pub selection_id: String,
    /// The written name, for a write-in selection only.
    pub write_in: Option<String>,
}

/// A fraction `numerator / denominator` of weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fraction {
    pub numerator: u64,
    pub denominator: u64,
}

/// When the leading option passes, as a share of the weight that voted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PassThreshold {
    /// More than half.
    SimpleMajority,
    /// At least two thirds.
    TwoThirds,
    /// At least the given fraction.
    AtLeast(Fraction),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalSpec {
    pub community_id: String,
    pub title: String,
    pub options: Vec<String>,
    /// Consensus time after which no vote counts and the outcome is fixed.
    pub deadline_ns: u64,
    /// Share of the community's weight that must vote for the outcome to count.
    pub quorum: Fraction,
    pub threshold: PassThreshold,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalVote {
    /// The id of the transaction that created the proposal.
    pub proposal_id: [u8; 32],
    pub option: u32,
}

impl Action {
    /// The payload bytes to sign: a version byte, then the canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![PAYLOAD_VERSION];
        out.extend_from_slice(&codec::encode(self));
        out
    }

    pub fn decode(payload: &[u8]) -> Result<Self, CodecError> {
        match payload.split_first() {
            None => Err(CodecError::Empty),
            Some((&PAYLOAD_VERSION, rest)) => codec::decode(rest),
            Some((&version, _)) => Err(CodecError::UnknownVersion(version)),
        }
    }

    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Admin(a) => a.kind(),
            Action::CastBallot(_) => "cast_ballot",
            Action::CreateProposal(_) => "create_proposal",
            Action::VoteProposal(_) => "vote_proposal",
            Action::SignCheckpoint(_) => "sign_checkpoint",
        }
    }
}

impl AdminAction {
    pub fn kind(&self) -> &'static str {
        match self {
            AdminAction::CreateElection(_) => "create_election",
            AdminAction::AmendRoll { .. } => "amend_roll",
            AdminAction::OpenElection { .. } => "open_election",
            AdminAction::CloseElection { .. } => "close_election",
            AdminAction::PublishTally { .. } => "publish_tally",
            AdminAction::AmendCommunity { .. } => "amend_community",
        }
    }

    /// Approvals of the same action are counted together under this hash.
    pub fn hash(&self) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"votegraph-admin-action-v1\0");
        hasher.update(&codec::encode(self));
        *hasher.finalize().as_bytes()
    }
}

impl Fraction {
    pub const fn new(numerator: u64, denominator: u64) -> Self {
        Fraction {
            numerator,
            denominator,
        }
    }

    /// Whether `part / whole >= self`, exactly (no rounding).
    pub fn reached_by(&self, part: u64, whole: u64) -> bool {
        part as u128 * self.denominator as u128 >= self.numerator as u128 * whole as u128
    }

    /// A share in [0, 1] with a non-zero denominator.
    pub fn is_share(&self) -> bool {
        self.denominator > 0 && self.numerator <= self.denominator
    }
}
