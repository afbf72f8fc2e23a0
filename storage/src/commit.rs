//! The commit unit: everything a decided round produces (its ordered events, their
//! transactions with the running hash, the state changes from applying them, the new head)
//! becomes one batch, written atomically.

use crate::batch::Batch;
use crate::records::{next_chain_hash, LedgerHead, OrderRecord, TransactionRecord};
use votegraph_consensus::{OrderedEvent, Round};

/// What one decided round changes.
#[derive(Clone, Debug, Default)]
pub struct RoundCommit {
    pub round: Round,
    /// The round's ordered events, in order.
    pub ordered: Vec<OrderedEvent>,
    /// State written by applying the round's transactions (key, value).
    pub state_puts: Vec<(Vec<u8>, Vec<u8>)>,
    pub state_deletes: Vec<Vec<u8>>,
}

/// The batch that commits `commit` on top of `head`, and the head it leaves. The events are
/// expected in order from `head.next_order_index`; the store refuses a batch with a gap.
pub fn round_batch(head: &LedgerHead, commit: &RoundCommit) -> (Batch, LedgerHead) {
    let mut batch = Batch::new();
    let mut next = *head;
    for ordered in &commit.ordered {
        let event = &ordered.event;
        let mut record = OrderRecord {
            event_id: event.id(),
            round_received: ordered.round_received,
            consensus_timestamp_ns: ordered.consensus_timestamp_ns,
            first_transaction_index: ordered.first_transaction_index,
            transaction_count: event.transactions().len() as u32,
            chain_hash: [0; 32],
        };
        record.chain_hash = next_chain_hash(&next.order_chain_head, &record.unhashed_encoding());
        next.order_chain_head = record.chain_hash;
        batch.put_order(ordered.order, record);
        next.next_order_index = ordered.order + 1;
        assert_eq!(
            event.transactions().len(),
            ordered.transaction_timestamps_ns.len(),
            "the engine stamps every transaction of an ordered event"
        );
        let stamped = event
            .transactions()
            .iter()
            .zip(&ordered.transaction_timestamps_ns);
        for (position, (payload, timestamp)) in stamped.enumerate() {
            let mut record = TransactionRecord {
                event_id: event.id(),
                position: position as u32,
                consensus_timestamp_ns: *timestamp,
                payload: payload.clone(),
                chain_hash: [0; 32],
            };
            record.chain_hash =
                TransactionRecord::next_chain_hash(&next.chain_head, &record.unhashed_encoding());
            next.chain_head = record.chain_hash;
            next.last_transaction_timestamp_ns = *timestamp;
            batch.put_transaction(next.next_transaction_index, record);
            next.next_transaction_index += 1;
        }
    }
    for (key, value) in &commit.state_puts {
        batch.put_state(key.clone(), value.clone());
    }
    for key in &commit.state_deletes {
        batch.delete_state(key.clone());
    }
    next.last_decided_round = next.last_decided_round.max(commit.round);
    batch.set_head(next);
    (batch, next)
}
