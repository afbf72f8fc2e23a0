//! Checkpoints on a validator: when one is due, what it holds, and the transaction carrying
//! this validator's signature.
//!
//! The rule depends only on the order, so every validator checkpoints after the same rounds:
//! after a round that closed an election or published a tally, and after the first round with
//! transactions other than checkpoint signatures that is `interval` rounds past the last
//! checkpoint (so an idle cluster, or one ordering only signatures, makes no more). The driver
//! commits up to the end of a due round in one batch, with the root computed over the committed
//! state and that batch's writes, and this validator's signature in the same batch.
//!
//! The transaction Merkle tree's right edge (a [`Frontier`]), the governance state's digest (a
//! [`StateLattice`], updated by each commit's writes) and the last checkpoint round are ledger
//! state written in every commit batch, so a restarted validator continues exactly, and a
//! checkpoint reads nothing but them.

use crate::finality::tx_state_key;
use ed25519_dalek::SigningKey;
use votegraph_consensus::Round;
use votegraph_gateway::governance::action::{Action, AdminAction};
use votegraph_gateway::governance::checkpoint::{Checkpoint, CheckpointSignature};
use votegraph_gateway::governance::overlay::Writes;
use votegraph_gateway::governance::records::GOVERNANCE_PREFIX;
use votegraph_gateway::governance::Applied;
use votegraph_gateway::{ChainId, Envelope, TxId};
use votegraph_storage::merkle::{leaf_hash, Frontier, StateLattice};
use votegraph_storage::{LedgerHead, StateRow, Store, StoreError, TransactionRecord};

const FRONTIER_KEY: &[u8] = b"checkpoint/transaction-frontier";
const LAST_ROUND_KEY: &[u8] = b"checkpoint/last-round";
const OWN_SIGNATURE_KEY: &[u8] = b"checkpoint/own-signature";
const LATTICE_KEY: &[u8] = b"checkpoint/state-lattice";
/// State entries read per page when a test scans the state for its digest.
#[cfg(test)]
const STATE_PAGE: usize = 4096;

/// When checkpoints fall: the same rule on validators and in the auditor's replay.
#[derive(Clone, Debug)]
pub struct CheckpointRule {
    interval_rounds: u64,
    last_round: Round,
}

impl CheckpointRule {
    pub fn new(interval_rounds: u64, last_round: Round) -> Self {
        CheckpointRule {
            interval_rounds,
            last_round,
        }
    }

    /// Whether the ledger after `round` is a checkpoint, given what the round did.
    pub fn due(&self, round: Round, activity: &RoundActivity) -> bool {
        activity.ends_voting
            || (activity.counts && round >= self.last_round.saturating_add(self.interval_rounds))
    }

    pub fn checkpointed(&mut self, round: Round) {
        self.last_round = round;
    }
}

pub struct Checkpointer {
    rule: CheckpointRule,
    frontier: Frontier,
    lattice: StateLattice,
    key: SigningKey,
    chain: ChainId,
    validator_set_hash: [u8; 32],
}

/// What the rounds of one commit did that the checkpoint rule looks at.
#[derive(Default)]
pub struct RoundActivity {
    /// A transaction other than a checkpoint signature was ordered.
    pub counts: bool,
    /// An election was closed or its tally published.
    pub ends_voting: bool,
}

impl RoundActivity {
    pub fn observe(&mut self, payload: &[u8], outcome: &Result<Applied, impl Sized>) {
        if !self.counts {
            self.counts = !matches!(Action::decode(payload), Ok(Action::SignCheckpoint(_)));
        }
        if let Ok(Applied::Approval { executed: true, .. }) = outcome {
            self.ends_voting |= matches!(
                Action::decode(payload),
                Ok(Action::Admin(
                    AdminAction::CloseElection { .. } | AdminAction::PublishTally { .. }
                ))
            );
        }
    }
}

impl Checkpointer {
    /// Continues from the ledger's checkpoint state (a new ledger starts empty).
    pub fn load(
        store: &dyn Store,
        interval_rounds: u64,
        key: SigningKey,
        chain: ChainId,
        validator_set_hash: [u8; 32],
    ) -> Result<Self, StoreError> {
        let head = store.head()?;
        let frontier = match store.state(FRONTIER_KEY)? {
            None => Frontier::new(),
            Some(bytes) => Frontier::decode(&bytes)
                .map_err(|e| StoreError::corrupt("state", FRONTIER_KEY, e.to_string()))?,
        };
        if frontier.size() != head.next_transaction_index {
            return Err(StoreError::corrupt(
                "state",
                FRONTIER_KEY,
                format!(
                    "the transaction tree has {} leaves; the ledger {} transactions (a ledger \
                     written before checkpoints existed cannot continue: auditors would place \
                     its checkpoints differently)",
                    frontier.size(),
                    head.next_transaction_index
                ),
            ));
        }
        let last_round = match store.state(LAST_ROUND_KEY)? {
            None => 0,
            Some(bytes) => u64::from_be_bytes(bytes.as_slice().try_into().map_err(|_| {
                StoreError::corrupt(
                    "state",
                    LAST_ROUND_KEY,
                    "last checkpoint round is not 8 bytes",
                )
            })?),
        };
        let lattice = load_lattice(store, &head)?;
        Ok(Checkpointer {
            rule: CheckpointRule::new(interval_rounds, last_round),
            frontier,
            lattice,
            key,
            chain,
            validator_set_hash,
        })
    }

    pub fn due(&self, round: Round, activity: &RoundActivity) -> bool {
        self.rule.due(round, activity)
    }

    /// Extends the transaction tree by the records of a commit, in order.
    pub fn append<'a>(&mut self, records: impl Iterator<Item = &'a TransactionRecord>) {
        for record in records {
            self.frontier.push(leaf_hash(&record.unhashed_encoding()));
        }
    }

    pub fn checkpointed(&mut self, round: Round) {
        self.rule.checkpointed(round);
    }

    /// Brings the state digest up to a commit's `writes`, before they are written: each
    /// governance entry's committed value (read from `store`) goes out, its new value comes in.
    pub fn apply_writes(&mut self, store: &dyn Store, writes: &Writes) -> Result<(), StoreError> {
        let governance = writes
            .range(GOVERNANCE_PREFIX.to_vec()..)
            .take_while(|(k, _)| k.starts_with(GOVERNANCE_PREFIX));
        for (key, value) in governance {
            if let Some(old) = store.state(key)? {
                self.lattice.remove(key, &old);
            }
            if let Some(new) = value {
                self.lattice.insert(key, new);
            }
        }
        Ok(())
    }

    /// The checkpoint state to write with the commit.
    pub fn state_puts(&self) -> [StateRow; 3] {
        [
            (FRONTIER_KEY.to_vec(), self.frontier.encode()),
            (LATTICE_KEY.to_vec(), self.lattice.encode()),
            (
                LAST_ROUND_KEY.to_vec(),
                self.rule.last_round.to_be_bytes().to_vec(),
            ),
        ]
    }

    /// The checkpoint of the ledger at `head` (which ends `round`), once the commit's records
    /// are appended and its writes applied.
    pub fn checkpoint(&self, head: &LedgerHead, round: Round) -> Checkpoint {
        assert_eq!(self.frontier.size(), head.next_transaction_index);
        Checkpoint {
            round,
            next_index: head.next_transaction_index,
            chain_head: head.chain_head,
            transaction_root: self.frontier.root(),
            state_root: self.lattice.root(),
            validator_set_hash: self.validator_set_hash,
        }
    }

    /// This validator's signature transaction for `checkpoint`: its id and envelope bytes.
    /// The nonce is the round, so a validator re-signing repeats the same transaction
    /// (ordered once).
    pub fn signature_transaction(&self, checkpoint: &Checkpoint) -> (TxId, Vec<u8>) {
        let action = Action::SignCheckpoint(CheckpointSignature {
            checkpoint: checkpoint.clone(),
            signature: checkpoint.sign(&self.key),
        });
        let envelope = Envelope::sign(&self.chain, &self.key, checkpoint.round, action.encode());
        (envelope.id(), envelope.encode())
    }
}

/// The state entry keeping this validator's latest checkpoint signature, written in the batch
/// of the checkpoint's commit: a crash before the signature is ordered does not lose it.
pub fn own_signature_entry(bytes: Vec<u8>) -> StateRow {
    (OWN_SIGNATURE_KEY.to_vec(), bytes)
}

/// This validator's latest checkpoint signature, if it is not final yet (to queue again after
/// a restart).
pub fn unordered_own_signature(store: &dyn Store) -> Result<Option<(TxId, Vec<u8>)>, StoreError> {
    let Some(bytes) = store.state(OWN_SIGNATURE_KEY)? else {
        return Ok(None);
    };
    let id = Envelope::decode(&bytes)
        .map_err(|e| StoreError::corrupt("state", OWN_SIGNATURE_KEY, e.to_string()))?
        .id();
    if store.state(&tx_state_key(&id))?.is_some() {
        return Ok(None);
    }
    Ok(Some((id, bytes)))
}

/// The state digest the ledger at `head` continues from: empty for a new ledger.
fn load_lattice(store: &dyn Store, head: &LedgerHead) -> Result<StateLattice, StoreError> {
    match store.state(LATTICE_KEY)? {
        None if head.next_transaction_index == 0 => Ok(StateLattice::new()),
        None => Err(StoreError::corrupt(
            "state",
            LATTICE_KEY,
            "the ledger has transactions but no state digest (a ledger written before state \
             roots were lattice hashes cannot continue: its certificates sign another kind of \
             state root)",
        )),
        Some(bytes) => StateLattice::decode(&bytes)
            .map_err(|e| StoreError::corrupt("state", LATTICE_KEY, e.to_string())),
    }
}

/// The digest of the governance state committed in `store`, read in pages: what commits keep
/// current, computed from scratch.
#[cfg(test)]
fn scan_state_lattice(store: &dyn Store) -> Result<StateLattice, StoreError> {
    let mut lattice = StateLattice::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store.state_scan(GOVERNANCE_PREFIX, after.as_deref(), STATE_PAGE)?;
        let Some((last, _)) = page.last() else {
            return Ok(lattice);
        };
        after = Some(last.clone());
        for (key, value) in &page {
            lattice.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use votegraph_gateway::governance::checkpoint::ValidatorSet;
    use votegraph_storage::{Batch, MemStore};

    fn signature_payload() -> Vec<u8> {
        let checkpoint = Checkpoint {
            round: 1,
            next_index: 0,
            chain_head: [0; 32],
            transaction_root: [0; 32],
            state_root: [0; 32],
            validator_set_hash: ValidatorSet::default().hash(),
        };
        Action::SignCheckpoint(CheckpointSignature {
            signature: checkpoint.sign(&SigningKey::from_bytes(&[1; 32])),
            checkpoint,
        })
        .encode()
    }

    fn close_payload() -> Vec<u8> {
        Action::Admin(AdminAction::CloseElection {
            election_id: "e".into(),
        })
        .encode()
    }

    #[test]
    fn checkpoints_fall_at_closes_and_every_interval_of_rounds_with_transactions() {
        let rule = CheckpointRule::new(10, 20);
        let mut only_signatures = RoundActivity::default();
        only_signatures.observe(&signature_payload(), &Err(()));
        assert!(!only_signatures.counts);
        assert!(
            !rule.due(100, &only_signatures),
            "signatures alone never make a checkpoint"
        );
        let mut busy = RoundActivity::default();
        busy.observe(&signature_payload(), &Err(()));
        busy.observe(b"\x01not an action", &Err(()));
        assert!(busy.counts);
        assert!(!rule.due(29, &busy));
        assert!(rule.due(30, &busy));

        let mut closing = RoundActivity::default();
        let executed = Applied::Approval {
            action_hash: [0; 32],
            approvals: 2,
            threshold: 2,
            executed: true,
        };
        closing.observe(&close_payload(), &Ok::<_, ()>(executed.clone()));
        assert!(closing.ends_voting);
        assert!(rule.due(21, &closing), "a close is always a checkpoint");
        let mut pending = RoundActivity::default();
        let waiting = Applied::Approval {
            action_hash: [0; 32],
            approvals: 1,
            threshold: 2,
            executed: false,
        };
        pending.observe(&close_payload(), &Ok::<_, ()>(waiting));
        assert!(
            !pending.ends_voting,
            "an approval that did not execute closes nothing"
        );
    }

    fn gov_state(entries: &[(&str, &str)]) -> std::collections::BTreeMap<Vec<u8>, Vec<u8>> {
        entries
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    fn write_state(store: &MemStore, writes: &Writes) {
        let mut batch = Batch::new();
        for (key, value) in writes {
            match value {
                Some(value) => batch.put_state(key.clone(), value.clone()),
                None => batch.delete_state(key.clone()),
            }
        }
        store.write(batch).unwrap();
    }

    #[test]
    fn the_state_digest_covers_governance_state_only_and_equals_the_auditors() {
        let store = MemStore::new();
        let mut writes = Writes::new();
        writes.insert(b"gov/b".to_vec(), Some(b"2".to_vec()));
        writes.insert(b"gov/a".to_vec(), Some(b"1".to_vec()));
        writes.insert(b"tx/zz".to_vec(), Some(b"not governance".to_vec()));
        write_state(&store, &writes);
        let auditor = gov_state(&[("gov/a", "1"), ("gov/b", "2")]);
        let scanned = scan_state_lattice(&store).unwrap();
        assert_eq!(
            scanned.root(),
            crate::audit::replay::state_root(&auditor),
            "validators and auditors compute the same root"
        );
        assert_eq!(
            scanned,
            StateLattice::of([(&b"gov/a"[..], &b"1"[..]), (b"gov/b", b"2")])
        );
    }

    #[test]
    fn a_commits_writes_update_the_digest_to_that_of_the_state_they_leave() {
        let store = MemStore::new();
        let mut first = Writes::new();
        for (k, v) in [("gov/a", "1"), ("gov/b", "2"), ("tx/q", "x")] {
            first.insert(k.as_bytes().to_vec(), Some(v.as_bytes().to_vec()));
        }
        let key = SigningKey::from_bytes(&[3; 32]);
        let mut checkpointer =
            Checkpointer::load(&store, 10, key.clone(), ChainId::from_name("t"), [0; 32]).unwrap();
        checkpointer.apply_writes(&store, &first).unwrap();
        write_state(&store, &first);
        let mut second = Writes::new();
        second.insert(b"gov/a".to_vec(), None);
        second.insert(b"gov/b".to_vec(), Some(b"22".to_vec()));
        second.insert(b"gov/0".to_vec(), Some(b"0".to_vec()));
        second.insert(b"gov/gone".to_vec(), None);
        second.insert(b"tx/a".to_vec(), Some(b"x".to_vec()));
        checkpointer.apply_writes(&store, &second).unwrap();
        let auditor = gov_state(&[("gov/0", "0"), ("gov/b", "22")]);
        assert_eq!(
            checkpointer.lattice.root(),
            crate::audit::replay::state_root(&auditor),
            "the digest counts a commit's writes before they are written"
        );
        write_state(&store, &second);
        assert_eq!(scan_state_lattice(&store).unwrap(), checkpointer.lattice);

        // A restart continues from the stored digest.
        let mut batch = Batch::new();
        for (k, v) in checkpointer.state_puts() {
            batch.put_state(k, v);
        }
        store.write(batch).unwrap();
        let restarted =
            Checkpointer::load(&store, 10, key, ChainId::from_name("t"), [0; 32]).unwrap();
        assert_eq!(restarted.lattice, checkpointer.lattice);
    }

    #[test]
    fn a_ledger_with_transactions_but_no_state_digest_is_refused() {
        let store = MemStore::new();
        let rounds = votegraph_storage::sim::simulated_rounds(80, 2, 7);
        let head = votegraph_storage::sim::commit_rounds(&store, &rounds).unwrap();
        assert!(
            head.next_transaction_index > 0,
            "seed 7 orders transactions"
        );
        let refused = load_lattice(&store, &head).unwrap_err();
        assert!(refused.to_string().contains("no state digest"), "{refused}");
        let mut batch = Batch::new();
        batch.put_state(LATTICE_KEY.to_vec(), StateLattice::new().encode());
        store.write(batch).unwrap();
        assert_eq!(load_lattice(&store, &head).unwrap(), StateLattice::new());
    }
}
