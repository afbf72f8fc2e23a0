//! One member flooding events within one birth round fills only its own share of the engine's
//! memory: the other members' events are still taken in and rounds are still decided. Without
//! shares (events admitted as trusted) the same flood fills the whole DAG and stalls them.

use votegraph_consensus::encoding::{ParentRef, UnsignedEvent};
use votegraph_consensus::sim::{member_name, member_set, GossipParams, GossipStream};
use votegraph_consensus::test_keys::signing_key_for;
use votegraph_consensus::{
    Admission, Engine, EngineConfig, InsertOutcome, InsertRejection, MemberId, Round, VerifiedEvent,
};

const MEMBERS: usize = 4;
const FLOODER: usize = 3;
const DAG_EVENTS_MAX: usize = 4_000;

fn config() -> EngineConfig {
    EngineConfig {
        dag_events_max: DAG_EVENTS_MAX,
        future_buffer_events_max: 40,
        ..EngineConfig::default()
    }
}

/// A chain of `count` events by the flooder, all born in `birth_round`, with no other-parent.
fn flood(count: usize, birth_round: Round) -> Vec<VerifiedEvent> {
    let key = signing_key_for(&member_name(FLOODER));
    let mut chain: Vec<VerifiedEvent> = Vec::with_capacity(count);
    for seq in 0..count as u64 {
        let self_parent = chain.last().map(|e| ParentRef {
            id: e.id(),
            birth_round: e.birth_round(),
        });
        let unsigned = UnsignedEvent {
            creator: MemberId(FLOODER as u32),
            creator_seq: seq,
            birth_round,
            timestamp_ns: 1_000 + seq,
            self_parent,
            other_parent: None,
            transactions: Vec::new(),
        };
        chain.push(VerifiedEvent::sign(unsigned, &key));
    }
    chain
}

/// Gossip among members 0 to 2 (a supermajority of the four), each event admitted as `admission`;
/// returns how many were refused.
fn honest_gossip(engine: &mut Engine, events: usize, admission: Admission) -> usize {
    let mut stream = GossipStream::new(&GossipParams::new(FLOODER, 0, 11));
    let mut refused = 0;
    for _ in 0..events {
        let event = stream.next_event(engine.last_decided_round());
        if engine.admit(event, admission).is_err() {
            refused += 1;
        }
        engine.drain_outputs();
    }
    refused
}

#[test]
fn a_flood_within_one_birth_round_fills_only_its_creators_share_and_rounds_go_on() {
    let mut engine = Engine::new(config(), member_set(MEMBERS), None).unwrap();
    let share = DAG_EVENTS_MAX / MEMBERS;
    let mut refused = 0;
    for event in flood(3 * share, 1) {
        match engine.admit(event, Admission::Shared) {
            Ok(InsertOutcome::Inserted { .. }) => {}
            Err(e) => {
                assert!(e.is_retryable(), "{e}");
                assert!(matches!(
                    e.reason,
                    InsertRejection::CreatorShareFull { held, .. } if held == share
                ));
                refused += 1;
            }
            Ok(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        refused,
        2 * share,
        "beyond its share every flood event is refused"
    );
    let decided_before = engine.last_decided_round();
    assert_eq!(honest_gossip(&mut engine, 3_000, Admission::Shared), 0);
    assert!(
        engine.last_decided_round() > decided_before + 30,
        "rounds went on being decided: {}",
        engine.last_decided_round()
    );
}

#[test]
fn without_shares_the_same_flood_fills_the_dag_and_the_others_are_refused() {
    let mut engine = Engine::new(config(), member_set(MEMBERS), None).unwrap();
    for event in flood(DAG_EVENTS_MAX, 1) {
        engine.admit(event, Admission::Trusted).unwrap();
    }
    assert_eq!(honest_gossip(&mut engine, 300, Admission::Trusted), 300);
    assert_eq!(engine.last_decided_round(), 0, "nothing is decided");
}

#[test]
fn an_event_another_member_needs_is_taken_beyond_its_creators_share() {
    let mut engine = Engine::new(config(), member_set(MEMBERS), None).unwrap();
    let share = DAG_EVENTS_MAX / MEMBERS;
    let chain = flood(share + 2, 1);
    for event in &chain[..share] {
        engine.admit(event.clone(), Admission::Shared).unwrap();
    }
    let over = chain[share].clone();
    let refused = engine.admit(over.clone(), Admission::Shared).unwrap_err();
    assert!(matches!(
        refused.reason,
        InsertRejection::CreatorShareFull { .. }
    ));
    assert!(matches!(
        engine.admit(over, Admission::Needed),
        Ok(InsertOutcome::Inserted { .. })
    ));
}

#[test]
fn a_flood_born_ahead_fills_only_its_creators_share_of_the_future_buffer() {
    let mut engine = Engine::new(config(), member_set(MEMBERS), None).unwrap();
    let future_share = 40 / MEMBERS;
    let outcomes: Vec<_> = flood(3 * future_share, 5)
        .into_iter()
        .map(|e| engine.admit(e, Admission::Shared))
        .collect();
    let buffered = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(InsertOutcome::Buffered)))
        .count();
    assert_eq!(buffered, future_share);
    assert!(outcomes.iter().flatten().count() == future_share);
    let first_refused = outcomes[future_share].as_ref().unwrap_err();
    assert!(
        matches!(
            first_refused.reason,
            InsertRejection::FutureShareFull { .. }
        ),
        "{first_refused}"
    );
    // The rest of the chain then lacks its refused parent.
    assert!(outcomes
        .iter()
        .filter_map(|o| o.as_ref().err())
        .all(|e| e.is_retryable()));
    let mut stream = GossipStream::new(&GossipParams::new(FLOODER, 0, 12));
    let honest_ahead = stream.next_event(4);
    assert_eq!(
        engine.admit(honest_ahead, Admission::Shared).unwrap(),
        InsertOutcome::Buffered,
        "another member's event born ahead is still buffered"
    );
}
