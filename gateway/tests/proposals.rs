//! Community proposals: who may propose and vote, and the outcome's quorum and threshold rules
//! at their exact edges.

mod common;

use common::*;
use votegraph_gateway::governance::action::*;
use votegraph_gateway::governance::proposal::{outcome, ProposalOutcome};
use votegraph_gateway::governance::reason::Reason;
use votegraph_gateway::governance::records::{self, ProposalRecord};
use votegraph_gateway::governance::Applied;

/// A community of `members` members (keys 1..=members), weight 1 each.
fn community(chain: &mut Chain, members: u8) {
    let add = (1..=members)
        .map(|n| Member {
            key: key(n),
            weight: 1,
        })
        .collect();
    let amend = AdminAction::AmendCommunity {
        community_id: "town".to_string(),
        add,
        remove: Vec::new(),
    };
    assert!(chain.admin(2, amend).is_ok());
}

fn propose(chain: &mut Chain, quorum: Fraction, threshold: PassThreshold) -> [u8; 32] {
    let spec = ProposalSpec {
        community_id: "town".to_string(),
        title: "Build a bridge".to_string(),
        options: vec!["yes".to_string(), "no".to_string()],
        deadline_ns: chain.now_ns + 1_000 * SECOND_NS,
        quorum,
        threshold,
    };
    match chain.one(key(1), &Action::CreateProposal(spec)).unwrap() {
        Applied::ProposalCreated { proposal_id } => proposal_id,
        other => panic!("unexpected {other:?}"),
    }
}

fn vote(chain: &mut Chain, voter: u8, proposal_id: [u8; 32], option: u32) -> Outcome {
    chain.one(
        key(voter),
        &Action::VoteProposal(ProposalVote {
            proposal_id,
            option,
        }),
    )
}

fn outcome_after_deadline(chain: &Chain, proposal_id: [u8; 32]) -> ProposalOutcome {
    let bytes = chain
        .state
        .get(&records::proposal_key(&proposal_id))
        .unwrap();
    let record: ProposalRecord = votegraph_gateway::governance::codec::decode(bytes).unwrap();
    assert_eq!(
        outcome(&record, record.spec.deadline_ns - 1),
        ProposalOutcome::Voting
    );
    outcome(&record, record.spec.deadline_ns)
}

/// `yes` and `no` votes from distinct members 1.. in a community of `members`.
fn run(
    members: u8,
    yes: u8,
    no: u8,
    quorum: Fraction,
    threshold: PassThreshold,
) -> ProposalOutcome {
    let mut chain = Chain::new();
    community(&mut chain, members);
    let id = propose(&mut chain, quorum, threshold);
    for voter in 1..=yes {
        assert!(vote(&mut chain, voter, id, 0).is_ok());
    }
    for voter in yes + 1..=yes + no {
        assert!(vote(&mut chain, voter, id, 1).is_ok());
    }
    outcome_after_deadline(&chain, id)
}

const NO_QUORUM: Fraction = Fraction::new(0, 1);

#[test]
fn two_thirds_passes_exactly_at_the_threshold_and_fails_one_vote_short() {
    let passed = ProposalOutcome::Passed { option: 0 };
    assert_eq!(run(10, 6, 3, NO_QUORUM, PassThreshold::TwoThirds), passed);
    assert_eq!(
        run(10, 5, 3, NO_QUORUM, PassThreshold::TwoThirds),
        ProposalOutcome::BelowThreshold
    );
}

#[test]
fn simple_majority_needs_more_than_half() {
    assert_eq!(
        run(10, 3, 2, NO_QUORUM, PassThreshold::SimpleMajority),
        ProposalOutcome::Passed { option: 0 }
    );
    assert_eq!(
        run(10, 3, 3, NO_QUORUM, PassThreshold::SimpleMajority),
        ProposalOutcome::Tie
    );
    let three_of_five = PassThreshold::AtLeast(Fraction::new(3, 5));
    assert_eq!(
        run(10, 3, 2, NO_QUORUM, three_of_five),
        ProposalOutcome::Passed { option: 0 }
    );
    assert_eq!(
        run(10, 5, 4, NO_QUORUM, three_of_five),
        ProposalOutcome::BelowThreshold
    );
}

#[test]
fn quorum_holds_exactly_at_its_share_and_fails_one_voter_short() {
    let half = Fraction::new(1, 2);
    assert_eq!(
        run(10, 5, 0, half, PassThreshold::SimpleMajority),
        ProposalOutcome::Passed { option: 0 }
    );
    assert_eq!(
        run(10, 4, 0, half, PassThreshold::SimpleMajority),
        ProposalOutcome::NoQuorum
    );
}

#[test]
fn only_members_propose_and_vote_once_before_the_deadline() {
    let mut chain = Chain::new();
    community(&mut chain, 3);
    let id = propose(&mut chain, NO_QUORUM, PassThreshold::SimpleMajority);
    assert_eq!(reason(&vote(&mut chain, 50, id, 0)), Reason::NotMember);
    assert!(vote(&mut chain, 2, id, 0).is_ok());
    assert_eq!(reason(&vote(&mut chain, 2, id, 1)), Reason::AlreadyVoted);
    assert_eq!(reason(&vote(&mut chain, 3, id, 7)), Reason::InvalidOption);
    assert_eq!(
        reason(&vote(&mut chain, 3, [9; 32], 0)),
        Reason::UnknownProposal
    );
    chain.now_ns += 2_000 * SECOND_NS;
    assert_eq!(reason(&vote(&mut chain, 3, id, 0)), Reason::VotingClosed);
    let spec = ProposalSpec {
        community_id: "town".to_string(),
        title: "t".to_string(),
        options: vec!["a".to_string(), "b".to_string()],
        deadline_ns: chain.now_ns + SECOND_NS * 100,
        quorum: NO_QUORUM,
        threshold: PassThreshold::SimpleMajority,
    };
    let outsider = chain.one(key(50), &Action::CreateProposal(spec.clone()));
    assert_eq!(reason(&outsider), Reason::NotMember);
    let one_option = ProposalSpec {
        options: vec!["a".to_string()],
        ..spec
    };
    assert_eq!(
        reason(&chain.one(key(1), &Action::CreateProposal(one_option))),
        Reason::InvalidProposal
    );
}

#[test]
fn member_weights_must_be_positive_and_bounded() {
    let mut chain = Chain::new();
    for weight in [0, votegraph_gateway::governance::election::WEIGHT_MAX + 1] {
        let amend = AdminAction::AmendCommunity {
            community_id: "town".to_string(),
            add: vec![Member {
                key: key(1),
                weight,
            }],
            remove: Vec::new(),
        };
        assert_eq!(reason(&chain.admin(1, amend)), Reason::InvalidRoll);
    }
}

#[test]
fn members_added_after_a_proposal_do_not_vote_on_it() {
    let mut chain = Chain::new();
    community(&mut chain, 3);
    let id = propose(
        &mut chain,
        Fraction::new(1, 1),
        PassThreshold::SimpleMajority,
    );
    let late = AdminAction::AmendCommunity {
        community_id: "town".to_string(),
        add: vec![Member {
            key: key(9),
            weight: 5,
        }],
        remove: Vec::new(),
    };
    assert!(chain.admin(2, late).is_ok());
    assert_eq!(reason(&vote(&mut chain, 9, id, 0)), Reason::NotMember);
    assert!(vote(&mut chain, 1, id, 0).is_ok());
}
