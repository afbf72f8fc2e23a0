//! The rule for events that carry no transactions (`votegraph_node::advancement`), in a
//! simulated network of consensus engines (4 or 7) that sync at random, as validators do: one
//! pulls what a peer holds and the peer what it holds, then the one that started creates an
//! event if its pool holds a transaction, or if transactions wait for consensus and the rule
//! says the event is worth it. Split with no side holding more than two thirds, each side goes
//! quiet; healed, every transaction is ordered, identically everywhere. A cluster that goes
//! quiet with a transaction still waiting and then restarts orders it too. Seeded and printed;
//! no processes and no clock.

use votegraph_consensus::sim::{member_name, member_set, SplitMix64};
use votegraph_consensus::test_keys::signing_key_for;
use votegraph_consensus::{
    Engine, EngineConfig, EventId, InsertOutcome, MemberId, MemberSet, Output,
};
use votegraph_node::advancement::Advancement;

const SEEDS: u64 = 12;

struct Validator {
    engine: Engine,
    advancement: Advancement,
    pool: Vec<Vec<u8>>,
    /// Transactions in the order this validator decided them.
    ordered: Vec<Vec<u8>>,
    created: usize,
}

struct Network {
    members: MemberSet,
    validators: Vec<Validator>,
    clock_ns: u64,
}

impl Network {
    fn new(size: usize) -> Self {
        let members = member_set(size);
        let validators = (0..size)
            .map(|i| {
                let key = signing_key_for(&member_name(i));
                let me = MemberId(i as u32);
                let engine =
                    Engine::new(EngineConfig::default(), members.clone(), Some((me, key))).unwrap();
                Validator {
                    advancement: Advancement::new(&members, me),
                    engine,
                    pool: Vec::new(),
                    ordered: Vec::new(),
                    created: 0,
                }
            })
            .collect();
        Network {
            members,
            validators,
            clock_ns: 1_000_000_000,
        }
    }

    /// `steps` syncs between random pairs of validators in the same group.
    fn gossip(&mut self, groups: &[&[usize]], steps: usize, rng: &mut SplitMix64) {
        for _ in 0..steps {
            let group = groups[rng.below(groups.len() as u64) as usize];
            if group.len() < 2 {
                continue;
            }
            let a = group[rng.below(group.len() as u64) as usize];
            let b = loop {
                let b = group[rng.below(group.len() as u64) as usize];
                if b != a {
                    break b;
                }
            };
            self.pull(a, b);
            self.pull(b, a);
            self.clock_ns += 1_000_000;
            self.maybe_create(a, b);
        }
    }

    /// `to` takes in every event `from` holds and it lacks, parents first.
    fn pull(&mut self, to: usize, from: usize) {
        let events = self.validators[from].engine.events_in_memory();
        let v = &mut self.validators[to];
        for event in events {
            if v.engine.contains(&event.id()) {
                continue;
            }
            let creator = event.creator();
            match v.engine.insert(event).unwrap() {
                InsertOutcome::Inserted { .. } | InsertOutcome::Buffered => {
                    v.advancement.heard(creator)
                }
                _ => {}
            }
        }
        v.take_outputs();
    }

    /// What the driver does after a sync that `a` started with `b`.
    fn maybe_create(&mut self, a: usize, b: usize) {
        let v = &mut self.validators[a];
        let waiting =
            v.engine.events_in_memory().iter().any(|e| {
                !e.transactions().is_empty() && !v.engine.status(&e.id()).unwrap().ordered
            });
        if v.pool.is_empty() && !(waiting && v.advancement.worth_an_empty_event()) {
            return;
        }
        let other_parent = latest_of(&v.engine, MemberId(b as u32));
        let transactions = std::mem::take(&mut v.pool);
        v.engine
            .create_event(self.clock_ns, other_parent, transactions)
            .unwrap();
        v.advancement.created();
        v.created += 1;
        v.take_outputs();
    }

    /// Every validator restarts: it keeps its events and forgets whom it heard from.
    fn restart_all(&mut self) {
        for (i, v) in self.validators.iter_mut().enumerate() {
            v.advancement = Advancement::new(&self.members, MemberId(i as u32));
        }
    }

    fn created(&self) -> Vec<usize> {
        self.validators.iter().map(|v| v.created).collect()
    }
}

impl Validator {
    fn take_outputs(&mut self) {
        for output in self.engine.drain_outputs() {
            if let Output::Ordered(o) = output {
                self.ordered.extend(o.event.transactions().iter().cloned());
            }
        }
    }
}

fn latest_of(engine: &Engine, creator: MemberId) -> Option<EventId> {
    engine
        .events_in_memory()
        .iter()
        .filter(|e| e.creator() == creator)
        .max_by_key(|e| e.creator_seq())
        .map(|e| e.id())
}

fn transaction(name: &str) -> Vec<u8> {
    name.as_bytes().to_vec()
}

fn ordered_everywhere(net: &Network, transactions: &[Vec<u8>]) -> bool {
    net.validators
        .iter()
        .all(|v| transactions.iter().all(|t| v.ordered.contains(t)))
}

/// Splits a network of `size` validators into `split` and heals it, for every seed: before the
/// split a transaction is ordered everywhere; during it each side creates events only for a
/// while and orders none of the transactions submitted meanwhile; healed, it orders them
/// everywhere, in one order.
fn split_and_heal(size: usize, split: &[&[usize]]) {
    let everyone: Vec<usize> = (0..size).collect();
    let all: &[&[usize]] = &[&everyone];
    for seed in 1..=SEEDS {
        println!("{size} validators, split {split:?}, seed {seed}");
        let mut rng = SplitMix64::new(seed);
        let mut net = Network::new(size);
        net.validators[0].pool.push(transaction("before"));
        net.gossip(all, 100 * size, &mut rng);
        assert!(
            ordered_everywhere(&net, &[transaction("before")]),
            "seed {seed}"
        );

        let during: Vec<Vec<u8>> = (0..split.len())
            .map(|g| transaction(&format!("side {g}")))
            .collect();
        for (group, t) in split.iter().zip(&during) {
            net.validators[group[0]].pool.push(t.clone());
        }
        let at_split = net.created();
        net.gossip(split, 50 * size, &mut rng);
        let settled = net.created();
        net.gossip(split, 2_000, &mut rng);
        assert_eq!(
            net.created(),
            settled,
            "seed {seed}: a side kept creating events"
        );
        let during_split: usize = settled.iter().zip(&at_split).map(|(s, a)| s - a).sum();
        assert!(
            during_split <= size * size,
            "seed {seed}: {during_split} events"
        );
        for v in &net.validators {
            assert!(!during.iter().any(|t| v.ordered.contains(t)), "seed {seed}");
        }

        net.gossip(all, 250 * size, &mut rng);
        assert!(
            ordered_everywhere(&net, &during),
            "seed {seed}: lost after healing"
        );
        let reference = &net.validators[0].ordered;
        for v in &net.validators[1..] {
            let common = v.ordered.len().min(reference.len());
            assert_eq!(v.ordered[..common], reference[..common], "seed {seed}");
        }
    }
}

#[test]
fn an_even_split_of_four_goes_quiet_and_decides_everything_once_healed() {
    split_and_heal(4, &[&[0, 1], &[2, 3]]);
}

#[test]
fn sides_of_seven_without_two_thirds_go_quiet_too() {
    // 4 of 7 and 3 of 7: neither side holds more than two thirds, and each has several peers.
    split_and_heal(7, &[&[0, 1, 2, 3], &[4, 5, 6]]);
}

#[test]
fn a_quiet_cluster_with_a_transaction_waiting_orders_it_after_a_restart() {
    // Validator 3 is down: the other three hold 3 of 4, enough to decide rounds.
    let up: &[&[usize]] = &[&[0, 1, 2]];
    for seed in 1..=SEEDS {
        println!("seed {seed}");
        let mut rng = SplitMix64::new(seed);
        let mut net = Network::new(4);
        net.validators[0].pool.push(transaction("waiting"));
        while !net.validators[0].pool.is_empty() {
            net.gossip(up, 1, &mut rng);
        }
        // Everyone takes in everything, then all restart before creating another event.
        for a in 0..3 {
            for b in 0..3 {
                net.pull(a, b);
            }
        }
        net.restart_all();
        net.gossip(up, 1_000, &mut rng);
        let waiting = [transaction("waiting")];
        for v in &net.validators[..3] {
            assert!(
                v.ordered.contains(&waiting[0]),
                "seed {seed}: never ordered"
            );
        }
    }
}
