//! The ledger's storage contract, implemented by [`crate::MemStore`] and [`crate::RocksStore`]
//! and checked for both by one conformance suite (`storage/tests/conformance.rs`).

use crate::batch::Batch;
use crate::error::StoreError;
use crate::records::{LedgerHead, OrderRecord, TransactionRecord};
use votegraph_consensus::{EventId, MemberId, Round};

/// A state entry: key and value.
pub type StateRow = (Vec<u8>, Vec<u8>);

/// The ledger store.
///
/// Contracts every implementation keeps:
/// - **Atomic**: [`Store::write`] applies the whole batch or nothing, also across a crash.
/// - **Durable on return**: when `write` returns `Ok`, the batch survives a crash of the
///   process (and, with fsync enabled, of the machine).
/// - **No gaps in the order**: order and transaction indexes in a batch must continue the
///   ledger's head exactly; otherwise `write` fails with [`StoreError::OrderGap`] or
///   [`StoreError::TransactionGap`] and changes nothing.
/// - **Checked reads**: a record whose bytes were altered on disk is reported as
///   [`StoreError::Corrupt`] with its table and key, never returned.
pub trait Store: Send + Sync {
    fn write(&self, batch: Batch) -> Result<(), StoreError>;

    /// Where the ledger stands (the default head for an empty ledger).
    fn head(&self) -> Result<LedgerHead, StoreError>;

    /// The canonical encoding of a stored event.
    fn event(&self, id: &EventId) -> Result<Option<Vec<u8>>, StoreError>;

    /// Ids of the stored events of `creator` with sequence `seq` (several only for a fork).
    fn events_at(&self, creator: MemberId, seq: u64) -> Result<Vec<EventId>, StoreError>;

    /// Every stored event, in (creator, sequence) order. Used for recovery and export.
    fn all_event_ids(&self) -> Result<Vec<EventId>, StoreError>;

    fn order(&self, index: u64) -> Result<Option<OrderRecord>, StoreError>;

    /// Up to `limit` order records from index `from` on, in order.
    fn orders(&self, from: u64, limit: usize) -> Result<Vec<(u64, OrderRecord)>, StoreError>;

    /// Up to `limit` transaction records from index `from` on, in order.
    fn transactions(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, TransactionRecord)>, StoreError>;

    fn state(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Up to `limit` state entries whose keys start with `prefix` and sort after `after` (or
    /// from the first such key), in key order. Pages through listings without holding them.
    fn state_scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<StateRow>, StoreError>;

    fn checkpoint(&self, round: Round) -> Result<Option<Vec<u8>>, StoreError>;

    /// Drops from the event tables every event born before `birth_round` (the order log, the
    /// transactions and the state stay), returning how many went. For validators that do not
    /// keep full history, once an engine snapshot that no longer needs them is stored (see
    /// [`crate::put_snapshot`]); an auditor re-running consensus needs them all, so keeping
    /// them is the default.
    fn prune_events_born_before(&self, birth_round: Round) -> Result<u64, StoreError>;
}

/// Where a state scan starts: at `after` when it is within `prefix`, else at `prefix`.
pub(crate) fn scan_start(prefix: &[u8], after: Option<&[u8]>) -> Vec<u8> {
    match after {
        Some(after) if after.starts_with(prefix) => after.to_vec(),
        _ => prefix.to_vec(),
    }
}

/// Drops the row equal to `after` (the scan starts at it) and keeps at most `limit` rows.
pub(crate) fn skip_after(rows: Vec<StateRow>, after: Option<&[u8]>, limit: usize) -> Vec<StateRow> {
    rows.into_iter()
        .filter(|(k, _)| Some(k.as_slice()) != after)
        .take(limit)
        .collect()
}
