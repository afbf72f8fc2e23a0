//! The in-memory store: the reference implementation of the contract, for tests and tools.
//! Durable only for the life of the process.

use crate::batch::{Batch, Op};
use crate::error::StoreError;
use crate::records::{event_header, LedgerHead, OrderRecord, TransactionRecord};
use crate::store::StateRow;
use crate::store::Store;
use std::collections::BTreeMap;
use std::sync::RwLock;
use votegraph_consensus::{EventId, MemberId, Round};

#[derive(Default)]
struct Tables {
    events: BTreeMap<EventId, Vec<u8>>,
    by_creator: BTreeMap<(u32, u64, EventId), ()>,
    order: BTreeMap<u64, OrderRecord>,
    transactions: BTreeMap<u64, TransactionRecord>,
    state: BTreeMap<Vec<u8>, Vec<u8>>,
    checkpoints: BTreeMap<Round, Vec<u8>>,
    head: LedgerHead,
}

#[derive(Default)]
pub struct MemStore {
    tables: RwLock<Tables>,
}

impl MemStore {
    pub fn new() -> Self {
        MemStore::default()
    }
}

impl Store for MemStore {
    fn write(&self, batch: Batch) -> Result<(), StoreError> {
        let mut t = self.tables.write().expect("store lock poisoned");
        batch.check_continues(&t.head)?;
        for op in batch.ops {
            match op {
                Op::PutEvent {
                    id,
                    creator,
                    seq,
                    bytes,
                } => {
                    t.events.insert(id, bytes);
                    t.by_creator.insert((creator.0, seq, id), ());
                }
                Op::DeleteEvent { id, creator, seq } => {
                    t.events.remove(&id);
                    t.by_creator.remove(&(creator.0, seq, id));
                }
                Op::PutOrder { index, record } => {
                    t.order.insert(index, record);
                }
                Op::PutTransaction { index, record } => {
                    t.transactions.insert(index, record);
                }
                Op::PutState { key, value } => {
                    t.state.insert(key, value);
                }
                Op::DeleteState { key } => {
                    t.state.remove(&key);
                }
                Op::PutCheckpoint { round, bytes } => {
                    t.checkpoints.insert(round, bytes);
                }
                Op::SetHead(head) => t.head = head,
            }
        }
        Ok(())
    }

    fn head(&self) -> Result<LedgerHead, StoreError> {
        Ok(self.tables.read().expect("store lock poisoned").head)
    }

    fn event(&self, id: &EventId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .tables
            .read()
            .expect("store lock poisoned")
            .events
            .get(id)
            .cloned())
    }

    fn events_at(&self, creator: MemberId, seq: u64) -> Result<Vec<EventId>, StoreError> {
        let t = self.tables.read().expect("store lock poisoned");
        let from = (creator.0, seq, EventId([0; 32]));
        let to = (creator.0, seq, EventId([0xff; 32]));
        Ok(t.by_creator.range(from..=to).map(|(k, _)| k.2).collect())
    }

    fn all_event_ids(&self) -> Result<Vec<EventId>, StoreError> {
        let t = self.tables.read().expect("store lock poisoned");
        Ok(t.by_creator.keys().map(|k| k.2).collect())
    }

    fn order(&self, index: u64) -> Result<Option<OrderRecord>, StoreError> {
        Ok(self
            .tables
            .read()
            .expect("store lock poisoned")
            .order
            .get(&index)
            .cloned())
    }

    fn orders(&self, from: u64, limit: usize) -> Result<Vec<(u64, OrderRecord)>, StoreError> {
        let t = self.tables.read().expect("store lock poisoned");
        Ok(t.order
            .range(from..)
            .take(limit)
            .map(|(i, r)| (*i, r.clone()))
            .collect())
    }

    fn transactions(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, TransactionRecord)>, StoreError> {
        let t = self.tables.read().expect("store lock poisoned");
        Ok(t.transactions
            .range(from..)
            .take(limit)
            .map(|(i, r)| (*i, r.clone()))
            .collect())
    }

    fn state(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .tables
            .read()
            .expect("store lock poisoned")
            .state
            .get(key)
            .cloned())
    }

    fn state_scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<StateRow>, StoreError> {
        let t = self.tables.read().expect("store lock poisoned");
        let from = crate::store::scan_start(prefix, after);
        let rows = t
            .state
            .range(from..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit.saturating_add(1))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(crate::store::skip_after(rows, after, limit))
    }

    fn prune_events_born_before(&self, birth_round: Round) -> Result<u64, StoreError> {
        let mut t = self.tables.write().expect("store lock poisoned");
        let mut old = Vec::new();
        for (id, bytes) in &t.events {
            let (creator, seq, born) = event_header(id.as_bytes(), bytes)?;
            if born < birth_round {
                old.push((*id, creator, seq));
            }
        }
        for (id, creator, seq) in &old {
            t.events.remove(id);
            t.by_creator.remove(&(*creator, *seq, *id));
        }
        Ok(old.len() as u64)
    }

    fn checkpoint(&self, round: Round) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .tables
            .read()
            .expect("store lock poisoned")
            .checkpoints
            .get(&round)
            .cloned())
    }
}
