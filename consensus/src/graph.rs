//! Queries on the DAG that consensus is made of: last-seen vectors, *see*, *strongly see*,
//! rounds and witnesses. None of them walks the DAG except along the self-chain of a member
//! proven to have forked, so the cost per event does not grow with the DAG.

use crate::arena::Handle;
use crate::engine::Engine;
use crate::node::{same_chain_root, Node, Seen};
use crate::types::{MemberId, Round};

impl Engine {
    /// True when `e` lies within the horizon of an event born in `birth_round`.
    pub(crate) fn in_horizon(&self, e_birth_round: Round, birth_round: Round) -> bool {
        e_birth_round + self.config.ancient_window_rounds >= birth_round
    }

    fn within(&self, seen: Seen, birth_round: Round) -> Seen {
        match seen.birth_round() {
            Some(b) if !self.in_horizon(b, birth_round) => Seen::None,
            _ => seen,
        }
    }

    /// The self-ancestor of `from` (inclusive) with creator_seq `seq`, walking self-parents.
    /// Used only for members proven to have forked.
    pub(crate) fn self_ancestor_at(&self, from: Handle, seq: u64) -> Option<Handle> {
        let mut current = from;
        loop {
            let node = self.dag.get(current)?;
            if node.seq == seq {
                return Some(current);
            }
            if node.seq < seq {
                return None;
            }
            current = node.self_parent?;
        }
    }

    fn merge(&self, member: MemberId, a: Seen, b: Seen) -> Seen {
        match (a, b) {
            (Seen::None, other) | (other, Seen::None) => other,
            (Seen::Forked { birth_round: x }, Seen::Forked { birth_round: y }) => Seen::Forked {
                birth_round: x.max(y),
            },
            (forked @ Seen::Forked { .. }, Seen::Tip { .. })
            | (Seen::Tip { .. }, forked @ Seen::Forked { .. }) => forked,
            (
                Seen::Tip {
                    handle: ha,
                    seq: sa,
                    birth_round: ba,
                    root: ra,
                },
                Seen::Tip {
                    handle: hb,
                    seq: sb,
                    birth_round: bb,
                    root: rb,
                },
            ) => {
                if ha == hb {
                    return a;
                }
                let (low, low_seq, high) = if sa <= sb { (ha, sa, b) } else { (hb, sb, a) };
                let Seen::Tip {
                    handle: high_handle,
                    ..
                } = high
                else {
                    unreachable!("high is a tip")
                };
                let same_chain = sa != sb
                    && same_chain_root(ra, rb)
                    && (!self.forked[member.index()]
                        || self.self_ancestor_at(high_handle, low_seq) == Some(low));
                if same_chain {
                    high
                } else {
                    Seen::Forked {
                        birth_round: ba.max(bb),
                    }
                }
            }
        }
    }

    /// The last-seen vector of a new node, from its parents' and itself.
    pub(crate) fn compute_seen(&self, handle: Handle) -> Box<[Seen]> {
        let node = self.dag.get(handle).expect("node being inserted");
        let birth = node.birth_round;
        let parent_seen = |p: Option<Handle>| p.and_then(|h| self.dag.get(h)).map(|n| &n.seen);
        let sp = parent_seen(node.self_parent);
        let op = parent_seen(node.other_parent);
        let mut seen: Vec<Seen> = self
            .members
            .ids()
            .map(|m| {
                let pick = |v: Option<&Box<[Seen]>>| {
                    v.map_or(Seen::None, |v| self.within(v[m.index()], birth))
                };
                self.merge(m, pick(sp), pick(op))
            })
            .collect();
        let own = node.creator.index();
        let me = Seen::Tip {
            handle,
            seq: node.seq,
            birth_round: birth,
            root: node.chain_root,
        };
        seen[own] = self.merge(node.creator, seen[own], me);
        seen.into_boxed_slice()
    }

    /// `z` sees `y`: `y` is an ancestor of `z` and `z` has no fork by `y`'s creator among its
    /// ancestors (both within `z`'s horizon).
    pub(crate) fn sees(&self, z: &Node, y_handle: Handle, y: &Node) -> bool {
        if !self.in_horizon(y.birth_round, z.birth_round) {
            return false;
        }
        match z.seen[y.creator.index()] {
            Seen::Tip { handle, seq, .. } => {
                seq >= y.seq
                    && (handle == y_handle
                        || !self.forked[y.creator.index()]
                        || self.self_ancestor_at(handle, y.seq) == Some(y_handle))
            }
            Seen::None | Seen::Forked { .. } => false,
        }
    }

    /// `x` strongly sees witness `y`: the members that created an ancestor of `x` which sees
    /// `y` have supermajority weight. Member `m` counts when its latest event below `x` has a
    /// sequence number at or above the first of `m`'s events to see `y`; for a member proven
    /// to have forked, its self-chain below `x` is walked instead, and when `x` has several of
    /// its branches below it, its recent ancestors are searched.
    pub(crate) fn strongly_sees(&self, x: &Node, y_handle: Handle, y: &Node) -> bool {
        if !self.in_horizon(y.birth_round, x.birth_round) {
            return false;
        }
        let first_see = &y.witness.as_ref().expect("y is a witness").first_see;
        let mut weight = 0;
        for m in self.members.ids() {
            let counts = match x.seen[m.index()] {
                Seen::None => false,
                Seen::Tip { handle, .. } if self.forked[m.index()] => {
                    // x's own tip is x itself, whose round is still being computed.
                    if x.creator == m {
                        self.sees(x, y_handle, y) || self.chain_has_seer(x.self_parent, y_handle, y)
                    } else {
                        self.chain_has_seer(Some(handle), y_handle, y)
                    }
                }
                Seen::Tip { seq, .. } => {
                    first_see[m.index()] != crate::node::NOT_SEEN && seq >= first_see[m.index()]
                }
                Seen::Forked { .. } => self.ancestor_by_sees(x, m, y_handle, y),
            };
            if counts {
                weight += self.members.weight(m);
                if self.members.is_supermajority(weight) {
                    return true;
                }
            }
        }
        false
    }

    /// Some ancestor of `x` (inclusive) created by `m` sees `y`. Needed only when `x` has a
    /// fork by `m` below it, so that several of `m`'s branches are ancestors: searches `x`'s
    /// ancestors of round `round(y)` or later (no earlier event can see `y`).
    fn ancestor_by_sees(&self, x: &Node, m: MemberId, y_handle: Handle, y: &Node) -> bool {
        if x.creator == m && self.sees(x, y_handle, y) {
            return true;
        }
        let mut visited = crate::arena::FastSet::default();
        let mut stack: Vec<Handle> = x.parents().collect();
        while let Some(h) = stack.pop() {
            if !visited.insert(h) {
                continue;
            }
            let Some(z) = self.dag.get(h) else { continue };
            if z.round < y.round || !self.in_horizon(z.birth_round, x.birth_round) {
                continue;
            }
            if z.creator == m && self.sees(z, y_handle, y) {
                return true;
            }
            stack.extend(z.parents());
        }
        false
    }

    /// Some self-ancestor of `tip` (inclusive) sees `y`.
    fn chain_has_seer(&self, tip: Option<Handle>, y_handle: Handle, y: &Node) -> bool {
        let mut current = tip;
        while let Some(node) = current.and_then(|h| self.dag.get(h)) {
            if node.round < y.round {
                return false;
            }
            if self.sees(node, y_handle, y) {
                return true;
            }
            current = node.self_parent;
        }
        false
    }

    /// Records the new node as the first seer, for its creator, of every witness that entered
    /// its ancestry with it (those beyond what its self-parent already had).
    pub(crate) fn update_first_seeing(&mut self, handle: Handle) {
        let node = self.dag.get(handle).expect("inserted");
        let creator = node.creator.index();
        let seq = node.seq;
        let sp_seen = node
            .self_parent
            .and_then(|h| self.dag.get(h))
            .map(|p| &p.seen);
        let mut newly_seen = Vec::new();
        for c in 0..self.members.len() {
            let Some(high) = node.seen[c].tip_seq() else {
                continue;
            };
            let low = sp_seen.and_then(|s| s[c].tip_seq());
            let range = match low {
                Some(low) if low >= high => continue,
                Some(low) => (low + 1)..=high,
                None => 0..=high,
            };
            for handles in self.witnesses_by_creator[c].range(range).map(|(_, hs)| hs) {
                for &y_handle in handles {
                    let Some(y) = self.dag.get(y_handle) else {
                        continue;
                    };
                    let unset = y.witness.as_ref().expect("witness").first_see[creator]
                        == crate::node::NOT_SEEN;
                    if unset && self.sees(node, y_handle, y) {
                        newly_seen.push(y_handle);
                    }
                }
            }
        }
        for y_handle in newly_seen {
            let y = self.dag.get_mut(y_handle).expect("checked above");
            y.witness.as_mut().expect("witness").first_see[creator] = seq;
        }
    }

    /// round(x): the parents' highest round, plus one when `x` strongly sees witnesses of that
    /// round by a supermajority of weight.
    pub(crate) fn compute_round(&self, handle: Handle) -> Round {
        let node = self.dag.get(handle).expect("inserted");
        let round_of = |p: Option<Handle>| p.and_then(|h| self.dag.get(h)).map(|n| n.round);
        let (sp, op) = (round_of(node.self_parent), round_of(node.other_parent));
        let dominant = self
            .members
            .is_supermajority(self.members.weight(node.creator));
        let r = match (sp, op) {
            (None, None) => return 1,
            // Only the self-parent, or a self-parent of a higher round: x adds no seeing that
            // its self-parent lacked, so it cannot advance, unless one member alone holds a
            // supermajority (then x strongly sees a self-parent that was promoted to round s);
            // that is x's creator, the only creator it adds.
            (Some(s), None) if !dominant => return s,
            (Some(s), Some(o)) if s > o && !dominant => return s,
            (s, o) => s.max(o).expect("a parent exists"),
        };
        if self.strongly_sees_supermajority_of(node, r) {
            r + 1
        } else {
            r
        }
    }

    fn strongly_sees_supermajority_of(&self, x: &Node, round: Round) -> bool {
        let Some(state) = self.rounds.get(&round) else {
            return false;
        };
        let mut counted = vec![false; self.members.len()];
        let mut weight = 0;
        for &y_handle in &state.witnesses {
            let Some(y) = self.dag.get(y_handle) else {
                continue;
            };
            if counted[y.creator.index()] || !self.strongly_sees(x, y_handle, y) {
                continue;
            }
            counted[y.creator.index()] = true;
            weight += self.members.weight(y.creator);
            if self.members.is_supermajority(weight) {
                return true;
            }
        }
        false
    }

    /// witness(x): no self-parent (within the horizon), or a higher round than it.
    pub(crate) fn is_new_witness(&self, handle: Handle, round: Round) -> bool {
        let node = self.dag.get(handle).expect("inserted");
        match node.self_parent.and_then(|h| self.dag.get(h)) {
            None => true,
            Some(sp) => round > sp.round,
        }
    }
}
