//! The right edge of a growing Merkle tree: one root per perfect subtree, so appending a leaf
//! and reading the root cost O(log n) and the whole state fits in a small record. The node
//! keeps one beside the transaction order to sign checkpoints without re-reading the ledger.

use super::{empty_root, node_hash, Hash};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// Roots of the perfect subtrees that make up the tree, largest (leftmost) first; one per
    /// set bit of `size`.
    peaks: Vec<Hash>,
}

/// A frontier record that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("merkle frontier record: {0}")]
pub struct FrontierError(&'static str);

impl Frontier {
    pub fn new() -> Self {
        Frontier::default()
    }

    /// Leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            let left = self.peaks.pop().expect("one peak per set bit of the size");
            hash = node_hash(&left, &hash);
            size >>= 1;
        }
        self.peaks.push(hash);
        self.size += 1;
    }

    /// The RFC 6962 root over every leaf appended so far.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some(last) = peaks.next() else {
            return empty_root();
        };
        peaks.fold(*last, |right, left| node_hash(left, &right))
    }

    /// Size (u64, big-endian), then the peaks.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.size.to_be_bytes().to_vec();
        for peak in &self.peaks {
            out.extend_from_slice(peak);
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, FrontierError> {
        if bytes.len() < 8 || !(bytes.len() - 8).is_multiple_of(32) {
            return Err(FrontierError("length is not 8 + 32 * peaks"));
        }
        let size = u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
        let peaks: Vec<Hash> = bytes[8..]
            .chunks_exact(32)
            .map(|c| c.try_into().expect("32 bytes"))
            .collect();
        if peaks.len() != size.count_ones() as usize {
            return Err(FrontierError("peak count differs from the size's set bits"));
        }
        Ok(Frontier { size, peaks })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{leaf_hash, root};
    use super::*;

    #[test]
    fn the_frontier_root_equals_the_tree_root_at_every_size() {
        let mut frontier = Frontier::new();
        let mut leaves = Vec::new();
        assert_eq!(frontier.root(), root(&leaves));
        for i in 0u32..200 {
            let leaf = leaf_hash(&i.to_be_bytes());
            frontier.push(leaf);
            leaves.push(leaf);
            assert_eq!(frontier.root(), root(&leaves), "size {}", i + 1);
            assert_eq!(Frontier::decode(&frontier.encode()), Ok(frontier.clone()));
        }
    }

    #[test]
    fn a_frontier_record_with_the_wrong_peak_count_is_refused() {
        let mut frontier = Frontier::new();
        for i in 0u32..5 {
            frontier.push(leaf_hash(&i.to_be_bytes()));
        }
        let mut bytes = frontier.encode();
        bytes.truncate(bytes.len() - 32);
        assert!(Frontier::decode(&bytes).is_err());
        assert!(Frontier::decode(&bytes[..7]).is_err());
    }
}
