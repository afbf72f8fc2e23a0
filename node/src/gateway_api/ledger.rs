//! StreamFinalized: the ledger's final transactions from an index on, then new ones as they
//! become final. Reads go to the ledger in pages, so a slow client costs one page of memory
//! and can never make the validator buffer without limit.

use super::{internal, Gateway};
use crate::client_api::WatcherSlot;
use crate::finality::{self, TxOutcome};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tonic::Status;
use votegraph_gateway::governance::action::Action;
use votegraph_gateway::Envelope;
use votegraph_proto::v1 as pb;
use votegraph_storage::Store;

const PAGE: usize = 256;
/// Longest wait for new finality before the ledger is read again anyway.
const POLL: Duration = Duration::from_secs(1);

pub fn stream(
    gateway: Arc<Gateway>,
    from_index: u64,
    tx: mpsc::Sender<Result<pb::FinalizedRecord, Status>>,
    slot: WatcherSlot,
) {
    tokio::spawn(async move {
        let _slot = slot;
        let mut updates = gateway.shared.finalized.subscribe();
        let mut next = from_index;
        loop {
            let page = {
                let gateway = Arc::clone(&gateway);
                tokio::task::spawn_blocking(move || read_page(&gateway, next)).await
            };
            let records = match page {
                Ok(Ok(records)) => records,
                Ok(Err(status)) => {
                    let _ = tx.send(Err(status)).await;
                    return;
                }
                Err(e) => {
                    let _ = tx.send(Err(internal(e))).await;
                    return;
                }
            };
            if records.is_empty() {
                tokio::select! {
                    _ = updates.recv() => {}
                    _ = tokio::time::sleep(POLL) => {}
                    _ = tx.closed() => return,
                }
                continue;
            }
            for record in records {
                next = record.index + 1;
                if tx.send(Ok(record)).await.is_err() {
                    return;
                }
            }
        }
    });
}

fn read_page(gateway: &Gateway, from: u64) -> Result<Vec<pb::FinalizedRecord>, Status> {
    let store = gateway.shared.store.as_ref();
    let rows = store.transactions(from, PAGE).map_err(internal)?;
    rows.into_iter()
        .map(|(index, record)| {
            let envelope = Envelope::decode(&record.payload).map_err(internal)?;
            let outcome = finality::recorded_outcome(store, index).map_err(internal)?;
            let kind = Action::decode(&envelope.payload)
                .map(|a| a.kind())
                .unwrap_or("unknown");
            let (reject_code, reject_reason) = match &outcome {
                TxOutcome::Rejected { reason, .. } => {
                    (reason.code() as u32, reason.name().to_string())
                }
                TxOutcome::Applied { .. } => (0, String::new()),
            };
            Ok(pb::FinalizedRecord {
                index,
                tx_id: envelope.id().0.to_vec().into(),
                signer: envelope.signer.to_vec().into(),
                nonce: envelope.nonce,
                kind: kind.to_string(),
                consensus_timestamp_ns: record.consensus_timestamp_ns,
                chain_hash: record.chain_hash.to_vec().into(),
                applied: outcome.is_applied(),
                reject_code,
                reject_reason,
                detail: outcome.detail().to_string(),
                envelope: record.payload.into(),
            })
        })
        .collect()
}
