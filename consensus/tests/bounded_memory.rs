//! Memory stays bounded over a long run: ancient events leave the DAG after they are ordered,
//! so the number of events held stops growing once consensus is under way, however long the
//! ledger grows.

use votegraph_consensus::sim::{member_set as members, GossipParams, GossipStream};
use votegraph_consensus::{Engine, EngineConfig, InsertOutcome};

#[test]
fn dag_size_stays_flat_over_hundreds_of_thousands_of_events() {
    let total = 300_000;
    let n = 5;
    let mut engine = Engine::new(EngineConfig::default(), members(n), None).unwrap();
    let mut stream = GossipStream::new(&GossipParams::new(n, total, 77));
    let mut peak_first_half = 0;
    let mut peak_second_half = 0;
    for i in 0..total {
        let event = stream.next_event(engine.last_decided_round());
        let outcome = engine.insert(event).expect("honest events are accepted");
        assert!(matches!(outcome, InsertOutcome::Inserted { .. }));
        engine.drain_outputs();
        let held = engine.stats().dag_events;
        if i < total / 2 {
            peak_first_half = peak_first_half.max(held);
        } else {
            peak_second_half = peak_second_half.max(held);
        }
    }
    let stats = engine.stats();
    eprintln!("{stats:?} peak first half {peak_first_half} second half {peak_second_half}");
    assert!(
        stats.events_ordered as usize > total * 9 / 10,
        "consensus kept up"
    );
    assert!(
        stats.events_pruned as usize > total * 8 / 10,
        "ordered events left memory"
    );
    // The window is 2 × 26 rounds of events; a round here takes well under 60 events.
    assert!(
        peak_second_half < 2 * 26 * 60,
        "DAG held {peak_second_half} events"
    );
    assert!(
        peak_second_half <= peak_first_half + peak_first_half / 5,
        "DAG kept growing: {peak_first_half} then {peak_second_half}"
    );
}

#[test]
fn dag_limit_applies_backpressure_instead_of_growing() {
    let config = EngineConfig {
        dag_events_max: 50,
        ..EngineConfig::default()
    };
    // One member of three never gossips, and rounds need a supermajority: no round is decided
    // beyond the first ones, so nothing can be pruned.
    let mut engine = Engine::new(config, members(4), None).unwrap();
    let mut stream = GossipStream::new(&GossipParams::new(4, 0, 5));
    let mut refused = 0;
    for _ in 0..200 {
        let event = stream.next_event(engine.last_decided_round());
        match engine.insert(event) {
            Ok(_) => {}
            Err(e) => {
                assert!(e.is_retryable(), "{e}");
                refused += 1;
            }
        }
        assert!(engine.stats().dag_events <= 50);
    }
    assert!(refused > 0, "the limit was reached and enforced");
}
