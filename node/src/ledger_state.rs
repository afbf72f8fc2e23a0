//! The ledger's state table as governance reads it, and governance's writes as ledger state
//! changes: the one place where storage and gateway types meet.

use votegraph_gateway::governance::overlay::{StateError, StateRead, Writes};
use votegraph_storage::{StateRow, Store};

/// Committed state, read through the store.
pub struct LedgerState<'a>(pub &'a dyn Store);

impl StateRead for LedgerState<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.0.state(key).map_err(|e| StateError(e.to_string()))
    }
}

/// Governance writes plus `extra_puts`, as the puts and deletes of a round commit.
pub fn split_writes(writes: Writes, extra_puts: Vec<StateRow>) -> (Vec<StateRow>, Vec<Vec<u8>>) {
    let mut puts = extra_puts;
    let mut deletes = Vec::new();
    for (key, value) in writes {
        match value {
            Some(value) => puts.push((key, value)),
            None => deletes.push(key),
        }
    }
    (puts, deletes)
}
