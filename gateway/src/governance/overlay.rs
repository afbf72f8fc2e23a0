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
//!
//! Values every ballot reads or changes whole (its election's definition and tally) are kept
//! decoded for the rest of the commit instead (the `decoded` module): through bytes their cost
//! per ballot grew with the manifest.

use crate::governance::codec;
use crate::governance::decoded::DecodedValues;
use serde::{de::DeserializeOwned, Serialize};
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

/// The state entry `bytes` of `key`, decoded.
pub fn decode_entry<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StateError> {
    codec::decode(bytes).map_err(|e| {
        StateError(format!(
            "state entry {} does not decode: {e}",
            String::from_utf8_lossy(key)
        ))
    })
}

/// A write: `Some(value)` puts, `None` deletes.
pub type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

pub struct Overlay<'a> {
    base: &'a dyn StateRead,
    base_reads: RefCell<BaseReads>,
    /// Values kept decoded (see the `decoded` module); a changed one is newer than `committed`.
    decoded: RefCell<DecodedValues>,
    /// The current transaction changed a decoded value: it must be kept.
    decoded_changed: bool,
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
            decoded: RefCell::default(),
            decoded_changed: false,
            committed: Writes::new(),
            current: Writes::new(),
        }
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        if let Some(value) = self.current.get(key) {
            return Ok(value.clone());
        }
        if let Some(bytes) = self.decoded.borrow().changed_bytes(key) {
            return Ok(Some(bytes));
        }
        if let Some(value) = self.committed.get(key) {
            return Ok(value.clone());
        }
        if let Some(value) = self.base_reads.borrow().values.get(key) {
            return Ok(value.clone());
        }
        let value = self.base.get(key)?;
        self.base_reads.borrow_mut().remember(key, &value);
        Ok(value)
    }

    /// The value of `key` as `decode` makes it, decoded at most once per commit while no write
    /// replaces it: for values read by many transactions, cheap to clone (an `Arc`).
    pub fn get_decoded<T: Clone + 'static>(
        &self,
        key: &[u8],
        decode: impl FnOnce(&[u8]) -> Result<T, StateError>,
    ) -> Result<Option<T>, StateError> {
        let written_now = self.current.contains_key(key);
        if !written_now {
            if let Some(value) = self.decoded.borrow().get::<T>(key) {
                return Ok(Some(value.clone()));
            }
        }
        let Some(bytes) = self.get(key)? else {
            return Ok(None);
        };
        let value = decode(&bytes)?;
        if !written_now {
            self.decoded.borrow_mut().remember(key, value.clone());
        }
        Ok(Some(value))
    }

    /// Changes the value of `key` with `change` (`None` when there is none): decoded once per
    /// commit, changed in place by every transaction, and encoded once, by [`Self::into_writes`].
    /// A change cannot be taken back: the transaction that makes it must be kept, so make it
    /// last, once nothing can reject the transaction.
    pub fn update_decoded<T: Serialize + DeserializeOwned + 'static, R>(
        &mut self,
        key: &[u8],
        change: impl FnOnce(&mut T) -> R,
    ) -> Result<Option<R>, StateError> {
        let fresh =
            self.current.contains_key(key) || self.decoded.get_mut().get::<T>(key).is_none();
        if fresh {
            let Some(bytes) = self.get(key)? else {
                return Ok(None);
            };
            let value: T = decode_entry(key, &bytes)?;
            // The decoded value is now the newest; the bytes it came from are not.
            self.current.remove(key);
            self.decoded.get_mut().insert_changed(key, value);
        }
        let value = self
            .decoded
            .get_mut()
            .change::<T>(key)
            .expect("the value was just kept");
        self.decoded_changed = true;
        Ok(Some(change(value)))
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
        let decoded = self.decoded.get_mut();
        for key in current.keys() {
            decoded.forget(key);
        }
        self.committed.extend(current);
        self.decoded_changed = false;
    }

    /// Drops the current transaction's writes.
    pub fn discard(&mut self) {
        assert!(
            !self.decoded_changed,
            "a transaction that changed a decoded value is discarded"
        );
        self.current.clear();
    }

    /// Every kept write, in key order.
    pub fn into_writes(mut self) -> Writes {
        self.discard();
        let decoded = self.decoded.into_inner();
        self.committed
            .extend(decoded.into_changed().map(|(k, v)| (k, Some(v))));
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

    fn count(overlay: &Overlay, key: &[u8]) -> Option<u64> {
        overlay
            .get(key)
            .unwrap()
            .map(|bytes| codec::decode(&bytes).unwrap())
    }

    fn add(overlay: &mut Overlay, key: &[u8], n: u64) -> Option<u64> {
        overlay
            .update_decoded(key, |count: &mut u64| {
                *count += n;
                *count
            })
            .unwrap()
    }

    fn counted(entries: &[(&str, u64)]) -> Counted {
        Counted {
            state: entries
                .iter()
                .map(|(k, n)| (k.as_bytes().to_vec(), codec::encode(n)))
                .collect(),
            reads: Cell::new(0),
        }
    }

    #[test]
    fn a_decoded_value_is_decoded_once_changed_in_place_and_written_once() {
        let state = counted(&[("tally", 5)]);
        let mut overlay = Overlay::new(&state);
        for expected in 6..=8 {
            assert_eq!(add(&mut overlay, b"tally", 1), Some(expected));
            overlay.keep();
            assert_eq!(count(&overlay, b"tally"), Some(expected), "read back");
        }
        assert_eq!(add(&mut overlay, b"missing", 1), None);
        overlay.keep();
        assert_eq!(state.reads.get(), 2, "one read per key");
        let writes = overlay.into_writes();
        assert_eq!(
            writes.into_iter().collect::<Vec<_>>(),
            vec![(b"tally".to_vec(), Some(codec::encode(&8u64)))]
        );
    }

    #[test]
    fn bytes_written_after_a_decoded_change_replace_it_and_a_change_builds_on_bytes() {
        let state = counted(&[("tally", 5)]);
        let mut overlay = Overlay::new(&state);
        add(&mut overlay, b"tally", 1);
        overlay.keep();
        overlay.put(b"tally".to_vec(), codec::encode(&100u64));
        assert_eq!(count(&overlay, b"tally"), Some(100));
        overlay.discard();
        assert_eq!(
            count(&overlay, b"tally"),
            Some(6),
            "the discard brings the change back"
        );
        overlay.put(b"tally".to_vec(), codec::encode(&100u64));
        assert_eq!(
            add(&mut overlay, b"tally", 1),
            Some(101),
            "same transaction"
        );
        overlay.keep();
        overlay.put(b"tally".to_vec(), codec::encode(&200u64));
        overlay.keep();
        assert_eq!(count(&overlay, b"tally"), Some(200));
        let writes = overlay.into_writes();
        assert_eq!(writes[&b"tally"[..]], Some(codec::encode(&200u64)));
    }

    #[test]
    #[should_panic(expected = "changed a decoded value is discarded")]
    fn discarding_a_transaction_that_changed_a_decoded_value_breaks_an_invariant() {
        let state = counted(&[("tally", 5)]);
        let mut overlay = Overlay::new(&state);
        add(&mut overlay, b"tally", 1);
        overlay.discard();
    }

    #[test]
    fn a_value_read_decoded_is_decoded_once_until_a_write_replaces_it() {
        let state = counted(&[("spec", 1)]);
        let mut overlay = Overlay::new(&state);
        let decodes = Cell::new(0);
        let read = |overlay: &Overlay| {
            overlay
                .get_decoded(b"spec", |bytes| {
                    decodes.set(decodes.get() + 1);
                    Ok(codec::decode::<u64>(bytes).unwrap())
                })
                .unwrap()
        };
        assert_eq!(read(&overlay), Some(1));
        assert_eq!(read(&overlay), Some(1));
        assert_eq!(decodes.get(), 1);
        overlay.put(b"spec".to_vec(), codec::encode(&2u64));
        assert_eq!(read(&overlay), Some(2), "the transaction's own write");
        overlay.keep();
        assert_eq!(read(&overlay), Some(2));
        assert_eq!(read(&overlay), Some(2));
        assert_eq!(decodes.get(), 3);
    }
}
