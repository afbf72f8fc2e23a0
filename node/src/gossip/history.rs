//! Catch-up from the ledger: when a peer lacks events this node no longer holds in memory, it
//! is sent them from the ledger (which keeps every event), oldest birth rounds first, a slice
//! of rounds at a time. A validator that was down for longer than the in-memory window thus
//! rejoins by gossip alone, as long as its peers keep full history.

use bytes::Bytes;
use std::collections::{HashMap, HashSet, VecDeque};
use votegraph_consensus::{EventId, EventLimits, MemberId, Round, UncheckedEvent};
use votegraph_storage::{Store, StoreError};

/// Birth rounds sent per catch-up sync, counted from the oldest event the peer lacks: well
/// inside the receiver's future window, so nothing sent is refused as too far ahead.
pub const ROUNDS_PER_SYNC: Round = 8;

struct Stored {
    id: EventId,
    parents: Vec<EventId>,
    bytes: Bytes,
}

/// Events the peer lacks (by `known`), read from the ledger: every stored event of each
/// creator from `known[creator]` on whose birth round is within [`ROUNDS_PER_SYNC`] of the
/// oldest one needed, parents first, cut to `bytes_max` (at least one event). Empty when the
/// ledger holds nothing the peer lacks, or cannot help: it was pruned (see the storage's
/// `keep_full_history`) and lacks an event the peer needs, of a creator this node holds later
/// events of (`held_next[creator]` is the next sequence number it knows).
pub fn missing_from_ledger(
    store: &dyn Store,
    limits: &EventLimits,
    known: &[u64],
    held_next: &[u64],
    bytes_max: usize,
) -> Result<Vec<Bytes>, StoreError> {
    let pruned = votegraph_storage::pruned_below(store)?.is_some();
    let mut chains: Vec<Vec<(Round, Stored)>> = Vec::new();
    let mut oldest_needed: Option<Round> = None;
    for (creator, &next) in held_next.iter().enumerate() {
        let from = known.get(creator).copied().unwrap_or(0);
        let first = read_at(store, limits, MemberId(creator as u32), from)?;
        if pruned && first.is_empty() && from < next {
            return Ok(Vec::new());
        }
        if let Some((birth, _)) = first.first() {
            oldest_needed = Some(oldest_needed.map_or(*birth, |o: Round| o.min(*birth)));
        }
        chains.push(first);
    }
    let Some(oldest) = oldest_needed else {
        return Ok(Vec::new());
    };
    let last_round = oldest + ROUNDS_PER_SYNC;
    let mut picked = Vec::new();
    for (creator, mut chain) in chains.into_iter().enumerate() {
        let mut seq = known.get(creator).copied().unwrap_or(0);
        let mut bytes = 0usize;
        while !chain.is_empty()
            && bytes <= bytes_max
            && chain.iter().all(|(birth, _)| *birth <= last_round)
        {
            bytes += chain.iter().map(|(_, s)| s.bytes.len()).sum::<usize>();
            picked.extend(chain.drain(..).map(|(_, s)| s));
            seq += 1;
            chain = read_at(store, limits, MemberId(creator as u32), seq)?;
        }
    }
    Ok(cut(parents_first(picked), bytes_max))
}

/// The stored events of `creator` at `seq` (two or more if it forked), with birth rounds.
fn read_at(
    store: &dyn Store,
    limits: &EventLimits,
    creator: MemberId,
    seq: u64,
) -> Result<Vec<(Round, Stored)>, StoreError> {
    let mut found = Vec::new();
    for id in store.events_at(creator, seq)? {
        let Some(bytes) = store.event(&id)? else {
            continue;
        };
        let event = UncheckedEvent::decode(&bytes, limits).map_err(|e| {
            StoreError::corrupt("events", id.as_bytes(), format!("stored event: {e}"))
        })?;
        let parents = [&event.unsigned.self_parent, &event.unsigned.other_parent]
            .into_iter()
            .flatten()
            .map(|p| p.id)
            .collect();
        found.push((
            event.unsigned.birth_round,
            Stored {
                id,
                parents,
                bytes: Bytes::from(bytes),
            },
        ));
    }
    Ok(found)
}

/// Kahn's order: an event after every picked parent; ties in reading order.
fn parents_first(events: Vec<Stored>) -> Vec<Stored> {
    let ids: HashSet<EventId> = events.iter().map(|e| e.id).collect();
    let mut waiting_on: HashMap<EventId, usize> = HashMap::new();
    let mut children: HashMap<EventId, Vec<usize>> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        let inside: Vec<&EventId> = e.parents.iter().filter(|p| ids.contains(p)).collect();
        waiting_on.insert(e.id, inside.len());
        for p in inside {
            children.entry(*p).or_default().push(i);
        }
    }
    let mut ready: VecDeque<usize> = (0..events.len())
        .filter(|i| waiting_on[&events[*i].id] == 0)
        .collect();
    let mut order = Vec::with_capacity(events.len());
    while let Some(i) = ready.pop_front() {
        order.push(i);
        for child in children.get(&events[i].id).into_iter().flatten() {
            let count = waiting_on.get_mut(&events[*child].id).expect("counted");
            *count -= 1;
            if *count == 0 {
                ready.push_back(*child);
            }
        }
    }
    let mut slots: Vec<Option<Stored>> = events.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|i| slots[i].take().expect("each index once"))
        .collect()
}

fn cut(events: Vec<Stored>, bytes_max: usize) -> Vec<Bytes> {
    let mut total = 0usize;
    events
        .into_iter()
        .take_while(|e| {
            let first = total == 0;
            total += e.bytes.len();
            first || total <= bytes_max
        })
        .map(|e| e.bytes)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use votegraph_consensus::replay::signed_events;
    use votegraph_consensus::sim::{generate, GossipParams};
    use votegraph_storage::{Batch, MemStore};

    #[test]
    fn a_peer_far_behind_gets_the_oldest_rounds_first_parents_first() {
        let events = signed_events(&generate(&GossipParams::new(4, 600, 3))).unwrap();
        let store = MemStore::new();
        let mut batch = Batch::new();
        for e in &events {
            batch.put_event(e.id(), e.creator(), e.creator_seq(), e.encode());
        }
        store.write(batch).unwrap();
        let limits = EventLimits::default();
        let held_next: Vec<u64> = (0..4)
            .map(|c| {
                let chain = events.iter().filter(|e| e.creator().index() == c);
                chain.map(|e| e.creator_seq() + 1).max().unwrap_or(0)
            })
            .collect();
        let sent = missing_from_ledger(&store, &limits, &[0; 4], &held_next, usize::MAX).unwrap();
        assert!(
            !sent.is_empty() && sent.len() < events.len(),
            "one slice of rounds"
        );
        let mut seen = HashSet::new();
        let mut births = Vec::new();
        for bytes in &sent {
            let e = UncheckedEvent::decode(bytes, &limits).unwrap();
            for p in [&e.unsigned.self_parent, &e.unsigned.other_parent]
                .into_iter()
                .flatten()
            {
                assert!(seen.contains(&p.id), "a parent after its child");
            }
            seen.insert(e.unsigned.id());
            births.push(e.unsigned.birth_round);
        }
        assert!(births.iter().all(|b| *b <= births[0] + ROUNDS_PER_SYNC));
        let everything: Vec<u64> = vec![u64::MAX; 4];
        assert!(
            missing_from_ledger(&store, &limits, &everything, &held_next, usize::MAX)
                .unwrap()
                .is_empty()
        );
        // A pruned ledger lacks the oldest events: a peer that needs them gets nothing (and is
        // told it is too far behind) rather than events whose parents it can never get.
        let mut batch = Batch::new();
        votegraph_storage::mark_pruned(&mut batch, births[0] + 2);
        store.write(batch).unwrap();
        assert!(store.prune_events_born_before(births[0] + 2).unwrap() > 0);
        assert!(
            missing_from_ledger(&store, &limits, &[0; 4], &held_next, usize::MAX)
                .unwrap()
                .is_empty()
        );
    }
}
