//! Storage of the in-memory DAG: a slab of nodes addressed by generation-checked handles.
//!
//! Events reference each other by [`Handle`] instead of by id so that walking the DAG costs an
//! index, not a hash lookup. Slots are reused after pruning; the generation makes a handle to a
//! pruned event resolve to `None` instead of to whatever event took its slot.

use std::hash::{BuildHasherDefault, Hasher};

#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
pub(crate) struct Handle {
    slot: u32,
    generation: u32,
}

impl Handle {
    pub(crate) fn new(slot: u32, generation: u32) -> Handle {
        Handle { slot, generation }
    }

    /// A handle that resolves to nothing; a placeholder until the real one is known.
    pub(crate) const DANGLING: Handle = Handle {
        slot: u32::MAX,
        generation: u32::MAX,
    };
}

struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

pub(crate) struct Arena<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    live: usize,
}

impl<T> Arena<T> {
    pub(crate) fn new() -> Self {
        Arena {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn insert(&mut self, value: T) -> Handle {
        self.live += 1;
        if let Some(slot) = self.free.pop() {
            let entry = &mut self.slots[slot as usize];
            entry.generation = entry.generation.wrapping_add(1);
            entry.value = Some(value);
            return Handle {
                slot,
                generation: entry.generation,
            };
        }
        let slot = u32::try_from(self.slots.len()).expect("arena exceeds u32 slots");
        self.slots.push(Slot {
            generation: 0,
            value: Some(value),
        });
        Handle {
            slot,
            generation: 0,
        }
    }

    pub(crate) fn get(&self, h: Handle) -> Option<&T> {
        let entry = self.slots.get(h.slot as usize)?;
        if entry.generation != h.generation {
            return None;
        }
        entry.value.as_ref()
    }

    pub(crate) fn get_mut(&mut self, h: Handle) -> Option<&mut T> {
        let entry = self.slots.get_mut(h.slot as usize)?;
        if entry.generation != h.generation {
            return None;
        }
        entry.value.as_mut()
    }

    /// Every slot in order: its generation and its value, if live (for snapshots).
    pub(crate) fn slots(&self) -> impl Iterator<Item = (u32, Option<&T>)> {
        self.slots.iter().map(|s| (s.generation, s.value.as_ref()))
    }

    /// Slots free for reuse, in the order they will be reused (last first).
    pub(crate) fn free_slots(&self) -> &[u32] {
        &self.free
    }

    /// The arena with exactly these slots and free list, so that every handle taken before a
    /// snapshot resolves as it did. `None` when the free list names a live, missing or
    /// repeated slot.
    pub(crate) fn from_parts(slots: Vec<(u32, Option<T>)>, free: Vec<u32>) -> Option<Self> {
        let mut freed = vec![false; slots.len()];
        for &slot in &free {
            let entry = slots.get(slot as usize)?;
            if entry.1.is_some() || std::mem::replace(&mut freed[slot as usize], true) {
                return None;
            }
        }
        let live = slots.iter().filter(|s| s.1.is_some()).count();
        let slots = slots
            .into_iter()
            .map(|(generation, value)| Slot { generation, value })
            .collect();
        Some(Arena { slots, free, live })
    }

    pub(crate) fn remove(&mut self, h: Handle) -> Option<T> {
        let entry = self.slots.get_mut(h.slot as usize)?;
        if entry.generation != h.generation {
            return None;
        }
        let value = entry.value.take()?;
        self.free.push(h.slot);
        self.live -= 1;
        Some(value)
    }
}

/// A fast, deterministic hasher for keys that are already uniformly distributed (blake3 ids,
/// handles). Hash-flooding by grinding ids is bounded by the DAG size limit.
#[derive(Default, Clone, Copy)]
pub(crate) struct FoldHasher(u64);

const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(MULTIPLIER);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FoldHasher>>;
pub(crate) type FastSet<K> = std::collections::HashSet<K, BuildHasherDefault<FoldHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_to_a_removed_value_never_aliases_its_slot_successor() {
        let mut arena = Arena::new();
        let a = arena.insert("a");
        assert_eq!(arena.remove(a), Some("a"));
        let b = arena.insert("b");
        assert_eq!(arena.get(a), None);
        assert_eq!(arena.get(b), Some(&"b"));
        assert_eq!(arena.len(), 1);
    }
}
