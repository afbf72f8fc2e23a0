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
//! The transaction Merkle tree's right edge (a [`Frontier`]) and the last checkpoint round are
//! ledger state written in every commit batch, so a restarted validator continues exactly.

use crate::finality::tx_state_key;
use ed25519_dalek::SigningKey;
use votegraph_consensus::Round;
use votegraph_gateway::governance::action::{Action, AdminAction};
use votegraph_gateway::governance::checkpoint::{Checkpoint, CheckpointSignature};
use votegraph_gateway::governance::overlay::Writes;
use votegraph_gateway::governance::records::GOVERNANCE_PREFIX;
use votegraph_gateway::governance::Applied;
use votegraph_gateway::{ChainId, Envelope, TxId};
use votegraph_storage::merkle::{leaf_hash, state_leaf_hash, Frontier};
use votegraph_storage::{LedgerHead, StateRow, Store, StoreError, TransactionRecord};

const FRONTIER_KEY: &[u8] = b"checkpoint/transaction-frontier";
const LAST_ROUND_KEY: &[u8] = b"checkpoint/last-round";
const OWN_SIGNATURE_KEY: &[u8] = b"checkpoint/own-signature";
/// State entries read per page when computing a state root.
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
        Ok(Checkpointer {
            rule: CheckpointRule::new(interval_rounds, last_round),
            frontier,
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

    /// The checkpoint state to write with the commit.
    pub fn state_puts(&self) -> [StateRow; 2] {
        [
            (FRONTIER_KEY.to_vec(), self.frontier.encode()),
            (
                LAST_ROUND_KEY.to_vec(),
                self.rule.last_round.to_be_bytes().to_vec(),
            ),
        ]
    }

    /// The checkpoint of the ledger at `head` (which ends `round`): the committed state in
    /// `store` with the commit's governance `writes` on top.
    pub fn checkpoint(
        &self,
        store: &dyn Store,
        writes: &Writes,
        head: &LedgerHead,
        round: Round,
    ) -> Result<Checkpoint, StoreError> {
        assert_eq!(self.frontier.size(), head.next_transaction_index);
        Ok(Checkpoint {
            round,
            next_index: head.next_transaction_index,
            chain_head: head.chain_head,
            transaction_root: self.frontier.root(),
            state_root: state_root(store, writes)?,
            validator_set_hash: self.validator_set_hash,
        })
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

/// The RFC 6962 root over the governance state, in key order: the committed state read in
/// pages, merged with a commit's `writes` (puts and deletes) not yet written.
pub fn state_root(store: &dyn Store, writes: &Writes) -> Result<[u8; 32], StoreError> {
    let mut tree = Frontier::new();
    let mut pending = writes
        .range(GOVERNANCE_PREFIX.to_vec()..)
        .take_while(|(k, _)| k.starts_with(GOVERNANCE_PREFIX))
        .peekable();
    let mut push = |key: &[u8], value: &Option<Vec<u8>>| {
        if let Some(value) = value {
            tree.push(state_leaf_hash(key, value));
        }
    };
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store.state_scan(GOVERNANCE_PREFIX, after.as_deref(), STATE_PAGE)?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = Some(last.clone());
        for (key, value) in page {
            while let Some((k, v)) = pending.next_if(|(k, _)| **k < key) {
                push(k, v);
            }
            match pending.next_if(|(k, _)| **k == key) {
                Some((k, v)) => push(k, v),
                None => push(&key, &Some(value)),
            }
        }
    }
    for (k, v) in pending {
        push(k, v);
    }
    Ok(tree.root())
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

    #[test]
    fn the_state_root_covers_governance_state_only_in_key_order() {
        let store = MemStore::new();
        let mut batch = Batch::new();
        batch.put_state(b"gov/b".to_vec(), b"2".to_vec());
        batch.put_state(b"gov/a".to_vec(), b"1".to_vec());
        batch.put_state(b"tx/zz".to_vec(), b"not governance".to_vec());
        store.write(batch).unwrap();
        let mut expected = Frontier::new();
        expected.push(state_leaf_hash(b"gov/a", b"1"));
        expected.push(state_leaf_hash(b"gov/b", b"2"));
        assert_eq!(state_root(&store, &Writes::new()).unwrap(), expected.root());
        let mut writes = Writes::new();
        writes.insert(b"gov/a".to_vec(), None);
        writes.insert(b"gov/c".to_vec(), Some(b"3".to_vec()));
        writes.insert(b"gov/0".to_vec(), Some(b"0".to_vec()));
        writes.insert(b"tx/a".to_vec(), Some(b"x".to_vec()));
        let mut merged = Frontier::new();
        merged.push(state_leaf_hash(b"gov/0", b"0"));
        merged.push(state_leaf_hash(b"gov/b", b"2"));
        merged.push(state_leaf_hash(b"gov/c", b"3"));
        assert_eq!(
            state_root(&store, &writes).unwrap(),
            merged.root(),
            "a commit's writes count before they are written"
        );
        let auditor: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = [
            (b"gov/a".to_vec(), b"1".to_vec()),
            (b"gov/b".to_vec(), b"2".to_vec()),
        ]
        .into();
        assert_eq!(
            crate::audit::replay::state_root(&auditor),
            expected.root(),
            "validators and auditors compute the same root"
        );
    }
}
