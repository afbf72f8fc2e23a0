//! Community proposals: a member proposes options with a deadline, a quorum and a pass
//! threshold; members vote once each until the deadline (consensus time); the outcome is a
//! function of the votes and so is the same on every validator.

use crate::governance::action::{PassThreshold, ProposalSpec, ProposalVote};
use crate::governance::overlay::{Overlay, StateError};
use crate::governance::reason::{reject, Reason, Rejection};
use crate::governance::records::{self, CommunityRecord, MemberRecord, ProposalRecord};
use crate::governance::{Applied, TxContext};
use serde::{Deserialize, Serialize};

pub const OPTIONS_MAX: usize = 64;
pub const TITLE_BYTES_MAX: usize = 512;
pub const OPTION_BYTES_MAX: usize = 256;

type Outcome = Result<Result<Applied, Rejection>, StateError>;

/// Where a proposal stands at a given consensus time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProposalOutcome {
    Voting,
    Passed {
        option: u32,
    },
    NoQuorum,
    /// The leading option has too small a share of the weight that voted.
    BelowThreshold,
    /// Two or more options share the lead.
    Tie,
}

impl ProposalOutcome {
    pub fn name(&self) -> &'static str {
        match self {
            ProposalOutcome::Voting => "voting",
            ProposalOutcome::Passed { .. } => "passed",
            ProposalOutcome::NoQuorum => "failed_no_quorum",
            ProposalOutcome::BelowThreshold => "failed_below_threshold",
            ProposalOutcome::Tie => "failed_tie",
        }
    }
}

pub fn create(state: &mut Overlay, tx: &TxContext, spec: &ProposalSpec) -> Outcome {
    if let Err(rejection) = check_spec(tx, spec) {
        return Ok(Err(rejection));
    }
    let Some(community) =
        records::read::<CommunityRecord>(state, &records::community_key(&spec.community_id))?
    else {
        return Ok(reject(
            Reason::UnknownCommunity,
            format!("there is no community `{}`", spec.community_id),
        ));
    };
    if records::read::<MemberRecord>(state, &records::member_key(&spec.community_id, &tx.signer))?
        .is_none()
    {
        return Ok(reject(
            Reason::NotMember,
            format!("the signer is not a member of `{}`", spec.community_id),
        ));
    }
    let record = ProposalRecord {
        spec: spec.clone(),
        creator: tx.signer,
        created_index: tx.index,
        created_ns: tx.consensus_ns,
        eligible_weight: community.weight,
        votes: vec![0; spec.options.len()],
        voters: 0,
    };
    records::write(state, records::proposal_key(&tx.tx_id), &record);
    Ok(Ok(Applied::ProposalCreated {
        proposal_id: tx.tx_id,
    }))
}

fn check_spec(tx: &TxContext, spec: &ProposalSpec) -> Result<(), Rejection> {
    records::check_key_id("community", &spec.community_id)?;
    let invalid = |detail: String| reject(Reason::InvalidProposal, detail);
    if spec.options.len() < 2 || spec.options.len() > OPTIONS_MAX {
        return invalid(format!("a proposal has 2 to {OPTIONS_MAX} options"));
    }
    if spec.title.len() > TITLE_BYTES_MAX
        || spec
            .options
            .iter()
            .any(|o| o.is_empty() || o.len() > OPTION_BYTES_MAX)
    {
        return invalid(format!(
            "the title is at most {TITLE_BYTES_MAX} bytes and each option 1 to {OPTION_BYTES_MAX}"
        ));
    }
    if spec.deadline_ns <= tx.consensus_ns {
        return invalid("the deadline is already past in consensus time".to_string());
    }
    if !spec.quorum.is_share() {
        return invalid("the quorum must be a fraction from 0 to 1".to_string());
    }
    if let PassThreshold::AtLeast(f) = spec.threshold {
        if !f.is_share() || f.numerator == 0 {
            return invalid(
                "the pass threshold must be a fraction above 0 and at most 1".to_string(),
            );
        }
    }
    Ok(())
}

pub fn vote(state: &mut Overlay, tx: &TxContext, vote: &ProposalVote) -> Outcome {
    let key = records::proposal_key(&vote.proposal_id);
    let Some(mut proposal) = records::read::<ProposalRecord>(state, &key)? else {
        return Ok(reject(
            Reason::UnknownProposal,
            format!(
                "there is no proposal {}",
                crate::hex::encode(&vote.proposal_id)
            ),
        ));
    };
    if tx.consensus_ns >= proposal.spec.deadline_ns {
        return Ok(reject(
            Reason::VotingClosed,
            "the proposal's deadline has passed",
        ));
    }
    let community = &proposal.spec.community_id;
    let member = records::read::<MemberRecord>(state, &records::member_key(community, &tx.signer))?;
    let Some(MemberRecord { weight, .. }) =
        member.filter(|m| m.since_index < proposal.created_index)
    else {
        return Ok(reject(
            Reason::NotMember,
            format!(
                "the signer was not a member of `{community}` (at its current weight) when the proposal was created"
            ),
        ));
    };
    let Some(count) = proposal.votes.get_mut(vote.option as usize) else {
        return Ok(reject(
            Reason::InvalidOption,
            format!(
                "option {} does not exist; the proposal has {}",
                vote.option,
                proposal.spec.options.len()
            ),
        ));
    };
    let vote_key = records::proposal_vote_key(&vote.proposal_id, &tx.signer);
    if state.get(&vote_key)?.is_some() {
        return Ok(reject(
            Reason::AlreadyVoted,
            "this member already voted on this proposal",
        ));
    }
    *count += weight;
    proposal.voters += 1;
    records::write(state, vote_key, &(vote.option, weight));
    records::write(state, key, &proposal);
    Ok(Ok(Applied::ProposalVoteCounted))
}

/// The outcome at consensus time `now_ns`: fixed from the deadline on, since later votes are
/// rejected.
pub fn outcome(proposal: &ProposalRecord, now_ns: u64) -> ProposalOutcome {
    if now_ns < proposal.spec.deadline_ns {
        return ProposalOutcome::Voting;
    }
    let voted = proposal.voted_weight();
    if voted == 0
        || !proposal
            .spec
            .quorum
            .reached_by(voted, proposal.eligible_weight)
    {
        return ProposalOutcome::NoQuorum;
    }
    let lead = *proposal.votes.iter().max().expect("a proposal has options");
    let leaders: Vec<usize> = (0..proposal.votes.len())
        .filter(|&i| proposal.votes[i] == lead)
        .collect();
    if leaders.len() > 1 {
        return ProposalOutcome::Tie;
    }
    let passes = match proposal.spec.threshold {
        PassThreshold::SimpleMajority => 2 * lead as u128 > voted as u128,
        PassThreshold::TwoThirds => 3 * lead as u128 >= 2 * voted as u128,
        PassThreshold::AtLeast(fraction) => fraction.reached_by(lead, voted),
    };
    if passes {
        ProposalOutcome::Passed {
            option: leaders[0] as u32,
        }
    } else {
        ProposalOutcome::BelowThreshold
    }
}
