//! The envelope rule applied to many envelopes at once, with the same verdict for each as
//! [`Envelope::verify`]. Validators check the form of every transaction of a received event at
//! once and its signature off the path of consensus (see `docs/ARCHITECTURE.md`, trust
//! boundary); an audit checks every transaction of a ledger. Checked together, signatures
//! share the cost of comparing R (see `votegraph_consensus::strict_signature`).

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

/// The form of each encoding, in order: it decodes as an envelope whose payload is within
/// `payload_bytes_max`. Cheap (no signature, no key decompression): what makes an event that
/// carries it invalid as a whole. The first encoding refused is named with its position.
pub fn check_form_each<T: AsRef<[u8]>>(
    encodings: &[T],
    payload_bytes_max: usize,
) -> Result<(), (usize, EnvelopeError)> {
    for (i, bytes) in encodings.iter().enumerate() {
        let envelope = Envelope::decode(bytes.as_ref()).map_err(|e| (i, e))?;
        if envelope.payload.len() > payload_bytes_max {
            let too_large = EnvelopeError::PayloadTooLarge {
                bytes: envelope.payload.len(),
                max: payload_bytes_max,
            };
            return Err((i, too_large));
        }
    }
    Ok(())
}

/// [`Envelope::verify`]'s verdict on each encoding, in order; an encoding that does not decode
/// gets its decoding error.
pub fn verify_encoded_each<T: AsRef<[u8]>>(
    encodings: &[T],
    chain: &ChainId,
    payload_bytes_max: usize,
) -> Vec<Result<(), EnvelopeError>> {
    let mut envelopes = Vec::with_capacity(encodings.len());
    let mut undecodable = Vec::with_capacity(encodings.len());
    for bytes in encodings {
        match Envelope::decode(bytes.as_ref()) {
            Ok(envelope) => {
                envelopes.push(envelope);
                undecodable.push(None);
            }
            Err(e) => undecodable.push(Some(e)),
        }
    }
    let mut verdicts = verify_each(&envelopes, chain, payload_bytes_max).into_iter();
    undecodable
        .into_iter()
        .map(|refused| match refused {
            Some(e) => Err(e),
            None => verdicts.next().expect("one verdict per decoded envelope"),
        })
        .collect()
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
    fn the_form_check_names_the_first_malformed_or_oversized_encoding() {
        let batch = envelopes(5);
        let mut encodings: Vec<Vec<u8>> = batch.iter().map(Envelope::encode).collect();
        // A bad signature is not a matter of form.
        let last = encodings[3].len() - 1;
        encodings[3][last] ^= 1;
        assert_eq!(check_form_each(&encodings, 100), Ok(()));
        encodings[4].push(0);
        assert_eq!(
            check_form_each(&encodings, 100),
            Err((4, EnvelopeError::TrailingBytes(1)))
        );
        encodings[1].truncate(10);
        assert_eq!(
            check_form_each(&encodings, 100),
            Err((
                1,
                EnvelopeError::Truncated {
                    bytes: 10,
                    needed: 109
                }
            ))
        );
        let big = Envelope::sign(&chain(), &SigningKey::from_bytes(&[9; 32]), 1, vec![0; 101]);
        assert_eq!(
            check_form_each(&[big.encode()], 100),
            Err((
                0,
                EnvelopeError::PayloadTooLarge {
                    bytes: 101,
                    max: 100
                }
            ))
        );
    }

    #[test]
    fn each_encoding_gets_the_verdict_of_the_single_rule() {
        let batch = envelopes(6);
        let mut encodings: Vec<Vec<u8>> = batch.iter().map(Envelope::encode).collect();
        let last = encodings[2].len() - 1;
        encodings[2][last] ^= 1;
        encodings[4].truncate(10);
        let verdicts = verify_encoded_each(&encodings, &chain(), 100);
        for (bytes, verdict) in encodings.iter().zip(&verdicts) {
            let single = Envelope::decode(bytes).and_then(|e| e.verify(&chain(), 100));
            assert_eq!(verdict, &single);
        }
        let refused: Vec<usize> = (0..6).filter(|&i| verdicts[i].is_err()).collect();
        assert_eq!(refused, vec![2, 4]);
        assert_eq!(verdicts[2], Err(EnvelopeError::BadSignature));
    }
}
