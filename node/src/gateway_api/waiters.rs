//! Callers waiting for their transaction to become final. One task reads the driver's
//! finality broadcast and wakes the callers by id, so a thousand waiting calls cost one
//! subscription, not a thousand scans of every batch.

use crate::finality::{self, Finalized};
use crate::shared::Shared;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, oneshot};
use tonic::Status;
use tracing::info;
use votegraph_gateway::TxId;

/// One caller's wait; dropping it (answered or not) unregisters the id.
pub struct Waiter {
    pub receiver: oneshot::Receiver<Finalized>,
    id: TxId,
    waiters: Arc<Waiters>,
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.waiters.forget(&self.id);
    }
}

pub struct Waiters {
    pending: Mutex<HashMap<TxId, oneshot::Sender<Finalized>>>,
    max: usize,
}

impl Waiters {
    pub fn new(max: usize) -> Self {
        Waiters {
            pending: Mutex::new(HashMap::new()),
            max,
        }
    }

    /// Registers interest in `id` (before submitting it, so its finality cannot be missed).
    pub fn register(self: &Arc<Self>, id: TxId) -> Result<Waiter, Status> {
        let mut pending = self.pending.lock().expect("waiters lock");
        if pending.len() >= self.max {
            return Err(Status::resource_exhausted(format!(
                "{} calls are already waiting for finality; retry later",
                self.max
            )));
        }
        if pending.contains_key(&id) {
            return Err(Status::already_exists(format!(
                "transaction {} is already being submitted",
                id.to_hex()
            )));
        }
        let (tx, receiver) = oneshot::channel();
        pending.insert(id, tx);
        Ok(Waiter {
            receiver,
            id,
            waiters: Arc::clone(self),
        })
    }

    pub fn forget(&self, id: &TxId) {
        self.pending.lock().expect("waiters lock").remove(id);
    }

    fn resolve(&self, batch: &[Finalized]) {
        let mut pending = self.pending.lock().expect("waiters lock");
        if pending.is_empty() {
            return;
        }
        for f in batch {
            if let Some(waiter) = pending.remove(&f.tx_id) {
                let _ = waiter.send(f.clone());
            }
        }
    }

    /// After missed broadcasts: looks every waiting id up in the ledger.
    fn sweep(&self, shared: &Shared) {
        let ids: Vec<TxId> = self
            .pending
            .lock()
            .expect("waiters lock")
            .keys()
            .copied()
            .collect();
        let found: Vec<Finalized> = ids
            .iter()
            .filter_map(|id| finality::lookup(shared.store.as_ref(), id).ok().flatten())
            .collect();
        self.resolve(&found);
    }

    /// Feeds the waiters from the driver's finality broadcast until the driver stops.
    pub fn spawn(self: Arc<Self>, shared: Arc<Shared>) {
        let mut updates = shared.finalized.subscribe();
        tokio::spawn(async move {
            loop {
                match updates.recv().await {
                    Ok(batch) => self.resolve(&batch),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        info!(
                            missed,
                            "finality waiters lagged; looking them up in the ledger"
                        );
                        let (waiters, shared) = (Arc::clone(&self), Arc::clone(&shared));
                        let _ = tokio::task::spawn_blocking(move || waiters.sweep(&shared)).await;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
}
