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
    if walked.chain_head != head.chain_head || walked.order_chain_head != head.order_chain_head {
        return Err(StoreError::OrderLogBroken {
            index: head.next_order_index,
            detail: "the head's chain hashes differ from the recomputed ones".into(),
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
        walked.chain_head = chain;
        walked.next_transaction_index += 1;
    }
    Ok(())
}

fn check_nothing_beyond(store: &dyn Store, head: &LedgerHead) -> Result<(), StoreError> {
    if store.order(head.next_order_index)?.is_some() {
        return Err(StoreError::OrderLogBroken {
            index: head.next_order_index,
            detail: "a record lies beyond the head".into(),
        });
    }
    if let Some((index, _)) = store.transactions(head.next_transaction_index, 1)?.first() {
        return Err(StoreError::ChainBroken {
            index: *index,
            detail: "a record lies beyond the head".into(),
        });
    }
    Ok(())
}
