//! The Merkle tree over the transaction order (RFC 6962 / RFC 9162 structure, blake3 as the
//! hash): leaf hash `H(0x00 || leaf)`, node hash `H(0x01 || left || right)`, the left subtree of
//! `n` leaves holding the largest power of two below `n`. Inclusion proofs show a transaction
//! is at its index under a root; consistency proofs show a later root extends an earlier one.
//! Both verifiers are the RFC 9162 algorithms (sections 2.1.3.2 and 2.1.4.2). The governance
//! state has a digest of its own, kept current write by write ([`StateLattice`]).

mod frontier;
mod lattice;

pub use frontier::Frontier;
pub use lattice::{LatticeError, StateLattice};

pub type Hash = [u8; 32];

pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[0x00]);
    hasher.update(leaf);
    *hasher.finalize().as_bytes()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[0x01]);
    hasher.update(left);
    hasher.update(right);
    *hasher.finalize().as_bytes()
}

/// The root of the empty tree: the hash of nothing.
pub fn empty_root() -> Hash {
    *blake3::hash(&[]).as_bytes()
}

/// The largest power of two smaller than `n` (n >= 2).
pub fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// Where proofs get the roots of subtrees: leaf hashes in memory, or a ledger read in chunks.
pub trait SubtreeRoots {
    type Error;
    /// The root over leaves `lo..hi`. Proofs ask only for subtrees of the RFC 6962 shape:
    /// `lo` is a multiple of the largest power of two not above `hi - lo`.
    fn subtree_root(&mut self, lo: u64, hi: u64) -> Result<Hash, Self::Error>;
}

/// Leaf hashes in memory.
pub struct Slice<'a>(pub &'a [Hash]);

impl SubtreeRoots for Slice<'_> {
    type Error = std::convert::Infallible;
    fn subtree_root(&mut self, lo: u64, hi: u64) -> Result<Hash, Self::Error> {
        Ok(root(&self.0[lo as usize..hi as usize]))
    }
}

/// The root over leaf hashes `leaves`.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path of leaf `index` (RFC 6962 PATH), bottom first.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Vec<Hash> {
    assert!(index < leaves.len(), "the proven leaf is in the tree");
    let Ok(path) = inclusion_proof_from(&mut Slice(leaves), leaves.len() as u64, index as u64);
    path
}

/// [`inclusion_proof`] over a tree of `size` leaves whose subtree roots come from `source`.
pub fn inclusion_proof_from<S: SubtreeRoots>(
    source: &mut S,
    size: u64,
    index: u64,
) -> Result<Vec<Hash>, S::Error> {
    assert!(index < size, "the proven leaf is in the tree");
    path(source, index, 0, size)
}

fn path<S: SubtreeRoots>(
    source: &mut S,
    index: u64,
    lo: u64,
    hi: u64,
) -> Result<Vec<Hash>, S::Error> {
    if hi - lo == 1 {
        return Ok(Vec::new());
    }
    let k = split((hi - lo) as usize) as u64;
    let (mut proof, sibling) = if index < lo + k {
        (path(source, index, lo, lo + k)?, (lo + k, hi))
    } else {
        (path(source, index, lo + k, hi)?, (lo, lo + k))
    };
    proof.push(source.subtree_root(sibling.0, sibling.1)?);
    Ok(proof)
}

/// Whether `proof` shows `leaf` at `index` in the tree of `size` leaves with root `root`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && r == *root
}

/// The proof that the tree of the first `old_size` leaves is a prefix of `leaves` (RFC 6962
/// SUBPROOF). Empty when the sizes are equal.
pub fn consistency_proof(leaves: &[Hash], old_size: usize) -> Vec<Hash> {
    let Ok(proof) =
        consistency_proof_from(&mut Slice(leaves), old_size as u64, leaves.len() as u64);
    proof
}

/// [`consistency_proof`] between trees of `old_size` and `new_size` leaves whose subtree roots
/// come from `source`.
pub fn consistency_proof_from<S: SubtreeRoots>(
    source: &mut S,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, S::Error> {
    assert!(old_size >= 1 && old_size <= new_size, "a non-empty prefix");
    subproof(source, old_size, 0, new_size, true)
}

fn subproof<S: SubtreeRoots>(
    source: &mut S,
    m: u64,
    lo: u64,
    hi: u64,
    complete: bool,
) -> Result<Vec<Hash>, S::Error> {
    let n = hi - lo;
    if m == n {
        return Ok(if complete {
            Vec::new()
        } else {
            vec![source.subtree_root(lo, hi)?]
        });
    }
    let k = split(n as usize) as u64;
    let (mut proof, sibling) = if m <= k {
        (subproof(source, m, lo, lo + k, complete)?, (lo + k, hi))
    } else {
        (subproof(source, m - k, lo + k, hi, false)?, (lo, lo + k))
    };
    proof.push(source.subtree_root(sibling.0, sibling.1)?);
    Ok(proof)
}

/// Whether `proof` shows the tree of `old_size` leaves with `old_root` is a prefix of the tree
/// of `new_size` leaves with `new_root`.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size == 0 || old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    let mut proof = proof.to_vec();
    if old_size.is_power_of_two() {
        proof.insert(0, *old_root);
    }
    let Some((first, rest)) = proof.split_first() else {
        return false;
    };
    let (mut f_n, mut s_n) = (old_size - 1, new_size - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut f_r, mut s_r) = (*first, *first);
    for c in rest {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    f_r == *old_root && s_r == *new_root && s_n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n as u32).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn the_tree_follows_rfc_6962_shape() {
        let l = leaves(3);
        assert_eq!(root(&l), node_hash(&node_hash(&l[0], &l[1]), &l[2]));
        assert_eq!(root(&l[..1]), l[0]);
        assert_eq!(root(&[]), empty_root());
        assert_ne!(
            leaf_hash(&[]),
            empty_root(),
            "leaf and empty-tree hashes are separated"
        );
    }

    #[test]
    fn every_inclusion_proof_verifies_and_any_change_breaks_it() {
        for n in 1..=40 {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..n {
                let proof = inclusion_proof(&l, i);
                assert!(
                    verify_inclusion(&l[i], i as u64, n as u64, &proof, &r),
                    "n {n} i {i}"
                );
                let other = (i + 1) % n;
                if other != i {
                    assert!(!verify_inclusion(&l[other], i as u64, n as u64, &proof, &r));
                    assert!(!verify_inclusion(&l[i], other as u64, n as u64, &proof, &r));
                }
                for tampered in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[tampered][0] ^= 1;
                    assert!(!verify_inclusion(&l[i], i as u64, n as u64, &bad, &r));
                }
                assert!(
                    !verify_inclusion(&l[i], n as u64, n as u64, &proof, &r),
                    "index past the size"
                );
            }
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_any_change_breaks_it() {
        for n in 1..=33 {
            let l = leaves(n);
            let new_root = root(&l);
            for m in 1..=n {
                let old_root = root(&l[..m]);
                let proof = consistency_proof(&l, m);
                assert!(
                    verify_consistency(m as u64, n as u64, &old_root, &new_root, &proof),
                    "m {m} n {n}"
                );
                for tampered in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[tampered][5] ^= 1;
                    assert!(
                        !verify_consistency(m as u64, n as u64, &old_root, &new_root, &bad),
                        "m {m} n {n}"
                    );
                }
                let mut wrong_old = old_root;
                wrong_old[0] ^= 1;
                assert!(!verify_consistency(
                    m as u64, n as u64, &wrong_old, &new_root, &proof
                ));
                if m < n {
                    // A history that changed leaf 0 is not consistent with the old root.
                    let mut forked = l.clone();
                    forked[0] = leaf_hash(b"rewritten");
                    let forked_proof = consistency_proof(&forked, m);
                    assert!(!verify_consistency(
                        m as u64,
                        n as u64,
                        &old_root,
                        &root(&forked),
                        &forked_proof
                    ));
                }
            }
        }
    }
}
