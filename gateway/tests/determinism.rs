//! Property: the same ordered transactions give byte-identical state on every validator, no
//! matter how they are grouped into commits. Random sequences mix valid and invalid ballots,
//! admin approvals, roll additions and removals, scheduled opens and closes, write-ins, second
//! ballots, community changes and proposals.

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
    match rng.below(11) {
        0 => {
            let mut spec = spec(election, policy);
            if rng.below(2) == 0 {
                // The chain's clock runs from 1,000 s, one second per transaction.
                let open = 1_000 + rng.below(150);
                spec.open_at_ns = Some(open * SECOND_NS);
                spec.close_at_ns = Some((open + 1 + rng.below(150)) * SECOND_NS);
            }
            (
                admin,
                Action::Admin(AdminAction::CreateElection(spec)).encode(),
            )
        }
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
            let mut amend = roll(election, &voters);
            if let AdminAction::AmendRoll { remove, .. } = &mut amend {
                remove.extend((0..rng.below(3)).map(|_| key(1 + rng.below(12) as u8)));
            }
            (admin, Action::Admin(amend).encode())
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
                remove: (0..rng.below(3))
                    .map(|_| key(1 + rng.below(6) as u8))
                    .collect(),
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
        7 => {
            let name = pick(rng, &["Zoe", "Yan", "Xu"]);
            let b = Ballot {
                election_id: election.to_string(),
                manifest_hash: definition(election).manifest_hash(),
                ballot_style: pick(rng, &["full", "mayor-only"]).to_string(),
                contests: vec![ContestVote {
                    contest_id: "mayor".to_string(),
                    selections: vec![SelectionVote {
                        selection_id: "mayor-write-in".to_string(),
                        write_in: Some(name.to_string()),
                    }],
                }],
            };
            (voter, Action::CastBallot(b).encode())
        }
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
