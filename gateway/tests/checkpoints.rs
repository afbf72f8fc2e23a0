//! Checkpoint signatures and certificates: the rules of `governance::checkpoint`.

mod common;

use common::*;
use ed25519_dalek::SigningKey;
use votegraph_gateway::governance::action::Action;
use votegraph_gateway::governance::checkpoint::{
    certificate_key, decode_certificate, Certificate, CertificateError, Checkpoint,
    CheckpointSignature,
};
use votegraph_gateway::governance::reason::Reason;
use votegraph_gateway::governance::Applied;

fn checkpoint(round: u64) -> Checkpoint {
    Checkpoint {
        round,
        next_index: 0,
        chain_head: [7; 32],
        transaction_root: [8; 32],
        state_root: [9; 32],
        validator_set_hash: validator_set().hash(),
    }
}

fn signature_by(key: &SigningKey, checkpoint: &Checkpoint) -> Action {
    Action::SignCheckpoint(CheckpointSignature {
        checkpoint: checkpoint.clone(),
        signature: checkpoint.sign(key),
    })
}

fn sign(chain: &mut Chain, key: &SigningKey, checkpoint: &Checkpoint) -> Outcome {
    chain.one(
        key.verifying_key().to_bytes(),
        &signature_by(key, checkpoint),
    )
}

fn stored_certificate(chain: &Chain, checkpoint: &Checkpoint) -> Option<Certificate> {
    let key = certificate_key(checkpoint.next_index, checkpoint.round);
    chain
        .state
        .get(&key)
        .map(|bytes| decode_certificate(bytes).unwrap())
}

#[test]
fn a_checkpoint_is_certified_by_more_than_two_thirds_of_the_weight() {
    let mut chain = Chain::new();
    let keys = validator_keys();
    let cp = checkpoint(10);
    for (signed, key) in keys.iter().enumerate().take(2) {
        let outcome = sign(&mut chain, key, &cp).unwrap();
        assert_eq!(
            outcome,
            Applied::CheckpointSigned {
                round: 10,
                certified: false
            },
            "{} of 4 is not a supermajority",
            signed + 1
        );
    }
    assert!(stored_certificate(&chain, &cp).is_none());
    let outcome = sign(&mut chain, &keys[2], &cp).unwrap();
    assert_eq!(
        outcome,
        Applied::CheckpointSigned {
            round: 10,
            certified: true
        }
    );
    let certificate = stored_certificate(&chain, &cp).expect("certified at 3 of 4");
    assert_eq!(certificate.signatures.len(), 3);
    assert_eq!(certificate.verify(&validator_set()), Ok(3));
    sign(&mut chain, &keys[3], &cp).unwrap();
    let certificate = stored_certificate(&chain, &cp).unwrap();
    assert_eq!(certificate.signatures.len(), 4, "late signatures are added");
}

#[test]
fn only_validators_sign_and_only_valid_signatures_count() {
    let mut chain = Chain::new();
    let outsider = SigningKey::from_bytes(&[99; 32]);
    let cp = checkpoint(4);
    let refused = sign(&mut chain, &outsider, &cp).unwrap_err();
    assert_eq!(refused.reason, Reason::NotValidator);

    let keys = validator_keys();
    let forged = Action::SignCheckpoint(CheckpointSignature {
        checkpoint: cp.clone(),
        signature: cp.sign(&keys[1]),
    });
    let refused = chain
        .one(keys[0].verifying_key().to_bytes(), &forged)
        .unwrap_err();
    assert_eq!(refused.reason, Reason::InvalidCheckpoint);

    let mut foreign = cp.clone();
    foreign.validator_set_hash = [1; 32];
    let refused = sign(&mut chain, &keys[0], &foreign).unwrap_err();
    assert_eq!(refused.reason, Reason::InvalidCheckpoint);

    let mut ahead = cp.clone();
    ahead.next_index = chain.next_index + 1;
    let refused = sign(&mut chain, &keys[0], &ahead).unwrap_err();
    assert_eq!(
        refused.reason,
        Reason::InvalidCheckpoint,
        "{}",
        refused.detail
    );
}

#[test]
fn a_validator_signing_two_checkpoints_for_one_round_is_refused_and_recorded() {
    let mut chain = Chain::new();
    let keys = validator_keys();
    let cp = checkpoint(6);
    sign(&mut chain, &keys[0], &cp).unwrap();
    let again = sign(&mut chain, &keys[0], &cp).unwrap_err();
    assert_eq!(again.reason, Reason::CheckpointAlreadySigned);
    let mut other = cp.clone();
    other.state_root = [0; 32];
    let conflict = sign(&mut chain, &keys[0], &other).unwrap_err();
    assert_eq!(conflict.reason, Reason::ConflictingCheckpoint);
    let record = chain
        .rejection_at(chain.next_index - 1)
        .expect("evidence kept");
    assert_eq!(record.code, Reason::ConflictingCheckpoint.code());
}

#[test]
fn a_certificate_verifies_offline_and_any_change_breaks_it() {
    let mut chain = Chain::new();
    let keys = validator_keys();
    let cp = checkpoint(20);
    for key in &keys[..3] {
        sign(&mut chain, key, &cp).unwrap();
    }
    let certificate = stored_certificate(&chain, &cp).unwrap();
    let set = validator_set();
    assert_eq!(certificate.verify(&set), Ok(3));

    let mut changed = certificate.clone();
    changed.checkpoint.state_root[0] ^= 1;
    assert!(matches!(
        changed.verify(&set),
        Err(CertificateError::BadSignature { position: 0, .. })
    ));

    let mut short = certificate.clone();
    short.signatures.pop();
    assert!(matches!(
        short.verify(&set),
        Err(CertificateError::NotSupermajority {
            signed: 2,
            total: 4
        })
    ));

    let mut repeated = certificate.clone();
    repeated.signatures[2] = repeated.signatures[0].clone();
    assert!(matches!(
        repeated.verify(&set),
        Err(CertificateError::RepeatedValidator { .. })
    ));

    let mut other_set = set.clone();
    other_set.chain_id = "another-chain".into();
    assert!(matches!(
        certificate.verify(&other_set),
        Err(CertificateError::ValidatorSet { .. })
    ));
}

#[test]
fn signatures_of_checkpoints_older_than_the_latest_certificate_are_refused() {
    let mut chain = Chain::new();
    let keys = validator_keys();
    chain.commit(&[(key(1), b"filler".to_vec()), (key(2), b"filler".to_vec())]);
    let mut newer = checkpoint(30);
    newer.next_index = 2;
    for key in &keys[..3] {
        sign(&mut chain, key, &newer).unwrap();
    }
    let older = checkpoint(20);
    let refused = sign(&mut chain, &keys[0], &older).unwrap_err();
    assert_eq!(
        refused.reason,
        Reason::InvalidCheckpoint,
        "{}",
        refused.detail
    );
    let late = sign(&mut chain, &keys[3], &newer).unwrap();
    assert_eq!(
        late,
        Applied::CheckpointSigned {
            round: 30,
            certified: true
        },
        "a late signature of the certified checkpoint still counts"
    );
}

#[test]
fn each_signature_of_a_validator_must_cover_more_transactions_than_its_last() {
    let mut chain = Chain::new();
    let keys = validator_keys();
    chain.commit(&[(key(1), b"filler".to_vec()), (key(2), b"filler".to_vec())]);
    let mut first = checkpoint(10);
    first.next_index = 1;
    sign(&mut chain, &keys[0], &first).unwrap();
    let mut same_point = checkpoint(11);
    same_point.next_index = 1;
    let refused = sign(&mut chain, &keys[0], &same_point).unwrap_err();
    assert_eq!(
        refused.reason,
        Reason::InvalidCheckpoint,
        "{}",
        refused.detail
    );
    let mut later = checkpoint(12);
    later.next_index = 2;
    sign(&mut chain, &keys[0], &later).unwrap();
}
