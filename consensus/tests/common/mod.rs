//! Helpers shared by the integration tests of the engine.
#![allow(dead_code)]

use std::collections::BTreeMap;
use votegraph_consensus::replay::{Fixture, FixtureEvent};
use votegraph_consensus::sim::SplitMix64;
use votegraph_consensus::{Engine, EngineConfig, EventId, Output, Round, VerifiedEvent};

/// Builds a fixture from `(id, creator, self_parent, other_parent, timestamp)` rows; the
/// creator is the first letter of the id, upper-cased.
pub fn fixture(members: &[&str], rows: &[(&str, Option<&str>, Option<&str>, u64)]) -> Fixture {
    Fixture {
        members: members.iter().map(|m| m.to_string()).collect(),
        weights: None,
        coin_frequency: None,
        events: rows
            .iter()
            .map(|(id, sp, op, ts)| FixtureEvent {
                id: id.to_string(),
                creator: id[..1].to_uppercase(),
                self_parent: sp.map(str::to_string),
                other_parent: op.map(str::to_string),
                timestamp: *ts,
                birth_round: None,
                transactions: Vec::new(),
            })
            .collect(),
    }
}

/// [`fixture`] for rows built at run time, as owned strings.
pub fn owned_fixture(
    members: &[&str],
    rows: &[(String, Option<String>, Option<String>, u64)],
) -> Fixture {
    let rows: Vec<_> = rows
        .iter()
        .map(|(id, sp, op, ts)| (id.as_str(), sp.as_deref(), op.as_deref(), *ts))
        .collect();
    fixture(members, &rows)
}

/// Everything an engine decided, in a form that compares across runs.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decisions {
    pub rounds: BTreeMap<EventId, (Round, bool)>,
    pub fame: BTreeMap<EventId, bool>,
    /// (id, round received, consensus timestamp, transaction timestamps) in order.
    pub order: Vec<(EventId, Round, u64, Vec<u64>)>,
    pub rounds_decided: Vec<(Round, Vec<EventId>)>,
    pub forks: Vec<(EventId, EventId)>,
}

impl Decisions {
    pub fn absorb(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::FameDecided {
                    witness, famous, ..
                } => {
                    assert!(
                        self.fame.insert(witness, famous).is_none(),
                        "fame decided twice"
                    );
                }
                Output::Ordered(o) => {
                    assert_eq!(o.order as usize, self.order.len(), "order has a gap");
                    self.order.push((
                        o.event.id(),
                        o.round_received,
                        o.consensus_timestamp_ns,
                        o.transaction_timestamps_ns.clone(),
                    ));
                }
                Output::RoundDecided { round, judges } => self.rounds_decided.push((round, judges)),
                Output::Equivocation(p) => self.forks.push((p.first.id(), p.second.id())),
                Output::Stale { .. } | Output::ReleasedEventRefused { .. } => {}
            }
        }
    }
}

/// Inserts events in the given order into a fresh observer engine; returns what it decided.
pub fn run(
    events: &[VerifiedEvent],
    order: &[usize],
    fixture: &Fixture,
    config: EngineConfig,
) -> (Engine, Decisions) {
    let mut engine = Engine::new(config, fixture.member_set().unwrap(), None).unwrap();
    let mut decisions = Decisions::default();
    for &i in order {
        let id = events[i].id();
        match engine.insert(events[i].clone()) {
            Ok(votegraph_consensus::InsertOutcome::Inserted { round, witness }) => {
                decisions.rounds.insert(id, (round, witness));
            }
            Ok(_) => {}
            Err(e) => panic!("event {} refused: {e}", fixture.events[i].id),
        }
        decisions.absorb(engine.drain_outputs());
    }
    // Events released from the future buffer were inserted later; record their rounds.
    for e in events {
        if let Some(status) = engine.status(&e.id()) {
            decisions
                .rounds
                .insert(e.id(), (status.round, status.witness));
        }
    }
    (engine, decisions)
}

/// A uniformly random topological order (each step picks among the events whose parents are
/// all placed), so that every order a network could deliver is possible.
pub fn random_topological_order(fixture: &Fixture, rng: &mut SplitMix64) -> Vec<usize> {
    let index: std::collections::HashMap<&str, usize> = fixture
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.as_str(), i))
        .collect();
    let n = fixture.events.len();
    let mut waiting = vec![0usize; n];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, e) in fixture.events.iter().enumerate() {
        for p in [&e.self_parent, &e.other_parent].into_iter().flatten() {
            waiting[i] += 1;
            children[index[p.as_str()]].push(i);
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|i| waiting[*i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while !ready.is_empty() {
        let pick = rng.below(ready.len() as u64) as usize;
        let i = ready.swap_remove(pick);
        order.push(i);
        for &c in &children[i] {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.push(c);
            }
        }
    }
    assert_eq!(order.len(), n, "fixture has a cycle or a dangling parent");
    order
}

/// Seeds to run: `VOTEGRAPH_SEED` pins one (to reproduce a failure), otherwise `count` seeds
/// derived from `base`.
pub fn seeds(base: u64, count: u64) -> Vec<u64> {
    match std::env::var("VOTEGRAPH_SEED") {
        Ok(s) => vec![s.parse().expect("VOTEGRAPH_SEED must be an integer")],
        Err(_) => (0..count).map(|i| base * 1000 + i).collect(),
    }
}
