//! Transaction signatures, checked off the path of consensus.
//!
//! A received event is admitted once its own signature and the form of its transactions check
//! out; their signatures (strict ed25519, one per transaction, most of a validator's CPU) are
//! checked in the background meanwhile. Each hop of gossip then waits for one signature per
//! event instead of hundreds, so rounds keep their pace when events are full. A transaction's
//! verdict is needed only when it is applied, several rounds later: the driver then takes the
//! event's verdicts from this cache, waiting for a check under way, and checks itself what the
//! cache lacks (one that overflowed costs time, never a different outcome).

use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::{Condvar, Mutex, OnceLock};
use votegraph_consensus::{EventId, VerifiedEvent};
use votegraph_gateway::{verify_encoded_each, ChainId, EnvelopeError};

/// Most settled events remembered; beyond it, the driver checks at commit time.
pub const EVENTS_MAX: usize = 50_000;

/// One verdict per transaction of an event, in its order.
pub type Verdicts = Vec<Result<(), EnvelopeError>>;

/// What a check found for one event: `None` when every transaction verifies (the common
/// case, kept small), else every verdict.
pub type Settled = Option<Verdicts>;

/// The background checks' results by event, bounded, and the events being checked right
/// now, which the driver waits for rather than check twice.
#[derive(Default)]
pub struct VerdictCache {
    state: Mutex<State>,
    settled: Condvar,
}

#[derive(Default)]
struct State {
    checking: HashSet<EventId>,
    settled: HashMap<EventId, Settled>,
}

impl VerdictCache {
    /// Marks `events` as being checked.
    pub fn begin(&self, events: &[EventId]) {
        let mut state = self.state.lock().expect("verdict lock");
        state.checking.extend(events.iter().copied());
    }

    /// The check of these events is over, with what it found.
    pub fn settle(&self, results: Vec<(EventId, Settled)>) {
        let mut state = self.state.lock().expect("verdict lock");
        for (id, settled) in results {
            state.checking.remove(&id);
            if state.settled.len() < EVENTS_MAX {
                state.settled.insert(id, settled);
            }
        }
        drop(state);
        self.settled.notify_all();
    }

    /// What the check of `event` found, after any check of it under way; `None` when it was
    /// not checked (or not kept). Forgets it either way: an event is applied, or goes stale,
    /// once.
    pub fn take(&self, event: &EventId) -> Option<Settled> {
        let mut state = self.state.lock().expect("verdict lock");
        while state.checking.contains(event) {
            state = self.settled.wait(state).expect("verdict lock");
        }
        state.settled.remove(event)
    }

    /// Settled events remembered.
    pub fn len(&self) -> usize {
        self.state.lock().expect("verdict lock").settled.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Runs `job` on the pool kept for transaction checks. It is not rayon's global pool, where
/// gossip verifies event signatures: a backlog of checks (a busy validator owes hundreds per
/// event) would queue ahead of them there, and every hop of consensus would wait for it again.
/// The two pools share the cores through the kernel's scheduler instead, at the same priority:
/// the commit waits for the checks' verdicts on the driver, so checks starved of CPU stall
/// consensus (measured: nice 10 on these threads cut rounds at 10,000 tx/s to 3 per 10 s).
pub fn spawn(job: impl FnOnce() + Send + 'static) {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(rayon::current_num_threads())
            .thread_name(|i| format!("votegraph-check-{i}"))
            .build()
            .expect("threads for the transaction checks")
    })
    .spawn(job)
}

/// Checks every transaction of each event, in parallel over the current rayon pool (an event's
/// transactions are checked together).
pub fn check(events: &[VerifiedEvent], chain: &ChainId, payload_bytes_max: usize) -> Vec<Settled> {
    events
        .par_iter()
        .map(|e| {
            settled(verify_encoded_each(
                e.transactions(),
                chain,
                payload_bytes_max,
            ))
        })
        .collect()
}

/// `None` when every verdict is a pass.
pub fn settled(verdicts: Verdicts) -> Settled {
    match verdicts.iter().all(Result::is_ok) {
        true => None,
        false => Some(verdicts),
    }
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
    fn a_check_keeps_every_verdict_only_for_an_event_with_a_failure() {
        let chain = ChainId::from_name("verdicts");
        let voter = SigningKey::from_bytes(&[5; 32]);
        let good = Envelope::sign(&chain, &voter, 1, b"yes".to_vec());
        let mut forged = Envelope::sign(&chain, &voter, 2, b"no".to_vec());
        forged.payload = b"NO".to_vec();
        let clean = event(0, vec![good.encode()]);
        let tainted = event(1, vec![good.encode(), forged.encode()]);
        let settled = check(&[clean, tainted], &chain, 100);
        assert_eq!(settled[0], None);
        assert_eq!(
            settled[1],
            Some(vec![Ok(()), Err(EnvelopeError::BadSignature)])
        );
    }

    #[test]
    fn the_cache_forgets_what_it_hands_out_and_stays_bounded() {
        let cache = VerdictCache::default();
        let id = event(0, vec![]).id();
        cache.begin(&[id]);
        cache.settle(vec![(id, None)]);
        assert_eq!(cache.take(&id), Some(None));
        assert_eq!(cache.take(&id), None);
        let results: Vec<(EventId, Settled)> = (0..EVENTS_MAX as u64 + 10)
            .map(|seq| {
                let mut bytes = [0u8; 32];
                bytes[..8].copy_from_slice(&seq.to_le_bytes());
                (EventId(bytes), None)
            })
            .collect();
        cache.settle(results);
        assert_eq!(cache.len(), EVENTS_MAX);
    }

    #[test]
    fn taking_an_event_under_check_waits_for_its_verdict() {
        let cache = std::sync::Arc::new(VerdictCache::default());
        let id = event(0, vec![]).id();
        cache.begin(&[id]);
        let forged = || Some(vec![Err(EnvelopeError::BadSignature)]);
        let checker = {
            let cache = std::sync::Arc::clone(&cache);
            std::thread::spawn(move || cache.settle(vec![(id, forged())]))
        };
        // Whichever runs first, the answer is the settled one.
        assert_eq!(cache.take(&id), Some(forged()));
        checker.join().unwrap();
    }
}
