//! A naive, obviously-correct transcription of `shared/reference/hashgraph.md`: ancestor sets
//! as bitsets, "see" and "strongly see" straight from their definitions, fame by voting over
//! the complete DAG. Quadratic and slow; used only to check the engine on small random DAGs.

use std::collections::{BTreeMap, HashMap};
use votegraph_consensus::replay::Fixture;
use votegraph_consensus::{EngineConfig, EventId, MemberSet, Round, VerifiedEvent};

pub struct Reference {
    pub round: Vec<Round>,
    pub witness: Vec<bool>,
    pub fame: HashMap<usize, bool>,
    /// (event index, round received, consensus timestamp), in consensus order.
    pub order: Vec<(usize, Round, u64)>,
}

struct Dag<'a> {
    events: &'a [VerifiedEvent],
    members: &'a MemberSet,
    parents: Vec<Vec<usize>>,
    self_parent: Vec<Option<usize>>,
    anc: Vec<Vec<bool>>,
}

impl Dag<'_> {
    fn creator(&self, i: usize) -> usize {
        self.events[i].creator().index()
    }

    fn is_self_ancestor(&self, a: usize, mut b: usize) -> bool {
        loop {
            if a == b {
                return true;
            }
            match self.self_parent[b] {
                Some(p) => b = p,
                None => return false,
            }
        }
    }

    fn has_fork_by(&self, x: usize, m: usize) -> bool {
        let by_m: Vec<usize> = (0..=x)
            .filter(|&z| self.anc[x][z] && self.creator(z) == m)
            .collect();
        by_m.iter().enumerate().any(|(i, &a)| {
            by_m[i + 1..]
                .iter()
                .any(|&b| !self.is_self_ancestor(a, b) && !self.is_self_ancestor(b, a))
        })
    }

    fn sees(&self, x: usize, y: usize) -> bool {
        self.anc[x][y] && !self.has_fork_by(x, self.creator(y))
    }

    fn strongly_sees(&self, x: usize, y: usize) -> bool {
        let mut counted = vec![false; self.members.len()];
        for z in 0..=x {
            if self.anc[x][z] && self.sees(z, y) {
                counted[self.creator(z)] = true;
            }
        }
        let weight = self
            .members
            .ids()
            .filter(|m| counted[m.index()])
            .map(|m| self.members.weight(m))
            .sum();
        self.members.is_supermajority(weight)
    }
}

pub fn reference(events: &[VerifiedEvent], members: &MemberSet, coin_frequency: u64) -> Reference {
    let index: HashMap<EventId, usize> = events
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id(), i))
        .collect();
    let n = events.len();
    let mut dag = Dag {
        events,
        members,
        parents: vec![Vec::new(); n],
        self_parent: vec![None; n],
        anc: Vec::with_capacity(n),
    };
    for (i, e) in events.iter().enumerate() {
        dag.self_parent[i] = e.self_parent().map(|p| index[&p.id]);
        dag.parents[i] = [e.self_parent(), e.other_parent()]
            .into_iter()
            .flatten()
            .map(|p| index[&p.id])
            .collect();
        let mut anc = vec![false; n];
        anc[i] = true;
        for &p in &dag.parents[i] {
            for (mine, theirs) in anc.iter_mut().zip(&dag.anc[p]) {
                *mine |= *theirs;
            }
        }
        dag.anc.push(anc);
    }
    let (round, witness) = divide_rounds(&dag);
    let fame = decide_fame(&dag, &round, &witness, coin_frequency);
    let order = find_order(&dag, &round, &witness, &fame);
    Reference {
        round,
        witness,
        fame,
        order,
    }
}

fn divide_rounds(dag: &Dag) -> (Vec<Round>, Vec<bool>) {
    let n = dag.events.len();
    let mut round = vec![0; n];
    let mut witness = vec![false; n];
    for x in 0..n {
        if dag.parents[x].is_empty() {
            round[x] = 1;
        } else {
            let r = dag.parents[x].iter().map(|&p| round[p]).max().unwrap();
            let mut counted = vec![false; dag.members.len()];
            for y in 0..x {
                if round[y] == r && witness[y] && dag.strongly_sees(x, y) {
                    counted[dag.creator(y)] = true;
                }
            }
            let weight: u64 = dag
                .members
                .ids()
                .filter(|m| counted[m.index()])
                .map(|m| dag.members.weight(m))
                .sum();
            round[x] = if dag.members.is_supermajority(weight) {
                r + 1
            } else {
                r
            };
        }
        witness[x] = match dag.self_parent[x] {
            None => true,
            Some(sp) => round[x] > round[sp],
        };
    }
    (round, witness)
}

fn decide_fame(
    dag: &Dag,
    round: &[Round],
    witness: &[bool],
    coin_frequency: u64,
) -> HashMap<usize, bool> {
    let n = dag.events.len();
    let mut by_round: BTreeMap<Round, Vec<usize>> = BTreeMap::new();
    for i in (0..n).filter(|&i| witness[i]) {
        by_round.entry(round[i]).or_default().push(i);
    }
    let mut fame = HashMap::new();
    for x in (0..n).filter(|&i| witness[i]) {
        let mut votes: HashMap<usize, bool> = HashMap::new();
        'voting: for (&r, ys) in by_round.range(round[x] + 1..) {
            let d = r - round[x];
            for &y in ys {
                if d == 1 {
                    votes.insert(y, dag.sees(y, x));
                    continue;
                }
                let (mut yes, mut no) = (0, 0);
                for &s in &by_round[&(r - 1)] {
                    if dag.strongly_sees(y, s) {
                        let w = dag.members.weight(dag.events[s].creator());
                        if votes[&s] {
                            yes += w
                        } else {
                            no += w
                        }
                    }
                }
                let v = yes >= no;
                let t = if v { yes } else { no };
                let supermajority = dag.members.is_supermajority(t);
                if !d.is_multiple_of(coin_frequency) {
                    votes.insert(y, v);
                    if supermajority {
                        fame.insert(x, v);
                        break 'voting;
                    }
                } else {
                    votes.insert(
                        y,
                        if supermajority {
                            v
                        } else {
                            dag.events[y].coin_bit()
                        },
                    );
                }
            }
        }
    }
    fame
}

fn find_order(
    dag: &Dag,
    round: &[Round],
    witness: &[bool],
    fame: &HashMap<usize, bool>,
) -> Vec<(usize, Round, u64)> {
    let n = dag.events.len();
    let max_round = round.iter().copied().max().unwrap_or(0);
    let mut received = vec![false; n];
    let mut order = Vec::new();
    for r in 1..=max_round {
        let ws: Vec<usize> = (0..n).filter(|&i| witness[i] && round[i] == r).collect();
        if ws.iter().any(|w| !fame.contains_key(w)) {
            break;
        }
        let famous: Vec<usize> = ws.iter().copied().filter(|w| fame[w]).collect();
        let judges: Vec<usize> = famous
            .iter()
            .copied()
            .filter(|&w| {
                famous
                    .iter()
                    .filter(|&&v| dag.creator(v) == dag.creator(w))
                    .count()
                    == 1
            })
            .collect();
        if judges.is_empty() {
            continue;
        }
        let whitening = judges
            .iter()
            .fold(EventId([0; 32]), |acc, &j| acc.xor(&dag.events[j].id()));
        let mut this_round = Vec::new();
        for x in (0..n).filter(|&x| !received[x] && judges.iter().all(|&j| dag.anc[j][x])) {
            let mut stamps: Vec<u64> = judges
                .iter()
                .map(|&j| {
                    // The earliest self-ancestor of j having x as ancestor.
                    let mut z = j;
                    while let Some(p) = dag.self_parent[z] {
                        if !dag.anc[p][x] {
                            break;
                        }
                        z = p;
                    }
                    dag.events[z].timestamp_ns()
                })
                .collect();
            stamps.sort_unstable();
            this_round.push((
                stamps[stamps.len() / 2],
                dag.events[x].id().xor(&whitening),
                x,
            ));
        }
        this_round.sort();
        for (ts, _, x) in this_round {
            received[x] = true;
            order.push((x, r, ts));
        }
    }
    order
}

/// Inserts the events in the listed order and checks the engine against [`reference`]: every
/// round and witness flag, fame wherever both decided, and the whole order. Returns how many
/// events were ordered and how many forks the engine reported.
pub fn assert_engine_matches_reference(
    fixture: &Fixture,
    signed: &[VerifiedEvent],
    coin: u64,
    ctx: &str,
) -> (usize, usize) {
    let config = EngineConfig {
        coin_frequency: coin,
        ..EngineConfig::default()
    };
    let order: Vec<usize> = (0..signed.len()).collect();
    let (_, got) = super::common::run(signed, &order, fixture, config);
    let want = reference(signed, &fixture.member_set().unwrap(), coin);
    for (i, e) in signed.iter().enumerate() {
        let name = &fixture.events[i].id;
        assert_eq!(
            got.rounds[&e.id()],
            (want.round[i], want.witness[i]),
            "{ctx}: round/witness of {name}"
        );
        if let (Some(g), Some(w)) = (got.fame.get(&e.id()), want.fame.get(&i)) {
            assert_eq!(g, w, "{ctx}: fame of {name}");
        }
    }
    let got_order: Vec<_> = got.order.iter().map(|o| (o.0, o.1, o.2)).collect();
    let want_order: Vec<_> = want
        .order
        .iter()
        .map(|&(x, r, t)| (signed[x].id(), r, t))
        .collect();
    assert_eq!(got_order, want_order, "{ctx}: order");
    (got_order.len(), got.forks.len())
}
