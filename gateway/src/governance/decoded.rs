//! Values an overlay keeps decoded for the rest of a commit.
//!
//! A ballot needs its election's definition and changes its election's tally; through bytes,
//! every ballot would decode both and encode the tally again, work that grows with the size of
//! the manifest (a 40-contest ballot spent most of its time there). Kept decoded, a definition
//! is decoded once per commit and a tally is decoded once and encoded once, when the commit's
//! writes are taken.
//!
//! An entry is *clean* (it equals the bytes underneath, a convenience that may be dropped) or
//! *changed* (it is the newest value of its key, and must be written).

use crate::governance::codec;
use serde::Serialize;
use std::any::Any;
use std::collections::HashMap;

/// Most clean entries kept: a commit reads the definitions of the elections its ballots name.
const CLEAN_MAX: usize = 256;

type Encode = fn(&dyn Any) -> Vec<u8>;

struct Entry {
    value: Box<dyn Any>,
    /// How to encode the value, once it has changed.
    changed: Option<Encode>,
}

#[derive(Default)]
pub struct DecodedValues {
    entries: HashMap<Vec<u8>, Entry>,
    clean: usize,
}

impl DecodedValues {
    /// The value of `key`, if it is kept as a `T`.
    pub fn get<T: 'static>(&self, key: &[u8]) -> Option<&T> {
        self.entries.get(key)?.value.downcast_ref()
    }

    /// The value of `key` as a `T` to change, if it is kept as one; it is then changed.
    pub fn change<T: Serialize + 'static>(&mut self, key: &[u8]) -> Option<&mut T> {
        let entry = self.entries.get_mut(key)?;
        if !entry.value.is::<T>() {
            return None;
        }
        if entry.changed.is_none() {
            self.clean -= 1;
            entry.changed = Some(encode_any::<T>);
        }
        entry.value.downcast_mut()
    }

    /// Keeps `value` as the clean value of `key`, within the bound; a clean value of `key` (of
    /// another type) is replaced, a changed one never.
    pub fn remember<T: 'static>(&mut self, key: &[u8], value: T) {
        let changed = self.entries.get(key).is_some_and(|e| e.changed.is_some());
        if changed || self.clean >= CLEAN_MAX {
            return;
        }
        self.forget(key);
        self.clean += 1;
        let entry = Entry {
            value: Box::new(value),
            changed: None,
        };
        self.entries.insert(key.to_vec(), entry);
    }

    /// Keeps `value` as the newest value of `key`.
    pub fn insert_changed<T: Serialize + 'static>(&mut self, key: &[u8], value: T) {
        self.forget(key);
        let entry = Entry {
            value: Box::new(value),
            changed: Some(encode_any::<T>),
        };
        self.entries.insert(key.to_vec(), entry);
    }

    /// Drops what is kept for `key` (newer bytes were written).
    pub fn forget(&mut self, key: &[u8]) {
        if let Some(entry) = self.entries.remove(key) {
            if entry.changed.is_none() {
                self.clean -= 1;
            }
        }
    }

    /// The encoding of `key`'s value if it changed.
    pub fn changed_bytes(&self, key: &[u8]) -> Option<Vec<u8>> {
        let entry = self.entries.get(key)?;
        entry.changed.map(|encode| encode(entry.value.as_ref()))
    }

    /// Every changed value, encoded.
    pub fn into_changed(self) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> {
        self.entries.into_iter().filter_map(|(key, entry)| {
            let encode = entry.changed?;
            Some((key, encode(entry.value.as_ref())))
        })
    }
}

/// The canonical encoding of a kept `T`.
fn encode_any<T: Serialize + 'static>(value: &dyn Any) -> Vec<u8> {
    codec::encode(
        value
            .downcast_ref::<T>()
            .expect("an entry is encoded as its own type"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_value_never_replaces_a_changed_one() {
        let mut values = DecodedValues::default();
        values.insert_changed(b"tally", 7u64);
        values.remember(b"tally", "other type");
        assert_eq!(values.get::<u64>(b"tally"), Some(&7));
        assert_eq!(values.changed_bytes(b"tally"), Some(codec::encode(&7u64)));
    }

    #[test]
    fn clean_values_are_kept_within_their_bound_and_changed_ones_always() {
        let mut values = DecodedValues::default();
        for i in 0..CLEAN_MAX + 10 {
            values.remember(format!("spec/{i}").as_bytes(), i);
        }
        assert_eq!(values.clean, CLEAN_MAX);
        assert_eq!(
            values.get::<usize>(format!("spec/{CLEAN_MAX}").as_bytes()),
            None
        );
        *values.change::<usize>(b"spec/0").unwrap() += 1;
        assert_eq!(values.clean, CLEAN_MAX - 1);
        values.insert_changed(b"tally", 1u64);
        let changed: Vec<_> = values.into_changed().collect();
        assert_eq!(changed.len(), 2);
    }
}
