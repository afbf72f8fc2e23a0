//! Conversions between governance domain values and `votegraph.v1` wire messages, and from
//! rejection classes to gRPC codes: in this one place.

use crate::finality::{Finalized, TxOutcome};
use tonic::{Code, Status};
use votegraph_gateway::governance::action::ElectionSpec;
use votegraph_gateway::governance::action::{Fraction, PassThreshold, SecondBallotPolicy};
use votegraph_gateway::governance::proposal::{self, ProposalOutcome};
use votegraph_gateway::governance::reason::{ReasonClass, Rejection};
use votegraph_gateway::governance::records::{ApprovalRecord, ElectionRecord, ProposalRecord};
use votegraph_gateway::governance::tally::Tally;
use votegraph_proto::v1 as pb;

pub fn code_of(class: ReasonClass) -> Code {
    match class {
        ReasonClass::InvalidArgument => Code::InvalidArgument,
        ReasonClass::NotFound => Code::NotFound,
        ReasonClass::PermissionDenied => Code::PermissionDenied,
        ReasonClass::FailedPrecondition => Code::FailedPrecondition,
        ReasonClass::AlreadyExists => Code::AlreadyExists,
    }
}

pub fn status_of(rejection: &Rejection) -> Status {
    Status::new(code_of(rejection.reason.class()), rejection.to_string())
}

pub fn receipt(f: &Finalized, tx_hash: [u8; 32]) -> pb::Receipt {
    let (reject_code, reject_reason) = match &f.outcome {
        TxOutcome::Rejected { reason, .. } => (reason.code() as u32, reason.name().to_string()),
        TxOutcome::Applied { .. } => (0, String::new()),
    };
    let approval = match &f.outcome {
        TxOutcome::Applied {
            approval: Some(a), ..
        } => *a,
        _ => ApprovalRecord {
            approvals: 0,
            threshold: 0,
            executed: false,
        },
    };
    pb::Receipt {
        approvals: approval.approvals,
        approvals_needed: approval.threshold,
        executed: approval.executed,
        tx_id: f.tx_id.0.to_vec().into(),
        index: f.index,
        consensus_timestamp_ns: f.consensus_timestamp_ns,
        tx_hash: tx_hash.to_vec().into(),
        chain_head: f.chain_hash.to_vec().into(),
        round_received: f.round_received,
        event_id: f.event_id.as_bytes().to_vec().into(),
        applied: f.outcome.is_applied(),
        reject_code,
        reject_reason,
        detail: f.outcome.detail().to_string(),
        inclusion: None,
    }
}

pub fn policy_name(policy: SecondBallotPolicy) -> &'static str {
    match policy {
        SecondBallotPolicy::FirstCounts => "first-counts",
        SecondBallotPolicy::LastCounts => "last-counts",
    }
}

pub fn election(
    record: &ElectionRecord,
    spec: &ElectionSpec,
    tally: &Tally,
    now_ns: u64,
) -> pb::Election {
    pb::Election {
        election_id: record.election_id.clone(),
        name: spec.definition.name.clone(),
        status: record.status_at(now_ns).name().to_string(),
        manifest_hash: record.manifest_hash.to_vec().into(),
        policy: policy_name(spec.policy).to_string(),
        roll_voters: record.roll_voters,
        roll_weight: record.roll_weight,
        ballots_counted: tally.ballots,
        open_at_ns: record.open_at_ns.unwrap_or(0),
        close_at_ns: record.close_at_ns.unwrap_or(0),
        opened_ns: record.opened_ns.unwrap_or(0),
        closed_ns: record.closed_ns.unwrap_or(0),
        created_index: record.created_index,
        definition_json: serde_json::to_string(&spec.definition).expect("definitions serialize"),
    }
}

fn fraction(f: Fraction) -> String {
    format!("{}/{}", f.numerator, f.denominator)
}

pub fn proposal(id: [u8; 32], record: &ProposalRecord, now_ns: u64) -> pb::Proposal {
    let outcome = proposal::outcome(record, now_ns);
    pb::Proposal {
        proposal_id: id.to_vec().into(),
        community_id: record.spec.community_id.clone(),
        title: record.spec.title.clone(),
        options: record.spec.options.clone(),
        votes: record.votes.clone(),
        voters: record.voters,
        eligible_weight: record.eligible_weight,
        deadline_ns: record.spec.deadline_ns,
        quorum: fraction(record.spec.quorum),
        threshold: match record.spec.threshold {
            PassThreshold::SimpleMajority => "simple-majority".to_string(),
            PassThreshold::TwoThirds => "two-thirds".to_string(),
            PassThreshold::AtLeast(f) => format!("at-least-{}", fraction(f)),
        },
        outcome: outcome.name().to_string(),
        passed_option: match outcome {
            ProposalOutcome::Passed { option } => option,
            _ => 0,
        },
    }
}
