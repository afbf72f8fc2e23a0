//! Finality as clients see it: which transaction became final, where in the order, with which
//! chain hash. Published by the driver after the commit is durable; looked up in the ledger's
//! state for transactions that were final before a client asked.

use std::sync::Arc;
use votegraph_consensus::{EventId, Round, TimestampNs};
use votegraph_gateway::governance::codec;
use votegraph_gateway::governance::reason::{Reason, Rejection};
use votegraph_gateway::governance::records::{
    approval_outcome_key, rejected_key, ApprovalRecord, RejectionRecord,
};
use votegraph_gateway::governance::Applied;
use votegraph_gateway::TxId;
use votegraph_storage::{Store, StoreError};

/// State key under which the first ordered occurrence of a transaction is recorded.
pub fn tx_state_key(id: &TxId) -> Vec<u8> {
    let mut key = b"tx/".to_vec();
    key.extend_from_slice(&id.0);
    key
}

/// State value: index in the transaction order and round received.
pub fn tx_state_value(index: u64, round: Round) -> Vec<u8> {
    let mut value = index.to_be_bytes().to_vec();
    value.extend_from_slice(&round.to_be_bytes());
    value
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finalized {
    pub tx_id: TxId,
    pub index: u64,
    pub chain_hash: [u8; 32],
    pub consensus_timestamp_ns: TimestampNs,
    pub round_received: Round,
    pub event_id: EventId,
    pub outcome: TxOutcome,
}

/// What governance made of a final transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxOutcome {
    Applied {
        detail: String,
        /// For an administrator approval: what it did.
        approval: Option<ApprovalRecord>,
    },
    /// Recorded in the ledger under `gov/rejected/<index>`.
    Rejected { reason: Reason, detail: String },
}

impl TxOutcome {
    /// A repeat of a transaction ordered earlier.
    pub fn duplicate() -> Self {
        TxOutcome::Rejected {
            reason: Reason::DuplicateTransaction,
            detail: "this signer and nonce were ordered earlier; the earlier one counts".into(),
        }
    }

    /// A transaction whose signature fails, carried by a faulty validator's event. Not the
    /// outcome of the transaction its signer and nonce name: it is never reported as final.
    pub fn invalid_signature(detail: String) -> Self {
        TxOutcome::Rejected {
            reason: Reason::InvalidSignature,
            detail,
        }
    }

    /// Whether this outcome belongs to the transaction its id names (see
    /// [`TxOutcome::invalid_signature`]).
    pub fn is_genuine(&self) -> bool {
        !matches!(
            self,
            TxOutcome::Rejected {
                reason: Reason::InvalidSignature,
                ..
            }
        )
    }

    pub fn is_applied(&self) -> bool {
        matches!(self, TxOutcome::Applied { .. })
    }

    pub fn detail(&self) -> &str {
        match self {
            TxOutcome::Applied { detail, .. } | TxOutcome::Rejected { detail, .. } => detail,
        }
    }
}

impl From<Result<Applied, Rejection>> for TxOutcome {
    fn from(outcome: Result<Applied, Rejection>) -> Self {
        match outcome {
            Ok(applied) => TxOutcome::Applied {
                detail: applied.describe(),
                approval: applied.approval(),
            },
            Err(rejection) => TxOutcome::Rejected {
                reason: rejection.reason,
                detail: rejection.detail,
            },
        }
    }
}

pub type FinalizedBatch = Arc<Vec<Finalized>>;

/// The finality record of a transaction already committed, if it is.
pub fn lookup(store: &dyn Store, id: &TxId) -> Result<Option<Finalized>, StoreError> {
    let Some(value) = store.state(&tx_state_key(id))? else {
        return Ok(None);
    };
    let (Some(index), Some(round)) = (
        value
            .get(..8)
            .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes"))),
        value
            .get(8..16)
            .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes"))),
    ) else {
        return Err(StoreError::corrupt(
            "state",
            &tx_state_key(id),
            "transaction finality record is not 16 bytes",
        ));
    };
    let Some((_, record)) = store.transactions(index, 1)?.into_iter().next() else {
        return Err(StoreError::corrupt(
            "state",
            &tx_state_key(id),
            "points at a transaction index the ledger does not hold",
        ));
    };
    Ok(Some(Finalized {
        tx_id: *id,
        index,
        chain_hash: record.chain_hash,
        consensus_timestamp_ns: record.consensus_timestamp_ns,
        round_received: round,
        event_id: record.event_id,
        outcome: recorded_outcome(store, index)?,
    }))
}

/// The outcome of the transaction at `index`, from its rejection record if it has one.
pub fn recorded_outcome(store: &dyn Store, index: u64) -> Result<TxOutcome, StoreError> {
    let key = rejected_key(index);
    let Some(bytes) = store.state(&key)? else {
        let key = approval_outcome_key(index);
        let approval: Option<ApprovalRecord> = match store.state(&key)? {
            Some(bytes) => Some(codec::decode(&bytes).map_err(|e| {
                StoreError::corrupt("state", &key, format!("approval outcome: {e}"))
            })?),
            None => None,
        };
        let detail = approval.map_or_else(|| "applied".to_string(), |a| a.describe());
        return Ok(TxOutcome::Applied { detail, approval });
    };
    let record: RejectionRecord = codec::decode(&bytes)
        .map_err(|e| StoreError::corrupt("state", &key, format!("rejection record: {e}")))?;
    let reason = Reason::from_code(record.code).ok_or_else(|| {
        StoreError::corrupt("state", &key, "rejection record has an unknown reason code")
    })?;
    Ok(TxOutcome::Rejected {
        reason,
        detail: record.detail,
    })
}
