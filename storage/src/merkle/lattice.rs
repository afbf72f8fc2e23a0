//! The governance state's digest: a lattice hash (LtHash), the sum of one 2,048-byte hash per
//! entry, 1,024 lanes of u16 added with wraparound. A checkpoint signs the blake3 hash of that
//! sum.
//!
//! Why not a Merkle root over the entries in key order: that root must be recomputed from every
//! entry, so each checkpoint read the whole state on the commit path (0.3 s at 200,000 entries,
//! and growing with the election). A sum changes with each write in constant time (add the new
//! entry's hash, subtract the old one), does not depend on the order of the entries, and two
//! states have the same digest only if they hold the same entries, with the security of the
//! LtHash construction (Bellare and Micciancio's multiset hashing; 1,024 16-bit lanes as in
//! Lewi, Kim, Maykov and Weis, "Securing Update Propagation with Homomorphic Hashing", 2019).
//! What it does not give is a proof that one entry is in the state; nothing uses one: an auditor
//! recomputes the whole state and compares digests.

use super::Hash;

/// Lanes of the sum.
pub const LANES: usize = 1024;
/// Bytes of an encoded digest: the lanes, little-endian.
pub const ENCODED_BYTES: usize = LANES * 2;

const LEAF_CONTEXT: &str = "votegraph 2026-12-02 governance state entry lattice hash";
const ROOT_CONTEXT: &str = "votegraph 2026-12-02 governance state lattice root";

/// The digest of a set of (key, value) entries.
#[derive(Clone, PartialEq, Eq)]
pub struct StateLattice {
    lanes: Box<[u16; LANES]>,
}

/// A stored digest that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state lattice record has {0} bytes, not {ENCODED_BYTES}")]
pub struct LatticeError(usize);

impl Default for StateLattice {
    fn default() -> Self {
        StateLattice {
            lanes: Box::new([0; LANES]),
        }
    }
}

impl std::fmt::Debug for StateLattice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StateLattice({})", hex_prefix(&self.root()))
    }
}

fn hex_prefix(hash: &Hash) -> String {
    hash[..8].iter().map(|b| format!("{b:02x}")).collect()
}

impl StateLattice {
    /// The digest of the empty state.
    pub fn new() -> Self {
        StateLattice::default()
    }

    /// The digest of `entries`, in any order.
    pub fn of<'a>(entries: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Self {
        let mut lattice = StateLattice::new();
        for (key, value) in entries {
            lattice.insert(key, value);
        }
        lattice
    }

    /// Adds the entry `key` = `value` (the state did not hold `key`).
    pub fn insert(&mut self, key: &[u8], value: &[u8]) {
        self.add(&StateLattice::entry(key, value));
    }

    /// Takes out the entry `key` = `value` (the state held exactly it).
    pub fn remove(&mut self, key: &[u8], value: &[u8]) {
        self.subtract(&StateLattice::entry(key, value));
    }

    /// The digest of the single entry: blake3's extended output over the key's length (u32,
    /// big-endian), the key and the value, read as little-endian lanes.
    pub fn entry(key: &[u8], value: &[u8]) -> Self {
        let mut hasher = blake3::Hasher::new_derive_key(LEAF_CONTEXT);
        hasher.update(&(key.len() as u32).to_be_bytes());
        hasher.update(key);
        hasher.update(value);
        let mut bytes = [0u8; ENCODED_BYTES];
        hasher.finalize_xof().fill(&mut bytes);
        StateLattice::from_bytes(&bytes)
    }

    pub fn add(&mut self, other: &StateLattice) {
        for (lane, o) in self.lanes.iter_mut().zip(other.lanes.iter()) {
            *lane = lane.wrapping_add(*o);
        }
    }

    pub fn subtract(&mut self, other: &StateLattice) {
        for (lane, o) in self.lanes.iter_mut().zip(other.lanes.iter()) {
            *lane = lane.wrapping_sub(*o);
        }
    }

    /// What a checkpoint signs: the blake3 hash of the encoded lanes.
    pub fn root(&self) -> Hash {
        let mut hasher = blake3::Hasher::new_derive_key(ROOT_CONTEXT);
        hasher.update(&self.encode());
        *hasher.finalize().as_bytes()
    }

    pub fn encode(&self) -> Vec<u8> {
        self.lanes
            .iter()
            .flat_map(|lane| lane.to_le_bytes())
            .collect()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, LatticeError> {
        if bytes.len() != ENCODED_BYTES {
            return Err(LatticeError(bytes.len()));
        }
        Ok(StateLattice::from_bytes(bytes))
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        let mut lattice = StateLattice::new();
        for (lane, pair) in lattice.lanes.iter_mut().zip(bytes.chunks_exact(2)) {
            *lane = u16::from_le_bytes([pair[0], pair[1]]);
        }
        lattice
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
        (0..n)
            .map(|i| (format!("gov/k{i}").into_bytes(), i.to_be_bytes().to_vec()))
            .collect()
    }

    fn of(entries: &[(Vec<u8>, Vec<u8>)]) -> StateLattice {
        StateLattice::of(entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
    }

    #[test]
    fn the_digest_does_not_depend_on_the_order_of_entries() {
        let forward = entries(50);
        let mut backward = forward.clone();
        backward.reverse();
        assert_eq!(of(&forward).root(), of(&backward).root());
    }

    #[test]
    fn updates_in_place_equal_the_digest_of_the_resulting_state() {
        let mut lattice = of(&entries(20));
        // Overwrite k3, delete k7, add k20.
        lattice.remove(b"gov/k3", &3u32.to_be_bytes());
        lattice.insert(b"gov/k3", b"new");
        lattice.remove(b"gov/k7", &7u32.to_be_bytes());
        lattice.insert(b"gov/k20", b"x");
        let mut expected = entries(20);
        expected[3].1 = b"new".to_vec();
        expected.remove(7);
        expected.push((b"gov/k20".to_vec(), b"x".to_vec()));
        assert_eq!(lattice, of(&expected));
    }

    #[test]
    fn removing_everything_gives_the_empty_digest() {
        let all = entries(10);
        let mut lattice = of(&all);
        for (k, v) in &all {
            lattice.remove(k, v);
        }
        assert_eq!(lattice.root(), StateLattice::new().root());
    }

    #[test]
    fn different_states_have_different_digests() {
        let base = of(&entries(10));
        let mut changed_value = entries(10);
        changed_value[4].1.push(0);
        let mut moved_boundary = entries(10);
        // Same bytes, split differently between key and value.
        let (k, v) = moved_boundary[4].clone();
        moved_boundary[4] = ([k.as_slice(), &v[..1]].concat(), v[1..].to_vec());
        let fewer = entries(9);
        for other in [changed_value, moved_boundary, fewer] {
            assert_ne!(base.root(), of(&other).root());
        }
    }

    #[test]
    fn encoding_round_trips_and_rejects_a_wrong_length() {
        let lattice = of(&entries(5));
        let bytes = lattice.encode();
        assert_eq!(bytes.len(), ENCODED_BYTES);
        assert_eq!(StateLattice::decode(&bytes).unwrap(), lattice);
        assert_eq!(
            StateLattice::decode(&bytes[1..]),
            Err(LatticeError(ENCODED_BYTES - 1))
        );
    }

    /// Pins the definition auditors implement (docs/auditing.md): a change here changes every
    /// checkpoint's state root. The expected value was computed by a separate implementation
    /// written from that document (Python's `blake3` package).
    #[test]
    fn the_root_of_a_known_state_is_fixed() {
        let lattice = StateLattice::of([(&b"gov/a"[..], &b"1"[..]), (b"gov/b", b"2")]);
        let root: String = lattice.root().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            root,
            "b423698093e3ba8f7a6b73b16f055a1f33be01dad7f3cfa618ac8ca0a9993645"
        );
    }
}
