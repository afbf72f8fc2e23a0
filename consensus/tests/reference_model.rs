//! The engine agrees with a naive transcription of the rules on random DAGs: every round and
//! witness flag, every fame decision both reach, and the whole consensus order with round
//! received and consensus timestamps.

mod common;
#[path = "common/reference.rs"]
mod reference;

use common::{run, seeds};
use votegraph_consensus::replay::signed_events;
use votegraph_consensus::sim::{generate, GossipParams};
use votegraph_consensus::EngineConfig;

fn check(members: usize, events: usize, seed: u64, weights: Option<Vec<u64>>, coin: u64) {
    let mut params = GossipParams::new(members, events, seed);
    params.weights = weights;
    params.coin_frequency = Some(coin);
    let fixture = generate(&params);
    let signed = signed_events(&fixture).unwrap();
    let config = EngineConfig {
        coin_frequency: coin,
        ..EngineConfig::default()
    };
    let order: Vec<usize> = (0..signed.len()).collect();
    let (_, got) = run(&signed, &order, &fixture, config);
    let want = reference::reference(&signed, &fixture.member_set().unwrap(), coin);
    let ctx = format!("members {members} events {events} seed {seed} coin {coin}");
    for (i, e) in signed.iter().enumerate() {
        assert_eq!(
            got.rounds[&e.id()],
            (want.round[i], want.witness[i]),
            "{ctx}: round/witness of {}",
            fixture.events[i].id
        );
        if let (Some(g), Some(w)) = (got.fame.get(&e.id()), want.fame.get(&i)) {
            assert_eq!(g, w, "{ctx}: fame of {}", fixture.events[i].id);
        }
    }
    let got_order: Vec<_> = got.order.iter().map(|o| (o.0, o.1, o.2)).collect();
    let want_order: Vec<_> = want
        .order
        .iter()
        .map(|&(x, r, t)| (signed[x].id(), r, t))
        .collect();
    assert_eq!(got_order, want_order, "{ctx}: order");
    assert!(
        got_order.len() * 4 > events,
        "{ctx}: only {} ordered",
        got_order.len()
    );
}

#[test]
fn engine_matches_the_naive_rules_with_equal_weights() {
    for seed in seeds(1, 6) {
        for members in [4, 5, 7] {
            check(members, 40 * members, seed, None, 12);
        }
    }
}

#[test]
fn engine_matches_the_naive_rules_with_unequal_weights_and_frequent_coins() {
    for seed in seeds(2, 6) {
        check(4, 180, seed, Some(vec![1, 2, 3, 4]), 3);
        check(5, 200, seed, Some(vec![5, 1, 1, 1, 1]), 4);
        check(7, 300, seed, Some(vec![3, 1, 4, 1, 5, 9, 2]), 3);
    }
}
