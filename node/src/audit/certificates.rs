//! The auditor's check of certificates: each one's signatures against the genesis validator
//! set, and its checkpoint against the one recomputed by the replay, field by field. Signed
//! checkpoints that never became certificates and differ from the recomputed ones are listed:
//! a validator signed something else than the ledger it committed.

use super::report::{CertificateSummary, DisagreeingSignature};
use super::verify::{show_key, State};
use super::AuditError;
use crate::hex;
use std::collections::BTreeMap;
use votegraph_gateway::governance::checkpoint::{
    decode_certificate, Certificate, Checkpoint, ValidatorSet, CERTIFICATE_PREFIX,
};

const CANDIDATE_PREFIX: &[u8] = b"gov/checkpoint/candidate/";

pub struct Findings {
    pub certificates: Vec<CertificateSummary>,
    pub disagreeing: Vec<DisagreeingSignature>,
}

pub fn check(
    state: &State,
    recomputed: &BTreeMap<u64, Checkpoint>,
    set: &ValidatorSet,
) -> Result<Findings, AuditError> {
    let mut certificates = Vec::new();
    for (key, certificate) in entries(state, CERTIFICATE_PREFIX)? {
        let cp = &certificate.checkpoint;
        let item = format!(
            "certificate of round {} (transactions 0..{})",
            cp.round, cp.next_index
        );
        let weight = certificate
            .verify(set)
            .map_err(|e| AuditError::new(&item, e.to_string()))?;
        let expected = recomputed.get(&cp.next_index).ok_or_else(|| {
            AuditError::new(
                &item,
                format!(
                    "the replay has no checkpoint after {} transactions ({})",
                    cp.next_index,
                    show_key(&key)
                ),
            )
        })?;
        if let Some(difference) = difference(expected, cp) {
            return Err(AuditError::new(item, difference));
        }
        certificates.push(CertificateSummary {
            round: cp.round,
            next_index: cp.next_index,
            signers: certificate.signatures.len(),
            weight,
            state_root: hex::encode(&cp.state_root),
            transaction_root: hex::encode(&cp.transaction_root),
        });
    }
    let mut disagreeing = Vec::new();
    for (_, candidate) in entries(state, CANDIDATE_PREFIX)? {
        let cp = &candidate.checkpoint;
        let Some(difference) = recomputed
            .get(&cp.next_index)
            .map_or(Some("no checkpoint is due there".to_string()), |expected| {
                difference(expected, cp)
            })
        else {
            continue;
        };
        for signature in &candidate.signatures {
            disagreeing.push(DisagreeingSignature {
                validator: hex::encode(&signature.validator),
                round: cp.round,
                next_index: cp.next_index,
                difference: difference.clone(),
            });
        }
    }
    Ok(Findings {
        certificates,
        disagreeing,
    })
}

fn entries(state: &State, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Certificate)>, AuditError> {
    state
        .range(prefix.to_vec()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .map(|(key, value)| {
            decode_certificate(value)
                .map(|c| (key.clone(), c))
                .map_err(|e| AuditError::new(format!("state {}", show_key(key)), e.to_string()))
        })
        .collect()
}

/// The first field in which `signed` differs from `expected`, said plainly.
fn difference(expected: &Checkpoint, signed: &Checkpoint) -> Option<String> {
    let fields: [(&str, &[u8], &[u8]); 5] = [
        (
            "round",
            &expected.round.to_be_bytes(),
            &signed.round.to_be_bytes(),
        ),
        ("chain head", &expected.chain_head, &signed.chain_head),
        (
            "transaction root",
            &expected.transaction_root,
            &signed.transaction_root,
        ),
        ("state root", &expected.state_root, &signed.state_root),
        (
            "validator set hash",
            &expected.validator_set_hash,
            &signed.validator_set_hash,
        ),
    ];
    fields.iter().find(|(_, e, s)| e != s).map(|(name, e, s)| {
        format!(
            "{name} differs: signed {}, recomputed {}",
            hex::encode(s),
            hex::encode(e)
        )
    })
}
