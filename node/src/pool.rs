//! The transaction pool: verified envelopes waiting for this validator's next event.
//!
//! Bounded in transactions and bytes; a full pool refuses (the client sees RESOURCE_EXHAUSTED)
//! rather than queueing without limit. A transaction is known from admission until it is final
//! (or its event went stale and it is queued again), so a replayed envelope is refused here;
//! the ledger's own duplicate rule catches replays through other validators.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;
use votegraph_consensus::EventId;
use votegraph_gateway::TxId;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AdmitError {
    #[error("transaction {0} is already pending or in flight")]
    Duplicate(String),
    #[error("the pool is full ({transactions} transactions, {bytes} bytes); retry later")]
    Full { transactions: usize, bytes: usize },
}

/// Transactions checked together with one, before it, and not admitted yet.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ahead {
    pub transactions: usize,
    pub bytes: usize,
}

pub struct PoolLimits {
    pub transactions_max: usize,
    pub bytes_max: usize,
}

/// A pending transaction: its id, canonical envelope bytes, and when it was admitted.
pub struct Pending {
    pub id: TxId,
    pub bytes: Vec<u8>,
    pub admitted: Instant,
}

pub struct Pool {
    limits: PoolLimits,
    queue: VecDeque<Pending>,
    queued_bytes: usize,
    /// Admitted and not yet final: queued, or carried by an event of this node.
    known: HashMap<TxId, Instant>,
    /// Carried by a peer's event not yet ordered, by event (forgotten if it goes stale).
    carried: HashMap<TxId, EventId>,
    carried_by_event: HashMap<EventId, Vec<TxId>>,
}

impl Pool {
    pub fn new(limits: PoolLimits) -> Self {
        Pool {
            limits,
            queue: VecDeque::new(),
            queued_bytes: 0,
            known: HashMap::new(),
            carried: HashMap::new(),
            carried_by_event: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The checks of [`Pool::admit`] that need no signature: run them first, so that a full
    /// pool or a replay costs no signature check.
    pub fn precheck(&self, id: &TxId, bytes: usize) -> Result<(), AdmitError> {
        self.precheck_behind(id, bytes, Ahead::default())
    }

    /// [`Pool::precheck`] for a transaction checked together with others `ahead` of it that
    /// are not admitted yet: it is refused if the pool would be full once they are.
    pub fn precheck_behind(&self, id: &TxId, bytes: usize, ahead: Ahead) -> Result<(), AdmitError> {
        if self.known.contains_key(id) || self.carried.contains_key(id) {
            return Err(AdmitError::Duplicate(id.to_hex()));
        }
        let queued = self.queue.len() + ahead.transactions;
        let full = queued >= self.limits.transactions_max
            || self.queued_bytes + ahead.bytes + bytes > self.limits.bytes_max
            // In-flight transactions are bounded too: at most two pools' worth.
            || self.known.len() + ahead.transactions >= 2 * self.limits.transactions_max;
        if full {
            return Err(AdmitError::Full {
                transactions: queued,
                bytes: self.queued_bytes + ahead.bytes,
            });
        }
        Ok(())
    }

    pub fn admit(&mut self, id: TxId, bytes: Vec<u8>, now: Instant) -> Result<(), AdmitError> {
        self.precheck(&id, bytes.len())?;
        self.enqueue(Pending {
            id,
            bytes,
            admitted: now,
        });
        Ok(())
    }

    /// A validator's own checkpoint signature: first in line and admitted even when the pool
    /// is full (one per checkpoint, so still bounded), since a certificate must not wait behind
    /// a backlog. Refused only as a duplicate.
    pub fn admit_own(&mut self, id: TxId, bytes: Vec<u8>, now: Instant) -> Result<(), AdmitError> {
        if self.known.contains_key(&id) || self.carried.contains_key(&id) {
            return Err(AdmitError::Duplicate(id.to_hex()));
        }
        self.enqueue(Pending {
            id,
            bytes,
            admitted: now,
        });
        self.queue.rotate_right(1); // the one just added goes first
        Ok(())
    }

    /// Adds `pending` at the back of the queue.
    fn enqueue(&mut self, pending: Pending) {
        self.queued_bytes += pending.bytes.len();
        self.known.insert(pending.id, pending.admitted);
        self.queue.push_back(pending);
    }

    /// Oldest-first transactions for the next event, at most `count_max` of them and
    /// `bytes_max` bytes in all (but always one, so that no transaction blocks the queue);
    /// they stay known until final. Queued transactions that became final meanwhile (another
    /// copy was ordered) are dropped, not carried again.
    pub fn take(&mut self, count_max: usize, bytes_max: usize) -> Vec<Pending> {
        let mut taken = Vec::new();
        let mut bytes = 0;
        while taken.len() < count_max {
            let Some(next) = self.queue.front() else {
                break;
            };
            if !taken.is_empty() && bytes + next.bytes.len() > bytes_max {
                break;
            }
            let p = self.queue.pop_front().expect("the front exists");
            self.queued_bytes -= p.bytes.len();
            if self.known.contains_key(&p.id) {
                bytes += p.bytes.len();
                taken.push(p);
            }
        }
        taken
    }

    /// Puts transactions of an event that can no longer be ordered back at the front.
    pub fn requeue(&mut self, pending: Vec<Pending>) {
        for p in pending.into_iter().rev() {
            self.queued_bytes += p.bytes.len();
            self.queue.push_front(p);
        }
    }

    /// A transaction became final, ordered in `event`; returns when it was admitted here, if it
    /// was.
    ///
    /// An event is ordered whole: when the event that carried `id` is the one ordered, its list
    /// goes at once and the rest of its transactions, final in the same commit, find it gone.
    /// That keeps this constant time per transaction; removing each id from the list was
    /// quadratic in the event's size, and events are largest when the validator is busiest.
    pub fn finalized(&mut self, id: &TxId, event: &EventId) -> Option<Instant> {
        match self.carried.remove(id) {
            Some(carrier) if carrier == *event => {
                self.carried_by_event.remove(event);
            }
            // Final through another event (a copy submitted elsewhere): rare, so the carrier's
            // list is searched, and dropped once empty so that it cannot outlive its ids.
            Some(carrier) => {
                if let Some(ids) = self.carried_by_event.get_mut(&carrier) {
                    ids.retain(|i| i != id);
                    if ids.is_empty() {
                        self.carried_by_event.remove(&carrier);
                    }
                }
            }
            None => {}
        }
        self.known.remove(id)
    }

    /// A peer's event carries `id`; it is in flight until final (or the event goes stale).
    /// Bounded by the engine's DAG: only events in memory and not yet ordered carry any.
    pub fn carried_by_peer(&mut self, id: TxId, event: EventId) {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.carried.entry(id) {
            slot.insert(event);
            self.carried_by_event.entry(event).or_default().push(id);
        }
    }

    /// A peer's event went stale: what it carried may be submitted again.
    pub fn forget_event(&mut self, event: &EventId) {
        for id in self.carried_by_event.remove(event).unwrap_or_default() {
            self.carried.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> TxId {
        TxId([n; 32])
    }

    fn pool(transactions_max: usize, bytes_max: usize) -> Pool {
        Pool::new(PoolLimits {
            transactions_max,
            bytes_max,
        })
    }

    #[test]
    fn a_transaction_checked_behind_others_counts_them_as_queued() {
        let now = Instant::now();
        let mut pool = pool(3, 100);
        pool.admit(id(1), vec![0; 10], now).unwrap();
        let one_ahead = Ahead {
            transactions: 1,
            bytes: 10,
        };
        assert_eq!(pool.precheck_behind(&id(2), 10, one_ahead), Ok(()));
        let two_ahead = Ahead {
            transactions: 2,
            bytes: 20,
        };
        assert_eq!(
            pool.precheck_behind(&id(2), 10, two_ahead),
            Err(AdmitError::Full {
                transactions: 3,
                bytes: 30
            })
        );
        let heavy_ahead = Ahead {
            transactions: 1,
            bytes: 85,
        };
        assert!(matches!(
            pool.precheck_behind(&id(2), 10, heavy_ahead),
            Err(AdmitError::Full { .. })
        ));
        assert_eq!(
            pool.precheck_behind(&id(1), 10, Ahead::default()),
            Err(AdmitError::Duplicate(id(1).to_hex()))
        );
    }

    #[test]
    fn full_pool_refuses_instead_of_growing() {
        let now = Instant::now();
        let mut pool = pool(2, 1000);
        pool.admit(id(1), vec![0; 10], now).unwrap();
        pool.admit(id(2), vec![0; 10], now).unwrap();
        assert!(matches!(
            pool.admit(id(3), vec![0; 10], now),
            Err(AdmitError::Full {
                transactions: 2,
                ..
            })
        ));
        let mut small = self::pool(10, 15);
        small.admit(id(1), vec![0; 10], now).unwrap();
        assert!(matches!(
            small.admit(id(2), vec![0; 10], now),
            Err(AdmitError::Full { .. })
        ));
    }

    #[test]
    fn a_known_transaction_is_refused_until_final() {
        let now = Instant::now();
        let mut pool = pool(10, 1000);
        pool.admit(id(1), vec![1], now).unwrap();
        assert!(matches!(
            pool.admit(id(1), vec![1], now),
            Err(AdmitError::Duplicate(_))
        ));
        let taken = pool.take(5, usize::MAX);
        assert_eq!(taken.len(), 1);
        assert!(pool.is_empty());
        assert!(
            pool.admit(id(1), vec![1], now).is_err(),
            "in flight is still known"
        );
        let event = EventId([7; 32]);
        assert_eq!(pool.finalized(&id(1), &event), Some(now));
        assert!(pool.finalized(&id(1), &event).is_none());
    }

    #[test]
    fn take_respects_the_byte_budget_but_always_moves_one() {
        let now = Instant::now();
        let mut pool = pool(10, 1000);
        for n in 1..=3 {
            pool.admit(id(n), vec![n; 100], now).unwrap();
        }
        assert_eq!(pool.take(10, 150).len(), 1);
        assert_eq!(pool.take(10, 50).len(), 1, "an oversized head still moves");
        assert_eq!(pool.take(10, 1000).len(), 1);
        assert!(pool.is_empty());
    }

    #[test]
    fn a_transaction_carried_by_a_peer_is_refused_until_final_or_stale() {
        let now = Instant::now();
        let mut pool = pool(10, 1000);
        let event = EventId([9; 32]);
        pool.carried_by_peer(id(1), event);
        pool.carried_by_peer(id(2), event);
        assert!(matches!(
            pool.admit(id(1), vec![1], now),
            Err(AdmitError::Duplicate(_))
        ));
        // Final through another event (a copy submitted elsewhere): this event may still go stale.
        pool.finalized(&id(1), &EventId([8; 32]));
        pool.admit(id(1), vec![1], now).unwrap();
        pool.forget_event(&event);
        pool.admit(id(2), vec![2], now).unwrap();
    }

    #[test]
    fn an_ordered_event_leaves_nothing_carried_behind() {
        let now = Instant::now();
        let mut pool = pool(10, 1000);
        let (ordered, stale) = (EventId([9; 32]), EventId([10; 32]));
        for n in 1..=3 {
            pool.carried_by_peer(id(n), ordered);
        }
        pool.carried_by_peer(id(4), stale);
        pool.carried_by_peer(id(1), stale);
        for n in 1..=3 {
            pool.finalized(&id(n), &ordered);
        }
        assert!(pool.carried_by_event.keys().eq([&stale]));
        assert!(pool.carried.keys().eq([&id(4)]));
        pool.forget_event(&stale);
        assert!(pool.carried.is_empty() && pool.carried_by_event.is_empty());
        pool.admit(id(4), vec![4], now).unwrap();

        // An event whose transactions all became final through other events first.
        let late = EventId([11; 32]);
        pool.carried_by_peer(id(5), late);
        pool.carried_by_peer(id(6), late);
        pool.finalized(&id(5), &ordered);
        pool.finalized(&id(6), &ordered);
        pool.finalized(&id(5), &late);
        pool.finalized(&id(6), &late);
        assert!(pool.carried.is_empty() && pool.carried_by_event.is_empty());
    }

    #[test]
    fn take_is_oldest_first_and_requeue_restores_the_front() {
        let now = Instant::now();
        let mut pool = pool(10, 1000);
        for n in 1..=4 {
            pool.admit(id(n), vec![n], now).unwrap();
        }
        let taken = pool.take(2, usize::MAX);
        assert_eq!(
            taken.iter().map(|p| p.id).collect::<Vec<_>>(),
            [id(1), id(2)]
        );
        pool.requeue(taken);
        let again = pool.take(10, usize::MAX);
        assert_eq!(
            again.iter().map(|p| p.id).collect::<Vec<_>>(),
            [id(1), id(2), id(3), id(4)]
        );
    }

    #[test]
    fn own_checkpoint_signatures_go_first_even_when_the_pool_is_full() {
        let mut pool = Pool::new(PoolLimits {
            transactions_max: 1,
            bytes_max: 1_000,
        });
        let now = Instant::now();
        pool.admit(id(1), vec![0; 10], now).unwrap();
        assert!(pool.admit(id(2), vec![0; 10], now).is_err());
        pool.admit_own(id(3), vec![0; 10], now).unwrap();
        assert!(
            pool.admit_own(id(3), vec![0; 10], now).is_err(),
            "a duplicate"
        );
        let taken = pool.take(1, 1_000);
        assert_eq!(taken[0].id, id(3));
    }

    #[test]
    fn a_queued_transaction_that_became_final_is_not_taken_again() {
        let mut pool = Pool::new(PoolLimits {
            transactions_max: 10,
            bytes_max: 1_000,
        });
        let now = Instant::now();
        pool.admit(id(1), vec![0; 10], now).unwrap();
        pool.admit(id(2), vec![0; 10], now).unwrap();
        pool.finalized(&id(1), &EventId([7; 32]));
        let taken = pool.take(10, 1_000);
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].id, id(2));
        assert!(pool.is_empty());
        assert_eq!(pool.queued_bytes, 0);
    }
}
