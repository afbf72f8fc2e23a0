//! Errors of the engine. Rejections carry the offending event: Byzantine input is evidence.

use crate::event::VerifiedEvent;
use crate::types::{EventId, MemberId, Round, TimestampNs};

/// Why [`crate::Engine::insert`] refused a verified event.
#[derive(Debug, thiserror::Error)]
#[error("event {id} refused: {reason}", id = .event.id())]
pub struct InsertError {
    pub event: Box<VerifiedEvent>,
    pub reason: InsertRejection,
}

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum InsertRejection {
    /// Not invalid yet: fetch these parents, then insert the event again.
    #[error("parents not known yet: {0:?}")]
    MissingParents(Vec<EventId>),
    #[error("self-parent {parent} was created by {parent_creator}, not by the event's creator")]
    SelfParentWrongCreator {
        parent: EventId,
        parent_creator: MemberId,
    },
    #[error("creator_seq {got} does not follow the self-parent's {parent_seq}")]
    SequenceGap { got: u64, parent_seq: u64 },
    #[error("timestamp {got} ns is not after the self-parent's {parent} ns")]
    TimestampNotIncreasing {
        got: TimestampNs,
        parent: TimestampNs,
    },
    #[error("parent {parent} has birth round {actual}, but the event claims {claimed}")]
    ParentBirthRoundMismatch {
        parent: EventId,
        claimed: Round,
        actual: Round,
    },
    #[error("the in-memory DAG holds its limit of {limit} events; retry when consensus advances")]
    DagFull { limit: usize },
    #[error("the future buffer is full ({events} events, {bytes} bytes)")]
    FutureBufferFull { events: usize, bytes: usize },
    #[error("validator {creator} already has {held} events in the DAG, its share; retry when consensus advances")]
    CreatorShareFull {
        creator: MemberId,
        held: usize,
        share: usize,
    },
    #[error("validator {creator} already has {events} events ({bytes} bytes) in the future buffer, its share")]
    FutureShareFull {
        creator: MemberId,
        events: usize,
        bytes: usize,
    },
    #[error("birth round {birth_round} is more than {window} rounds ahead of this node's round {next_round}")]
    TooFarAhead {
        birth_round: Round,
        next_round: Round,
        window: Round,
    },
}

impl InsertError {
    /// True when the event may be accepted later (after fetching parents or when the node
    /// catches up); false when the event itself is invalid.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.reason,
            InsertRejection::MissingParents(_)
                | InsertRejection::DagFull { .. }
                | InsertRejection::FutureBufferFull { .. }
                | InsertRejection::CreatorShareFull { .. }
                | InsertRejection::FutureShareFull { .. }
                | InsertRejection::TooFarAhead { .. }
        )
    }
}

/// Why [`crate::Engine::create_event`] could not create an event.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CreateError {
    #[error("this engine has no local member key")]
    NoLocalMember,
    #[error("other-parent {0} is not in the DAG")]
    UnknownOtherParent(EventId),
    #[error("the other-parent {0} is the local member's own event")]
    OtherParentIsOwn(EventId),
    #[error("{count} transactions exceed the limit of {max} per event")]
    TooManyTransactions { count: usize, max: usize },
    #[error("the new event would exceed the event limits: {0}")]
    Limits(crate::event::InvalidReason),
    #[error("the in-memory DAG holds its limit of {limit} events; consensus must catch up first")]
    DagFull { limit: usize },
    #[error(
        "this validator has {held} events in the DAG, its share; consensus must catch up first"
    )]
    ShareFull { held: usize },
}
