//! Verification of received events before they reach the engine: decoding, the event's own
//! checks and signature, and the form of every transaction it carries (an envelope within the
//! size limit). An event carrying a malformed transaction is invalid as a whole (its creator
//! signed it), so every honest validator keeps or refuses the same events. Transaction
//! signatures are not checked here but off the path of consensus (`crate::verdicts`).

use bytes::Bytes;
use rayon::prelude::*;
use std::sync::Arc;
use votegraph_consensus::{EventLimits, MemberSet, UncheckedEvent, VerifiedEvent};
use votegraph_gateway::{check_form_each, ChainId};

/// Frames with at most this many events (one signature each) are verified on the calling
/// thread.
const INLINE_EVENTS_MAX: usize = 16;

/// What every validator checks the same way.
pub struct Rules {
    pub members: MemberSet,
    pub limits: EventLimits,
    pub chain: ChainId,
    pub payload_bytes_max: usize,
}

/// A refused event and why; kept as evidence.
#[derive(Debug)]
pub struct Refused {
    pub bytes: Bytes,
    pub reason: String,
}

/// Verifies a batch, keeping the input order for the events that pass.
pub fn verify_batch(rules: &Rules, batch: Vec<Bytes>) -> (Vec<VerifiedEvent>, Vec<Refused>) {
    let decoded = batch
        .into_iter()
        .map(|bytes| {
            let event = decode(rules, &bytes);
            (bytes, event)
        })
        .collect();
    verify_decoded(rules, decoded)
}

/// Decodes an event within the size limits (cheap: no signature is checked).
pub fn decode(rules: &Rules, bytes: &[u8]) -> Result<UncheckedEvent, String> {
    if bytes.len() > rules.limits.event_bytes_max {
        return Err(format!(
            "event has {} bytes, more than {}",
            bytes.len(),
            rules.limits.event_bytes_max
        ));
    }
    UncheckedEvent::decode(bytes, &rules.limits).map_err(|e| e.to_string())
}

type Decoded = (Bytes, Result<UncheckedEvent, String>);

/// Verifies decoded events in parallel, keeping the input order for those that pass.
pub fn verify_decoded(rules: &Rules, batch: Vec<Decoded>) -> (Vec<VerifiedEvent>, Vec<Refused>) {
    split(batch.into_par_iter().map(|d| check(rules, d)).collect())
}

/// [`verify_decoded`] on the calling thread, for a handful of signatures.
fn verify_decoded_here(rules: &Rules, batch: Vec<Decoded>) -> (Vec<VerifiedEvent>, Vec<Refused>) {
    split(batch.into_iter().map(|d| check(rules, d)).collect())
}

fn check(rules: &Rules, (bytes, decoded): Decoded) -> Result<VerifiedEvent, Refused> {
    decoded
        .and_then(|event| verify_one(rules, event))
        .map_err(|reason| Refused { bytes, reason })
}

fn split(results: Vec<Result<VerifiedEvent, Refused>>) -> (Vec<VerifiedEvent>, Vec<Refused>) {
    let mut verified = Vec::with_capacity(results.len());
    let mut refused = Vec::new();
    for result in results {
        match result {
            Ok(event) => verified.push(event),
            Err(r) => refused.push(r),
        }
    }
    (verified, refused)
}

fn verify_one(rules: &Rules, unchecked: UncheckedEvent) -> Result<VerifiedEvent, String> {
    let event = unchecked
        .verify(&rules.members, &rules.limits)
        .map_err(|e| e.to_string())?;
    check_form_each(event.transactions(), rules.payload_bytes_max)
        .map_err(|(index, e)| format!("transaction {index}: {e}"))?;
    Ok(event)
}

/// Runs [`verify_decoded`] on rayon's pool without blocking the async runtime.
pub async fn verify_on_pool(
    rules: Arc<Rules>,
    batch: Vec<(Bytes, Result<UncheckedEvent, String>)>,
) -> (Vec<VerifiedEvent>, Vec<Refused>) {
    if batch.len() <= INLINE_EVENTS_MAX {
        // Waking rayon's workers costs more than it saves for a handful of signatures.
        return tokio::task::block_in_place(|| verify_decoded_here(&rules, batch));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        let _ = tx.send(verify_decoded(&rules, batch));
    });
    rx.await.expect("the verification task always answers")
}

#[cfg(test)]
mod tests {
    use super::*;
    use votegraph_consensus::encoding::UnsignedEvent;
    use votegraph_consensus::MemberId;
    use votegraph_gateway::Envelope;

    fn rules() -> (Rules, ed25519_dalek::SigningKey) {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let members = MemberSet::new(vec![votegraph_consensus::Member {
            public_key: key.verifying_key(),
            weight: 1,
        }])
        .unwrap();
        let rules = Rules {
            members,
            limits: EventLimits::default(),
            chain: ChainId::from_name("t"),
            payload_bytes_max: 100,
        };
        (rules, key)
    }

    fn event_with(key: &ed25519_dalek::SigningKey, transactions: Vec<Vec<u8>>) -> Bytes {
        let unsigned = UnsignedEvent {
            creator: MemberId(0),
            creator_seq: 0,
            birth_round: 1,
            timestamp_ns: 1,
            self_parent: None,
            other_parent: None,
            transactions,
        };
        Bytes::from(VerifiedEvent::sign(unsigned, key).encode())
    }

    #[test]
    fn an_event_with_a_malformed_transaction_is_refused_whole() {
        let (rules, key) = rules();
        let voter = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
        let good = Envelope::sign(&rules.chain, &voter, 1, b"yes".to_vec());
        let mut truncated = Envelope::sign(&rules.chain, &voter, 2, b"no".to_vec()).encode();
        truncated.pop();
        let too_large = Envelope::sign(&rules.chain, &voter, 3, vec![0; 101]);
        let ok = event_with(&key, vec![good.encode()]);
        let cut = event_with(&key, vec![good.encode(), truncated]);
        let big = event_with(&key, vec![too_large.encode()]);
        let (verified, rejected) = verify_batch(&rules, vec![ok, cut, big]);
        assert_eq!(verified.len(), 1);
        assert_eq!(rejected.len(), 2);
        assert!(
            rejected[0].reason.contains("transaction 1"),
            "{}",
            rejected[0].reason
        );
        assert!(
            rejected[1].reason.contains("payload"),
            "{}",
            rejected[1].reason
        );
    }

    #[test]
    fn a_transaction_signature_is_left_to_the_background_check() {
        let (rules, key) = rules();
        let voter = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
        let mut forged = Envelope::sign(&rules.chain, &voter, 2, b"no".to_vec());
        forged.payload = b"NO".to_vec();
        let carrier = event_with(&key, vec![forged.encode()]);
        let (verified, rejected) = verify_batch(&rules, vec![carrier]);
        assert_eq!((verified.len(), rejected.len()), (1, 0));
        let settled = crate::verdicts::check(&verified, &rules.chain, 100);
        assert!(
            settled[0].is_some(),
            "the forgery is found by the background check"
        );
    }

    #[test]
    fn garbage_bytes_are_refused_with_a_reason() {
        let (rules, _) = rules();
        let (verified, rejected) = verify_batch(&rules, vec![Bytes::from_static(b"junk")]);
        assert!(verified.is_empty());
        assert_eq!(rejected.len(), 1);
    }
}
