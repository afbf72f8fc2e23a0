//! The state a governance transaction reads and writes: the committed ledger state underneath,
//! the writes of earlier transactions of the same commit above it, and the current
//! transaction's writes on top, kept apart so that a rejected transaction changes nothing.

use std::collections::BTreeMap;

/// Committed state, read by key (the ledger's state table, or a map in tests).
pub trait StateRead {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;
}

/// Reading committed state failed (an I/O or corruption error of the ledger underneath).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state read failed: {0}")]
pub struct StateError(pub String);

impl StateRead for BTreeMap<Vec<u8>, Vec<u8>> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(BTreeMap::get(self, key).cloned())
    }
}

/// A write: `Some(value)` puts, `None` deletes.
pub type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

pub struct Overlay<'a> {
    base: &'a dyn StateRead,
    committed: Writes,
    current: Writes,
}

impl<'a> Overlay<'a> {
    pub fn new(base: &'a dyn StateRead) -> Self {
        Overlay {
            base,
            committed: Writes::new(),
            current: Writes::new(),
        }
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        if let Some(value) = self.current.get(key).or_else(|| self.committed.get(key)) {
            return Ok(value.clone());
        }
        self.base.get(key)
    }

    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.current.insert(key, Some(value));
    }

    pub fn delete(&mut self, key: Vec<u8>) {
        self.current.insert(key, None);
    }

    /// Keeps the current transaction's writes.
    pub fn keep(&mut self) {
        let current = std::mem::take(&mut self.current);
        self.committed.extend(current);
    }

    /// Drops the current transaction's writes.
    pub fn discard(&mut self) {
        self.current.clear();
    }

    /// Every kept write, in key order.
    pub fn into_writes(mut self) -> Writes {
        self.discard();
        self.committed
    }
}
