//! Merkle proofs over the ledger's transaction order, for receipts and consistency checks.
//!
//! A proof needs the roots of subtrees left and right of the path. Leaves come from the
//! ledger; roots of whole 1024-leaf chunks are computed once and kept (32 bytes per chunk), so
//! a proof reads at most a few chunks of records however long the ledger is.

use std::collections::HashMap;
use std::sync::Mutex;
use votegraph_storage::merkle::{
    consistency_proof_from, inclusion_proof_from, leaf_hash, node_hash, root, split, Hash,
    SubtreeRoots,
};
use votegraph_storage::{Store, StoreError};

/// Leaves per cached chunk root.
pub const CHUNK_LEAVES: u64 = 1024;
/// Most chunk roots kept (32 MiB; a billion transactions); the cache starts over beyond.
pub const CHUNK_ROOTS_MAX: usize = 1 << 20;

#[derive(Default)]
pub struct LedgerTree {
    chunk_roots: Mutex<HashMap<u64, Hash>>,
}

impl LedgerTree {
    /// The audit path of transaction `index` in the tree of the first `size` transactions.
    pub fn inclusion_proof(
        &self,
        store: &dyn Store,
        size: u64,
        index: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        inclusion_proof_from(&mut self.source(store), size, index)
    }

    /// The proof that the tree of `old_size` transactions is a prefix of that of `new_size`.
    pub fn consistency_proof(
        &self,
        store: &dyn Store,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        consistency_proof_from(&mut self.source(store), old_size, new_size)
    }

    fn source<'a>(&'a self, store: &'a dyn Store) -> Source<'a> {
        let mut cache = self.chunk_roots.lock().expect("chunk cache lock");
        if cache.len() >= CHUNK_ROOTS_MAX {
            cache.clear();
        }
        Source {
            store,
            chunk_roots: &self.chunk_roots,
        }
    }
}

/// Leaves from the ledger; the cache is locked only to look up or add one chunk root, so
/// concurrent proofs do not wait for each other's reads.
struct Source<'a> {
    store: &'a dyn Store,
    chunk_roots: &'a Mutex<HashMap<u64, Hash>>,
}

impl Source<'_> {
    fn leaves(&self, lo: u64, hi: u64) -> Result<Vec<Hash>, StoreError> {
        let records = self.store.transactions(lo, (hi - lo) as usize)?;
        if records.len() as u64 != hi - lo {
            return Err(StoreError::corrupt(
                "transactions",
                &lo.to_be_bytes(),
                format!("proof needs transactions {lo}..{hi}; the ledger has fewer"),
            ));
        }
        Ok(records
            .iter()
            .map(|(_, record)| leaf_hash(&record.unhashed_encoding()))
            .collect())
    }

    fn chunk_root(&mut self, chunk: u64) -> Result<Hash, StoreError> {
        let cached = self
            .chunk_roots
            .lock()
            .expect("chunk cache lock")
            .get(&chunk)
            .copied();
        if let Some(root) = cached {
            return Ok(root);
        }
        let lo = chunk * CHUNK_LEAVES;
        let chunk_root = root(&self.leaves(lo, lo + CHUNK_LEAVES)?);
        self.chunk_roots
            .lock()
            .expect("chunk cache lock")
            .insert(chunk, chunk_root);
        Ok(chunk_root)
    }
}

impl SubtreeRoots for Source<'_> {
    type Error = StoreError;

    fn subtree_root(&mut self, lo: u64, hi: u64) -> Result<Hash, StoreError> {
        let n = hi - lo;
        if n <= CHUNK_LEAVES {
            return Ok(root(&self.leaves(lo, hi)?));
        }
        if n.is_power_of_two() && lo.is_multiple_of(CHUNK_LEAVES) {
            // A perfect subtree of whole chunks: the tree over their roots.
            let chunks = (lo / CHUNK_LEAVES..hi / CHUNK_LEAVES)
                .map(|c| self.chunk_root(c))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(root(&chunks));
        }
        let k = split(n as usize) as u64;
        Ok(node_hash(
            &self.subtree_root(lo, lo + k)?,
            &self.subtree_root(lo + k, hi)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use votegraph_storage::merkle::{self, verify_consistency, verify_inclusion};
    use votegraph_storage::sim;

    #[test]
    fn ledger_proofs_equal_the_proofs_over_all_leaves() {
        let store = votegraph_storage::MemStore::new();
        let head = sim::commit_rounds(&store, &sim::simulated_rounds(800, 10, 11)).unwrap();
        assert!(
            head.next_transaction_index > 2 * CHUNK_LEAVES + 1,
            "enough for chunks"
        );
        let records = store.transactions(0, usize::MAX).unwrap();
        let leaves: Vec<Hash> = records
            .iter()
            .map(|(_, r)| leaf_hash(&r.unhashed_encoding()))
            .collect();
        let tree = LedgerTree::default();
        for size in [
            1,
            2,
            1000,
            CHUNK_LEAVES,
            2 * CHUNK_LEAVES + 1,
            leaves.len() as u64,
        ] {
            let root = merkle::root(&leaves[..size as usize]);
            for index in [0, size / 2, size - 1] {
                let proof = tree.inclusion_proof(&store, size, index).unwrap();
                assert_eq!(
                    proof,
                    merkle::inclusion_proof(&leaves[..size as usize], index as usize)
                );
                assert!(verify_inclusion(
                    &leaves[index as usize],
                    index,
                    size,
                    &proof,
                    &root
                ));
            }
            let old = size.div_ceil(3);
            let proof = tree.consistency_proof(&store, old, size).unwrap();
            let old_root = merkle::root(&leaves[..old as usize]);
            assert!(
                verify_consistency(old, size, &old_root, &root, &proof),
                "{old} -> {size}"
            );
        }
    }
}
