//! Chain verification: recomputes the running hash over every transaction record and checks
//! it against each record and the head, and that the order log accounts for every
//! transaction. Any altered, missing or reordered record is reported at its index.

use crate::error::StoreError;
use crate::records::TransactionRecord;
use crate::store::Store;

/// What a verification covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    pub events_ordered: u64,
    pub transactions: u64,
    pub chain_head: [u8; 32],
}

const PAGE: usize = 4096;

/// Verifies the whole ledger in `store`; the first discrepancy is the error.
pub fn verify_chain(store: &dyn Store) -> Result<ChainReport, StoreError> {
    let head = store.head()?;
    let mut chain = [0u8; 32];
    let mut expected_index = 0u64;
    loop {
        let page = store.transactions(expected_index, PAGE)?;
        if page.is_empty() {
            break;
        }
        for (index, record) in page {
            if index != expected_index {
                return Err(StoreError::ChainBroken {
                    index: expected_index,
                    detail: format!("record missing (next stored index is {index})"),
                });
            }
            chain = TransactionRecord::next_chain_hash(&chain, &record.unhashed_encoding());
            if chain != record.chain_hash {
                return Err(StoreError::ChainBroken {
                    index,
                    detail: "running hash differs from the recomputed one".into(),
                });
            }
            expected_index += 1;
        }
    }
    if expected_index != head.next_transaction_index || chain != head.chain_head {
        return Err(StoreError::ChainBroken {
            index: expected_index,
            detail: format!(
                "head says {} transactions, the log holds {expected_index}, or its hash differs",
                head.next_transaction_index
            ),
        });
    }
    verify_order_log(store, head.next_order_index, head.next_transaction_index)?;
    Ok(ChainReport {
        events_ordered: head.next_order_index,
        transactions: expected_index,
        chain_head: chain,
    })
}

/// Each order record's transactions start where the previous record's ended.
fn verify_order_log(store: &dyn Store, events: u64, transactions: u64) -> Result<(), StoreError> {
    let mut next_tx = 0u64;
    for index in 0..events {
        let record = store.order(index)?.ok_or_else(|| StoreError::ChainBroken {
            index: next_tx,
            detail: format!("order record {index} missing"),
        })?;
        if record.first_transaction_index != next_tx {
            return Err(StoreError::ChainBroken {
                index: next_tx,
                detail: format!(
                    "order record {index} starts at transaction {}",
                    record.first_transaction_index
                ),
            });
        }
        next_tx += u64::from(record.transaction_count);
    }
    if next_tx != transactions {
        return Err(StoreError::ChainBroken {
            index: next_tx,
            detail: format!("the order log accounts for {next_tx} of {transactions} transactions"),
        });
    }
    Ok(())
}
