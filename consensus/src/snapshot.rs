//! Engine snapshots: the engine's memory at a decided round, as bytes.
//!
//! Why: an event's round, last-seen vector and votes depend on its ancestors, which depend on
//! theirs, back to genesis. A validator that drops old events from its ledger (pruning) can
//! therefore not rebuild the engine by replaying what is left; it restores a snapshot taken
//! when those events were still in memory and replays only the events stored after it. Any
//! validator restarts faster this way too.
//!
//! A snapshot holds everything the engine remembers except the events themselves, which the
//! ledger holds already: each node names its event by id and [`Engine::restore`] takes the
//! events back from the caller. Slots and handles are kept exactly, so the restored engine is
//! the same value as the one snapshotted and goes on to make the same decisions. Events waiting
//! in the future buffer are not part of it: they are in the ledger and are inserted again.

use crate::arena::{Arena, FastMap, Handle};
use crate::config::{ConfigError, EngineConfig};
use crate::engine::{Engine, EngineStats, OwnTip, RoundState};
use crate::event::VerifiedEvent;
use crate::members::MemberSet;
use crate::node::{Node, Seen, Status, WitnessState};
use crate::types::{EventId, MemberId, Round, TimestampNs};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Version of the snapshot encoding; a snapshot of another version is refused.
pub const SNAPSHOT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("the engine snapshot is malformed: {0}")]
    Malformed(String),
    #[error("the engine snapshot is of version {found}; this build reads version {expected}")]
    Version { found: u32, expected: u32 },
    #[error("the engine snapshot was taken with {found}; this engine has {expected}")]
    Mismatch { found: String, expected: String },
    #[error("the engine snapshot is member {taken_by:?}'s; this engine is member {restoring:?}'s (restore a validator's own ledger, or replay from genesis)")]
    OtherMember {
        taken_by: Option<u32>,
        restoring: Option<u32>,
    },
    #[error("event {} named by the engine snapshot is not available", .0.to_hex())]
    MissingEvent(EventId),
    #[error("bad engine configuration: {0}")]
    Config(#[from] ConfigError),
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    members: u32,
    /// blake3 of the validator set (keys and weights, in order).
    members_digest: [u8; 32],
    coin_frequency: u64,
    ancient_window_rounds: Round,
    /// The member whose engine this was (none for an observer): its own tip is only its own.
    local: Option<u32>,
    own_tip: Option<([u8; 32], u64, Round, TimestampNs)>,
    slots: Vec<(u32, Option<NodeData>)>,
    free: Vec<u32>,
    by_creator_seq: Vec<((u32, u64), Handle)>,
    witnesses_by_creator: Vec<Vec<(u64, Vec<Handle>)>>,
    latest_by_creator: Vec<Option<Handle>>,
    forked: Vec<bool>,
    /// (round, witnesses, undecided, decided)
    rounds: Vec<(Round, Vec<Handle>, u64, bool)>,
    last_decided: Round,
    by_birth_round: Vec<(Round, Vec<Handle>)>,
    stale_swept_below: Round,
    next_order: u64,
    next_transaction_index: u64,
    last_transaction_timestamp_ns: Option<TimestampNs>,
    stats: Counters,
}

#[derive(Serialize, Deserialize)]
struct NodeData {
    id: [u8; 32],
    self_parent: Option<Handle>,
    other_parent: Option<Handle>,
    chain_root: Handle,
    round: Round,
    seen: Vec<Seen>,
    status: Status,
    witness: Option<WitnessData>,
}

#[derive(Serialize, Deserialize)]
struct WitnessData {
    first_see: Vec<u64>,
    fame: Option<bool>,
    strongly_seen_prev: Vec<Handle>,
    /// Sorted by voter, so that equal engines give equal bytes.
    votes: Vec<(Handle, bool)>,
}

#[derive(Serialize, Deserialize)]
struct Counters {
    events_inserted: u64,
    events_ordered: u64,
    transactions_ordered: u64,
    events_stale: u64,
    events_ancient_dropped: u64,
    events_pruned: u64,
    forks_seen: u64,
}

impl Engine {
    /// The engine's memory as bytes. Call it with every output drained (between steps): a
    /// snapshot does not carry outputs, so one taken with outputs pending would lose them.
    pub fn snapshot(&self) -> Vec<u8> {
        assert!(
            self.outputs.is_empty(),
            "an engine snapshot is taken with every output drained"
        );
        let snapshot = Snapshot {
            version: SNAPSHOT_VERSION,
            members: self.members.len() as u32,
            members_digest: members_digest(&self.members),
            coin_frequency: self.config.coin_frequency,
            ancient_window_rounds: self.config.ancient_window_rounds,
            local: self.local.as_ref().map(|(id, _)| id.0),
            own_tip: self
                .own_tip
                .map(|t| (t.id.0, t.seq, t.birth_round, t.timestamp_ns)),
            slots: self
                .dag
                .slots()
                .map(|(generation, node)| (generation, node.map(node_data)))
                .collect(),
            free: self.dag.free_slots().to_vec(),
            by_creator_seq: sorted(self.by_creator_seq.iter().map(|(k, h)| ((k.0 .0, k.1), *h))),
            witnesses_by_creator: self
                .witnesses_by_creator
                .iter()
                .map(|by_seq| by_seq.iter().map(|(s, hs)| (*s, hs.clone())).collect())
                .collect(),
            latest_by_creator: self.latest_by_creator.clone(),
            forked: self.forked.clone(),
            rounds: self
                .rounds
                .iter()
                .map(|(r, s)| (*r, s.witnesses.clone(), s.undecided as u64, s.decided))
                .collect(),
            last_decided: self.last_decided,
            by_birth_round: self
                .by_birth_round
                .iter()
                .map(|(b, hs)| (*b, hs.clone()))
                .collect(),
            stale_swept_below: self.stale_swept_below,
            next_order: self.next_order,
            next_transaction_index: self.next_transaction_index,
            last_transaction_timestamp_ns: self.last_transaction_timestamp_ns,
            stats: Counters {
                events_inserted: self.stats.events_inserted,
                events_ordered: self.stats.events_ordered,
                transactions_ordered: self.stats.transactions_ordered,
                events_stale: self.stats.events_stale,
                events_ancient_dropped: self.stats.events_ancient_dropped,
                events_pruned: self.stats.events_pruned,
                forks_seen: self.stats.forks_seen,
            },
        };
        postcard::to_allocvec(&snapshot).expect("a snapshot always encodes")
    }

    /// The engine a [`Engine::snapshot`] was taken of, with `events` giving back each event it
    /// names (from the ledger). The configuration must be the one the snapshot was taken with.
    pub fn restore(
        config: EngineConfig,
        members: MemberSet,
        local: Option<(MemberId, SigningKey)>,
        bytes: &[u8],
        events: &mut dyn FnMut(&EventId) -> Option<VerifiedEvent>,
    ) -> Result<Engine, SnapshotError> {
        let snapshot: Snapshot =
            postcard::from_bytes(bytes).map_err(|e| SnapshotError::Malformed(e.to_string()))?;
        check_header(&snapshot, &config, &members)?;
        // Its own tip is the member's own chain: another member (a ledger restored from a
        // peer's backup) would continue the wrong chain, or fork its own.
        let restoring = local.as_ref().map(|(id, _)| id.0);
        if snapshot.local != restoring {
            return Err(SnapshotError::OtherMember {
                taken_by: snapshot.local,
                restoring,
            });
        }
        let mut engine = Engine::new(config, members, local)?;
        let n = engine.members.len();
        let mut slots = Vec::with_capacity(snapshot.slots.len());
        for (generation, data) in snapshot.slots {
            let node = data.map(|d| node_of(d, n, events)).transpose()?;
            slots.push((generation, node));
        }
        engine.dag = Arena::from_parts(slots, snapshot.free)
            .ok_or_else(|| malformed("its free list names a live, missing or repeated slot"))?;
        let creators: Vec<MemberId> = engine
            .dag
            .slots()
            .filter_map(|(_, n)| n)
            .map(|n| n.creator)
            .collect();
        for creator in creators {
            engine.shares.dag_added(creator);
        }
        engine.by_id = engine
            .dag
            .slots()
            .enumerate()
            .filter_map(|(slot, (generation, node))| {
                node.map(|node| (node.id, Handle::new(slot as u32, generation)))
            })
            .collect();
        engine.by_creator_seq = snapshot
            .by_creator_seq
            .into_iter()
            .map(|((creator, seq), h)| ((MemberId(creator), seq), h))
            .collect();
        engine.witnesses_by_creator = snapshot
            .witnesses_by_creator
            .into_iter()
            .map(|by_seq| by_seq.into_iter().collect())
            .collect();
        engine.latest_by_creator = snapshot.latest_by_creator;
        engine.forked = snapshot.forked;
        engine.rounds = snapshot
            .rounds
            .into_iter()
            .map(|(round, witnesses, undecided, decided)| {
                let undecided = undecided as usize;
                let state = RoundState {
                    witnesses,
                    undecided,
                    decided,
                };
                (round, state)
            })
            .collect();
        engine.last_decided = snapshot.last_decided;
        engine.by_birth_round = snapshot.by_birth_round.into_iter().collect();
        engine.stale_swept_below = snapshot.stale_swept_below;
        engine.next_order = snapshot.next_order;
        engine.next_transaction_index = snapshot.next_transaction_index;
        engine.last_transaction_timestamp_ns = snapshot.last_transaction_timestamp_ns;
        engine.own_tip = snapshot
            .own_tip
            .map(|(id, seq, birth_round, timestamp_ns)| OwnTip {
                id: EventId(id),
                seq,
                birth_round,
                timestamp_ns,
            });
        engine.stats = stats_of(snapshot.stats);
        check_indexes(&engine)?;
        Ok(engine)
    }
}

fn members_digest(members: &MemberSet) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    for id in members.ids() {
        let member = members.get(id).expect("listed member");
        hasher.update(member.public_key.as_bytes());
        hasher.update(&member.weight.to_le_bytes());
    }
    *hasher.finalize().as_bytes()
}

fn malformed(detail: &str) -> SnapshotError {
    SnapshotError::Malformed(detail.to_string())
}

fn sorted<K: Ord, V>(items: impl Iterator<Item = (K, V)>) -> Vec<(K, V)> {
    let mut items: Vec<(K, V)> = items.collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items
}

fn node_data(node: &Node) -> NodeData {
    NodeData {
        id: node.id.0,
        self_parent: node.self_parent,
        other_parent: node.other_parent,
        chain_root: node.chain_root,
        round: node.round,
        seen: node.seen.to_vec(),
        status: node.status,
        witness: node.witness.as_ref().map(|w| WitnessData {
            first_see: w.first_see.to_vec(),
            fame: w.fame,
            strongly_seen_prev: w.strongly_seen_prev.clone(),
            votes: sorted(w.votes.iter().map(|(h, v)| (*h, *v))),
        }),
    }
}

fn node_of(
    data: NodeData,
    members: usize,
    events: &mut dyn FnMut(&EventId) -> Option<VerifiedEvent>,
) -> Result<Node, SnapshotError> {
    let id = EventId(data.id);
    let event = events(&id).ok_or(SnapshotError::MissingEvent(id))?;
    if event.id() != id {
        return Err(malformed("an event was given back under another id"));
    }
    let vectors_fit = data.seen.len() == members
        && data
            .witness
            .as_ref()
            .is_none_or(|w| w.first_see.len() == members);
    if !vectors_fit {
        return Err(malformed(
            "a node's vectors do not have one entry per member",
        ));
    }
    Ok(Node {
        id,
        creator: event.creator(),
        seq: event.creator_seq(),
        birth_round: event.birth_round(),
        timestamp_ns: event.timestamp_ns(),
        event: Arc::new(event),
        self_parent: data.self_parent,
        other_parent: data.other_parent,
        chain_root: data.chain_root,
        round: data.round,
        seen: data.seen.into_boxed_slice(),
        status: data.status,
        witness: data.witness.map(|w| {
            Box::new(WitnessState {
                first_see: w.first_see.into_boxed_slice(),
                fame: w.fame,
                strongly_seen_prev: w.strongly_seen_prev,
                votes: w.votes.into_iter().collect::<FastMap<_, _>>(),
            })
        }),
    })
}

fn stats_of(c: Counters) -> EngineStats {
    EngineStats {
        events_inserted: c.events_inserted,
        events_ordered: c.events_ordered,
        transactions_ordered: c.transactions_ordered,
        events_stale: c.events_stale,
        events_ancient_dropped: c.events_ancient_dropped,
        events_pruned: c.events_pruned,
        forks_seen: c.forks_seen,
        ..EngineStats::default()
    }
}

fn check_header(
    snapshot: &Snapshot,
    config: &EngineConfig,
    members: &MemberSet,
) -> Result<(), SnapshotError> {
    if snapshot.version != SNAPSHOT_VERSION {
        return Err(SnapshotError::Version {
            found: snapshot.version,
            expected: SNAPSHOT_VERSION,
        });
    }
    if snapshot.members as usize == members.len()
        && snapshot.members_digest != members_digest(members)
    {
        return Err(SnapshotError::Mismatch {
            found: "another validator set (keys or weights)".into(),
            expected: "this genesis file's validator set".into(),
        });
    }
    let taken = (
        snapshot.members as usize,
        snapshot.coin_frequency,
        snapshot.ancient_window_rounds,
    );
    let here = (
        members.len(),
        config.coin_frequency,
        config.ancient_window_rounds,
    );
    if taken != here {
        let describe = |(m, c, w): (usize, u64, Round)| {
            format!("{m} members, coin frequency {c}, ancient window {w}")
        };
        return Err(SnapshotError::Mismatch {
            found: describe(taken),
            expected: describe(here),
        });
    }
    Ok(())
}

/// Every index the engine walks without checking must point at live nodes, and the per-member
/// vectors must have one entry per member: a snapshot that breaks this is refused here rather
/// than tripping an internal assertion later.
fn check_indexes(engine: &Engine) -> Result<(), SnapshotError> {
    let n = engine.members.len();
    let per_member = engine.witnesses_by_creator.len() == n
        && engine.latest_by_creator.len() == n
        && engine.forked.len() == n;
    if !per_member {
        return Err(malformed(
            "its per-member tables do not have one entry per member",
        ));
    }
    let live = |h: &Handle| engine.dag.get(*h).is_some();
    let indexed = engine.by_birth_round.values().flatten().all(live)
        && engine.rounds.values().flat_map(|s| &s.witnesses).all(live)
        && engine.latest_by_creator.iter().flatten().all(live)
        && engine.by_creator_seq.values().all(live)
        && engine
            .witnesses_by_creator
            .iter()
            .flat_map(|m| m.values())
            .flatten()
            .all(live);
    if !indexed {
        return Err(malformed("an index names an event that is not in memory"));
    }
    let filed: crate::arena::FastSet<Handle> =
        engine.by_birth_round.values().flatten().copied().collect();
    if filed.len() != engine.dag.len() {
        return Err(malformed(
            "the birth-round index does not hold every event once",
        ));
    }
    let witness_of = |h: &Handle, round: Round| {
        engine
            .dag
            .get(*h)
            .is_some_and(|node| node.is_witness() && node.round == round)
    };
    let rounds_hold_witnesses = engine
        .rounds
        .iter()
        .all(|(round, state)| state.witnesses.iter().all(|h| witness_of(h, *round)));
    let creators_hold_witnesses =
        engine
            .witnesses_by_creator
            .iter()
            .enumerate()
            .all(|(c, by_seq)| {
                by_seq.iter().all(|(seq, handles)| {
                    handles.iter().all(|h| {
                        engine.dag.get(*h).is_some_and(|node| {
                            node.is_witness() && node.creator.index() == c && node.seq == *seq
                        })
                    })
                })
            });
    if !rounds_hold_witnesses || !creators_hold_witnesses {
        return Err(malformed(
            "a witness index names an event that is not such a witness",
        ));
    }
    Ok(())
}
