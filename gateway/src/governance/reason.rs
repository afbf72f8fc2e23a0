//! Why a governance transaction was rejected. Every rejection is recorded in the ledger with
//! its stable numeric code, so an auditor can list rejected ballots and their reasons; the
//! gateway maps the same reasons to gRPC status classes when it refuses early.

use serde::{Deserialize, Serialize};

/// How a client should read a rejection (the node maps each class to one gRPC code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReasonClass {
    InvalidArgument,
    NotFound,
    PermissionDenied,
    FailedPrecondition,
    AlreadyExists,
}

macro_rules! reasons {
    ($($variant:ident = $code:literal, $name:literal, $class:ident;)*) => {
        /// A rejection reason. Codes are part of the ledger format: never renumber.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Reason { $($variant),* }

        impl Reason {
            pub const ALL: &'static [Reason] = &[$(Reason::$variant),*];
            pub fn code(self) -> u16 { match self { $(Reason::$variant => $code),* } }
            pub fn name(self) -> &'static str { match self { $(Reason::$variant => $name),* } }
            pub fn class(self) -> ReasonClass { match self { $(Reason::$variant => ReasonClass::$class),* } }
            pub fn from_code(code: u16) -> Option<Reason> {
                match code { $($code => Some(Reason::$variant),)* _ => None }
            }
        }
    };
}

reasons! {
    MalformedPayload = 1, "malformed_payload", InvalidArgument;
    DuplicateTransaction = 2, "duplicate_transaction", AlreadyExists;
    NotAdmin = 3, "not_admin", PermissionDenied;
    AlreadyApproved = 4, "already_approved", AlreadyExists;
    ActionAlreadyExecuted = 5, "action_already_executed", AlreadyExists;
    InvalidDefinition = 6, "invalid_definition", InvalidArgument;
    InvalidId = 7, "invalid_id", InvalidArgument;
    ElectionExists = 8, "election_exists", AlreadyExists;
    UnknownElection = 9, "unknown_election", NotFound;
    NotDraft = 10, "election_not_draft", FailedPrecondition;
    NotOpen = 11, "election_not_open", FailedPrecondition;
    NotClosed = 12, "election_not_closed", FailedPrecondition;
    InvalidRoll = 13, "invalid_roll", InvalidArgument;
    WrongManifest = 14, "wrong_manifest", InvalidArgument;
    NotOnRoll = 15, "not_on_roll", PermissionDenied;
    WrongBallotStyle = 16, "wrong_ballot_style", InvalidArgument;
    EmptyBallot = 17, "empty_ballot", InvalidArgument;
    ContestNotInStyle = 18, "contest_not_in_style", InvalidArgument;
    DuplicateContest = 19, "duplicate_contest", InvalidArgument;
    UnknownSelection = 20, "unknown_selection", InvalidArgument;
    DuplicateSelection = 21, "duplicate_selection", InvalidArgument;
    Overvote = 22, "overvote", InvalidArgument;
    WriteInNotAllowed = 23, "write_in_not_allowed", InvalidArgument;
    AlreadyVoted = 24, "already_voted", AlreadyExists;
    UnknownCommunity = 25, "unknown_community", NotFound;
    NotMember = 26, "not_member", PermissionDenied;
    InvalidProposal = 27, "invalid_proposal", InvalidArgument;
    UnknownProposal = 28, "unknown_proposal", NotFound;
    VotingClosed = 29, "voting_closed", FailedPrecondition;
    InvalidOption = 30, "invalid_option", InvalidArgument;
    InvalidSchedule = 31, "invalid_schedule", InvalidArgument;
    NotValidator = 32, "not_validator", PermissionDenied;
    InvalidCheckpoint = 33, "invalid_checkpoint", InvalidArgument;
    CheckpointAlreadySigned = 34, "checkpoint_already_signed", AlreadyExists;
    ConflictingCheckpoint = 35, "conflicting_checkpoint", FailedPrecondition;
    InvalidSignature = 36, "invalid_signature", InvalidArgument;
}

/// A rejection: its reason and a sentence a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}: {detail}", reason.name())]
pub struct Rejection {
    pub reason: Reason,
    pub detail: String,
}

impl Rejection {
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Rejection {
            reason,
            detail: detail.into(),
        }
    }
}

/// Shorthand for rules: `reject(Reason::X, format!(..))?`.
pub fn reject<T>(reason: Reason, detail: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection::new(reason, detail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn reason_codes_and_names_are_unique_and_round_trip() {
        let codes: HashSet<u16> = Reason::ALL.iter().map(|r| r.code()).collect();
        let names: HashSet<&str> = Reason::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(codes.len(), Reason::ALL.len());
        assert_eq!(names.len(), Reason::ALL.len());
        for reason in Reason::ALL {
            assert_eq!(Reason::from_code(reason.code()), Some(*reason));
        }
        assert_eq!(Reason::from_code(0), None);
    }
}
