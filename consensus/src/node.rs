//! What the engine remembers about each event in the DAG.

use crate::arena::{FastMap, Handle};
use crate::event::VerifiedEvent;
use crate::types::{EventId, MemberId, Round, TimestampNs};
use std::sync::Arc;

/// What an event knows about one member's events among its ancestors (after the horizon rule,
/// see [`crate::Engine`]): nothing, the latest one it *sees*, or a fork.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Seen {
    None,
    /// The highest event by the member among the ancestors, which are all on its self-chain
    /// (identified by `root`, see [`Node::chain_root`]).
    Tip {
        handle: Handle,
        seq: u64,
        birth_round: Round,
        root: Handle,
    },
    /// The ancestors contain a fork by the member; `birth_round` is the newest birth round of
    /// the evidence, so that old evidence leaves the horizon like everything else.
    Forked {
        birth_round: Round,
    },
}

impl Seen {
    pub(crate) fn birth_round(&self) -> Option<Round> {
        match self {
            Seen::None => None,
            Seen::Tip { birth_round, .. } | Seen::Forked { birth_round } => Some(*birth_round),
        }
    }

    pub(crate) fn tip_seq(&self) -> Option<u64> {
        match self {
            Seen::Tip { seq, .. } => Some(*seq),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Status {
    /// In the DAG, not yet in the order.
    Pending,
    Ordered,
    /// Became ancient before reaching consensus; will never be ordered.
    Stale,
}

/// The root of a chain this node cannot trace (its start was forgotten): matches any root.
pub(crate) const ANY_CHAIN: Handle = Handle::DANGLING;

/// Whether two chain roots may be the same chain.
pub(crate) fn same_chain_root(a: Handle, b: Handle) -> bool {
    a == b || a == ANY_CHAIN || b == ANY_CHAIN
}

/// Sentinel for "no event by this member sees the witness yet".
pub(crate) const NOT_SEEN: u64 = u64::MAX;

/// Extra state of a witness: its fame, the votes cast about it, and who sees it.
pub(crate) struct WitnessState {
    /// `first_see[m]`: lowest creator_seq of an event by member m that sees this witness.
    pub first_see: Box<[u64]>,
    pub fame: Option<bool>,
    /// Witnesses of the previous round that this witness strongly sees (its voting set).
    pub strongly_seen_prev: Vec<Handle>,
    /// Votes cast about this witness's fame, by voter.
    pub votes: FastMap<Handle, bool>,
}

pub(crate) struct Node {
    pub event: Arc<VerifiedEvent>,
    pub id: EventId,
    pub creator: MemberId,
    pub seq: u64,
    pub birth_round: Round,
    pub timestamp_ns: TimestampNs,
    /// Parents as used by consensus: `None` when absent or beyond the horizon.
    pub self_parent: Option<Handle>,
    pub other_parent: Option<Handle>,
    /// First event of this event's self-chain as consensus sees it: itself when it has no
    /// self-parent within its horizon, [`ANY_CHAIN`] when its self-parent is one this node has
    /// already forgotten. Two events of one member with different roots, each within the
    /// other's horizon, are a fork even if their sequence numbers never collide.
    pub chain_root: Handle,
    pub round: Round,
    pub seen: Box<[Seen]>,
    pub status: Status,
    pub witness: Option<Box<WitnessState>>,
}

impl Node {
    pub(crate) fn is_witness(&self) -> bool {
        self.witness.is_some()
    }

    pub(crate) fn fame(&self) -> Option<bool> {
        self.witness.as_ref().and_then(|w| w.fame)
    }

    pub(crate) fn parents(&self) -> impl Iterator<Item = Handle> {
        self.self_parent.into_iter().chain(self.other_parent)
    }
}
