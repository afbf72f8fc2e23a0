//! Equivocation evidence kept in the ledger, a bounded number of proofs per forking validator.
//!
//! One proof (two signed events at one sequence number) is enough to show that a validator
//! forked, and a few more help to see how. A Byzantine validator can fork at every sequence
//! number, and each fork is a new proof of up to two full events: kept without a bound, its
//! flood would grow every honest ledger for as long as it lasted. So each validator keeps the
//! first [`PROOFS_PER_CREATOR_MAX`] proofs of each creator, counts every fork in
//! `votegraph_forks_seen_total`, and warns once when it stops storing a creator's proofs. The
//! key names the creator, so the count survives a restart.

use crate::audit::export::EVIDENCE_PREFIX;
use votegraph_consensus::{EquivocationProof, MemberId};
use votegraph_storage::{StateRow, Store, StoreError};

/// Most equivocation proofs stored per forking validator.
pub const PROOFS_PER_CREATOR_MAX: usize = 16;

/// What to do with one proof.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Store it.
    Keep,
    /// Store it; it is the creator's last one stored.
    KeepLast,
    /// Count it only.
    CountOnly,
}

/// How many proofs of each creator the ledger holds.
pub struct EvidenceKeeper {
    stored: Vec<usize>,
}

impl EvidenceKeeper {
    /// Counts the proofs `store` holds for each of `members` creators.
    pub fn load(store: &dyn Store, members: usize) -> Result<Self, StoreError> {
        let mut stored = Vec::with_capacity(members);
        for creator in 0..members {
            let prefix = creator_prefix(MemberId(creator as u32));
            let held = store.state_scan(&prefix, None, PROOFS_PER_CREATOR_MAX)?;
            stored.push(held.len());
        }
        Ok(EvidenceKeeper { stored })
    }

    /// Whether `proof` is stored, and notes it.
    pub fn judge(&mut self, proof: &EquivocationProof) -> Verdict {
        let count = &mut self.stored[proof.first.creator().index()];
        if *count >= PROOFS_PER_CREATOR_MAX {
            return Verdict::CountOnly;
        }
        *count += 1;
        if *count == PROOFS_PER_CREATOR_MAX {
            Verdict::KeepLast
        } else {
            Verdict::Keep
        }
    }
}

/// The ledger state entry keeping a fork's two signed events (length-prefixed encodings),
/// under the creator's prefix.
pub fn entry(proof: &EquivocationProof) -> StateRow {
    let mut key = creator_prefix(proof.first.creator());
    key.extend_from_slice(proof.first.id().as_bytes());
    key.extend_from_slice(proof.second.id().as_bytes());
    let mut value = Vec::new();
    for event in [&proof.first, &proof.second] {
        let bytes = event.encode();
        value.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        value.extend_from_slice(&bytes);
    }
    (key, value)
}

fn creator_prefix(creator: MemberId) -> Vec<u8> {
    let mut key = EVIDENCE_PREFIX.to_vec();
    key.extend_from_slice(&creator.0.to_be_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::export::split_evidence;
    use ed25519_dalek::SigningKey;
    use std::sync::Arc;
    use votegraph_consensus::encoding::UnsignedEvent;
    use votegraph_consensus::VerifiedEvent;
    use votegraph_storage::{Batch, MemStore};

    fn event(creator: u32, timestamp_ns: u64) -> VerifiedEvent {
        let unsigned = UnsignedEvent {
            creator: MemberId(creator),
            creator_seq: 0,
            birth_round: 1,
            timestamp_ns,
            self_parent: None,
            other_parent: None,
            transactions: Vec::new(),
        };
        VerifiedEvent::sign(unsigned, &SigningKey::from_bytes(&[creator as u8 + 1; 32]))
    }

    /// The `n`th fork of `creator`: two events at sequence 0 with different timestamps.
    fn proof(creator: u32, n: u64) -> EquivocationProof {
        EquivocationProof {
            first: Arc::new(event(creator, 0)),
            second: Arc::new(event(creator, n + 1)),
        }
    }

    #[test]
    fn each_creator_gets_its_own_bound_of_stored_proofs() {
        let store = MemStore::new();
        let mut keeper = EvidenceKeeper::load(&store, 3).unwrap();
        let verdicts: Vec<Verdict> = (0..PROOFS_PER_CREATOR_MAX as u64 + 2)
            .map(|n| keeper.judge(&proof(1, n)))
            .collect();
        assert!(verdicts[..PROOFS_PER_CREATOR_MAX - 1]
            .iter()
            .all(|v| *v == Verdict::Keep));
        assert_eq!(verdicts[PROOFS_PER_CREATOR_MAX - 1], Verdict::KeepLast);
        assert_eq!(
            verdicts[PROOFS_PER_CREATOR_MAX..],
            [Verdict::CountOnly, Verdict::CountOnly]
        );
        assert_eq!(
            keeper.judge(&proof(2, 0)),
            Verdict::Keep,
            "another creator's first proof is stored"
        );
    }

    #[test]
    fn the_count_of_stored_proofs_survives_a_restart() {
        let store = MemStore::new();
        let mut batch = Batch::new();
        for n in 0..PROOFS_PER_CREATOR_MAX as u64 - 1 {
            let (key, value) = entry(&proof(2, n));
            batch.put_state(key, value);
        }
        let (key, value) = entry(&proof(0, 0));
        batch.put_state(key, value);
        store.write(batch).unwrap();
        let mut keeper = EvidenceKeeper::load(&store, 3).unwrap();
        assert_eq!(keeper.judge(&proof(2, 99)), Verdict::KeepLast);
        assert_eq!(keeper.judge(&proof(2, 100)), Verdict::CountOnly);
        assert_eq!(keeper.judge(&proof(0, 1)), Verdict::Keep);
    }

    #[test]
    fn an_entry_holds_both_events_under_the_export_prefix() {
        let proof = proof(1, 5);
        let (key, value) = entry(&proof);
        assert!(key.starts_with(EVIDENCE_PREFIX));
        let (first, second) = split_evidence(&value).expect("two length-prefixed events");
        assert_eq!(first, proof.first.encode());
        assert_eq!(second, proof.second.encode());
    }
}
