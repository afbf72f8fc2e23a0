//! Elections as every validator applies them: lifecycle, admin threshold, ballot rules, the
//! second-ballot policies, and the recorded reason of every rejection.

mod common;

use common::*;
use votegraph_gateway::governance::action::*;
use votegraph_gateway::governance::reason::Reason;
use votegraph_gateway::governance::records::{self, ElectionRecord, ElectionStatus};
use votegraph_gateway::governance::Applied;

/// The status at the chain's latest consensus time (a schedule applies even before a
/// transaction stores the change).
fn status(chain: &Chain, id: &str) -> ElectionStatus {
    let bytes = chain.state.get(&records::election_status_key(id)).unwrap();
    let record: ElectionRecord = votegraph_gateway::governance::codec::decode(bytes).unwrap();
    record.status_at(chain.now_ns)
}

#[test]
fn a_full_lifecycle_counts_every_accepted_ballot_once() {
    let mut chain = Chain::new();
    open_election(&mut chain, "e1", SecondBallotPolicy::FirstCounts);
    assert_eq!(status(&chain, "e1"), ElectionStatus::Open);
    for (voter, mayor, council) in [
        (1, "alice", "carol"),
        (2, "alice", "dave"),
        (3, "bob", "carol"),
    ] {
        let b = ballot("e1", "full", &[("mayor", mayor), ("council", council)]);
        assert!(chain.one(key(voter), &b).is_ok());
    }
    assert!(chain
        .one(key(5), &ballot("e1", "mayor-only", &[("mayor", "bob")]))
        .is_ok());
    let close = AdminAction::CloseElection {
        election_id: "e1".into(),
    };
    assert!(chain.admin(2, close).is_ok());
    assert_eq!(status(&chain, "e1"), ElectionStatus::Closed);
    assert_eq!(chain.count("e1", "alice"), 2);
    assert_eq!(chain.count("e1", "bob"), 2);
    assert_eq!(chain.count("e1", "carol"), 2);
    assert_eq!(chain.count("e1", "dave"), 1);
    assert_eq!(chain.count("e1", "erin"), 0);
    assert_eq!(chain.tally("e1").ballots, 4);
    // A ballot after the close is rejected and changes nothing.
    let late = chain.one(key(4), &ballot("e1", "full", &[("mayor", "alice")]));
    assert_eq!(reason(&late), Reason::NotOpen);
    assert_eq!(chain.count("e1", "alice"), 2);
    assert!(chain
        .admin(
            2,
            AdminAction::PublishTally {
                election_id: "e1".into()
            }
        )
        .is_ok());
    assert_eq!(status(&chain, "e1"), ElectionStatus::Tallied);
    let json = chain.tally("e1").to_json();
    assert_eq!(json["contests"]["mayor"]["selections"]["alice"], 2);
}

#[test]
fn admin_actions_below_the_threshold_do_not_execute() {
    let mut chain = Chain::new();
    let create = AdminAction::CreateElection(spec("e1", SecondBallotPolicy::FirstCounts));
    let first = chain.admin(1, create.clone()).unwrap();
    assert!(matches!(
        first,
        Applied::Approval {
            approvals: 1,
            threshold: 2,
            executed: false,
            ..
        }
    ));
    assert!(!chain
        .state
        .contains_key(&records::election_status_key("e1")));
    // The same admin approving again does not count twice.
    let again = chain.one(key(201), &Action::Admin(create.clone()));
    assert_eq!(reason(&again), Reason::AlreadyApproved);
    assert!(!chain
        .state
        .contains_key(&records::election_status_key("e1")));
    // A non-admin's approval does not count at all.
    let outsider = chain.one(key(99), &Action::Admin(create.clone()));
    assert_eq!(reason(&outsider), Reason::NotAdmin);
    let second = chain.one(key(202), &Action::Admin(create.clone())).unwrap();
    assert!(matches!(
        second,
        Applied::Approval {
            approvals: 2,
            executed: true,
            ..
        }
    ));
    assert_eq!(status(&chain, "e1"), ElectionStatus::Draft);
    let third = chain.one(key(203), &Action::Admin(create));
    assert_eq!(reason(&third), Reason::ActionAlreadyExecuted);
}

#[test]
fn the_roll_is_amendable_only_while_the_election_is_a_draft() {
    let mut chain = Chain::new();
    open_election(&mut chain, "e1", SecondBallotPolicy::FirstCounts);
    let late = chain.admin(1, roll("e1", &[(9, "full", 1)]));
    assert_eq!(reason(&late), Reason::NotDraft);
    let bad_style = {
        let mut c = Chain::new();
        assert!(c
            .admin(
                2,
                AdminAction::CreateElection(spec("e2", SecondBallotPolicy::FirstCounts))
            )
            .is_ok());
        c.admin(1, roll("e2", &[(9, "no-such-style", 1)]))
    };
    assert_eq!(reason(&bad_style), Reason::InvalidRoll);
}

#[test]
fn first_counts_rejects_a_second_ballot_and_keeps_the_first() {
    let mut chain = Chain::new();
    open_election(&mut chain, "e1", SecondBallotPolicy::FirstCounts);
    assert!(chain
        .one(key(1), &ballot("e1", "full", &[("mayor", "alice")]))
        .is_ok());
    let second = chain.one(key(1), &ballot("e1", "full", &[("mayor", "bob")]));
    assert_eq!(reason(&second), Reason::AlreadyVoted);
    assert_eq!(
        (chain.count("e1", "alice"), chain.count("e1", "bob")),
        (1, 0)
    );
    let recorded = chain.rejection_at(chain.next_index - 1).unwrap();
    assert_eq!(recorded.code, Reason::AlreadyVoted.code());
    assert_eq!(recorded.signer, key(1));
}

#[test]
fn last_counts_replaces_the_earlier_ballot_in_the_tally() {
    let mut chain = Chain::new();
    open_election(&mut chain, "e1", SecondBallotPolicy::LastCounts);
    let first = ballot(
        "e1",
        "full",
        &[
            ("mayor", "alice"),
            ("council", "carol"),
            ("council", "dave"),
        ],
    );
    assert!(chain.one(key(1), &first).is_ok());
    let second = chain
        .one(key(1), &ballot("e1", "full", &[("mayor", "bob")]))
        .unwrap();
    assert_eq!(
        second,
        Applied::BallotCounted {
            replaced_earlier: true
        }
    );
    assert_eq!(
        (chain.count("e1", "alice"), chain.count("e1", "bob")),
        (0, 1)
    );
    assert_eq!(
        (chain.count("e1", "carol"), chain.count("e1", "dave")),
        (0, 0)
    );
    assert_eq!(chain.tally("e1").ballots, 1);
}

#[test]
fn the_early_check_gives_the_verdict_of_applying_and_never_reads_the_tally() {
    for policy in [
        SecondBallotPolicy::FirstCounts,
        SecondBallotPolicy::LastCounts,
    ] {
        let mut chain = Chain::new();
        open_election(&mut chain, "e1", policy);
        let tally_key = records::tally_key("e1");
        let cases = [
            (key(1), ballot("e1", "full", &[("mayor", "alice")])),
            // A second ballot: already voted, or it replaces the first.
            (key(1), ballot("e1", "full", &[("council", "carol")])),
            (
                key(2),
                Action::CastBallot(write_in("e1", "mayor-write-in", "Zoe")),
            ),
            (key(77), ballot("e1", "full", &[("mayor", "alice")])),
            (key(3), ballot("e1", "full", &[("mayor", "zed")])),
            (key(5), ballot("e1", "full", &[("mayor", "bob")])),
        ];
        for (signer, action) in cases {
            let (checked, tally_reads) = chain.check(signer, &action, &tally_key);
            assert_eq!(checked, chain.one(signer, &action), "{policy:?} {action:?}");
            assert_eq!(tally_reads, 0, "{policy:?} {action:?}");
        }
        assert_eq!(chain.tally("e1").ballots, 2, "{policy:?}");
    }
}

#[test]
fn bad_ballots_are_rejected_with_their_reason_recorded() {
    let mut chain = Chain::new();
    open_election(&mut chain, "e1", SecondBallotPolicy::FirstCounts);
    assert!(chain
        .admin(
            2,
            AdminAction::CreateElection(spec("e2", SecondBallotPolicy::FirstCounts))
        )
        .is_ok());
    let e2_hash = definition("e2").manifest_hash();
    let cases: Vec<([u8; 32], Action, Reason)> = vec![
        (
            key(77),
            ballot("e1", "full", &[("mayor", "alice")]),
            Reason::NotOnRoll,
        ),
        (
            key(1),
            ballot("e1", "full", &[("mayor", "alice"), ("mayor", "bob")]),
            Reason::Overvote,
        ),
        (
            key(1),
            ballot(
                "e1",
                "full",
                &[
                    ("council", "carol"),
                    ("council", "dave"),
                    ("council", "erin"),
                ],
            ),
            Reason::Overvote,
        ),
        (
            key(1),
            ballot("e1", "full", &[("council", "carol"), ("council", "carol")]),
            Reason::DuplicateSelection,
        ),
        (
            key(1),
            ballot("e1", "full", &[("mayor", "zed")]),
            Reason::UnknownSelection,
        ),
        (
            key(5),
            ballot("e1", "mayor-only", &[("council", "carol")]),
            Reason::ContestNotInStyle,
        ),
        (
            key(1),
            ballot("e1", "mayor-only", &[("mayor", "alice")]),
            Reason::WrongBallotStyle,
        ),
        (key(1), ballot("e1", "full", &[]), Reason::EmptyBallot),
        // Signed for election e2's manifest but sent to e1: not replayable across elections.
        (
            key(1),
            ballot_with_hash("e1", e2_hash, "full", &[("mayor", "alice")]),
            Reason::WrongManifest,
        ),
        (
            key(1),
            ballot("e2", "full", &[("mayor", "alice")]),
            Reason::NotOpen,
        ),
        (
            key(1),
            ballot("nope", "full", &[("mayor", "alice")]),
            Reason::UnknownElection,
        ),
        (
            key(1),
            Action::CastBallot(write_in("e1", "alice", "Zoe")),
            Reason::WriteInNotAllowed,
        ),
    ];
    for (signer, action, expected) in cases {
        let outcome = chain.one(signer, &action);
        assert_eq!(reason(&outcome), expected, "{action:?}");
        let recorded = chain
            .rejection_at(chain.next_index - 1)
            .expect("rejection recorded");
        assert_eq!(recorded.code, expected.code());
        assert_eq!(recorded.kind, "cast_ballot");
    }
    let garbage = chain.commit(&[(key(1), vec![1, 0xff, 0xff])]).remove(0);
    assert_eq!(reason(&garbage), Reason::MalformedPayload);
    assert_eq!(chain.tally("e1").ballots, 0, "no rejected ballot counts");
}

fn write_in(election_id: &str, selection: &str, name: &str) -> Ballot {
    Ballot {
        election_id: election_id.to_string(),
        manifest_hash: definition(election_id).manifest_hash(),
        ballot_style: "full".to_string(),
        contests: vec![ContestVote {
            contest_id: "mayor".to_string(),
            selections: vec![SelectionVote {
                selection_id: selection.to_string(),
                write_in: Some(name.to_string()),
            }],
        }],
    }
}

#[test]
fn write_ins_count_under_their_line_and_their_name() {
    let mut chain = Chain::new();
    open_election(&mut chain, "e1", SecondBallotPolicy::FirstCounts);
    for voter in [1, 2] {
        let b = Action::CastBallot(write_in("e1", "mayor-write-in", "Zoe"));
        assert!(chain.one(key(voter), &b).is_ok());
    }
    assert_eq!(chain.count("e1", "mayor-write-in"), 2);
    let json = chain.tally("e1").to_json();
    assert_eq!(json["contests"]["mayor"]["write_ins"]["Zoe"], 2);
}

#[test]
fn a_scheduled_election_opens_and_closes_by_consensus_time() {
    let mut chain = Chain::new();
    let open_at = chain.now_ns + 10 * SECOND_NS;
    let close_at = chain.now_ns + 20 * SECOND_NS;
    let mut s = spec("e1", SecondBallotPolicy::FirstCounts);
    s.open_at_ns = Some(open_at);
    s.close_at_ns = Some(close_at);
    assert!(chain.admin(2, AdminAction::CreateElection(s)).is_ok());
    assert!(chain
        .admin(2, roll("e1", &[(1, "full", 1), (2, "full", 1)]))
        .is_ok());
    let early = chain.one(key(1), &ballot("e1", "full", &[("mayor", "alice")]));
    assert_eq!(reason(&early), Reason::NotOpen);
    chain.now_ns = open_at;
    assert!(chain
        .one(key(1), &ballot("e1", "full", &[("mayor", "alice")]))
        .is_ok());
    chain.now_ns = close_at;
    let late = chain.one(key(2), &ballot("e1", "full", &[("mayor", "alice")]));
    assert_eq!(reason(&late), Reason::NotOpen);
    assert_eq!(status(&chain, "e1"), ElectionStatus::Closed);
    assert_eq!(chain.count("e1", "alice"), 1);
}

#[test]
fn a_scheduled_close_is_recorded_by_the_first_transaction_after_it_whatever_it_is() {
    let mut chain = Chain::new();
    let close_at = chain.now_ns + 20 * SECOND_NS;
    let mut s = spec("e1", SecondBallotPolicy::FirstCounts);
    s.close_at_ns = Some(close_at);
    assert!(chain.admin(2, AdminAction::CreateElection(s)).is_ok());
    assert!(chain.admin(2, roll("e1", &[(1, "full", 1)])).is_ok());
    assert!(chain
        .admin(
            2,
            AdminAction::OpenElection {
                election_id: "e1".into()
            }
        )
        .is_ok());
    let stored = |chain: &Chain| -> ElectionRecord {
        let bytes = chain
            .state
            .get(&records::election_status_key("e1"))
            .unwrap();
        votegraph_gateway::governance::codec::decode(bytes).unwrap()
    };
    assert_eq!(stored(&chain).status, ElectionStatus::Open);
    assert!(chain.state.contains_key(b"gov/schedule/closes".as_slice()));
    chain.now_ns = close_at;
    // An unrelated, malformed transaction: rejected, yet the close before it is kept.
    let unrelated = chain.commit(&[(key(9), b"not an action".to_vec())]);
    assert!(unrelated[0].is_err());
    let record = stored(&chain);
    assert_eq!(record.status, ElectionStatus::Closed);
    assert_eq!(record.closed_ns, Some(close_at));
    assert!(
        !chain.state.contains_key(b"gov/schedule/closes".as_slice()),
        "the schedule is emptied once passed"
    );
}

#[test]
fn an_inconsistent_definition_is_rejected_at_its_first_approval() {
    let mut chain = Chain::new();
    let mut bad = spec("e1", SecondBallotPolicy::FirstCounts);
    bad.definition.contests[0].votes_allowed = 2;
    let outcome = chain.admin(1, AdminAction::CreateElection(bad));
    assert_eq!(reason(&outcome), Reason::InvalidDefinition);
    let mut bad_id = spec("a/b", SecondBallotPolicy::FirstCounts);
    bad_id.definition.election_id = "a/b".to_string();
    assert_eq!(
        reason(&chain.admin(1, AdminAction::CreateElection(bad_id))),
        Reason::InvalidId
    );
}

#[test]
fn weights_from_the_roll_are_what_the_tally_adds() {
    let mut chain = Chain::new();
    assert!(chain
        .admin(
            2,
            AdminAction::CreateElection(spec("e1", SecondBallotPolicy::FirstCounts))
        )
        .is_ok());
    assert!(chain
        .admin(2, roll("e1", &[(1, "full", 3), (2, "full", 2)]))
        .is_ok());
    assert!(chain
        .admin(
            2,
            AdminAction::OpenElection {
                election_id: "e1".into()
            }
        )
        .is_ok());
    assert!(chain
        .one(key(1), &ballot("e1", "full", &[("mayor", "alice")]))
        .is_ok());
    assert!(chain
        .one(key(2), &ballot("e1", "full", &[("mayor", "bob")]))
        .is_ok());
    assert_eq!(
        (chain.count("e1", "alice"), chain.count("e1", "bob")),
        (3, 2)
    );
}

#[test]
fn a_voter_replacing_ballots_cannot_fill_the_write_in_list() {
    use votegraph_gateway::governance::tally::WRITE_IN_NAMES_MAX;
    let mut chain = Chain::new();
    open_election(&mut chain, "e1", SecondBallotPolicy::LastCounts);
    let names: Vec<String> = (0..WRITE_IN_NAMES_MAX + 5)
        .map(|i| format!("name {i}"))
        .collect();
    let txs: Vec<_> = names
        .iter()
        .map(|name| {
            (
                key(1),
                Action::CastBallot(write_in("e1", "mayor-write-in", name)).encode(),
            )
        })
        .collect();
    assert!(chain.commit(&txs).iter().all(|o| o.is_ok()));
    let b = Action::CastBallot(write_in("e1", "mayor-write-in", "Zoe"));
    assert!(chain.one(key(2), &b).is_ok());
    let tally = chain.tally("e1");
    let mayor = &tally.contests[0];
    let last = names.last().unwrap().clone();
    // Sorted by name; only the names that count are listed.
    assert_eq!(mayor.write_ins, vec![("Zoe".to_string(), 1), (last, 1)]);
    assert_eq!(chain.count("e1", "mayor-write-in"), 2);
}

#[test]
fn a_contest_listed_without_a_selection_is_rejected() {
    let mut chain = Chain::new();
    open_election(&mut chain, "e1", SecondBallotPolicy::FirstCounts);
    let mut b = ballot("e1", "full", &[("mayor", "alice")]);
    if let Action::CastBallot(ballot) = &mut b {
        ballot.contests[0].selections.clear();
    }
    assert_eq!(reason(&chain.one(key(1), &b)), Reason::EmptyBallot);
}
