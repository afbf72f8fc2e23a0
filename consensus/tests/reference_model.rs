//! The engine agrees with a naive transcription of the rules on random DAGs: every round and
//! witness flag, every fame decision both reach, and the whole consensus order with round
//! received and consensus timestamps.

mod common;
#[path = "common/reference.rs"]
mod reference;

use common::seeds;
use votegraph_consensus::replay::signed_events;
use votegraph_consensus::sim::{generate, GossipParams};

fn check(members: usize, events: usize, seed: u64, weights: Option<Vec<u64>>, coin: u64) {
    let mut params = GossipParams::new(members, events, seed);
    params.weights = weights;
    params.coin_frequency = Some(coin);
    let fixture = generate(&params);
    let signed = signed_events(&fixture).unwrap();
    let ctx = format!("members {members} events {events} seed {seed} coin {coin}");
    let (ordered, _) = reference::assert_engine_matches_reference(&fixture, &signed, coin, &ctx);
    assert!(ordered * 4 > events, "{ctx}: only {ordered} ordered");
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

/// One member alone holds a supermajority: the round shortcut must not apply.
#[test]
fn engine_matches_the_naive_rules_with_a_dominant_member() {
    for seed in seeds(8, 5) {
        check(2, 120, seed, Some(vec![3, 1]), 12);
        check(3, 150, seed, Some(vec![7, 1, 1]), 12);
        check(4, 160, seed, Some(vec![1, 1, 9, 1]), 3);
    }
}
