//! Transaction signatures, checked off the path of consensus.
//!
//! A received event is admitted once its own signature and the form of its transactions check
//! out; their signatures (strict ed25519, one per transaction, most of a validator's CPU) are
//! checked in the background meanwhile. Each hop of gossip then waits for one signature per
//! event instead of hundreds, so rounds keep their pace when events are full. A transaction's
//! verdict is needed only when it is applied, several rounds later: the driver then takes the
//! events known to be all valid from this cache and checks whatever it lacks itself (a cache
//! that lost the race or overflowed costs time, never a different outcome).

use rayon::prelude::*;
use std::collections::HashSet;
use std::sync::{Condvar, Mutex};
use votegraph_consensus::{EventId, VerifiedEvent};
use votegraph_gateway::{verify_encoded_each, ChainId, EnvelopeError};

/// Most events remembered as all valid; beyond it, the driver checks at commit time.
pub const EVENTS_MAX: usize = 50_000;

/// One verdict per transaction of an event, in its order.
pub type Verdicts = Vec<Result<(), EnvelopeError>>;

/// What the background checks found: events whose every transaction verifies (bounded), and
/// the events being checked right now, which the driver waits for rather than check twice.
#[derive(Default)]
pub struct VerdictCache {
    state: Mutex<State>,
    settled: Condvar,
}

#[derive(Default)]
struct State {
    checking: HashSet<EventId>,
    all_valid: HashSet<EventId>,
}

impl VerdictCache {
    /// Marks `events` as being checked.
    pub fn begin(&self, events: &[EventId]) {
        let mut state = self.state.lock().expect("verdict lock");
        state.checking.extend(events.iter().copied());
    }

    /// The check of `checked` is over: `all_valid` are those whose transactions all verify.
    pub fn settle(&self, checked: &[EventId], all_valid: Vec<EventId>) {
        let mut state = self.state.lock().expect("verdict lock");
        for id in checked {
            state.checking.remove(id);
        }
        for id in all_valid {
            if state.all_valid.len() < EVENTS_MAX {
                state.all_valid.insert(id);
            }
        }
        drop(state);
        self.settled.notify_all();
    }

    /// Whether `event` is known to be all valid, after any check of it under way; forgets it
    /// either way (it is applied once).
    pub fn take(&self, event: &EventId) -> bool {
        let mut state = self.state.lock().expect("verdict lock");
        while state.checking.contains(event) {
            state = self.settled.wait(state).expect("verdict lock");
        }
        state.all_valid.remove(event)
    }

    /// Keeps only the settled events `held` names (the others will never be applied here).
    pub fn retain(&self, held: impl Fn(&EventId) -> bool) {
        let mut state = self.state.lock().expect("verdict lock");
        state.all_valid.retain(|id| held(id));
    }

    /// Settled events remembered as all valid.
    pub fn len(&self) -> usize {
        self.state.lock().expect("verdict lock").all_valid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Checks every transaction of `events` and returns the ids of those whose transactions all
/// verify, in parallel over rayon's pool (an event's transactions are checked together).
pub fn all_valid(
    events: &[VerifiedEvent],
    chain: &ChainId,
    payload_bytes_max: usize,
) -> Vec<EventId> {
    events
        .par_iter()
        .filter(|e| {
            verify_encoded_each(e.transactions(), chain, payload_bytes_max)
                .iter()
                .all(Result::is_ok)
        })
        .map(VerifiedEvent::id)
        .collect()
}

/// The verdicts of `events`' transactions, in parallel over rayon's pool.
pub fn verdicts(
    events: &[&VerifiedEvent],
    chain: &ChainId,
    payload_bytes_max: usize,
) -> Vec<Verdicts> {
    events
        .par_iter()
        .map(|e| verify_encoded_each(e.transactions(), chain, payload_bytes_max))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use votegraph_consensus::encoding::UnsignedEvent;
    use votegraph_consensus::MemberId;
    use votegraph_gateway::Envelope;

    fn event(seq: u64, transactions: Vec<Vec<u8>>) -> VerifiedEvent {
        let unsigned = UnsignedEvent {
            creator: MemberId(0),
            creator_seq: seq,
            birth_round: 1,
            timestamp_ns: 1 + seq,
            self_parent: None,
            other_parent: None,
            transactions,
        };
        VerifiedEvent::sign(unsigned, &SigningKey::from_bytes(&[3; 32]))
    }

    #[test]
    fn only_events_whose_every_signature_verifies_are_all_valid() {
        let chain = ChainId::from_name("verdicts");
        let voter = SigningKey::from_bytes(&[5; 32]);
        let good = Envelope::sign(&chain, &voter, 1, b"yes".to_vec());
        let mut forged = Envelope::sign(&chain, &voter, 2, b"no".to_vec());
        forged.payload = b"NO".to_vec();
        let clean = event(0, vec![good.encode()]);
        let tainted = event(1, vec![good.encode(), forged.encode()]);
        let events = [clean.clone(), tainted.clone()];
        assert_eq!(all_valid(&events, &chain, 100), vec![clean.id()]);
        let verdicts = verdicts(&[&clean, &tainted], &chain, 100);
        assert_eq!(verdicts[0], vec![Ok(())]);
        assert_eq!(verdicts[1], vec![Ok(()), Err(EnvelopeError::BadSignature)]);
    }

    #[test]
    fn the_cache_forgets_what_it_hands_out_and_stays_bounded() {
        let cache = VerdictCache::default();
        let id = event(0, vec![]).id();
        cache.begin(&[id]);
        cache.settle(&[id], vec![id]);
        assert!(cache.take(&id));
        assert!(!cache.take(&id));
        let ids: Vec<EventId> = (0..EVENTS_MAX as u64 + 10)
            .map(|seq| {
                let mut bytes = [0u8; 32];
                bytes[..8].copy_from_slice(&seq.to_le_bytes());
                EventId(bytes)
            })
            .collect();
        cache.settle(&[], ids);
        assert_eq!(cache.len(), EVENTS_MAX);
        cache.retain(|_| false);
        assert!(cache.is_empty());
    }

    #[test]
    fn taking_an_event_under_check_waits_for_its_verdict() {
        let cache = std::sync::Arc::new(VerdictCache::default());
        let id = event(0, vec![]).id();
        cache.begin(&[id]);
        let checker = {
            let cache = std::sync::Arc::clone(&cache);
            std::thread::spawn(move || cache.settle(&[id], vec![id]))
        };
        // Whichever runs first, the answer is the settled one.
        assert!(cache.take(&id));
        checker.join().unwrap();
    }
}
