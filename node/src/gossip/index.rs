//! What this validator can send to its peers: every event still in the engine's memory, by
//! creator and sequence, each with the local insertion number that gives a topological order.
//!
//! The driver adds events after they are durable and prunes those the engine forgot; sync
//! handlers read it concurrently. A peer that lacks events older than what is held here is
//! told exactly which it needs (it must catch up by state transfer).
//!
//! A sequence vector cannot describe a forked creator: a peer holding one branch at a sequence
//! number lacks the other branch but claims that number. Such a peer asks for the events it
//! lacks by id (`missing_for`'s `wanted`), and gets each with its recent self-ancestors, so a
//! branch arrives whole however it forked.

use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use votegraph_consensus::{EventId, MemberId, Round, VerifiedEvent};

#[derive(Clone)]
struct Entry {
    seq: u64,
    birth_round: Round,
    insertion: u64,
    id: EventId,
    self_parent: Option<EventId>,
    bytes: Bytes,
}

/// Self-ancestors sent along with each wanted event: a branch of a forked creator that a peer
/// lacks arrives this many events at a time.
pub const WANTED_SELF_ANCESTORS_MAX: usize = 32;

/// A peer needs events this node no longer holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("needs events of creator {creator} from seq {needed_seq}, but this node holds only seq {oldest_held_seq} and later (pruned as ancient); the node must be restored from a recent backup of a peer's ledger")]
pub struct Behind {
    pub creator: MemberId,
    pub needed_seq: u64,
    pub oldest_held_seq: u64,
}

pub struct GossipIndex {
    by_creator: Vec<VecDeque<Entry>>,
    next_insertion: u64,
    /// Per creator, the end of the unbroken run of sequence numbers held (survives pruning).
    known: Vec<u64>,
    /// Every held event: its creator (index) and sequence number.
    ids: HashMap<EventId, (usize, u64)>,
    events: usize,
    bytes: usize,
}

impl GossipIndex {
    pub fn new(members: usize) -> Self {
        GossipIndex {
            by_creator: vec![VecDeque::new(); members],
            next_insertion: 0,
            known: vec![0; members],
            ids: HashMap::new(),
            events: 0,
            bytes: 0,
        }
    }

    /// Adds an event whose parents were added before it.
    pub fn add(&mut self, event: &VerifiedEvent) {
        let creator = event.creator().index();
        let entry = Entry {
            seq: event.creator_seq(),
            birth_round: event.birth_round(),
            insertion: self.next_insertion,
            id: event.id(),
            self_parent: event.self_parent().map(|p| p.id),
            bytes: Bytes::from(event.encode()),
        };
        self.next_insertion += 1;
        if self.ids.insert(entry.id, (creator, entry.seq)).is_some() {
            return;
        }
        self.events += 1;
        self.bytes += entry.bytes.len();
        let chain = &mut self.by_creator[creator];
        let at = chain.partition_point(|e| e.seq <= entry.seq);
        chain.insert(at, entry);
        self.advance_known(creator);
    }

    /// `known[creator]` covers only an unbroken run of sequence numbers: a peer must keep
    /// sending an event this node lacks even when later events of the same creator arrived
    /// (buffered before their parents, say).
    fn advance_known(&mut self, creator: usize) {
        let chain = &self.by_creator[creator];
        let mut next = self.known[creator];
        let mut at = chain.partition_point(|e| e.seq < next);
        while at < chain.len() && chain[at].seq <= next {
            if chain[at].seq == next {
                next += 1;
            }
            at += 1;
        }
        self.known[creator] = next;
    }

    /// After a restart the index holds only what the engine kept in memory; everything of a
    /// creator before its oldest event held is in the ledger, so it counts as known.
    pub fn assume_known_before_memory(&mut self) {
        for creator in 0..self.by_creator.len() {
            if let Some(oldest) = self.by_creator[creator].front() {
                self.known[creator] = self.known[creator].max(oldest.seq);
            }
            self.advance_known(creator);
        }
    }

    /// An event of `creator` at `seq` is too old to matter here (ancient): it and every earlier
    /// event of that creator count as known, so peers stop sending them.
    pub fn passed(&mut self, creator: MemberId, seq: u64) {
        let Some(known) = self.known.get_mut(creator.index()) else {
            return;
        };
        *known = (*known).max(seq + 1);
        self.advance_known(creator.index());
    }

    /// Forgets an event the engine refused after all (a buffered event whose parents never
    /// came): peers must send it, or what it needs, again.
    pub fn remove(&mut self, creator: MemberId, seq: u64, id: &EventId) {
        let Some(chain) = self.by_creator.get_mut(creator.index()) else {
            return;
        };
        if let Some(at) = chain.iter().position(|e| e.id == *id) {
            let entry = chain.remove(at).expect("position found");
            self.ids.remove(id);
            self.events -= 1;
            self.bytes -= entry.bytes.len();
            let still_held = chain.iter().any(|e| e.seq == seq);
            if !still_held {
                self.known[creator.index()] = self.known[creator.index()].min(seq);
            }
        }
    }

    /// Per creator: the first sequence number this node lacks.
    pub fn known(&self) -> Vec<u64> {
        self.known.clone()
    }

    pub fn contains(&self, id: &EventId) -> bool {
        self.ids.contains_key(id)
    }

    pub fn len(&self) -> usize {
        self.events
    }

    pub fn is_empty(&self) -> bool {
        self.events == 0
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The latest event held of `creator`, the other-parent for an event after syncing with it.
    pub fn latest_of(&self, creator: MemberId) -> Option<EventId> {
        self.by_creator.get(creator.index())?.back().map(|e| e.id)
    }

    /// Events a peer that knows `known` lacks, and the `wanted` ones with their recent
    /// self-ancestors, parents first, at most `max` events and `bytes_max` bytes (but at least
    /// one). A prefix of a topological order is closed under the parents the peer lacks, so a
    /// cut batch is still insertable; only the oldest of a wanted run may lack its own parent
    /// at the peer, which then asks for that next.
    pub fn missing_for(
        &self,
        known: &[u64],
        wanted: &[EventId],
        max: usize,
        bytes_max: usize,
    ) -> Result<Vec<Bytes>, Behind> {
        let mut picked: Vec<&Entry> = Vec::new();
        for id in wanted {
            self.push_self_chain(id, &mut picked);
        }
        for (creator, chain) in self.by_creator.iter().enumerate() {
            let peer_next = known.get(creator).copied().unwrap_or(0);
            if peer_next >= self.known[creator] {
                continue;
            }
            match chain.front() {
                Some(oldest) if oldest.seq > peer_next => {
                    return Err(Behind {
                        creator: MemberId(creator as u32),
                        needed_seq: peer_next,
                        oldest_held_seq: oldest.seq,
                    })
                }
                None => {
                    return Err(Behind {
                        creator: MemberId(creator as u32),
                        needed_seq: peer_next,
                        oldest_held_seq: self.known[creator],
                    })
                }
                _ => {}
            }
            let from = chain.partition_point(|e| e.seq < peer_next);
            picked.extend(chain.range(from..));
        }
        picked.sort_unstable_by_key(|e| e.insertion);
        picked.dedup_by_key(|e| e.insertion);
        picked.truncate(max);
        let mut total = 0usize;
        let within_budget = picked.iter().take_while(|e| {
            let first = total == 0;
            total += e.bytes.len();
            first || total <= bytes_max
        });
        Ok(within_budget.map(|e| e.bytes.clone()).collect())
    }

    /// The held event `id` and up to [`WANTED_SELF_ANCESTORS_MAX`] of its self-ancestors.
    fn push_self_chain<'a>(&'a self, id: &EventId, out: &mut Vec<&'a Entry>) {
        let mut next = Some(*id);
        for _ in 0..=WANTED_SELF_ANCESTORS_MAX {
            let Some(entry) = next.and_then(|id| self.entry(&id)) else {
                return;
            };
            out.push(entry);
            next = entry.self_parent;
        }
    }

    fn entry(&self, id: &EventId) -> Option<&Entry> {
        let &(creator, seq) = self.ids.get(id)?;
        let chain = &self.by_creator[creator];
        let from = chain.partition_point(|e| e.seq < seq);
        chain
            .range(from..)
            .take_while(|e| e.seq == seq)
            .find(|e| e.id == *id)
    }

    /// Forgets events born before `birth_round` (the engine no longer holds them).
    pub fn prune_born_before(&mut self, birth_round: Round) {
        for chain in &mut self.by_creator {
            // Chains are in sequence order, and birth rounds never decrease along a chain.
            while chain.front().is_some_and(|e| e.birth_round < birth_round) {
                let entry = chain.pop_front().expect("front checked");
                self.ids.remove(&entry.id);
                self.events -= 1;
                self.bytes -= entry.bytes.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use std::collections::{HashMap, HashSet};
    use votegraph_consensus::encoding::ParentRef;
    use votegraph_consensus::replay::signed_events;
    use votegraph_consensus::sim::{generate, GossipParams};

    fn events(members: usize, count: usize) -> Vec<VerifiedEvent> {
        signed_events(&generate(&GossipParams::new(members, count, 7))).unwrap()
    }

    #[test]
    fn a_peer_gets_exactly_what_it_lacks_parents_first() {
        let all = events(4, 200);
        let mut full = GossipIndex::new(4);
        let mut half = GossipIndex::new(4);
        for (i, event) in all.iter().enumerate() {
            full.add(event);
            if i < 100 {
                half.add(event);
            }
        }
        let sent = full
            .missing_for(&half.known(), &[], usize::MAX, usize::MAX)
            .unwrap();
        assert_eq!(sent.len(), 100);
        let by_bytes: HashMap<Vec<u8>, &VerifiedEvent> =
            all.iter().map(|e| (e.encode(), e)).collect();
        let mut seen: HashSet<EventId> = all[..100].iter().map(|e| e.id()).collect();
        for bytes in &sent {
            let event = by_bytes[bytes.as_ref()];
            for parent in [event.self_parent(), event.other_parent()]
                .into_iter()
                .flatten()
            {
                assert!(
                    seen.contains(&parent.id),
                    "a parent was sent after its child"
                );
            }
            assert!(seen.insert(event.id()), "an event was sent twice");
        }
        assert!(full
            .missing_for(&full.known(), &[], usize::MAX, usize::MAX)
            .unwrap()
            .is_empty());
    }

    /// A second branch of `chain`'s creator: the same events a nanosecond later, each on the
    /// branch's previous event.
    fn fork_of(chain: &[&VerifiedEvent]) -> Vec<VerifiedEvent> {
        let key = SigningKey::from_bytes(&[5; 32]);
        let mut branch: Vec<VerifiedEvent> = Vec::new();
        for event in chain {
            let mut unsigned = event.unsigned().clone();
            unsigned.timestamp_ns += 1;
            if let Some(previous) = branch.last() {
                unsigned.self_parent = Some(ParentRef {
                    id: previous.id(),
                    birth_round: previous.birth_round(),
                });
            }
            branch.push(VerifiedEvent::sign(unsigned, &key));
        }
        branch
    }

    #[test]
    fn a_forked_branch_the_vector_hides_is_sent_whole_when_its_tip_is_wanted() {
        let all = events(4, 200);
        let of_creator: Vec<&VerifiedEvent> =
            all.iter().filter(|e| e.creator() == MemberId(0)).collect();
        let branch = fork_of(&of_creator[10..20]);
        let mut holder = GossipIndex::new(4);
        let mut peer = GossipIndex::new(4);
        for event in &all {
            holder.add(event);
            peer.add(event);
        }
        for event in &branch {
            holder.add(event);
        }
        let branch_ids: Vec<Bytes> = branch.iter().map(|e| Bytes::from(e.encode())).collect();
        let by_vector = holder
            .missing_for(&peer.known(), &[], usize::MAX, usize::MAX)
            .unwrap();
        assert!(
            by_vector.is_empty(),
            "the peer's vector claims every sequence number of the branch"
        );
        let tip = branch.last().unwrap().id();
        let asked = holder
            .missing_for(&peer.known(), &[tip, tip], usize::MAX, usize::MAX)
            .unwrap();
        let sent_branch: Vec<&Bytes> = asked.iter().filter(|b| branch_ids.contains(b)).collect();
        assert_eq!(
            sent_branch,
            branch_ids.iter().collect::<Vec<_>>(),
            "the whole branch, parents first, once"
        );
        let unknown = EventId([7; 32]);
        assert!(holder
            .missing_for(&peer.known(), &[unknown], usize::MAX, usize::MAX)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_wanted_event_comes_with_a_bounded_number_of_self_ancestors() {
        let all = events(2, 400);
        let mut index = GossipIndex::new(2);
        for event in &all {
            index.add(event);
        }
        let last = all
            .iter()
            .rev()
            .find(|e| e.creator() == MemberId(0))
            .unwrap();
        assert!(last.creator_seq() as usize > WANTED_SELF_ANCESTORS_MAX + 1);
        let sent = index
            .missing_for(&index.known(), &[last.id()], usize::MAX, usize::MAX)
            .unwrap();
        assert_eq!(sent.len(), WANTED_SELF_ANCESTORS_MAX + 1);
        assert_eq!(sent.last().unwrap().as_ref(), &last.encode()[..]);
    }

    #[test]
    fn known_stops_at_the_first_gap_and_a_removed_event_is_asked_for_again() {
        let all = events(2, 60);
        let of_creator: Vec<&VerifiedEvent> =
            all.iter().filter(|e| e.creator() == MemberId(0)).collect();
        assert!(of_creator.len() >= 4);
        let mut index = GossipIndex::new(2);
        index.add(of_creator[0]);
        index.add(of_creator[2]);
        index.add(of_creator[3]);
        assert_eq!(index.known()[0], 1, "seq 1 is missing");
        index.add(of_creator[1]);
        assert_eq!(index.known()[0], 4);
        index.remove(MemberId(0), 2, &of_creator[2].id());
        assert_eq!(index.known()[0], 2);
        assert!(!index.contains(&of_creator[2].id()));
    }

    #[test]
    fn a_restarted_index_and_ancient_events_do_not_hold_known_back() {
        let all = events(2, 60);
        let of_creator: Vec<&VerifiedEvent> =
            all.iter().filter(|e| e.creator() == MemberId(0)).collect();
        let mut restarted = GossipIndex::new(2);
        restarted.add(of_creator[3]);
        restarted.add(of_creator[4]);
        assert_eq!(restarted.known()[0], 0, "memory starts at seq 3");
        restarted.assume_known_before_memory();
        assert_eq!(restarted.known()[0], 5);
        let mut fresh = GossipIndex::new(2);
        fresh.passed(MemberId(0), 2);
        assert_eq!(
            fresh.known()[0],
            3,
            "an ancient event and all before it count as known"
        );
        fresh.add(of_creator[3]);
        assert_eq!(fresh.known()[0], 4);
    }

    #[test]
    fn a_peer_behind_the_pruned_history_is_told_what_it_needs() {
        let all = events(4, 400);
        let mut index = GossipIndex::new(4);
        for event in &all {
            index.add(event);
        }
        let before = index.len();
        index.prune_born_before(5);
        assert!(index.len() < before);
        let error = index
            .missing_for(&[0, 0, 0, 0], &[], 10, usize::MAX)
            .unwrap_err();
        assert_eq!(error.needed_seq, 0);
        assert!(error.oldest_held_seq > 0);
        assert!(error.to_string().contains("backup"));
    }
}
