//! The governance state machine: elections, voter rolls, ballots, tallies and proposals.
//!
//! Every validator applies the same transactions in consensus order with the same rules, using
//! only consensus timestamps, so every validator holds byte-identical state. The machine reads
//! and writes through an [`Overlay`] over committed state; the node commits the overlay's writes
//! in the same ledger batch as the round that produced them. A rejected transaction changes
//! nothing except its rejection record, which an auditor can list with its reason.

pub mod action;
mod admin;
pub mod ballot;
pub mod checkpoint;
pub mod codec;
mod decoded;
pub mod definition;
pub mod election;
pub mod electionguard;
pub mod manifest;
mod manifest_error;
pub mod native;
pub mod overlay;
pub mod proposal;
pub mod reason;
pub mod records;
mod spec_cache;
pub mod tally;

use action::Action;
use overlay::{Overlay, StateError};
use reason::{Reason, Rejection};
use records::{ApprovalRecord, RejectionRecord};

/// The administrator set from genesis: `admin_threshold` distinct admins must approve each
/// administrative action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GovernanceConfig {
    pub admins: Vec<[u8; 32]>,
    pub admin_threshold: u32,
    /// Who signs checkpoints, with what weight.
    pub validators: checkpoint::ValidatorSet,
}

/// An ordered transaction as governance sees it (its signature was checked before ordering).
#[derive(Clone, Debug)]
pub struct TxContext {
    pub index: u64,
    pub tx_id: [u8; 32],
    pub signer: [u8; 32],
    pub consensus_ns: u64,
}

/// What an applied transaction did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    Approval {
        action_hash: [u8; 32],
        approvals: u32,
        threshold: u32,
        executed: bool,
    },
    BallotCounted {
        replaced_earlier: bool,
    },
    ProposalCreated {
        proposal_id: [u8; 32],
    },
    ProposalVoteCounted,
    CheckpointSigned {
        round: u64,
        certified: bool,
    },
}

impl Applied {
    /// What an approval did, as recorded in the ledger.
    pub fn approval(&self) -> Option<ApprovalRecord> {
        match *self {
            Applied::Approval {
                approvals,
                threshold,
                executed,
                ..
            } => Some(ApprovalRecord {
                approvals,
                threshold,
                executed,
            }),
            _ => None,
        }
    }

    /// One line for receipts and logs.
    pub fn describe(&self) -> String {
        match self {
            Applied::Approval { .. } => self.approval().expect("an approval").describe(),
            Applied::BallotCounted {
                replaced_earlier: true,
            } => "ballot counted; it replaces this voter's earlier ballot".to_string(),
            Applied::BallotCounted { .. } => "ballot counted".to_string(),
            Applied::ProposalCreated { proposal_id } => {
                format!("proposal {} created", crate::hex::encode(proposal_id))
            }
            Applied::ProposalVoteCounted => "vote counted".to_string(),
            Applied::CheckpointSigned {
                round,
                certified: true,
            } => format!(
                "checkpoint signature for round {round} counted; the checkpoint is certified"
            ),
            Applied::CheckpointSigned { round, .. } => {
                format!("checkpoint signature for round {round} counted")
            }
        }
    }
}

pub struct Governance {
    config: GovernanceConfig,
    specs: spec_cache::SpecCache,
}

impl Governance {
    pub fn new(config: GovernanceConfig) -> Self {
        assert!(
            config.admin_threshold >= 1
                && (config.admins.is_empty()
                    || config.admin_threshold as usize <= config.admins.len()),
            "genesis checks the admin threshold"
        );
        Governance {
            config,
            specs: spec_cache::SpecCache::default(),
        }
    }

    pub fn config(&self) -> &GovernanceConfig {
        &self.config
    }

    /// Applies one ordered transaction: keeps its writes if it is applied; otherwise drops
    /// them and records the rejection under its index. Errs only if state cannot be read.
    pub fn apply(
        &self,
        state: &mut Overlay,
        tx: &TxContext,
        payload: &[u8],
    ) -> Result<Result<Applied, Rejection>, StateError> {
        let (kind, outcome) = match Action::decode(payload) {
            Err(e) => (
                "unknown",
                Err(Rejection::new(Reason::MalformedPayload, e.stable_detail())),
            ),
            Ok(action) => (action.kind(), self.evaluate(state, tx, &action)?),
        };
        match &outcome {
            Ok(applied @ Applied::Approval { .. }) => {
                let key = records::approval_outcome_key(tx.index);
                records::write(state, key, &applied.approval().expect("an approval"));
                state.keep();
            }
            Ok(_) => state.keep(),
            Err(rejection) => {
                state.discard();
                record_rejection(state, tx, kind, rejection);
            }
        }
        Ok(outcome)
    }

    /// Applies the passage of consensus time up to `tx` before `tx` itself: scheduled closes
    /// that have passed take effect (kept whatever `tx` turns out to be). Every ordered
    /// transaction, duplicates included, goes through this first. Returns how many elections
    /// it closed.
    pub fn advance_time(&self, state: &mut Overlay, tx: &TxContext) -> Result<usize, StateError> {
        let closed = election::close_due(state, tx)?;
        state.keep();
        Ok(closed)
    }

    /// Records that the transaction at `tx.index` repeats one ordered earlier.
    pub fn reject_duplicate(&self, state: &mut Overlay, tx: &TxContext) {
        let rejection = Rejection::new(
            Reason::DuplicateTransaction,
            "this signer and nonce were ordered earlier; the earlier one counts",
        );
        record_rejection(state, tx, "duplicate", &rejection);
    }

    /// Records that the transaction at `tx.index` does not verify (its signer's key or its
    /// signature fails the strict rule, `why`). A validator's event carried it, and validators
    /// check transaction signatures off the path of consensus, so a Byzantine validator can
    /// have one ordered; it has no effect, and its record is the evidence.
    pub fn reject_invalid_signature(&self, state: &mut Overlay, tx: &TxContext, why: &str) {
        let rejection = Rejection::new(Reason::InvalidSignature, why);
        record_rejection(state, tx, "invalid", &rejection);
    }

    /// What applying would do, without changing anything: the gateway's early check.
    pub fn check(
        &self,
        base: &dyn overlay::StateRead,
        tx: &TxContext,
        action: &Action,
    ) -> Result<Result<Applied, Rejection>, StateError> {
        let mut scratch = Overlay::new(base);
        match action {
            Action::CastBallot(ballot) => ballot::check(&self.specs, &mut scratch, tx, ballot),
            other => self.evaluate(&mut scratch, tx, other),
        }
    }

    fn evaluate(
        &self,
        state: &mut Overlay,
        tx: &TxContext,
        action: &Action,
    ) -> Result<Result<Applied, Rejection>, StateError> {
        match action {
            Action::Admin(admin) => self.approve(state, tx, admin),
            Action::CastBallot(ballot) => ballot::cast(&self.specs, state, tx, ballot),
            Action::CreateProposal(spec) => proposal::create(state, tx, spec),
            Action::VoteProposal(vote) => proposal::vote(state, tx, vote),
            Action::SignCheckpoint(signed) => {
                checkpoint::sign(&self.config.validators, state, tx, signed)
            }
        }
    }
}

fn record_rejection(state: &mut Overlay, tx: &TxContext, kind: &str, rejection: &Rejection) {
    let record = RejectionRecord {
        tx_id: tx.tx_id,
        signer: tx.signer,
        kind: kind.to_string(),
        code: rejection.reason.code(),
        detail: rejection.detail.clone(),
    };
    records::write(state, records::rejected_key(tx.index), &record);
    state.keep();
}
