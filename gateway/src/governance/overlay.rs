//! The state a governance transaction reads and writes: the committed ledger state underneath,
//! the writes of earlier transactions of the same commit above it, and the current
//! transaction's writes on top, kept apart so that a rejected transaction changes nothing.
//!
//! Every ballot of a commit reads the same few entries (its election's status, definition and
//! closing schedule) that nothing in the commit writes; from the ledger each read is a RocksDB
//! lookup, together about a third of the cost of applying a ballot. So an overlay remembers
//! what it read from the committed state, which does not change while a commit's overlay lives
//! (the commit writes the overlay's changes only after it is done with it). A gateway's early
//! check, whose overlay lives for one transaction while the ledger may move on, is advisory.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

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
    base_reads: RefCell<BaseReads>,
    committed: Writes,
    current: Writes,
}

/// Most committed entries an overlay remembers, and most bytes of their values. The entries
/// read again are read first (by the commit's first ballot), so a full memory keeps them; the
/// rest (one roll entry per voter) are read once, and remembering them only costs.
const BASE_READS_MAX: usize = 256;
const BASE_READ_BYTES_MAX: usize = 4 << 20;

/// Values read from the committed state (`None`: absent), within the bounds above.
#[derive(Default)]
struct BaseReads {
    values: HashMap<Vec<u8>, Option<Vec<u8>>>,
    bytes: usize,
}

impl BaseReads {
    fn remember(&mut self, key: &[u8], value: &Option<Vec<u8>>) {
        let bytes = key.len() + value.as_ref().map_or(0, Vec::len);
        if self.values.len() < BASE_READS_MAX && self.bytes + bytes <= BASE_READ_BYTES_MAX {
            self.bytes += bytes;
            self.values.insert(key.to_vec(), value.clone());
        }
    }
}

impl<'a> Overlay<'a> {
    /// An overlay on `base`, which must not change while the overlay lives.
    pub fn new(base: &'a dyn StateRead) -> Self {
        Overlay {
            base,
            base_reads: RefCell::default(),
            committed: Writes::new(),
            current: Writes::new(),
        }
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        if let Some(value) = self.current.get(key).or_else(|| self.committed.get(key)) {
            return Ok(value.clone());
        }
        if let Some(value) = self.base_reads.borrow().values.get(key) {
            return Ok(value.clone());
        }
        let value = self.base.get(key)?;
        self.base_reads.borrow_mut().remember(key, &value);
        Ok(value)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A committed state that counts the reads that reach it.
    struct Counted {
        state: BTreeMap<Vec<u8>, Vec<u8>>,
        reads: Cell<usize>,
    }

    impl StateRead for Counted {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
            self.reads.set(self.reads.get() + 1);
            Ok(self.state.get(key).cloned())
        }
    }

    fn base(entries: &[(&str, &str)]) -> Counted {
        Counted {
            state: entries
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
            reads: Cell::new(0),
        }
    }

    #[test]
    fn a_committed_entry_read_again_is_not_read_from_the_state_again() {
        let state = base(&[("status", "open")]);
        let overlay = Overlay::new(&state);
        for _ in 0..3 {
            assert_eq!(overlay.get(b"status").unwrap(), Some(b"open".to_vec()));
            assert_eq!(overlay.get(b"missing").unwrap(), None);
        }
        assert_eq!(state.reads.get(), 2);
    }

    #[test]
    fn writes_shadow_remembered_reads_and_a_discard_brings_them_back() {
        let state = base(&[("tally", "1")]);
        let mut overlay = Overlay::new(&state);
        assert_eq!(overlay.get(b"tally").unwrap(), Some(b"1".to_vec()));
        overlay.put(b"tally".to_vec(), b"2".to_vec());
        assert_eq!(overlay.get(b"tally").unwrap(), Some(b"2".to_vec()));
        overlay.discard();
        assert_eq!(overlay.get(b"tally").unwrap(), Some(b"1".to_vec()));
        overlay.delete(b"tally".to_vec());
        overlay.keep();
        assert_eq!(overlay.get(b"tally").unwrap(), None);
    }

    #[test]
    fn beyond_its_bound_an_overlay_reads_the_state_each_time_and_stays_correct() {
        let entries: Vec<(String, String)> = (0..BASE_READS_MAX + 10)
            .map(|i| (format!("roll/{i}"), format!("voter {i}")))
            .collect();
        let borrowed: Vec<(&str, &str)> = entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let state = base(&borrowed);
        let overlay = Overlay::new(&state);
        for (k, v) in &entries {
            assert_eq!(
                overlay.get(k.as_bytes()).unwrap(),
                Some(v.as_bytes().to_vec())
            );
        }
        assert_eq!(overlay.base_reads.borrow().values.len(), BASE_READS_MAX);
        let (last, value) = entries.last().unwrap();
        let before = state.reads.get();
        assert_eq!(
            overlay.get(last.as_bytes()).unwrap(),
            Some(value.as_bytes().to_vec())
        );
        assert_eq!(state.reads.get(), before + 1);
        let (first, value) = &entries[0];
        assert_eq!(
            overlay.get(first.as_bytes()).unwrap(),
            Some(value.as_bytes().to_vec())
        );
        assert_eq!(state.reads.get(), before + 1);
    }
}
