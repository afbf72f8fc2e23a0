//! The auditor's governance replay: every transaction applied in order as each validator
//! applied it, with the checkpoints the validators' rule puts in the order recomputed on the
//! way (the running hash, the transaction root and the state root at each).

use super::progress::Progress;
use super::verify::{InvalidSignatures, Outcomes, State};
use super::AuditError;
use crate::checkpoint::{CheckpointRule, RoundActivity};
use crate::genesis::Genesis;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashSet};
use votegraph_gateway::governance::checkpoint::Checkpoint;
use votegraph_gateway::governance::overlay::{Overlay, Writes};
use votegraph_gateway::governance::reason::Reason;
use votegraph_gateway::governance::records::GOVERNANCE_PREFIX;
use votegraph_gateway::governance::{Governance, TxContext};
use votegraph_gateway::{Envelope, TxId};
use votegraph_storage::merkle::{Frontier, Hash, StateLattice};
use votegraph_storage::{OrderRecord, TransactionRecord};

/// Transactions applied per governance commit at most (grouping does not change the state).
const GOVERNANCE_CHUNK: usize = 4096;

pub struct Replayed {
    pub state: State,
    pub outcomes: Outcomes,
    /// The recomputed checkpoints, by the number of transactions they cover.
    pub checkpoints: BTreeMap<u64, Checkpoint>,
}

/// Replays the order: `orders` and their `transactions` (checked to link already), with
/// `leaves` the transaction tree's leaf hashes.
pub fn replay(
    orders: &[(u64, OrderRecord)],
    transactions: &[(u64, TransactionRecord)],
    leaves: &[Hash],
    genesis: &Genesis,
    invalid: &InvalidSignatures,
    progress: &Progress,
) -> Result<Replayed, AuditError> {
    let config = genesis
        .governance_config()
        .map_err(|e| AuditError::new("genesis", e.to_string()))?;
    let validator_set_hash = config.validators.hash();
    let mut replay = Replay {
        governance: Governance::new(config),
        transactions,
        invalid,
        seen: HashSet::new(),
        outcomes: Outcomes::new(),
        rule: CheckpointRule::new(genesis.governance.checkpoint_interval_rounds, 0),
        activity: RoundActivity::default(),
    };
    let mut state = State::new();
    let mut checkpoints = BTreeMap::new();
    let mut frontier = Frontier::new();
    let mut lattice = StateLattice::new();
    let mut position = 0;
    while position < orders.len() {
        let mut overlay = Overlay::new(&state);
        let (next, checkpoint_round) = replay.apply_orders(&mut overlay, orders, position)?;
        for (_, order) in &orders[position..next] {
            let first = order.first_transaction_index as usize;
            for leaf in &leaves[first..first + order.transaction_count as usize] {
                frontier.push(*leaf);
            }
            progress.add(order.transaction_count as u64);
        }
        position = next;
        let writes = overlay.into_writes();
        lattice.add(&lattice_change(&state, &writes));
        for (key, value) in writes {
            match value {
                Some(value) => state.insert(key, value),
                None => state.remove(&key),
            };
        }
        if let Some(round) = checkpoint_round {
            let next_index = frontier.size();
            let chain_head = match next_index {
                0 => [0; 32],
                n => transactions[n as usize - 1].1.chain_hash,
            };
            checkpoints.insert(
                next_index,
                Checkpoint {
                    round,
                    next_index,
                    chain_head,
                    transaction_root: frontier.root(),
                    state_root: lattice.root(),
                    validator_set_hash,
                },
            );
        }
    }
    Ok(Replayed {
        state,
        outcomes: replay.outcomes,
        checkpoints,
    })
}

/// How `writes` change the governance state's digest (`StateLattice`) when applied to `state`:
/// as a validator's commit changes it. The entries are hashed in parallel: this runs on the
/// replay's critical path, and by then the signature checks have often left a core idle.
fn lattice_change(state: &State, writes: &Writes) -> StateLattice {
    let governance: Vec<(&Vec<u8>, &Option<Vec<u8>>)> = writes
        .range(GOVERNANCE_PREFIX.to_vec()..)
        .take_while(|(k, _)| k.starts_with(GOVERNANCE_PREFIX))
        .collect();
    governance
        .par_iter()
        .map(|(key, value)| {
            let mut change = StateLattice::new();
            if let Some(old) = state.get(*key) {
                change.subtract(&StateLattice::entry(key, old));
            }
            if let Some(new) = value {
                change.add(&StateLattice::entry(key, new));
            }
            change
        })
        .reduce(StateLattice::new, |mut sum, change| {
            sum.add(&change);
            sum
        })
}

/// The digest of the whole governance state in `state`, as the replay keeps it commit by commit.
#[cfg(test)]
pub fn state_root(state: &State) -> Hash {
    lattice_change(
        &State::new(),
        &state
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect(),
    )
    .root()
}

struct Replay<'a> {
    governance: Governance,
    transactions: &'a [(u64, TransactionRecord)],
    invalid: &'a InvalidSignatures,
    seen: HashSet<TxId>,
    outcomes: Outcomes,
    rule: CheckpointRule,
    activity: RoundActivity,
}

impl Replay<'_> {
    /// Applies orders from `start` on, until a round that is a checkpoint ends or a chunk is
    /// full at a round's end; returns where it stopped and the checkpoint round, if any.
    fn apply_orders(
        &mut self,
        overlay: &mut Overlay,
        orders: &[(u64, OrderRecord)],
        start: usize,
    ) -> Result<(usize, Option<u64>), AuditError> {
        let mut applied = 0;
        for (position, (_, order)) in orders.iter().enumerate().skip(start) {
            let first = order.first_transaction_index as usize;
            let end = first + order.transaction_count as usize;
            let Some(records) = self.transactions.get(first..end) else {
                return Err(AuditError::new(
                    format!("order record {position}"),
                    format!("names transactions {first}..{end}; the export has fewer"),
                ));
            };
            for (index, record) in records {
                self.apply(overlay, *index, record)?;
            }
            applied += order.transaction_count as usize;
            let round = order.round_received;
            let round_ends = orders
                .get(position + 1)
                .is_none_or(|(_, next)| next.round_received != round);
            if !round_ends {
                continue;
            }
            let due = self.rule.due(round, &self.activity);
            self.activity = RoundActivity::default();
            if due {
                self.rule.checkpointed(round);
                return Ok((position + 1, Some(round)));
            }
            if applied >= GOVERNANCE_CHUNK {
                return Ok((position + 1, None));
            }
        }
        Ok((orders.len(), None))
    }

    fn apply(
        &mut self,
        overlay: &mut Overlay,
        index: u64,
        record: &TransactionRecord,
    ) -> Result<(), AuditError> {
        let at = |detail: String| AuditError::new(format!("transaction {index}"), detail);
        let envelope = Envelope::decode(&record.payload).map_err(|e| at(e.to_string()))?;
        let id = envelope.id();
        let context = TxContext {
            index,
            tx_id: id.0,
            signer: envelope.signer,
            consensus_ns: record.consensus_timestamp_ns,
        };
        let closed = self
            .governance
            .advance_time(overlay, &context)
            .map_err(|e| at(e.to_string()))?;
        self.activity.ends_voting |= closed > 0;
        let name = if let Some(why) = self.invalid.get(&index) {
            // As a validator: rejected, and its signer and nonce stay free.
            self.governance
                .reject_invalid_signature(overlay, &context, why);
            self.activity.observe(&envelope.payload, &Err(()));
            Reason::InvalidSignature.name().to_string()
        } else if self.seen.insert(id) {
            let outcome = self
                .governance
                .apply(overlay, &context, &envelope.payload)
                .map_err(|e| at(e.to_string()))?;
            self.activity.observe(&envelope.payload, &outcome);
            match outcome {
                Ok(_) => "applied".to_string(),
                Err(rejection) => rejection.reason.name().to_string(),
            }
        } else {
            self.governance.reject_duplicate(overlay, &context);
            self.activity.observe(&envelope.payload, &Err(()));
            "duplicate_transaction".to_string()
        };
        *self.outcomes.entry(name).or_default() += 1;
        Ok(())
    }
}
