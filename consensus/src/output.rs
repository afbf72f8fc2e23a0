//! What the engine hands back to its driver, drained with [`crate::Engine::drain_outputs`].

use crate::event::VerifiedEvent;
use crate::types::{EventId, Round, TimestampNs};
use std::sync::Arc;

/// One event's place in the total order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderedEvent {
    pub event: Arc<VerifiedEvent>,
    /// 0-based position of the event in the total order.
    pub order: u64,
    pub round_received: Round,
    /// Median of the judges' first-seeing timestamps (see the reference, findOrder).
    pub consensus_timestamp_ns: TimestampNs,
    /// Index of this event's first transaction in the total transaction order.
    pub first_transaction_index: u64,
    /// Consensus timestamp of each transaction, strictly increasing across the whole order.
    pub transaction_timestamps_ns: Vec<TimestampNs>,
}

/// Two signed events by one creator, neither a self-ancestor of the other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EquivocationProof {
    pub first: Arc<VerifiedEvent>,
    pub second: Arc<VerifiedEvent>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// The fame of a witness is decided (it never changes afterwards).
    FameDecided {
        witness: EventId,
        round: Round,
        famous: bool,
    },
    /// A round is decided and ordered; its judges are the unique famous witnesses. Followed by
    /// the [`Output::Ordered`] events it received.
    RoundDecided {
        round: Round,
        judges: Vec<EventId>,
    },
    Ordered(OrderedEvent),
    /// A fork was seen; the proof holds both signed events.
    Equivocation(EquivocationProof),
    /// An event became ancient before reaching consensus and will never be ordered.
    Stale {
        id: EventId,
    },
    /// An event waiting in the future buffer was refused when released; with
    /// `MissingParents` the driver can fetch them and insert the event again.
    ReleasedEventRefused {
        event: Box<VerifiedEvent>,
        reason: crate::error::InsertRejection,
    },
}
