//! Signed checkpoints and their certificates.
//!
//! At a checkpoint every validator signs what it committed: the round, how many transactions
//! are ordered, the running hash, the Merkle roots over the order and over the governance
//! state, and the validator set. The signatures travel as ordinary transactions, so they are
//! ordered and applied like everything else; the signature that brings one checkpoint past two
//! thirds of the weight makes a certificate, kept in governance state. A certificate needs no
//! trust in any one validator: anyone with the genesis can check it offline, and receipts prove
//! a transaction's inclusion against it.
//!
//! Validators do not compare a signed checkpoint with their own here (the roots of a past point
//! are not in state); honest validators compute identical checkpoints, so only a value signed by
//! a supermajority is certified, and an auditor's replay recomputes every certified root.

use crate::governance::codec;
use crate::governance::overlay::{Overlay, StateError};
use crate::governance::reason::{reject, Reason, Rejection};
use crate::governance::records;
use crate::governance::{Applied, TxContext};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use votegraph_consensus::strict_signature::{self, SignedMessage};

const SIGNING_DOMAIN: &[u8] = b"votegraph-checkpoint-v1\0";
const VALIDATOR_SET_DOMAIN: &[u8] = b"votegraph-validator-set-v1\0";

pub const CERTIFICATE_PREFIX: &[u8] = b"gov/certificate/";
/// How many transactions the latest certificate covers: signatures of older checkpoints are
/// refused. With each validator's signatures required to cover ever more transactions, a
/// validator adds at most one vote per transaction of its own to state.
const LATEST_CERTIFIED_KEY: &[u8] = b"gov/checkpoint/latest-certified";

/// What a validator signs at a checkpoint: the ledger after the last transaction of `round`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub round: u64,
    /// Transactions covered: indexes `0..next_index`.
    pub next_index: u64,
    /// The running hash after transaction `next_index - 1` (all zero when none).
    pub chain_head: [u8; 32],
    /// RFC 6962 root (blake3) over the transaction records `0..next_index`.
    pub transaction_root: [u8; 32],
    /// RFC 6962 root (blake3) over the governance state entries, in key order.
    pub state_root: [u8; 32],
    pub validator_set_hash: [u8; 32],
}

/// One validator's signature over a checkpoint (the payload of its checkpoint transaction,
/// whose envelope signer is the validator).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointSignature {
    pub checkpoint: Checkpoint,
    /// ed25519 over the checkpoint's signing message (64 bytes).
    pub signature: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorSignature {
    pub validator: [u8; 32],
    pub signature: Vec<u8>,
}

/// A checkpoint and the signatures it has: a certificate once their weight is a supermajority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub checkpoint: Checkpoint,
    pub signatures: Vec<ValidatorSignature>,
    pub weight: u64,
}

/// The validators and their weights, from genesis, bound to the chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidatorSet {
    pub chain_id: String,
    pub validators: Vec<([u8; 32], u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("the certificate is for validator set {found}, not this genesis's {expected}")]
    ValidatorSet { expected: String, found: String },
    #[error("signature {position} is from {validator}, which is not a validator")]
    NotValidator { position: usize, validator: String },
    #[error("validator {validator} signed twice")]
    RepeatedValidator { validator: String },
    #[error("signature {position} (validator {validator}) does not verify")]
    BadSignature { position: usize, validator: String },
    #[error("signed weight {signed} of {total} is not more than two thirds")]
    NotSupermajority { signed: u64, total: u64 },
}

impl Checkpoint {
    /// The bytes validators sign: a domain tag and the canonical encoding (which includes the
    /// validator set hash, and through it the chain).
    pub fn signing_message(&self) -> Vec<u8> {
        let mut message = SIGNING_DOMAIN.to_vec();
        message.extend_from_slice(&codec::encode(self));
        message
    }

    pub fn hash(&self) -> [u8; 32] {
        *blake3::hash(&self.signing_message()).as_bytes()
    }

    pub fn sign(&self, key: &SigningKey) -> Vec<u8> {
        key.sign(&self.signing_message()).to_bytes().to_vec()
    }

    /// Strict ed25519 verification of `signature` by `validator`.
    pub fn signed_by(&self, validator: &[u8; 32], signature: &[u8]) -> bool {
        let Ok(signature) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        let Ok(key) = VerifyingKey::from_bytes(validator) else {
            return false;
        };
        strict_signature::verify(&SignedMessage {
            key: &key,
            message: &self.signing_message(),
            signature: &signature,
        })
    }
}

impl ValidatorSet {
    pub fn hash(&self) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new();
        hasher.update(VALIDATOR_SET_DOMAIN);
        hasher.update(&(self.chain_id.len() as u32).to_be_bytes());
        hasher.update(self.chain_id.as_bytes());
        for (key, weight) in &self.validators {
            hasher.update(key);
            hasher.update(&weight.to_be_bytes());
        }
        *hasher.finalize().as_bytes()
    }

    pub fn weight_of(&self, key: &[u8; 32]) -> Option<u64> {
        self.validators
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, w)| *w)
    }

    pub fn total_weight(&self) -> u64 {
        self.validators.iter().map(|(_, w)| w).sum()
    }

    /// More than two thirds of the total weight (the consensus's own supermajority).
    pub fn is_supermajority(&self, weight: u64) -> bool {
        weight as u128 * 3 > self.total_weight() as u128 * 2
    }
}

impl Certificate {
    /// Checks the certificate against the validator set alone: its set hash, every signature
    /// (strict), distinct validators, and more than two thirds of the weight. Returns the
    /// signed weight (recomputed; the recorded `weight` is not trusted).
    pub fn verify(&self, set: &ValidatorSet) -> Result<u64, CertificateError> {
        let expected = set.hash();
        if self.checkpoint.validator_set_hash != expected {
            return Err(CertificateError::ValidatorSet {
                expected: crate::hex::encode(&expected),
                found: crate::hex::encode(&self.checkpoint.validator_set_hash),
            });
        }
        let mut seen = Vec::new();
        let mut signed = 0u64;
        for (position, s) in self.signatures.iter().enumerate() {
            let validator = crate::hex::encode(&s.validator);
            let Some(weight) = set.weight_of(&s.validator) else {
                return Err(CertificateError::NotValidator {
                    position,
                    validator,
                });
            };
            if seen.contains(&s.validator) {
                return Err(CertificateError::RepeatedValidator { validator });
            }
            if !self.checkpoint.signed_by(&s.validator, &s.signature) {
                return Err(CertificateError::BadSignature {
                    position,
                    validator,
                });
            }
            seen.push(s.validator);
            signed += weight;
        }
        if !set.is_supermajority(signed) {
            return Err(CertificateError::NotSupermajority {
                signed,
                total: set.total_weight(),
            });
        }
        Ok(signed)
    }
}

/// Certificates are keyed by the transactions they cover, so that the first certificate at or
/// after an index is one scan away.
pub fn certificate_key(next_index: u64, round: u64) -> Vec<u8> {
    let mut key = CERTIFICATE_PREFIX.to_vec();
    key.extend_from_slice(&next_index.to_be_bytes());
    key.extend_from_slice(&round.to_be_bytes());
    key
}

fn vote_key(round: u64, validator: &[u8; 32]) -> Vec<u8> {
    let mut key = b"gov/checkpoint/vote/".to_vec();
    key.extend_from_slice(&round.to_be_bytes());
    key.extend_from_slice(validator);
    key
}

/// How many transactions the latest checkpoint `validator` signed covers: honest validators
/// sign checkpoints in order, each covering more, so every signature of one validator must.
fn last_signed_key(validator: &[u8; 32]) -> Vec<u8> {
    let mut key = b"gov/checkpoint/last-signed/".to_vec();
    key.extend_from_slice(validator);
    key
}

fn candidate_key(round: u64, checkpoint_hash: &[u8; 32]) -> Vec<u8> {
    let mut key = b"gov/checkpoint/candidate/".to_vec();
    key.extend_from_slice(&round.to_be_bytes());
    key.extend_from_slice(checkpoint_hash);
    key
}

/// Applies one validator's checkpoint signature: counts it toward its checkpoint and writes
/// the certificate once the checkpoint has a supermajority.
pub fn sign(
    set: &ValidatorSet,
    state: &mut Overlay,
    tx: &TxContext,
    signed: &CheckpointSignature,
) -> Result<Result<Applied, Rejection>, StateError> {
    let checkpoint = &signed.checkpoint;
    let Some(weight) = set.weight_of(&tx.signer) else {
        return Ok(reject(
            Reason::NotValidator,
            "only genesis validators sign checkpoints",
        ));
    };
    if let Err(rejection) = check_claims(set, tx, signed) {
        return Ok(Err(rejection));
    }
    let latest = records::read::<u64>(state, LATEST_CERTIFIED_KEY)?.unwrap_or(0);
    if checkpoint.next_index < latest {
        return Ok(reject(
            Reason::InvalidCheckpoint,
            format!(
                "the checkpoint covers {} transactions; a later certificate covers {latest}",
                checkpoint.next_index
            ),
        ));
    }
    let hash = checkpoint.hash();
    let vote = vote_key(checkpoint.round, &tx.signer);
    let last_signed_key = last_signed_key(&tx.signer);
    let last_signed = records::read::<u64>(state, &last_signed_key)?;
    if records::read::<[u8; 32]>(state, &vote)?.is_none()
        && last_signed.is_some_and(|last| checkpoint.next_index <= last)
    {
        return Ok(reject(
            Reason::InvalidCheckpoint,
            format!(
                "this validator signed a checkpoint covering {} transactions earlier; each one it signs must cover more",
                last_signed.unwrap_or(0)
            ),
        ));
    }
    if let Some(earlier) = records::read::<[u8; 32]>(state, &vote)? {
        return Ok(if earlier == hash {
            reject(
                Reason::CheckpointAlreadySigned,
                format!("this validator already signed round {}", checkpoint.round),
            )
        } else {
            reject(
                Reason::ConflictingCheckpoint,
                format!(
                    "this validator signed checkpoint {} for round {} earlier; this one is {}",
                    crate::hex::encode(&earlier),
                    checkpoint.round,
                    crate::hex::encode(&hash)
                ),
            )
        });
    }
    records::write(state, vote, &hash);
    records::write(state, last_signed_key, &checkpoint.next_index);
    let candidate = candidate_key(checkpoint.round, &hash);
    let mut certificate = records::read::<Certificate>(state, &candidate)?.unwrap_or(Certificate {
        checkpoint: checkpoint.clone(),
        signatures: Vec::new(),
        weight: 0,
    });
    certificate.signatures.push(ValidatorSignature {
        validator: tx.signer,
        signature: signed.signature.clone(),
    });
    certificate.weight += weight;
    let certified = set.is_supermajority(certificate.weight);
    if certified {
        let key = certificate_key(checkpoint.next_index, checkpoint.round);
        records::write(state, key, &certificate);
        records::write(state, LATEST_CERTIFIED_KEY.to_vec(), &checkpoint.next_index);
    }
    records::write(state, candidate, &certificate);
    Ok(Ok(Applied::CheckpointSigned {
        round: checkpoint.round,
        certified,
    }))
}

/// What a signature claims that can be checked without the past: the validator set, that the
/// checkpoint lies before this transaction, and the signature itself.
fn check_claims(
    set: &ValidatorSet,
    tx: &TxContext,
    signed: &CheckpointSignature,
) -> Result<(), Rejection> {
    let checkpoint = &signed.checkpoint;
    if checkpoint.validator_set_hash != set.hash() {
        return reject(
            Reason::InvalidCheckpoint,
            "the checkpoint names another validator set",
        );
    }
    if checkpoint.next_index > tx.index {
        return reject(
            Reason::InvalidCheckpoint,
            format!(
                "the checkpoint covers {} transactions; only {} are ordered before it",
                checkpoint.next_index, tx.index
            ),
        );
    }
    if !checkpoint.signed_by(&tx.signer, &signed.signature) {
        return reject(
            Reason::InvalidCheckpoint,
            "the checkpoint signature does not verify",
        );
    }
    Ok(())
}

/// A certificate (or a candidate) as governance state stores it.
pub fn decode_certificate(bytes: &[u8]) -> Result<Certificate, codec::CodecError> {
    codec::decode(bytes)
}
