//! Chain verification: walks the order log and, for each order record, its transactions;
//! recomputes both running hashes (over order records and over transaction records) and checks
//! every record, the links between them and the head. Any altered, missing, inserted or
//! reordered record is reported at its index.

use crate::error::StoreError;
use crate::records::{next_chain_hash, LedgerHead, OrderRecord};
use crate::store::Store;

/// What a verification covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    pub events_ordered: u64,
    pub transactions: u64,
    pub chain_head: [u8; 32],
    pub order_chain_head: [u8; 32],
}

/// Verifies the whole ledger in `store`; the first discrepancy is the error.
pub fn verify_chain(store: &dyn Store) -> Result<ChainReport, StoreError> {
    let head = store.head()?;
    let mut walked = LedgerHead::default();
    for index in 0..head.next_order_index {
        let record = store
            .order(index)?
            .ok_or_else(|| StoreError::OrderLogBroken {
                index,
                detail: "record missing".into(),
            })?;
        check_order_record(index, &record, &mut walked)?;
        check_transactions(store, &record, &mut walked)?;
    }
    check_nothing_beyond(store, &head)?;
    let head_matches = walked.chain_head == head.chain_head
        && walked.order_chain_head == head.order_chain_head
        && walked.next_transaction_index == head.next_transaction_index
        && walked.last_transaction_timestamp_ns == head.last_transaction_timestamp_ns;
    if !head_matches {
        return Err(StoreError::OrderLogBroken {
            index: head.next_order_index,
            detail: "the head differs from what the records add up to".into(),
        });
    }
    Ok(ChainReport {
        events_ordered: head.next_order_index,
        transactions: walked.next_transaction_index,
        chain_head: walked.chain_head,
        order_chain_head: walked.order_chain_head,
    })
}

fn check_order_record(
    index: u64,
    record: &OrderRecord,
    walked: &mut LedgerHead,
) -> Result<(), StoreError> {
    let chain = next_chain_hash(&walked.order_chain_head, &record.unhashed_encoding());
    if chain != record.chain_hash {
        return Err(StoreError::OrderLogBroken {
            index,
            detail: "running hash differs from the recomputed one".into(),
        });
    }
    if record.first_transaction_index != walked.next_transaction_index {
        return Err(StoreError::OrderLogBroken {
            index,
            detail: format!(
                "starts at transaction {}, not {}",
                record.first_transaction_index, walked.next_transaction_index
            ),
        });
    }
    walked.order_chain_head = chain;
    walked.next_order_index = index + 1;
    Ok(())
}

fn check_transactions(
    store: &dyn Store,
    record: &OrderRecord,
    walked: &mut LedgerHead,
) -> Result<(), StoreError> {
    let count = record.transaction_count as usize;
    let transactions = store.transactions(walked.next_transaction_index, count)?;
    for position in 0..count {
        let index = walked.next_transaction_index;
        let broken = |detail: String| StoreError::ChainBroken { index, detail };
        let (stored_index, tx) = transactions
            .get(position)
            .ok_or_else(|| broken("record missing".into()))?;
        if *stored_index != index {
            return Err(broken(format!(
                "record missing (next stored index is {stored_index})"
            )));
        }
        if tx.event_id != record.event_id || tx.position as usize != position {
            return Err(broken(
                "belongs to another event or position than its order record".into(),
            ));
        }
        let chain = next_chain_hash(&walked.chain_head, &tx.unhashed_encoding());
        if chain != tx.chain_hash {
            return Err(broken(
                "running hash differs from the recomputed one".into(),
            ));
        }
        if index > 0 && tx.consensus_timestamp_ns <= walked.last_transaction_timestamp_ns {
            return Err(broken(
                "consensus timestamp not later than the one before".into(),
            ));
        }
        walked.chain_head = chain;
        walked.next_transaction_index += 1;
        walked.last_transaction_timestamp_ns = tx.consensus_timestamp_ns;
    }
    Ok(())
}

/// No record lies at or beyond the head's indexes, nor between the last record and the head
/// (a key of another length sorts there): reading from the last index on must give exactly the
/// last record.
fn check_nothing_beyond(store: &dyn Store, head: &LedgerHead) -> Result<(), StoreError> {
    let tail = |next: u64| if next == 0 { (0, 0) } else { (next - 1, 1) };
    let (from, expected) = tail(head.next_order_index);
    if store.orders(from, expected + 1)?.len() != expected {
        return Err(StoreError::OrderLogBroken {
            index: head.next_order_index,
            detail: "a record lies beyond the head".into(),
        });
    }
    let (from, expected) = tail(head.next_transaction_index);
    if store.transactions(from, expected + 1)?.len() != expected {
        return Err(StoreError::ChainBroken {
            index: head.next_transaction_index,
            detail: "a record lies beyond the head".into(),
        });
    }
    Ok(())
}
