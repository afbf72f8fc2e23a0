//! A write batch: everything one commit changes, applied atomically by [`crate::Store::write`].
//!
//! The operations are ledger-level (put an event, append to the order, set the head), not raw
//! key/values, so that both stores implement the same meaning and the contract checks (no gap
//! in the order) live in one place.

use crate::error::StoreError;
use crate::records::{LedgerHead, OrderRecord, TransactionRecord};
use votegraph_consensus::{EventId, MemberId, Round};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    PutEvent {
        id: EventId,
        creator: MemberId,
        seq: u64,
        bytes: Vec<u8>,
    },
    DeleteEvent {
        id: EventId,
        creator: MemberId,
        seq: u64,
    },
    PutOrder {
        index: u64,
        record: OrderRecord,
    },
    PutTransaction {
        index: u64,
        record: TransactionRecord,
    },
    PutState {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    DeleteState {
        key: Vec<u8>,
    },
    PutCheckpoint {
        round: Round,
        bytes: Vec<u8>,
    },
    SetHead(LedgerHead),
}

/// The changes of one commit. Empty batches are valid and change nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    pub(crate) ops: Vec<Op>,
}

impl Batch {
    pub fn new() -> Self {
        Batch::default()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Stores a signed event (its canonical encoding) under its id and creator index.
    pub fn put_event(&mut self, id: EventId, creator: MemberId, seq: u64, bytes: Vec<u8>) {
        self.ops.push(Op::PutEvent {
            id,
            creator,
            seq,
            bytes,
        });
    }

    pub fn delete_event(&mut self, id: EventId, creator: MemberId, seq: u64) {
        self.ops.push(Op::DeleteEvent { id, creator, seq });
    }

    pub fn put_order(&mut self, index: u64, record: OrderRecord) {
        self.ops.push(Op::PutOrder { index, record });
    }

    pub fn put_transaction(&mut self, index: u64, record: TransactionRecord) {
        self.ops.push(Op::PutTransaction { index, record });
    }

    pub fn put_state(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push(Op::PutState { key, value });
    }

    pub fn delete_state(&mut self, key: Vec<u8>) {
        self.ops.push(Op::DeleteState { key });
    }

    pub fn put_checkpoint(&mut self, round: Round, bytes: Vec<u8>) {
        self.ops.push(Op::PutCheckpoint { round, bytes });
    }

    pub fn set_head(&mut self, head: LedgerHead) {
        self.ops.push(Op::SetHead(head));
    }

    /// Checks the batch continues the ledger: order and transaction indexes follow `head`
    /// without gaps, and a new head, if any, matches what the batch appends.
    pub(crate) fn check_continues(&self, head: &LedgerHead) -> Result<(), StoreError> {
        let mut next_order = head.next_order_index;
        let mut next_tx = head.next_transaction_index;
        for op in &self.ops {
            match op {
                Op::PutOrder { index, .. } => {
                    if *index != next_order {
                        return Err(StoreError::OrderGap {
                            expected: next_order,
                            got: *index,
                        });
                    }
                    next_order += 1;
                }
                Op::PutTransaction { index, .. } => {
                    if *index != next_tx {
                        return Err(StoreError::TransactionGap {
                            expected: next_tx,
                            got: *index,
                        });
                    }
                    next_tx += 1;
                }
                Op::SetHead(new) => {
                    if new.next_order_index != next_order {
                        return Err(StoreError::OrderGap {
                            expected: next_order,
                            got: new.next_order_index,
                        });
                    }
                    if new.next_transaction_index != next_tx {
                        return Err(StoreError::TransactionGap {
                            expected: next_tx,
                            got: new.next_transaction_index,
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
