//! The signed transaction envelope `{payload, signer, signature, nonce}`.
//!
//! One canonical byte encoding (the bytes that travel inside events and are hash-chained in the
//! ledger), one signing message bound to the chain, and one verification rule: ed25519
//! `verify_strict`'s verdict on a single signature (`votegraph_consensus::strict_signature`). Every validator accepts exactly the same envelopes,
//! so batch verification (whose cofactor ambiguity lets validators disagree on crafted
//! signatures) is never the rule. `(signer, nonce)` names a transaction: a second envelope with
//! the same pair is a replay, ordered at most once.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use votegraph_consensus::strict_signature::{self, SignedMessage};

const VERSION: u8 = 1;
const SIGNING_DOMAIN: &[u8] = b"votegraph-tx-v1\0";
const ID_DOMAIN: &[u8] = b"votegraph-tx-id-v1\0";
const CHAIN_DOMAIN: &[u8] = b"votegraph-chain-id-v1\0";
/// version, signer, nonce, payload length, signature.
const FIXED_BYTES: usize = 1 + 32 + 8 + 4 + 64;

/// The chain an envelope is signed for: a signature for one election network is worthless on
/// another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChainId(pub [u8; 32]);

impl ChainId {
    /// The id of the chain named `name` in the genesis file.
    pub fn from_name(name: &str) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(CHAIN_DOMAIN);
        hasher.update(name.as_bytes());
        ChainId(*hasher.finalize().as_bytes())
    }
}

/// A transaction's identity: blake3 of its signer and nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(pub [u8; 32]);

impl TxId {
    pub fn of(signer: &[u8; 32], nonce: u64) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(ID_DOMAIN);
        hasher.update(signer);
        hasher.update(&nonce.to_be_bytes());
        TxId(*hasher.finalize().as_bytes())
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Why bytes or fields are not a valid envelope.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("envelope is truncated: {bytes} bytes, at least {needed} needed")]
    Truncated { bytes: usize, needed: usize },
    #[error("envelope version {0} is not supported (expected {VERSION})")]
    UnknownVersion(u8),
    #[error("envelope has {0} bytes after its signature")]
    TrailingBytes(usize),
    #[error("payload has {bytes} bytes, more than the {max} allowed")]
    PayloadTooLarge { bytes: usize, max: usize },
    #[error("signer must be a 32-byte ed25519 public key, got {0} bytes")]
    SignerLength(usize),
    #[error("signature must be 64 bytes, got {0}")]
    SignatureLength(usize),
    #[error("signer is not a valid ed25519 public key")]
    BadSignerKey,
    #[error("signature does not verify (strict ed25519) for this signer, nonce and payload")]
    BadSignature,
}

/// A transaction as signed by its author. Construct with [`Envelope::sign`] or
/// [`Envelope::from_parts`], read with [`Envelope::decode`]; check with [`Envelope::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub signer: [u8; 32],
    pub nonce: u64,
    pub payload: Vec<u8>,
    pub signature: [u8; 64],
}

impl Envelope {
    /// Signs `payload` with `key` for `chain`.
    pub fn sign(chain: &ChainId, key: &SigningKey, nonce: u64, payload: Vec<u8>) -> Self {
        let signer = key.verifying_key().to_bytes();
        let message = signing_message(chain, &signer, nonce, &payload);
        let signature = key.sign(&message).to_bytes();
        Envelope {
            signer,
            nonce,
            payload,
            signature,
        }
    }

    /// An envelope from wire fields of any length, checked for shape (not signature).
    pub fn from_parts(
        signer: &[u8],
        nonce: u64,
        payload: Vec<u8>,
        signature: &[u8],
    ) -> Result<Self, EnvelopeError> {
        let signer: [u8; 32] = signer
            .try_into()
            .map_err(|_| EnvelopeError::SignerLength(signer.len()))?;
        let signature: [u8; 64] = signature
            .try_into()
            .map_err(|_| EnvelopeError::SignatureLength(signature.len()))?;
        Ok(Envelope {
            signer,
            nonce,
            payload,
            signature,
        })
    }

    pub fn id(&self) -> TxId {
        TxId::of(&self.signer, self.nonce)
    }

    /// The canonical encoding carried in events and stored in the ledger.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FIXED_BYTES + self.payload.len());
        out.push(VERSION);
        out.extend_from_slice(&self.signer);
        out.extend_from_slice(&self.nonce.to_be_bytes());
        out.extend_from_slice(&(self.payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.payload);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Reads a canonical encoding; any other byte string is refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        if bytes.len() < FIXED_BYTES {
            return Err(EnvelopeError::Truncated {
                bytes: bytes.len(),
                needed: FIXED_BYTES,
            });
        }
        if bytes[0] != VERSION {
            return Err(EnvelopeError::UnknownVersion(bytes[0]));
        }
        let signer: [u8; 32] = bytes[1..33].try_into().expect("length checked");
        let nonce = u64::from_be_bytes(bytes[33..41].try_into().expect("length checked"));
        let payload_len = u32::from_be_bytes(bytes[41..45].try_into().expect("length checked"));
        let needed = FIXED_BYTES.saturating_add(payload_len as usize);
        if bytes.len() < needed {
            return Err(EnvelopeError::Truncated {
                bytes: bytes.len(),
                needed,
            });
        }
        if bytes.len() > needed {
            return Err(EnvelopeError::TrailingBytes(bytes.len() - needed));
        }
        let payload_end = 45 + payload_len as usize;
        Ok(Envelope {
            signer,
            nonce,
            payload: bytes[45..payload_end].to_vec(),
            signature: bytes[payload_end..].try_into().expect("length checked"),
        })
    }

    /// The single rule: payload within `payload_bytes_max` and a strict ed25519 signature by
    /// `signer` over the chain-bound signing message.
    pub fn verify(&self, chain: &ChainId, payload_bytes_max: usize) -> Result<(), EnvelopeError> {
        let (key, message) = self.prepare(chain, payload_bytes_max)?;
        let signed = SignedMessage {
            key: &key,
            message: &message,
            signature: &self.signature,
        };
        match strict_signature::verify(&signed) {
            true => Ok(()),
            false => Err(EnvelopeError::BadSignature),
        }
    }

    /// Everything the rule checks before the signature: the payload's size and the signer's key;
    /// then the key and the signing message.
    pub(crate) fn prepare(
        &self,
        chain: &ChainId,
        payload_bytes_max: usize,
    ) -> Result<(VerifyingKey, Vec<u8>), EnvelopeError> {
        if self.payload.len() > payload_bytes_max {
            return Err(EnvelopeError::PayloadTooLarge {
                bytes: self.payload.len(),
                max: payload_bytes_max,
            });
        }
        let key =
            VerifyingKey::from_bytes(&self.signer).map_err(|_| EnvelopeError::BadSignerKey)?;
        Ok((
            key,
            signing_message(chain, &self.signer, self.nonce, &self.payload),
        ))
    }
}

/// Decodes and verifies a canonical encoding in one step.
pub fn check_encoded(
    bytes: &[u8],
    chain: &ChainId,
    payload_bytes_max: usize,
) -> Result<Envelope, EnvelopeError> {
    let envelope = Envelope::decode(bytes)?;
    envelope.verify(chain, payload_bytes_max)?;
    Ok(envelope)
}

fn signing_message(chain: &ChainId, signer: &[u8; 32], nonce: u64, payload: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNING_DOMAIN.len() + 32 + 32 + 12 + payload.len());
    message.extend_from_slice(SIGNING_DOMAIN);
    message.extend_from_slice(&chain.0);
    message.extend_from_slice(signer);
    message.extend_from_slice(&nonce.to_be_bytes());
    message.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    message.extend_from_slice(payload);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn chain() -> ChainId {
        ChainId::from_name("test-chain")
    }

    #[test]
    fn signed_envelope_round_trips_and_verifies() {
        let envelope = Envelope::sign(&chain(), &key(1), 7, b"ballot".to_vec());
        let decoded = Envelope::decode(&envelope.encode()).unwrap();
        assert_eq!(decoded, envelope);
        decoded.verify(&chain(), 1024).unwrap();
    }

    #[test]
    fn signature_is_bound_to_chain_nonce_and_payload() {
        let envelope = Envelope::sign(&chain(), &key(1), 7, b"ballot".to_vec());
        let other_chain = ChainId::from_name("other");
        assert_eq!(
            envelope.verify(&other_chain, 1024),
            Err(EnvelopeError::BadSignature)
        );
        let mut renonced = envelope.clone();
        renonced.nonce = 8;
        assert_eq!(
            renonced.verify(&chain(), 1024),
            Err(EnvelopeError::BadSignature)
        );
        let mut altered = envelope.clone();
        altered.payload[0] ^= 1;
        assert_eq!(
            altered.verify(&chain(), 1024),
            Err(EnvelopeError::BadSignature)
        );
    }

    #[test]
    fn id_depends_on_signer_and_nonce_only() {
        let a = Envelope::sign(&chain(), &key(1), 7, b"one".to_vec());
        let b = Envelope::sign(&chain(), &key(1), 7, b"two".to_vec());
        let c = Envelope::sign(&chain(), &key(1), 8, b"one".to_vec());
        assert_eq!(a.id(), b.id());
        assert_ne!(a.id(), c.id());
    }

    #[test]
    fn oversized_payload_is_refused() {
        let envelope = Envelope::sign(&chain(), &key(1), 1, vec![0; 11]);
        assert_eq!(
            envelope.verify(&chain(), 10),
            Err(EnvelopeError::PayloadTooLarge { bytes: 11, max: 10 })
        );
    }

    #[test]
    fn non_canonical_bytes_are_refused() {
        let bytes = Envelope::sign(&chain(), &key(1), 1, b"x".to_vec()).encode();
        assert!(matches!(
            Envelope::decode(&bytes[..bytes.len() - 1]),
            Err(EnvelopeError::Truncated { .. })
        ));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            Envelope::decode(&longer),
            Err(EnvelopeError::TrailingBytes(1))
        );
        let mut versioned = bytes.clone();
        versioned[0] = 9;
        assert_eq!(
            Envelope::decode(&versioned),
            Err(EnvelopeError::UnknownVersion(9))
        );
        let mut huge_length = bytes;
        huge_length[41..45].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            Envelope::decode(&huge_length),
            Err(EnvelopeError::Truncated { .. })
        ));
    }

    #[test]
    fn wrong_field_lengths_are_refused() {
        assert_eq!(
            Envelope::from_parts(&[0; 31], 0, vec![], &[0; 64]),
            Err(EnvelopeError::SignerLength(31))
        );
        assert_eq!(
            Envelope::from_parts(&[0; 32], 0, vec![], &[0; 63]),
            Err(EnvelopeError::SignatureLength(63))
        );
    }
}
