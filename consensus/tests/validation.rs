//! Contextual validation in `Engine::insert`: every rejection names its reason and carries the
//! offending event; unknown parents are reported for fetching; duplicates, future and ancient
//! events are handled without harm. And `create_event` builds valid events of the local member.

use votegraph_consensus::encoding::{ParentRef, UnsignedEvent};
use votegraph_consensus::test_keys::signing_key_for;
use votegraph_consensus::{
    CreateError, Engine, EngineConfig, InsertOutcome, InsertRejection, MemberId, MemberSet, Output,
    VerifiedEvent,
};

const NAMES: [&str; 4] = ["a", "b", "c", "d"];

fn members() -> MemberSet {
    votegraph_consensus::test_keys::member_set(NAMES.iter().map(|n| (*n, 1))).unwrap()
}

fn observer() -> Engine {
    Engine::new(EngineConfig::default(), members(), None).unwrap()
}

fn event(
    creator: u32,
    seq: u64,
    ts: u64,
    sp: Option<&VerifiedEvent>,
    op: Option<&VerifiedEvent>,
) -> VerifiedEvent {
    let parent = |e: Option<&VerifiedEvent>| {
        e.map(|e| ParentRef {
            id: e.id(),
            birth_round: e.birth_round(),
        })
    };
    let unsigned = UnsignedEvent {
        creator: MemberId(creator),
        creator_seq: seq,
        birth_round: 1,
        timestamp_ns: ts,
        self_parent: parent(sp),
        other_parent: parent(op),
        transactions: vec![],
    };
    VerifiedEvent::sign(unsigned, &signing_key_for(NAMES[creator as usize]))
}

fn rejection(engine: &mut Engine, e: VerifiedEvent) -> InsertRejection {
    let err = engine.insert(e.clone()).unwrap_err();
    assert_eq!(*err.event, e, "the error carries the offending event");
    err.reason
}

#[test]
fn unknown_parents_are_reported_for_fetching_and_the_event_is_accepted_afterwards() {
    let mut engine = observer();
    let a0 = event(0, 0, 10, None, None);
    let b0 = event(1, 0, 11, None, None);
    let a1 = event(0, 1, 20, Some(&a0), Some(&b0));
    match rejection(&mut engine, a1.clone()) {
        InsertRejection::MissingParents(ids) => assert_eq!(ids, vec![a0.id(), b0.id()]),
        other => panic!("unexpected {other:?}"),
    }
    engine.insert(a0).unwrap();
    engine.insert(b0).unwrap();
    assert!(matches!(
        engine.insert(a1).unwrap(),
        InsertOutcome::Inserted { round: 1, .. }
    ));
}

#[test]
fn self_parent_must_be_the_creators_own_previous_event() {
    let mut engine = observer();
    let a0 = event(0, 0, 10, None, None);
    let b0 = event(1, 0, 11, None, None);
    engine.insert(a0.clone()).unwrap();
    engine.insert(b0.clone()).unwrap();
    assert_eq!(
        rejection(&mut engine, event(0, 1, 20, Some(&b0), None)),
        InsertRejection::SelfParentWrongCreator {
            parent: b0.id(),
            parent_creator: MemberId(1)
        }
    );
    assert_eq!(
        rejection(&mut engine, event(0, 2, 20, Some(&a0), None)),
        InsertRejection::SequenceGap {
            got: 2,
            parent_seq: 0
        }
    );
    assert_eq!(
        rejection(&mut engine, event(0, 1, 10, Some(&a0), None)),
        InsertRejection::TimestampNotIncreasing {
            got: 10,
            parent: 10
        }
    );
}

#[test]
fn a_parent_reference_with_a_wrong_birth_round_is_rejected() {
    let mut engine = observer();
    let a0 = event(0, 0, 10, None, None);
    engine.insert(a0.clone()).unwrap();
    let unsigned = UnsignedEvent {
        creator: MemberId(0),
        creator_seq: 1,
        birth_round: 1,
        timestamp_ns: 20,
        self_parent: Some(ParentRef {
            id: a0.id(),
            birth_round: 0,
        }),
        other_parent: None,
        transactions: vec![],
    };
    let lying = VerifiedEvent::sign(unsigned, &signing_key_for("a"));
    assert_eq!(
        rejection(&mut engine, lying),
        InsertRejection::ParentBirthRoundMismatch {
            parent: a0.id(),
            claimed: 0,
            actual: 1
        }
    );
}

#[test]
fn duplicates_are_harmless_and_forks_are_reported_with_both_events() {
    let mut engine = observer();
    let a0 = event(0, 0, 10, None, None);
    assert!(matches!(
        engine.insert(a0.clone()).unwrap(),
        InsertOutcome::Inserted { .. }
    ));
    assert_eq!(engine.insert(a0.clone()).unwrap(), InsertOutcome::Duplicate);
    let a0_fork = event(0, 0, 11, None, None);
    engine.insert(a0_fork.clone()).unwrap();
    let proofs: Vec<_> = engine
        .drain_outputs()
        .into_iter()
        .filter_map(|o| match o {
            Output::Equivocation(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(proofs.len(), 1);
    assert_eq!(proofs[0].first.id(), a0.id());
    assert_eq!(proofs[0].second.id(), a0_fork.id());
    assert_eq!(engine.forked_members(), vec![MemberId(0)]);
    assert_eq!(engine.stats().forks_seen, 1);
}

#[test]
fn future_buffer_is_bounded() {
    let config = EngineConfig {
        future_buffer_events_max: 1,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(config, members(), None).unwrap();
    let ahead = |creator: u32| {
        let unsigned = UnsignedEvent {
            creator: MemberId(creator),
            creator_seq: 0,
            birth_round: 5,
            timestamp_ns: 1,
            self_parent: None,
            other_parent: None,
            transactions: vec![],
        };
        VerifiedEvent::sign(unsigned, &signing_key_for(NAMES[creator as usize]))
    };
    assert_eq!(engine.insert(ahead(0)).unwrap(), InsertOutcome::Buffered);
    assert_eq!(engine.insert(ahead(0)).unwrap(), InsertOutcome::Duplicate);
    let err = engine.insert(ahead(1)).unwrap_err();
    assert!(
        matches!(
            err.reason,
            InsertRejection::FutureBufferFull { events: 1, .. }
        ),
        "{err}"
    );
    assert!(err.is_retryable());
}

/// An event born ahead of the node's round names a parent the node lacks: the parent is
/// reported for fetching at once. Buffered, the child would wait for a round that may need
/// the very parent (the other branch of a fork, which sequence vectors cannot name).
#[test]
fn a_future_event_with_an_unheld_parent_is_reported_missing_not_buffered() {
    let mut engine = observer();
    let born_ahead = |creator: u32, seq: u64, sp: Option<&VerifiedEvent>| {
        let unsigned = UnsignedEvent {
            creator: MemberId(creator),
            creator_seq: seq,
            birth_round: 3,
            timestamp_ns: 10 + seq,
            self_parent: sp.map(|e| ParentRef {
                id: e.id(),
                birth_round: e.birth_round(),
            }),
            other_parent: None,
            transactions: vec![],
        };
        VerifiedEvent::sign(unsigned, &signing_key_for(NAMES[creator as usize]))
    };
    let a0 = born_ahead(0, 0, None);
    let a1 = born_ahead(0, 1, Some(&a0));
    match rejection(&mut engine, a1.clone()) {
        InsertRejection::MissingParents(ids) => assert_eq!(ids, vec![a0.id()]),
        other => panic!("unexpected {other:?}"),
    }
    // A parent waiting in the future buffer counts as held.
    assert_eq!(engine.insert(a0).unwrap(), InsertOutcome::Buffered);
    assert_eq!(engine.insert(a1).unwrap(), InsertOutcome::Buffered);
}

#[test]
fn create_event_chains_own_events_and_refuses_bad_parents() {
    let key = signing_key_for("a");
    let mut engine =
        Engine::new(EngineConfig::default(), members(), Some((MemberId(0), key))).unwrap();
    let first = engine
        .create_event(100, None, vec![b"ballot".to_vec()])
        .unwrap();
    assert_eq!(first.creator_seq(), 0);
    assert_eq!(first.birth_round(), 1);
    let b0 = event(1, 0, 50, None, None);
    engine.insert(b0.clone()).unwrap();
    // A clock that went backwards still yields a strictly later timestamp.
    let second = engine.create_event(90, Some(b0.id()), vec![]).unwrap();
    assert_eq!(second.creator_seq(), 1);
    assert_eq!(second.timestamp_ns(), 101);
    assert_eq!(second.self_parent().unwrap().id, first.id());
    assert_eq!(second.other_parent().unwrap().id, b0.id());
    assert!(engine.contains(&second.id()));
    let unknown = event(2, 0, 1, None, None).id();
    assert_eq!(
        engine.create_event(200, Some(unknown), vec![]).unwrap_err(),
        CreateError::UnknownOtherParent(unknown)
    );
    assert_eq!(
        engine
            .create_event(200, Some(first.id()), vec![])
            .unwrap_err(),
        CreateError::OtherParentIsOwn(first.id())
    );
    let observer_err = observer().create_event(1, None, vec![]).unwrap_err();
    assert_eq!(observer_err, CreateError::NoLocalMember);
}

#[test]
fn created_events_verify_as_received_events_elsewhere() {
    let key = signing_key_for("b");
    let mut engine =
        Engine::new(EngineConfig::default(), members(), Some((MemberId(1), key))).unwrap();
    let created = engine.create_event(7, None, vec![vec![1, 2, 3]]).unwrap();
    let wire = created.to_unchecked().encode();
    let received = votegraph_consensus::UncheckedEvent::decode(&wire, &Default::default())
        .unwrap()
        .verify(&members(), &Default::default())
        .unwrap();
    assert_eq!(received, *created);
    let mut peer = observer();
    assert!(matches!(
        peer.insert(received).unwrap(),
        InsertOutcome::Inserted { .. }
    ));
}

#[test]
fn a_single_member_network_reaches_consensus() {
    let set = votegraph_consensus::test_keys::member_set([("solo", 1)]).unwrap();
    let mut engine = Engine::new(
        EngineConfig::default(),
        set,
        Some((MemberId(0), signing_key_for("solo"))),
    )
    .unwrap();
    for t in 0..10 {
        engine
            .create_event(100 + t, None, vec![format!("tx {t}").into_bytes()])
            .unwrap();
    }
    let ordered = engine
        .drain_outputs()
        .into_iter()
        .filter(|o| matches!(o, Output::Ordered(_)))
        .count();
    assert!(
        ordered >= 7,
        "each event is its own round; {ordered} ordered"
    );
}

/// A member that restarts its chain behind a self-parent claimed to be ancient (so that no
/// sequence number collides) while its real chain is still recent has forked: the engine must
/// say so and treat the two chains as a fork.
#[test]
fn a_chain_restarted_behind_an_ancient_self_parent_is_a_reported_fork() {
    let (mut engine, last_timestamp) = twelve_rounds_with_window_3(4, 3);
    let birth_round = engine.last_decided_round() + 1;
    let unsigned = UnsignedEvent {
        creator: MemberId(3),
        creator_seq: 1_000_000,
        birth_round,
        timestamp_ns: last_timestamp + 1,
        self_parent: Some(ParentRef {
            id: votegraph_consensus::EventId([7; 32]),
            birth_round: 1,
        }),
        other_parent: None,
        transactions: vec![],
    };
    let restarted = VerifiedEvent::sign(unsigned, &signing_key_for("m3"));
    assert!(matches!(
        engine.insert(restarted.clone()).unwrap(),
        InsertOutcome::Inserted { .. }
    ));
    let proofs: Vec<_> = engine
        .drain_outputs()
        .into_iter()
        .filter_map(|o| match o {
            Output::Equivocation(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(proofs.len(), 1, "the restarted chain is reported once");
    assert_eq!(proofs[0].second.id(), restarted.id());
    assert_eq!(proofs[0].first.creator(), MemberId(3));
    assert_eq!(engine.forked_members(), vec![MemberId(3)]);
}

#[test]
fn a_parent_claimed_in_birth_round_zero_is_invalid() {
    let a0 = event(0, 0, 10, None, None);
    let mut e = event(0, 1, 20, Some(&a0), None).to_unchecked();
    e.unsigned.self_parent.as_mut().unwrap().birth_round = 0;
    let resigned = VerifiedEvent::sign(e.unsigned, &signing_key_for("a")).to_unchecked();
    let err = resigned
        .verify(&members(), &Default::default())
        .unwrap_err();
    assert_eq!(
        err.reason,
        votegraph_consensus::InvalidReason::BirthRoundZero
    );
}

/// Four of five members gossip (a supermajority) with an ancient window of 3 rounds, until 12
/// rounds are decided; then the fifth member's first event arrives, born in some round.
fn late_first_event(
    birth_round_behind: u64,
) -> (
    Engine,
    Result<InsertOutcome, votegraph_consensus::InsertError>,
    VerifiedEvent,
) {
    let (mut engine, _) = twelve_rounds_with_window_3(5, 4);
    let unsigned = UnsignedEvent {
        creator: MemberId(4),
        creator_seq: 0,
        birth_round: engine.last_decided_round() + 1 - birth_round_behind,
        timestamp_ns: 1,
        self_parent: None,
        other_parent: None,
        transactions: vec![],
    };
    let late = VerifiedEvent::sign(unsigned, &signing_key_for("m4"));
    let outcome = engine.insert(late.clone());
    (engine, outcome, late)
}

#[test]
fn an_event_born_ancient_joins_the_dag_as_stale_and_is_never_ordered() {
    // Decided 12, window 3: ancient below 9, forgotten below 6. Born in round 7.
    let (mut engine, outcome, late) = late_first_event(6);
    assert!(matches!(outcome.unwrap(), InsertOutcome::Inserted { .. }));
    assert!(engine.contains(&late.id()), "kept as a possible parent");
    let outputs = engine.drain_outputs();
    assert!(outputs.contains(&Output::Stale { id: late.id() }));
    assert!(!engine.status(&late.id()).unwrap().ordered);
}

#[test]
fn an_event_born_two_windows_behind_is_dropped() {
    // Born in round 5, below the forgotten bound 6.
    let (engine, outcome, late) = late_first_event(8);
    assert_eq!(outcome.unwrap(), InsertOutcome::Ancient);
    assert!(!engine.contains(&late.id()));
    assert_eq!(engine.stats().events_ancient_dropped, 1);
}

#[test]
fn an_event_born_too_far_ahead_is_refused_for_now() {
    let mut engine = observer();
    let window = engine.config().future_window_rounds;
    let unsigned = UnsignedEvent {
        creator: MemberId(2),
        creator_seq: 0,
        birth_round: 1 + window + 1,
        timestamp_ns: 1,
        self_parent: None,
        other_parent: None,
        transactions: vec![],
    };
    let ahead = VerifiedEvent::sign(unsigned, &signing_key_for("c"));
    let err = engine.insert(ahead).unwrap_err();
    assert_eq!(
        err.reason,
        InsertRejection::TooFarAhead {
            birth_round: window + 2,
            next_round: 1,
            window
        }
    );
    assert!(err.is_retryable());
}

#[test]
fn a_future_child_arriving_before_its_parent_is_buffered_after_it_and_released_after_it() {
    let mut engine = observer();
    let ahead = |creator: u32, seq: u64, ts: u64, sp: Option<&VerifiedEvent>| {
        let unsigned = UnsignedEvent {
            creator: MemberId(creator),
            creator_seq: seq,
            birth_round: 2,
            timestamp_ns: ts,
            self_parent: sp.map(|p| ParentRef {
                id: p.id(),
                birth_round: p.birth_round(),
            }),
            other_parent: None,
            transactions: vec![],
        };
        VerifiedEvent::sign(unsigned, &signing_key_for(NAMES[creator as usize]))
    };
    let parent = ahead(3, 0, 1, None);
    let child = ahead(3, 1, 2, Some(&parent));
    match rejection(&mut engine, child.clone()) {
        InsertRejection::MissingParents(ids) => assert_eq!(ids, vec![parent.id()]),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        engine.insert(parent.clone()).unwrap(),
        InsertOutcome::Buffered
    );
    assert_eq!(
        engine.insert(child.clone()).unwrap(),
        InsertOutcome::Buffered
    );
    // Drive consensus to round 1 with the four members' regular cycle.
    let mut last: Vec<Option<VerifiedEvent>> = vec![None; 4];
    let mut ts = 100;
    while engine.last_decided_round() < 1 {
        for m in 0..3u32 {
            ts += 1;
            let prev = (m + 2) % 3;
            let e = event(
                m,
                last[m as usize].as_ref().map_or(0, |e| e.creator_seq() + 1),
                ts,
                last[m as usize].as_ref(),
                last[prev as usize].as_ref(),
            );
            engine.insert(e.clone()).unwrap();
            last[m as usize] = Some(e);
        }
    }
    assert!(engine.contains(&parent.id()));
    assert!(
        engine.contains(&child.id()),
        "the child waited for its parent"
    );
    assert!(!engine
        .drain_outputs()
        .iter()
        .any(|o| matches!(o, Output::ReleasedEventRefused { .. })));
}

/// An honest member partitioned for longer than the ancient window rejoins: its new event's
/// self-parent is beyond the horizon, so consensus starts a new self-chain for it. Its old
/// events may reach a node after the new one; that is no fork, whatever the arrival order.
#[test]
fn an_honest_member_rejoining_after_a_long_partition_is_not_reported_as_forking() {
    let (mut engine, last_timestamp) = twelve_rounds_with_window_3(5, 6);
    // Decided 12, window 3: m4's old chain was born in round 8 (ancient, not yet forgotten).
    let key = signing_key_for("m4");
    let sign = |seq: u64, birth: u64, ts: u64, sp: Option<&VerifiedEvent>| {
        let unsigned = UnsignedEvent {
            creator: MemberId(4),
            creator_seq: seq,
            birth_round: birth,
            timestamp_ns: ts,
            self_parent: sp.map(|p| ParentRef {
                id: p.id(),
                birth_round: p.birth_round(),
            }),
            other_parent: None,
            transactions: vec![],
        };
        VerifiedEvent::sign(unsigned, &key)
    };
    let old0 = sign(0, 8, 1, None);
    let old1 = sign(1, 8, 2, Some(&old0));
    let rejoined = sign(2, 13, last_timestamp + 1, Some(&old1));
    for event in [rejoined, old0, old1] {
        assert!(matches!(
            engine.insert(event).unwrap(),
            InsertOutcome::Inserted { .. }
        ));
    }
    let outputs = engine.drain_outputs();
    assert!(
        !outputs.iter().any(|o| matches!(o, Output::Equivocation(_))),
        "no fork is reported for an honest member"
    );
    assert!(engine.forked_members().is_empty());
}

#[test]
fn a_long_buffered_chain_is_released_in_one_pass() {
    let mut engine = observer();
    let key = signing_key_for("d");
    let mut chain: Vec<VerifiedEvent> = Vec::new();
    for seq in 0..2000u64 {
        let unsigned = UnsignedEvent {
            creator: MemberId(3),
            creator_seq: seq,
            birth_round: 2,
            timestamp_ns: seq + 1,
            self_parent: chain.last().map(|p| ParentRef {
                id: p.id(),
                birth_round: 2,
            }),
            other_parent: None,
            transactions: vec![],
        };
        chain.push(VerifiedEvent::sign(unsigned, &key));
    }
    for event in &chain {
        assert_eq!(
            engine.insert(event.clone()).unwrap(),
            InsertOutcome::Buffered
        );
    }
    let mut last: Vec<Option<VerifiedEvent>> = vec![None; 4];
    let mut ts = 100_000;
    while engine.last_decided_round() < 1 {
        for m in 0..3u32 {
            ts += 1;
            let sp = last[m as usize].clone();
            let op = last[((m + 2) % 3) as usize].clone();
            let seq = sp.as_ref().map_or(0, |e| e.creator_seq() + 1);
            let e = event(m, seq, ts, sp.as_ref(), op.as_ref());
            engine.insert(e.clone()).unwrap();
            last[m as usize] = Some(e);
        }
    }
    assert!(
        chain.iter().all(|e| engine.contains(&e.id())),
        "the whole chain was released"
    );
}

/// An observer of `members` members, four of which (m0..m3) gossip with an ancient window of 3
/// rounds until 12 rounds are decided; returns it and the last gossip timestamp.
fn twelve_rounds_with_window_3(members: usize, seed: u64) -> (Engine, u64) {
    use votegraph_consensus::sim::{member_set, GossipParams, GossipStream};
    let config = EngineConfig {
        ancient_window_rounds: 3,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(config, member_set(members), None).unwrap();
    let mut stream = GossipStream::new(&GossipParams::new(4, 0, seed));
    let mut last_timestamp = 0;
    while engine.last_decided_round() < 12 {
        let event = stream.next_event(engine.last_decided_round());
        last_timestamp = event.timestamp_ns();
        engine.insert(event).unwrap();
    }
    engine.drain_outputs();
    (engine, last_timestamp)
}
