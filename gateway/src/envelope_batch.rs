//! The envelope rule applied to many envelopes at once, with the same verdict for each as
//! [`Envelope::verify`]. Validators check every transaction of a received event, and an audit
//! every transaction of a ledger; checked together, their signatures share the cost of
//! comparing R (see `votegraph_consensus::strict_signature`).

use crate::envelope::{ChainId, Envelope, EnvelopeError};
use votegraph_consensus::strict_signature::{self, SignedMessage};

/// [`Envelope::verify`]'s verdict on each envelope, in input order.
pub fn verify_each(
    envelopes: &[Envelope],
    chain: &ChainId,
    payload_bytes_max: usize,
) -> Vec<Result<(), EnvelopeError>> {
    let prepared: Vec<_> = envelopes
        .iter()
        .map(|e| e.prepare(chain, payload_bytes_max))
        .collect();
    let signed: Vec<SignedMessage> = prepared
        .iter()
        .zip(envelopes)
        .filter_map(|(prepared, envelope)| {
            let (key, message) = prepared.as_ref().ok()?;
            Some(SignedMessage {
                key,
                message,
                signature: &envelope.signature,
            })
        })
        .collect();
    let mut verdicts = strict_signature::verify_each(&signed).into_iter();
    prepared
        .into_iter()
        .map(|prepared| {
            prepared?;
            match verdicts.next().expect("one verdict per prepared envelope") {
                true => Ok(()),
                false => Err(EnvelopeError::BadSignature),
            }
        })
        .collect()
}

/// Decodes and verifies canonical encodings in order: all the envelopes, or the first encoding
/// refused (for its bytes or its signature) with its position.
pub fn check_encoded_each<T: AsRef<[u8]>>(
    encodings: &[T],
    chain: &ChainId,
    payload_bytes_max: usize,
) -> Result<Vec<Envelope>, (usize, EnvelopeError)> {
    let mut envelopes = Vec::with_capacity(encodings.len());
    let mut undecodable = None;
    for (i, bytes) in encodings.iter().enumerate() {
        match Envelope::decode(bytes.as_ref()) {
            Ok(envelope) => envelopes.push(envelope),
            Err(e) => {
                undecodable = Some((i, e));
                break;
            }
        }
    }
    let verdicts = verify_each(&envelopes, chain, payload_bytes_max);
    if let Some((i, Err(e))) = verdicts.into_iter().enumerate().find(|(_, v)| v.is_err()) {
        return Err((i, e));
    }
    match undecodable {
        Some(refused) => Err(refused),
        None => Ok(envelopes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn chain() -> ChainId {
        ChainId::from_name("batch-test")
    }

    fn envelopes(count: u64) -> Vec<Envelope> {
        (0..count)
            .map(|i| {
                let key = SigningKey::from_bytes(&[i as u8 + 1; 32]);
                Envelope::sign(&chain(), &key, i, vec![i as u8; 20])
            })
            .collect()
    }

    #[test]
    fn each_verdict_is_that_of_the_single_rule() {
        let mut batch = envelopes(9);
        batch[2].signature[5] ^= 1;
        batch[4].payload.push(0);
        batch[6].payload = vec![0; 200];
        batch[7].signer = [0xff; 32];
        let verdicts = verify_each(&batch, &chain(), 100);
        for (envelope, verdict) in batch.iter().zip(&verdicts) {
            assert_eq!(verdict, &envelope.verify(&chain(), 100));
        }
        let refused: Vec<usize> = (0..9).filter(|&i| verdicts[i].is_err()).collect();
        assert_eq!(refused, vec![2, 4, 6, 7]);
        assert_eq!(
            verdicts[6],
            Err(EnvelopeError::PayloadTooLarge {
                bytes: 200,
                max: 100
            })
        );
    }

    #[test]
    fn the_first_refused_encoding_is_named_by_position() {
        let batch = envelopes(5);
        let mut encodings: Vec<Vec<u8>> = batch.iter().map(Envelope::encode).collect();
        assert_eq!(
            check_encoded_each(&encodings, &chain(), 100).unwrap(),
            batch
        );
        let last = encodings[3].len() - 1;
        encodings[3][last] ^= 1;
        encodings[4].push(0);
        let refused = check_encoded_each(&encodings, &chain(), 100).unwrap_err();
        assert_eq!(refused, (3, EnvelopeError::BadSignature));
        encodings[3][last] ^= 1;
        let refused = check_encoded_each(&encodings, &chain(), 100).unwrap_err();
        assert_eq!(refused, (4, EnvelopeError::TrailingBytes(1)));
        // An undecodable encoding before a bad signature is the one named.
        encodings[3][last] ^= 1;
        encodings[1].truncate(10);
        let refused = check_encoded_each(&encodings, &chain(), 100).unwrap_err();
        assert_eq!(
            refused,
            (
                1,
                EnvelopeError::Truncated {
                    bytes: 10,
                    needed: 109
                }
            )
        );
    }
}
