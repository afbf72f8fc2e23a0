//! Simulated gossip in which some members fork: a forker sometimes gives its next event the
//! self-parent of one of its branch tips, creating two events with one sequence number. Every
//! member learns from the peers it syncs with, so honest members receive events, and the two
//! sides of each fork, in different orders.

use votegraph_consensus::replay::{Fixture, FixtureEvent};
use votegraph_consensus::sim::{assign_birth_rounds, member_name, SplitMix64};

pub struct ByzantineRun {
    pub fixture: Fixture,
    /// For each member, the order (indexes into the fixture) in which it received events.
    pub delivery: Vec<Vec<usize>>,
}

struct Ev {
    creator: usize,
    seq: u64,
    sp: Option<usize>,
    op: Option<usize>,
    ts: u64,
    name: String,
}

pub fn byzantine_gossip(
    members: usize,
    forkers: &[usize],
    events: usize,
    seed: u64,
) -> ByzantineRun {
    let mut rng = SplitMix64::new(seed);
    let mut all: Vec<Ev> = Vec::new();
    let mut known = vec![vec![false; events]; members];
    let mut delivery: Vec<Vec<usize>> = vec![Vec::new(); members];
    let mut tips: Vec<Vec<usize>> = vec![Vec::new(); members];
    let mut created = vec![0usize; members];
    let mut clock = 1_000_000u64;
    while all.len() < events {
        let a = rng.below(members as u64) as usize;
        let mut b = rng.below(members as u64 - 1) as usize;
        if b >= a {
            b += 1;
        }
        let learned: Vec<usize> = (0..all.len())
            .filter(|&i| known[b][i] && !known[a][i])
            .collect();
        for i in learned {
            known[a][i] = true;
            delivery[a].push(i);
        }
        let op = all
            .iter()
            .rposition(|e| e.creator == b)
            .filter(|&i| known[a][i]);
        let forker = forkers.contains(&a);
        let sp = match tips[a].len() {
            0 => None,
            len => {
                let tip = tips[a][rng.below(len as u64) as usize];
                let fork = forker && rng.below(3) == 0 && all[tip].sp.is_some();
                if fork {
                    all[tip].sp
                } else {
                    Some(tip)
                }
            }
        };
        clock += 1 + rng.below(1000);
        let ts = clock.max(sp.map_or(0, |p| all[p].ts + 1));
        let index = all.len();
        all.push(Ev {
            creator: a,
            seq: sp.map_or(0, |p| all[p].seq + 1),
            sp,
            op,
            ts,
            name: format!("m{a}.{}", created[a]),
        });
        created[a] += 1;
        if let Some(p) = sp {
            tips[a].retain(|&t| t != p);
        }
        tips[a].push(index);
        known[a][index] = true;
        delivery[a].push(index);
    }
    let mut fixture = Fixture {
        members: (0..members).map(member_name).collect(),
        weights: None,
        coin_frequency: None,
        events: all
            .iter()
            .map(|e| FixtureEvent {
                id: e.name.clone(),
                creator: member_name(e.creator),
                self_parent: e.sp.map(|p| all[p].name.clone()),
                other_parent: e.op.map(|p| all[p].name.clone()),
                timestamp: e.ts,
                birth_round: None,
                transactions: Vec::new(),
            })
            .collect(),
    };
    assign_birth_rounds(&mut fixture);
    ByzantineRun { fixture, delivery }
}
