//! Forking members cannot break agreement among honest ones: each honest member, receiving
//! events in its own order, orders a prefix of the same sequence, and every fork is reported
//! with both signed events.

#[path = "common/byzantine.rs"]
mod byzantine;
mod common;
#[path = "common/reference.rs"]
mod reference;

use byzantine::byzantine_gossip;
use common::{run, seeds};
use votegraph_consensus::replay::signed_events;
use votegraph_consensus::{EngineConfig, EventId, Round};

type Order = Vec<(EventId, Round, u64)>;

fn check_agreement(members: usize, forkers: &[usize], events: usize, seed: u64) {
    let ctx = format!("members {members} forkers {forkers:?} events {events} seed {seed}");
    let sim = byzantine_gossip(members, forkers, events, seed);
    let signed = signed_events(&sim.fixture).unwrap();
    let mut orders: Vec<Order> = Vec::new();
    for member in (0..members).filter(|m| !forkers.contains(m)) {
        let (_, d) = run(
            &signed,
            &sim.delivery[member],
            &sim.fixture,
            EngineConfig::default(),
        );
        let forkers_reported: std::collections::BTreeSet<usize> = d
            .forks
            .iter()
            .map(|(first, _)| {
                signed
                    .iter()
                    .find(|e| e.id() == *first)
                    .unwrap()
                    .creator()
                    .index()
            })
            .collect();
        for (first, second) in &d.forks {
            let creator = |id: &EventId| signed.iter().find(|e| e.id() == *id).unwrap().creator();
            assert_eq!(
                creator(first),
                creator(second),
                "{ctx}: proof mixes creators"
            );
            assert_ne!(first, second);
        }
        let forked_here: std::collections::BTreeSet<usize> =
            forked_members_delivered(&sim.fixture, &sim.delivery[member]);
        assert_eq!(
            forkers_reported, forked_here,
            "{ctx}: member {member} fork reports"
        );
        orders.push(d.order.iter().map(|o| (o.0, o.1, o.2)).collect());
    }
    let longest = orders.iter().map(Vec::len).max().unwrap();
    assert!(
        longest * 3 > events,
        "{ctx}: consensus made too little progress ({longest})"
    );
    for (i, a) in orders.iter().enumerate() {
        for b in &orders[i + 1..] {
            let common = a.len().min(b.len());
            assert_eq!(a[..common], b[..common], "{ctx}: honest orders diverge");
        }
    }
}

/// Members with two delivered events of the same sequence number.
fn forked_members_delivered(
    fixture: &votegraph_consensus::replay::Fixture,
    delivered: &[usize],
) -> std::collections::BTreeSet<usize> {
    let mut seqs = std::collections::HashMap::new();
    let mut forked = std::collections::BTreeSet::new();
    let seq_of = |i: usize| -> u64 {
        let mut seq = 0;
        let mut e = &fixture.events[i];
        while let Some(sp) = &e.self_parent {
            seq += 1;
            e = fixture.events.iter().find(|x| &x.id == sp).unwrap();
        }
        seq
    };
    for &i in delivered {
        let e = &fixture.events[i];
        let member: usize = e.creator[1..].parse().unwrap();
        if seqs.insert((member, seq_of(i)), i).is_some() {
            forked.insert(member);
        }
    }
    forked
}

#[test]
fn honest_members_agree_with_one_forker_among_four() {
    for seed in seeds(3, 4) {
        check_agreement(4, &[3], 800, seed);
    }
}

#[test]
fn honest_members_agree_with_two_forkers_among_seven() {
    for seed in seeds(4, 3) {
        check_agreement(7, &[1, 5], 1200, seed);
    }
}

#[test]
fn honest_members_agree_with_three_forkers_among_ten() {
    for seed in seeds(5, 2) {
        check_agreement(10, &[0, 4, 9], 1500, seed);
    }
}

/// With forks in the DAG the engine still computes exactly what the naive rules say.
#[test]
fn engine_matches_the_naive_rules_with_forks() {
    for seed in seeds(6, 5) {
        for (members, forkers, events) in [(4, vec![2], 160), (7, vec![0, 3], 260)] {
            let sim = byzantine_gossip(members, &forkers, events, seed);
            let signed = signed_events(&sim.fixture).unwrap();
            let ctx = format!("members {members} seed {seed}");
            let (_, forks) =
                reference::assert_engine_matches_reference(&sim.fixture, &signed, 12, &ctx);
            assert!(forks > 0, "{ctx}: the simulation forked");
        }
    }
}

/// The same DAG with forks, delivered whole in random topological orders, gives identical
/// output: the fork-handling paths (exact self-chain checks, forked seen-entries) do not depend
/// on which branch arrives first.
#[test]
fn same_forked_dag_in_any_order_gives_the_same_consensus() {
    for seed in seeds(7, 3) {
        let sim = byzantine_gossip(7, &[2, 6], 1500, seed);
        let signed = signed_events(&sim.fixture).unwrap();
        let config = EngineConfig {
            future_buffer_events_max: signed.len(),
            ..EngineConfig::default()
        };
        let listed: Vec<usize> = (0..signed.len()).collect();
        let (_, baseline) = run(&signed, &listed, &sim.fixture, config.clone());
        assert!(
            !baseline.forks.is_empty(),
            "seed {seed}: the simulation forked"
        );
        assert!(
            baseline.order.len() > 1000,
            "seed {seed}: {} ordered",
            baseline.order.len()
        );
        let mut rng = votegraph_consensus::sim::SplitMix64::new(seed);
        for attempt in 0..3 {
            let order = common::random_topological_order(&sim.fixture, &mut rng);
            let (_, other) = run(&signed, &order, &sim.fixture, config.clone());
            assert_eq!(other.order, baseline.order, "seed {seed} order {attempt}");
            assert_eq!(other.fame, baseline.fame, "seed {seed} order {attempt}");
            // One proof per event that collides with an earlier one, whichever came first.
            assert_eq!(
                other.forks.len(),
                baseline.forks.len(),
                "seed {seed}: forks reported"
            );
        }
    }
}
