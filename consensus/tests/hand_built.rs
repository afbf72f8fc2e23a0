//! Hand-built graphs with expected rounds, witnesses, fame, round received and consensus
//! timestamps derived by hand from the rules in `shared/reference/hashgraph.md`. Each
//! derivation is written next to its graph.

mod common;

use common::{fixture, owned_fixture, run};
use votegraph_consensus::replay::{replay, signed_events, EventReport, Fixture};
use votegraph_consensus::EngineConfig;

fn report<'a>(events: &'a [EventReport], id: &str) -> &'a EventReport {
    events.iter().find(|e| e.id == id).unwrap()
}

/// Four members, equal weight, supermajority = 3. Steps k = 1..=5; within a step the members
/// create one event each in turn, each taking the previous creator's new event as other-parent:
/// `a_k = (a_{k-1}, d_{k-1}), b_k = (b_{k-1}, a_k), c_k = (c_{k-1}, b_k), d_k = (d_{k-1}, c_k)`.
/// Timestamps are 10 × creation position (a1 = 10, b1 = 20, ... d5 = 200).
fn regular_cycle() -> Fixture {
    let names = ["a", "b", "c", "d"];
    let mut rows: Vec<(String, Option<String>, Option<String>, u64)> = Vec::new();
    let mut ts = 0;
    for k in 1..=5 {
        for (i, m) in names.iter().enumerate() {
            ts += 10;
            let sp = (k > 1).then(|| format!("{m}{}", k - 1));
            let op = match (i, k) {
                (0, 1) => None,
                (0, _) => Some(format!("d{}", k - 1)),
                _ => Some(format!("{}{k}", names[i - 1])),
            };
            rows.push((format!("{m}{k}"), sp, op, ts));
        }
    }
    owned_fixture(&["A", "B", "C", "D"], &rows)
}

/// Derivation:
/// - Step 1: a1 has no parents (round 1). b1, c1, d1 strongly see at most two round-1
///   witnesses' creators (e.g. d1 strongly sees a1 via a,b,c,d and b1 via b,c,d, but c1 only
///   via c,d), so all are round 1; none has a self-parent: all witnesses.
/// - a2 = (a1, d1) has all of step 1 below it: a1 is seen by a,b,c,d; b1 by b,c,d,a; c1 by
///   c,d,a; d1 only by d,a. Three creators strongly seen: round 2, witness. b2, c2, d2 take
///   round 2 from their other-parent without reaching a supermajority of round-2 witnesses
///   (b2 strongly sees none, c2 only a2, d2 only a2 and b2): round 2, witnesses. Every step
///   repeats this: step k is exactly the round-k witnesses.
/// - Fame: round-(r+1) witnesses all see every round-r witness (yes). a_{r+2} strongly sees
///   a,b,c of round r+1, all voting yes: weight 3 of 4, a supermajority, so rounds 1..=3 are
///   decided famous (by a3, a4, a5); rounds 4 and 5 have no deciding voters yet.
/// - Round 1's judges are a1..d1. Only a1 is an ancestor of all four (ancestry is reflexive):
///   stamps are a1, b1, c1, d1 = 10, 20, 30, 40; the median at index 4/2 = 2 is 30.
/// - Round 2 receives b1, c1, d1, a2. For b1 the earliest self-ancestors of the judges having it
///   are a2, b1, c1, d1 = 50, 20, 30, 40 → sorted 20,30,40,50 → 40. c1: a2, b2, c1, d1 → 50.
///   d1: a2, b2, c2, d1 → 60. a2: a2, b2, c2, d2 → 70.
/// - Round 3 likewise receives b2 (a3, b2, c2, d2 → 80), c2 (90), d2 (100), a3 (110).
#[test]
fn regular_cycle_rounds_fame_and_order_match_the_hand_derivation() {
    let out = replay(&regular_cycle()).unwrap().events;
    for k in 1..=5u64 {
        for m in ["a", "b", "c", "d"] {
            let e = report(&out, &format!("{m}{k}"));
            assert_eq!(e.round, Some(k), "{}", e.id);
            assert_eq!(e.witness, Some(true), "{}", e.id);
            let expected_fame = if k <= 3 { Some(true) } else { None };
            assert_eq!(e.famous, expected_fame, "{}", e.id);
        }
    }
    let expected = [
        ("a1", 1, 30),
        ("b1", 2, 40),
        ("c1", 2, 50),
        ("d1", 2, 60),
        ("a2", 2, 70),
        ("b2", 3, 80),
        ("c2", 3, 90),
        ("d2", 3, 100),
        ("a3", 3, 110),
    ];
    for (order, (id, round_received, timestamp)) in expected.iter().enumerate() {
        let e = report(&out, id);
        assert_eq!(e.order, Some(order as u64), "{id}");
        assert_eq!(e.round_received, Some(*round_received), "{id}");
        assert_eq!(e.consensus_timestamp, Some(*timestamp), "{id}");
    }
    let ordered = out.iter().filter(|e| e.order.is_some()).count();
    assert_eq!(ordered, expected.len(), "nothing else is ordered yet");
    for e in out.iter().filter(|e| e.order.is_none()) {
        assert_eq!(e.round_received, None);
        assert_eq!(e.consensus_timestamp, None);
    }
}

/// Five members: A, B, C, D of weight 3 and E of weight 1 (W = 13; supermajority needs 9,
/// i.e. three of A..D). E's only event e1 is known to C alone (through c1' = (c1, e1)) before
/// round 2 forms, so the round-2 witnesses split on it. Otherwise the graph is the regular cycle
/// of A..D, with c2 = (c1', b2). Timestamps: a1 10, b1 20, c1 30, d1 40, e1 45, c1' 47, then
/// 10 more per event from a2 = 50 to b5 = 180.
fn split_vote(steps_after_4: &[&str]) -> Fixture {
    let mut rows = vec![
        ("a1", None, None, 10),
        ("b1", None, Some("a1"), 20),
        ("c1", None, Some("b1"), 30),
        ("d1", None, Some("c1"), 40),
        ("e1", None, None, 45),
        ("c1'", Some("c1"), Some("e1"), 47),
        ("a2", Some("a1"), Some("d1"), 50),
        ("b2", Some("b1"), Some("a2"), 60),
        ("c2", Some("c1'"), Some("b2"), 70),
        ("d2", Some("d1"), Some("c2"), 80),
        ("a3", Some("a2"), Some("d2"), 90),
        ("b3", Some("b2"), Some("a3"), 100),
        ("c3", Some("c2"), Some("b3"), 110),
        ("d3", Some("d2"), Some("c3"), 120),
        ("a4", Some("a3"), Some("d3"), 130),
        ("b4", Some("b3"), Some("a4"), 140),
        ("c4", Some("c3"), Some("b4"), 150),
        ("d4", Some("d3"), Some("c4"), 160),
        ("a5", Some("a4"), Some("d4"), 170),
        ("b5", Some("b4"), Some("a5"), 180),
    ];
    rows.truncate(18 + steps_after_4.len());
    let mut f = fixture(&["A", "B", "C", "D", "E"], &rows);
    f.weights = Some(vec![3, 3, 3, 3, 1]);
    f
}

fn config(coin_frequency: u64) -> EngineConfig {
    EngineConfig {
        coin_frequency,
        ..EngineConfig::default()
    }
}

/// Derivation (votes on e1; S(y) = the previous round's witnesses y strongly sees):
/// - Rounds are those of the regular cycle (e1 and c1' are round 1; c1' is no witness: it
///   strongly sees only a1). S(a_k) = {a,b,c}_{k-1}; S(b_k) = S(c_k) = S(d_k) = all four.
/// - Round 2 (d = 1): a2, b2 do not see e1 (no); c2, d2 do (yes): 6 against 6.
/// - Round 3 (d = 2): a3 → no 6 (a2, b2) vs yes 3 (c2): no, 6 is not > 26/3. b3, c3, d3 → 6/6,
///   a tie counts yes: yes, undecided.
/// - Round 4 (d = 3): a4 → S = {a3 no, b3 yes, c3 yes}: yes with 6, no supermajority. b4, c4,
///   d4 → yes with 9, a supermajority. With coin frequency 12 this is a normal round and b4
///   decides e1 famous. With coin frequency 3 it is a coin round: a4 votes its coin, b4..d4
///   vote yes, nothing is decided.
/// - Round 5 (d = 4, normal): a5 → S = {a4, b4 yes, c4 yes}: a supermajority of yes only if
///   a4's coin is 1; b5 → S = all four, at least 9 yes: decides e1 famous whatever the coin.
/// - a1..d1 are decided famous by a3 (S all yes, weight 9); round 1 is decided only with e1.
#[test]
fn split_vote_is_decided_in_a_normal_round_without_coin() {
    let f = split_vote(&[]);
    let events = signed_events(&f).unwrap();
    let order: Vec<usize> = (0..events.len()).collect();
    let (_, d) = run(&events, &order, &f, config(12));
    let e1 = events[4].id();
    assert_eq!(
        d.fame.get(&e1),
        Some(&true),
        "b4 decides e1 famous in round 4"
    );
    assert!(!d.order.is_empty(), "round 1 is decided once e1 is");
}

#[test]
fn split_vote_fame_stays_undecided_through_a_coin_round() {
    let f = split_vote(&[]);
    let events = signed_events(&f).unwrap();
    let order: Vec<usize> = (0..events.len()).collect();
    let (engine, d) = run(&events, &order, &f, config(3));
    let e1 = events[4].id();
    assert_eq!(d.fame.get(&e1), None, "coin rounds never decide");
    for id in [0, 1, 2, 3] {
        assert_eq!(d.fame.get(&events[id].id()), Some(&true));
    }
    assert!(d.order.is_empty(), "round 1 is undecided while e1 is");
    assert_eq!(engine.last_decided_round(), 0);
}

#[test]
fn split_vote_after_the_coin_round_decides_by_a5_only_if_its_coin_is_one() {
    let f = split_vote(&["a5", "b5"]);
    let events = signed_events(&f).unwrap();
    let e1 = events[4].id();
    let a4_coin = events[14].coin_bit();
    // Up to a5 only.
    let upto_a5: Vec<usize> = (0..19).collect();
    let (_, d) = run(&events, &upto_a5, &f, config(3));
    assert_eq!(
        d.fame.get(&e1).copied(),
        a4_coin.then_some(true),
        "a4 coin {a4_coin}"
    );
    // With b5 the decision is famous whatever the coin.
    let all: Vec<usize> = (0..events.len()).collect();
    let (_, d) = run(&events, &all, &f, config(3));
    assert_eq!(d.fame.get(&e1), Some(&true));
}

/// Once e1 is famous, round 1 (judges a1..d1, e1) receives nothing: no event is an ancestor of
/// both e1 and a1. Round 2 (judges a2..d2) receives a1, b1, c1, d1, a2 with stamps
/// a1: a1 b1 c1 d1 = 10 20 30 40 → 30; b1: a2 b1 c1 d1 → 40; c1: a2 b2 c1 d1 → 50;
/// d1: a2 b2 c2 d1 → 60; a2: a2 b2 c2 d2 → 70.
/// Round 3 (judges a3..d3) receives e1, c1', b2, c2, d2, a3. Self-chains of the judges start
/// after their last ordered event (c3's is c1', c2, c3):
/// e1: a3 90, b3 100, c1' 47, d2 80 → 47 80 90 100 → 90; c1': a3, b3, c1', d2 → 90;
/// b2: a3 90, b2 60, c2 70, d2 80 → 80; c2: a3 90, b3 100, c2 70, d2 80 → 90;
/// d2: a3 90, b3 100, c3 110, d2 80 → 100; a3: 90 100 110 120 → 110.
/// e1, c1' and c2 tie at 90 and are ordered by whitened id.
#[test]
fn split_vote_order_matches_the_hand_derivation() {
    let mut f = split_vote(&["a5", "b5"]);
    f.events[4].transactions = vec!["e1 tx".into()];
    f.events[8].transactions = vec!["c2 tx one".into(), "c2 tx two".into()];
    let events = signed_events(&f).unwrap();
    let all: Vec<usize> = (0..events.len()).collect();
    let (_, d) = run(&events, &all, &f, config(3));
    let name = |id| {
        f.events[events.iter().position(|e| e.id() == id).unwrap()]
            .id
            .clone()
    };
    assert_eq!(d.rounds_decided[0].1.len(), 5, "round 1 has five judges");
    let got: Vec<(String, u64, u64)> = d.order.iter().map(|o| (name(o.0), o.1, o.2)).collect();
    let head: Vec<(&str, u64, u64)> = vec![
        ("a1", 2, 30),
        ("b1", 2, 40),
        ("c1", 2, 50),
        ("d1", 2, 60),
        ("a2", 2, 70),
        ("b2", 3, 80),
    ];
    for (i, want) in head.iter().enumerate() {
        assert_eq!((got[i].0.as_str(), got[i].1, got[i].2), *want);
    }
    let mut tied: Vec<&str> = got[6..9].iter().map(|g| g.0.as_str()).collect();
    tied.sort();
    assert_eq!(tied, ["c1'", "c2", "e1"]);
    assert!(got[6..9].iter().all(|g| g.1 == 3 && g.2 == 90));
    assert_eq!((got[9].0.as_str(), got[9].2), ("d2", 100));
    assert_eq!((got[10].0.as_str(), got[10].2), ("a3", 110));
    // Transactions: every timestamp is strictly greater than the one before.
    let tx: Vec<u64> = d.order.iter().flat_map(|o| o.3.clone()).collect();
    assert_eq!(tx.len(), 3);
    assert!(tx.windows(2).all(|w| w[0] < w[1]), "{tx:?}");
    assert_eq!(
        tx,
        vec![90, 91, 92],
        "three transactions at consensus time 90"
    );
}

/// A, B, C (weight 1 each of 4: together a supermajority) run a cycle for 40 steps; D's first
/// event d1 is known from the start but nobody takes it as a parent until a41 = (a40, d1).
/// By the rules d1 is a round-1 witness nobody sees (not famous), and it is ordered as soon as
/// it is an ancestor of every judge of some round, 40 rounds later.
fn late_reference() -> Fixture {
    let mut rows: Vec<(String, Option<String>, Option<String>, u64)> =
        vec![("d1".into(), None, None, 5)];
    let names = ["a", "b", "c"];
    let mut ts = 10;
    for k in 1..=46 {
        for (i, m) in names.iter().enumerate() {
            ts += 10;
            let sp = (k > 1).then(|| format!("{m}{}", k - 1));
            let op = match (i, k) {
                (0, 1) => None,
                (0, 41) => Some("d1".to_string()),
                (0, _) => Some(format!("c{}", k - 1)),
                _ => Some(format!("{}{k}", names[i - 1])),
            };
            rows.push((format!("{m}{k}"), sp, op, ts));
        }
    }
    owned_fixture(&["A", "B", "C", "D"], &rows)
}

#[test]
fn a_hand_written_fixture_is_replayed_by_the_rules_with_nothing_ancient() {
    let f = late_reference();
    let out = replay(&f).unwrap().events;
    let d1 = report(&out, "d1");
    assert_eq!(
        (d1.round, d1.witness, d1.famous),
        (Some(1), Some(true), Some(false))
    );
    let received = d1
        .round_received
        .expect("d1 is ordered once everyone has it");
    assert!(received > 30, "received in round {received}");
    assert!(out.iter().filter(|e| e.order.is_some()).count() > 100);
}

#[test]
fn under_the_default_window_an_event_unseen_for_26_rounds_goes_stale() {
    let f = late_reference();
    let out = votegraph_consensus::replay::replay_with(&f, EngineConfig::default())
        .unwrap()
        .events;
    let d1 = report(&out, "d1");
    assert_eq!(
        d1.order, None,
        "d1 became ancient before reaching consensus"
    );
    assert!(out.iter().filter(|e| e.order.is_some()).count() > 100);
}
