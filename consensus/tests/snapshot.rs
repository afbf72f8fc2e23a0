//! Engine snapshots: an engine restored from a snapshot, fed what a recovering validator feeds
//! it (every stored event again, then the new ones), decides exactly what the engine that never
//! stopped decides; and a snapshot that is not the engine's is refused, never trusted. Seeds
//! are printed; `VOTEGRAPH_SEED=n` replays one.

mod common;

use common::{random_topological_order, run, seeds};
use std::collections::HashMap;
use votegraph_consensus::replay::signed_events;
use votegraph_consensus::sim::{generate, GossipParams, SplitMix64};
use votegraph_consensus::snapshot::SnapshotError;
use votegraph_consensus::{Engine, EngineConfig, EventId, MemberSet, Output, Round, VerifiedEvent};

struct Dag {
    events: Vec<VerifiedEvent>,
    order: Vec<usize>,
    members: MemberSet,
    config: EngineConfig,
    fixture: votegraph_consensus::replay::Fixture,
}

/// A weighted random gossip long enough to prune, delivered in a random topological order (so
/// that some events wait in the future buffer).
fn dag(members: usize, events: usize, seed: u64) -> Dag {
    let mut rng = SplitMix64::new(seed ^ 0x5a4e);
    let mut params = GossipParams::new(members, events, seed);
    params.weights = Some((0..members).map(|_| 1 + rng.below(4)).collect());
    params.transactions_per_event = 1;
    params.transaction_bytes = 24;
    let fixture = generate(&params);
    let order = random_topological_order(&fixture, &mut rng);
    Dag {
        events: signed_events(&fixture).unwrap(),
        order,
        members: fixture.member_set().unwrap(),
        config: EngineConfig {
            ancient_window_rounds: 8,
            future_window_rounds: 26,
            ..EngineConfig::default()
        },
        fixture,
    }
}

/// What an engine decided from some moment on, comparable across runs.
#[derive(Debug, Default, PartialEq, Eq)]
struct Decisions {
    /// (order index, id, round received, consensus timestamp, transaction timestamps)
    order: Vec<(u64, EventId, Round, u64, Vec<u64>)>,
    fame: Vec<(EventId, bool)>,
    rounds_decided: Vec<(Round, Vec<EventId>)>,
}

impl Decisions {
    fn absorb(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Ordered(o) => self.order.push((
                    o.order,
                    o.event.id(),
                    o.round_received,
                    o.consensus_timestamp_ns,
                    o.transaction_timestamps_ns,
                )),
                Output::FameDecided {
                    witness, famous, ..
                } => self.fame.push((witness, famous)),
                Output::RoundDecided { round, judges } => self.rounds_decided.push((round, judges)),
                _ => {}
            }
        }
    }
}

/// The engine of `bytes`, restored for `local` with the DAG's configuration and events.
fn restore(
    dag: &Dag,
    local: Option<(votegraph_consensus::MemberId, ed25519_dalek::SigningKey)>,
    bytes: &[u8],
) -> Result<Engine, SnapshotError> {
    Engine::restore(
        dag.config.clone(),
        dag.members.clone(),
        local,
        bytes,
        &mut lookup(&dag.events),
    )
}

fn lookup(events: &[VerifiedEvent]) -> impl FnMut(&EventId) -> Option<VerifiedEvent> + '_ {
    let by_id: HashMap<EventId, &VerifiedEvent> = events.iter().map(|e| (e.id(), e)).collect();
    move |id| by_id.get(id).map(|e| (*e).clone())
}

/// What a restarted validator does: restore the snapshot taken after `cut` events, insert every
/// event stored so far again (held ones are duplicates, old ones ancient, buffered ones wait
/// again), then the rest as they arrive.
fn restart_at(dag: &Dag, cut: usize) -> Decisions {
    let (before, _) = run(
        &dag.events,
        &dag.order[..cut],
        &dag.fixture,
        dag.config.clone(),
    );
    let bytes = before.snapshot();
    let mut restored = restore(dag, None, &bytes).unwrap();
    assert_eq!(
        restored.stats().last_decided_round,
        before.last_decided_round()
    );
    let mut decisions = Decisions::default();
    for &i in &dag.order {
        restored.insert(dag.events[i].clone()).unwrap();
        decisions.absorb(restored.drain_outputs());
    }
    decisions
}

/// The decisions of an engine that never stopped, from the moment of the cut on.
fn after_cut(dag: &Dag, cut: usize) -> Decisions {
    let (engine, _) = run(
        &dag.events,
        &dag.order[..cut],
        &dag.fixture,
        dag.config.clone(),
    );
    let mut engine = engine;
    let mut decisions = Decisions::default();
    for &i in &dag.order[cut..] {
        engine.insert(dag.events[i].clone()).unwrap();
        decisions.absorb(engine.drain_outputs());
    }
    decisions
}

#[test]
fn a_restored_engine_decides_exactly_what_the_engine_that_never_stopped_decides() {
    for (members, seed) in [(4, 11), (7, 12)]
        .into_iter()
        .flat_map(|(m, base)| seeds(base, 2).into_iter().map(move |s| (m, s)))
    {
        let dag = dag(members, 2000, seed);
        let mut rng = SplitMix64::new(seed);
        let cuts = [
            0,
            1 + rng.below(1999) as usize,
            1 + rng.below(1999) as usize,
        ];
        for cut in cuts {
            eprintln!("seed {seed}: {members} members, snapshot after {cut} events");
            let expected = after_cut(&dag, cut);
            let got = restart_at(&dag, cut);
            assert!(
                !expected.order.is_empty(),
                "seed {seed}: nothing ordered after the cut"
            );
            assert_eq!(got.order, expected.order, "seed {seed} cut {cut}: order");
            assert_eq!(got.fame, expected.fame, "seed {seed} cut {cut}: fame");
            assert_eq!(
                got.rounds_decided, expected.rounds_decided,
                "seed {seed} cut {cut}: rounds decided"
            );
        }
    }
}

#[test]
fn a_snapshot_survives_pruning_and_restores_to_the_same_bytes() {
    for seed in seeds(13, 3) {
        let dag = dag(5, 2500, seed);
        let (engine, _) = run(&dag.events, &dag.order, &dag.fixture, dag.config.clone());
        eprintln!("seed {seed}: {:?}", engine.stats());
        assert!(engine.stats().events_pruned > 0, "seed {seed}: no pruning");
        let bytes = engine.snapshot();
        let restored = restore(&dag, None, &bytes).unwrap();
        assert_eq!(restored.snapshot(), bytes, "seed {seed}");
        let stats = |e: &Engine| {
            let mut s = e.stats();
            s.future_events = 0;
            s
        };
        assert_eq!(stats(&restored), stats(&engine), "seed {seed}");
    }
}

#[test]
fn a_snapshot_is_refused_for_another_configuration_set_or_version() {
    let dag = dag(4, 600, 21);
    let (engine, _) = run(&dag.events, &dag.order, &dag.fixture, dag.config.clone());
    let bytes = engine.snapshot();
    let restore = |config: EngineConfig, members: MemberSet, bytes: &[u8]| {
        Engine::restore(config, members, None, bytes, &mut lookup(&dag.events))
    };
    let wider = EngineConfig {
        ancient_window_rounds: 9,
        ..dag.config.clone()
    };
    assert!(matches!(
        restore(wider, dag.members.clone(), &bytes),
        Err(SnapshotError::Mismatch { .. })
    ));
    let five = votegraph_consensus::sim::member_set(5);
    assert!(matches!(
        restore(dag.config.clone(), five, &bytes),
        Err(SnapshotError::Mismatch { .. })
    ));
    let equal_weights = votegraph_consensus::sim::member_set(4);
    assert!(matches!(
        restore(dag.config.clone(), equal_weights, &bytes),
        Err(SnapshotError::Mismatch { .. })
    ));
    let mut other_version = bytes.clone();
    other_version[0] = 2;
    assert!(matches!(
        restore(dag.config.clone(), dag.members.clone(), &other_version),
        Err(SnapshotError::Version { found: 2, .. })
    ));
    let missing = Engine::restore(
        dag.config.clone(),
        dag.members.clone(),
        None,
        &bytes,
        &mut |_| None,
    );
    assert!(matches!(missing, Err(SnapshotError::MissingEvent(_))));
}

#[test]
fn damaged_snapshots_are_refused_or_restored_but_never_panic() {
    let dag = dag(4, 400, 31);
    let (engine, _) = run(&dag.events, &dag.order, &dag.fixture, dag.config.clone());
    let bytes = engine.snapshot();
    let mut refused = 0;
    for seed in seeds(32, 300) {
        let mut rng = SplitMix64::new(seed);
        let mut damaged = bytes.clone();
        match rng.below(3) {
            0 => damaged.truncate(rng.below(bytes.len() as u64) as usize),
            _ => {
                let at = rng.below(bytes.len() as u64) as usize;
                damaged[at] ^= 1 << rng.below(8);
            }
        }
        let result = restore(&dag, None, &damaged);
        refused += usize::from(result.is_err());
    }
    assert!(refused > 0, "no damaged snapshot was refused");
}

/// A snapshot is one member's memory, its own chain included: restored for another member (a
/// ledger restored from a peer's backup) it is refused, and for the same member its next event
/// continues its own chain.
#[test]
fn a_snapshot_is_restored_only_for_the_member_that_took_it() {
    use votegraph_consensus::sim::member_name;
    use votegraph_consensus::test_keys::signing_key_for;
    use votegraph_consensus::MemberId;
    let dag = dag(4, 800, 41);
    let local = |m: u32| Some((MemberId(m), signing_key_for(&member_name(m as usize))));
    let mut engine = Engine::new(dag.config.clone(), dag.members.clone(), local(0)).unwrap();
    for &i in &dag.order {
        engine.insert(dag.events[i].clone()).unwrap();
        engine.drain_outputs();
    }
    let bytes = engine.snapshot();
    let restore = |local| restore(&dag, local, &bytes);
    assert!(matches!(
        restore(local(1)),
        Err(SnapshotError::OtherMember {
            taken_by: Some(0),
            restoring: Some(1)
        })
    ));
    assert!(matches!(
        restore(None),
        Err(SnapshotError::OtherMember { .. })
    ));
    let mut restored = restore(local(0)).unwrap();
    let created = restored
        .create_event(u64::MAX / 2, None, Vec::new())
        .unwrap();
    let latest_own = dag
        .events
        .iter()
        .filter(|e| e.creator() == MemberId(0))
        .map(|e| e.creator_seq())
        .max()
        .unwrap();
    assert_eq!(created.creator_seq(), latest_own + 1);
}
