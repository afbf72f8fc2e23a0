//! A write batch: everything one commit changes, applied atomically by [`crate::Store::write`].
//!
//! The operations are ledger-level (put an event, append to the order, set the head), not raw
//! key/values, so that both stores implement the same meaning and the contract checks (no gap
//! in the order) live in one place.

use crate::error::StoreError;
use crate::records::{next_chain_hash, LedgerHead, OrderRecord, TransactionRecord};
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

/// What a RocksDB batch adds around each key and value (type, column family, lengths) and the
/// seal after each value, rounded up.
const PER_ENTRY_BYTES: usize = 24;
/// An encoded order or transaction record without its payload, or a head, rounded up.
const RECORD_BYTES: usize = 128;

impl Op {
    /// About how many bytes this operation adds to a RocksDB write batch (never far below), so
    /// that the batch is allocated once.
    pub(crate) fn written_bytes_hint(&self) -> usize {
        let event_keys = 32 + 48 + 2 * PER_ENTRY_BYTES;
        match self {
            Op::PutEvent { bytes, .. } => bytes.len() + event_keys,
            Op::DeleteEvent { .. } => event_keys,
            Op::PutOrder { .. } | Op::SetHead(_) => RECORD_BYTES + PER_ENTRY_BYTES,
            Op::PutTransaction { record, .. } => {
                record.payload.len() + RECORD_BYTES + PER_ENTRY_BYTES
            }
            Op::PutState { key, value } => key.len() + value.len() + PER_ENTRY_BYTES,
            Op::DeleteState { key } => key.len() + PER_ENTRY_BYTES,
            Op::PutCheckpoint { bytes, .. } => bytes.len() + 8 + PER_ENTRY_BYTES,
        }
    }
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

    /// Adds `other`'s operations after this batch's.
    pub fn append(&mut self, other: Batch) {
        self.ops.extend(other.ops);
    }

    pub fn set_head(&mut self, head: LedgerHead) {
        self.ops.push(Op::SetHead(head));
    }

    /// The transaction records this batch appends, with their indexes, in order.
    pub fn transactions(&self) -> impl Iterator<Item = (u64, &TransactionRecord)> {
        self.ops.iter().filter_map(|op| match op {
            Op::PutTransaction { index, record } => Some((*index, record)),
            _ => None,
        })
    }

    /// Checks the batch continues the ledger exactly: order and transaction indexes follow
    /// `head` without gaps; each order record's transactions follow it (its event, positions
    /// 0..count, strictly increasing timestamps); every chain hash is the recomputed one; and a
    /// batch that appends ends with exactly one new head equal to what it appends.
    pub(crate) fn check_continues(&self, head: &LedgerHead) -> Result<(), StoreError> {
        let mut expected = *head;
        let mut open: Option<OpenRecord> = None;
        let mut new_head = None;
        let mut appends = false;
        for op in &self.ops {
            let is_append = matches!(op, Op::PutOrder { .. } | Op::PutTransaction { .. });
            if is_append && new_head.is_some() {
                return Err(bad("records after the new head"));
            }
            appends |= is_append;
            match op {
                Op::PutOrder { index, record } => {
                    close(&open)?;
                    open = Some(append_order(&mut expected, *index, record)?);
                }
                Op::PutTransaction { index, record } => {
                    append_transaction(&mut expected, &mut open, *index, record)?;
                }
                Op::SetHead(new) => {
                    let previous = new_head.replace(new);
                    if previous.is_some() {
                        return Err(bad("two new heads"));
                    }
                }
                _ => {}
            }
        }
        close(&open)?;
        match new_head {
            None if appends => Err(bad("records appended without a new head")),
            None => Ok(()),
            Some(new) => check_new_head(new, &expected),
        }
    }
}

/// The order record whose transactions the batch is appending.
struct OpenRecord {
    index: u64,
    event_id: EventId,
    remaining: u32,
    next_position: u32,
}

fn bad(detail: impl Into<String>) -> StoreError {
    StoreError::BadBatch(detail.into())
}

fn close(open: &Option<OpenRecord>) -> Result<(), StoreError> {
    match open {
        Some(o) if o.remaining > 0 => Err(bad(format!(
            "order record {} lacks {} of its transactions",
            o.index, o.remaining
        ))),
        _ => Ok(()),
    }
}

fn append_order(
    expected: &mut LedgerHead,
    index: u64,
    record: &OrderRecord,
) -> Result<OpenRecord, StoreError> {
    if index != expected.next_order_index {
        return Err(StoreError::OrderGap {
            expected: expected.next_order_index,
            got: index,
        });
    }
    if record.first_transaction_index != expected.next_transaction_index {
        return Err(bad(format!(
            "order record {index} starts at transaction {}, not {}",
            record.first_transaction_index, expected.next_transaction_index
        )));
    }
    let chain = next_chain_hash(&expected.order_chain_head, &record.unhashed_encoding());
    if chain != record.chain_hash {
        return Err(bad(format!(
            "order record {index} does not continue the order chain"
        )));
    }
    expected.order_chain_head = chain;
    expected.next_order_index += 1;
    Ok(OpenRecord {
        index,
        event_id: record.event_id,
        remaining: record.transaction_count,
        next_position: 0,
    })
}

fn append_transaction(
    expected: &mut LedgerHead,
    open: &mut Option<OpenRecord>,
    index: u64,
    record: &TransactionRecord,
) -> Result<(), StoreError> {
    if index != expected.next_transaction_index {
        return Err(StoreError::TransactionGap {
            expected: expected.next_transaction_index,
            got: index,
        });
    }
    let owner = open.as_mut().filter(|o| {
        o.remaining > 0 && o.event_id == record.event_id && o.next_position == record.position
    });
    let Some(owner) = owner else {
        return Err(bad(format!(
            "transaction {index} does not belong to the order record before it"
        )));
    };
    if index > 0 && record.consensus_timestamp_ns <= expected.last_transaction_timestamp_ns {
        return Err(bad(format!(
            "transaction {index} is not later than the one before"
        )));
    }
    let chain = next_chain_hash(&expected.chain_head, &record.unhashed_encoding());
    if chain != record.chain_hash {
        return Err(bad(format!(
            "transaction {index} does not continue the hash chain"
        )));
    }
    owner.remaining -= 1;
    owner.next_position += 1;
    expected.chain_head = chain;
    expected.next_transaction_index += 1;
    expected.last_transaction_timestamp_ns = record.consensus_timestamp_ns;
    Ok(())
}

fn check_new_head(new: &LedgerHead, expected: &LedgerHead) -> Result<(), StoreError> {
    if new.next_order_index != expected.next_order_index {
        return Err(StoreError::OrderGap {
            expected: expected.next_order_index,
            got: new.next_order_index,
        });
    }
    if new.next_transaction_index != expected.next_transaction_index {
        return Err(StoreError::TransactionGap {
            expected: expected.next_transaction_index,
            got: new.next_transaction_index,
        });
    }
    let same = new.chain_head == expected.chain_head
        && new.order_chain_head == expected.order_chain_head
        && new.last_transaction_timestamp_ns == expected.last_transaction_timestamp_ns;
    if !same {
        return Err(bad("the new head does not match the records appended"));
    }
    Ok(())
}
