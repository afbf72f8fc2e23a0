//! Property: the same ordered transactions give byte-identical state on every validator, no
//! matter how they are grouped into commits. Random sequences mix valid and invalid ballots,
//! admin approvals, roll changes, second ballots and proposals.

mod common;

use common::*;
use votegraph_consensus::sim::SplitMix64;
use votegraph_gateway::governance::action::*;

const SEEDS: u64 = 40;
const TRANSACTIONS: usize = 300;

fn random_transaction(rng: &mut SplitMix64) -> ([u8; 32], Vec<u8>) {
    let election = ["e1", "e2"][rng.below(2) as usize];
    let policy = [
        SecondBallotPolicy::FirstCounts,
        SecondBallotPolicy::LastCounts,
    ][rng.below(2) as usize];
    let admin = admins()[rng.below(3) as usize];
    let voter = key(1 + rng.below(12) as u8);
    let pick =
        |rng: &mut SplitMix64, from: &[&'static str]| from[rng.below(from.len() as u64) as usize];
    match rng.below(10) {
        0 => (
            admin,
            Action::Admin(AdminAction::CreateElection(spec(election, policy))).encode(),
        ),
        1 => {
            let voters: Vec<(u8, &str, u64)> = (0..3)
                .map(|_| {
                    (
                        1 + rng.below(12) as u8,
                        pick(rng, &["full", "mayor-only"]),
                        1 + rng.below(3),
                    )
                })
                .collect();
            (admin, Action::Admin(roll(election, &voters)).encode())
        }
        2 => {
            let id = election.to_string();
            let action = match rng.below(3) {
                0 => AdminAction::OpenElection { election_id: id },
                1 => AdminAction::CloseElection { election_id: id },
                _ => AdminAction::PublishTally { election_id: id },
            };
            (admin, Action::Admin(action).encode())
        }
        3 => {
            let add = (1..=6)
                .map(|n| Member {
                    key: key(n),
                    weight: 1 + rng.below(2),
                })
                .collect();
            let amend = AdminAction::AmendCommunity {
                community_id: "town".into(),
                add,
                remove: vec![],
            };
            (admin, Action::Admin(amend).encode())
        }
        4 => {
            let spec = ProposalSpec {
                community_id: "town".into(),
                title: "t".into(),
                options: vec!["a".into(), "b".into(), "c".into()],
                deadline_ns: 1_000 * SECOND_NS + rng.below(400) * SECOND_NS,
                quorum: Fraction::new(rng.below(3), 4),
                threshold: PassThreshold::SimpleMajority,
            };
            (voter, Action::CreateProposal(spec).encode())
        }
        5 => {
            let vote = ProposalVote {
                proposal_id: tx_id(rng.below(TRANSACTIONS as u64)),
                option: rng.below(4) as u32,
            };
            (voter, Action::VoteProposal(vote).encode())
        }
        6 => (voter, vec![1, rng.below(256) as u8, 3]),
        _ => {
            let style = pick(rng, &["full", "mayor-only"]);
            let mut marks = vec![("mayor", pick(rng, &["alice", "bob", "zed"]))];
            for _ in 0..rng.below(4) {
                marks.push(("council", pick(rng, &["carol", "dave", "erin"])));
            }
            (voter, ballot(election, style, &marks).encode())
        }
    }
}

#[test]
fn same_transactions_give_byte_identical_state_whatever_the_commit_grouping() {
    for seed in 0..SEEDS {
        println!("seed {seed}");
        let mut rng = SplitMix64::new(seed);
        let txs: Vec<_> = (0..TRANSACTIONS)
            .map(|_| random_transaction(&mut rng))
            .collect();
        let mut one_by_one = Chain::new();
        let outcomes_a: Vec<_> = txs
            .iter()
            .flat_map(|tx| one_by_one.commit(std::slice::from_ref(tx)))
            .collect();
        let mut grouped = Chain::new();
        let mut outcomes_b = Vec::new();
        let mut rest = &txs[..];
        while !rest.is_empty() {
            let take = (1 + rng.below(40) as usize).min(rest.len());
            outcomes_b.extend(grouped.commit(&rest[..take]));
            rest = &rest[take..];
        }
        assert_eq!(outcomes_a, outcomes_b, "seed {seed}: outcomes differ");
        assert_eq!(
            one_by_one.state, grouped.state,
            "seed {seed}: state differs"
        );
        let applied = outcomes_a.iter().filter(|o| o.is_ok()).count();
        assert!(
            applied > 10,
            "seed {seed}: the sequence must exercise applied transactions"
        );
    }
}
