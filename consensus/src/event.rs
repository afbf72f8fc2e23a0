//! The trust boundary: bytes from a peer become an [`UncheckedEvent`]; only
//! [`UncheckedEvent::verify`] (membership, limits, id, signature) turns one into a
//! [`VerifiedEvent`], the only kind the engine accepts.
//!
//! Verification needs no engine state, so a node can run it on many events in parallel before
//! they reach the single-threaded engine. Checks that need the DAG (parents, sequence,
//! timestamps) happen in [`crate::Engine::insert`].

use crate::config::EventLimits;
use crate::encoding::{DecodeError, ParentRef, UnsignedEvent, SIGNATURE_LEN};
use crate::members::MemberSet;
use crate::strict_signature::{self, SignedMessage};
use crate::types::{EventId, MemberId, Round, TimestampNs};
use ed25519_dalek::{Signer, SigningKey};

/// An event as received: claimed content and claimed signature, nothing checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UncheckedEvent {
    pub unsigned: UnsignedEvent,
    pub signature: [u8; SIGNATURE_LEN],
}

/// Why an event failed verification. Carries the offending event: Byzantine input is evidence.
#[derive(Debug, thiserror::Error)]
#[error("event by {creator} seq {seq} rejected: {reason}", creator = .event.unsigned.creator, seq = .event.unsigned.creator_seq)]
pub struct InvalidEvent {
    pub event: Box<UncheckedEvent>,
    pub reason: InvalidReason,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidReason {
    #[error("creator {0} is not a member")]
    UnknownCreator(MemberId),
    #[error("{count} transactions, more than the {max} allowed")]
    TooManyTransactions { count: usize, max: usize },
    #[error("transaction {index} has {bytes} bytes, more than the {max} allowed")]
    TransactionTooLarge {
        index: usize,
        bytes: usize,
        max: usize,
    },
    #[error("event encodes to {bytes} bytes, more than the {max} allowed")]
    EventTooLarge { bytes: usize, max: usize },
    #[error("the signature does not verify against the creator's key")]
    BadSignature,
    #[error("a member's first event must have creator_seq 0, got {0}")]
    FirstEventSequence(u64),
    #[error("birth round {birth_round} is below its parent's claimed birth round {parent}")]
    BirthRoundBelowParent { birth_round: Round, parent: Round },
    #[error("birth round 0 is not a round (of the event or of a parent)")]
    BirthRoundZero,
}

/// An event whose signature, creator and size have been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEvent {
    unsigned: UnsignedEvent,
    signature: [u8; SIGNATURE_LEN],
    id: EventId,
}

impl UncheckedEvent {
    /// Canonical signed encoding: unsigned encoding followed by the signature.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.unsigned.encoded_len() + SIGNATURE_LEN);
        self.unsigned.encode_into(&mut out);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses a signed event; the whole input must be one event.
    pub fn decode(bytes: &[u8], limits: &EventLimits) -> Result<Self, DecodeError> {
        let (unsigned, used) =
            UnsignedEvent::decode_prefix(bytes, limits.transactions_per_event_max)?;
        let rest = &bytes[used..];
        if rest.len() < SIGNATURE_LEN {
            return Err(DecodeError::Truncated {
                offset: bytes.len(),
                needed: SIGNATURE_LEN - rest.len(),
            });
        }
        if rest.len() > SIGNATURE_LEN {
            return Err(DecodeError::TrailingBytes {
                extra: rest.len() - SIGNATURE_LEN,
            });
        }
        Ok(UncheckedEvent {
            unsigned,
            signature: rest.try_into().expect("64 bytes"),
        })
    }

    /// Checks everything that needs no DAG: membership, limits, structural rules and the
    /// signature (strict ed25519 verification of the recomputed id).
    pub fn verify(
        self,
        members: &MemberSet,
        limits: &EventLimits,
    ) -> Result<VerifiedEvent, InvalidEvent> {
        match self.check(members, limits) {
            Ok(id) => Ok(VerifiedEvent {
                unsigned: self.unsigned,
                signature: self.signature,
                id,
            }),
            Err(reason) => Err(InvalidEvent {
                event: Box::new(self),
                reason,
            }),
        }
    }

    fn check(&self, members: &MemberSet, limits: &EventLimits) -> Result<EventId, InvalidReason> {
        let e = &self.unsigned;
        let member = members
            .get(e.creator)
            .ok_or(InvalidReason::UnknownCreator(e.creator))?;
        check_limits(e, limits)?;
        check_structure(e)?;
        let id = e.id();
        let signed = SignedMessage {
            key: &member.public_key,
            message: id.as_bytes(),
            signature: &self.signature,
        };
        if !strict_signature::verify(&signed) {
            return Err(InvalidReason::BadSignature);
        }
        Ok(id)
    }
}

fn check_limits(e: &UnsignedEvent, limits: &EventLimits) -> Result<(), InvalidReason> {
    if e.transactions.len() > limits.transactions_per_event_max {
        return Err(InvalidReason::TooManyTransactions {
            count: e.transactions.len(),
            max: limits.transactions_per_event_max,
        });
    }
    if let Some((index, tx)) = e
        .transactions
        .iter()
        .enumerate()
        .find(|(_, tx)| tx.len() > limits.transaction_bytes_max)
    {
        return Err(InvalidReason::TransactionTooLarge {
            index,
            bytes: tx.len(),
            max: limits.transaction_bytes_max,
        });
    }
    let bytes = e.encoded_len() + SIGNATURE_LEN;
    if bytes > limits.event_bytes_max {
        return Err(InvalidReason::EventTooLarge {
            bytes,
            max: limits.event_bytes_max,
        });
    }
    Ok(())
}

fn check_structure(e: &UnsignedEvent) -> Result<(), InvalidReason> {
    if e.birth_round == 0 {
        return Err(InvalidReason::BirthRoundZero);
    }
    if e.self_parent.is_none() && e.creator_seq != 0 {
        return Err(InvalidReason::FirstEventSequence(e.creator_seq));
    }
    for parent in [&e.self_parent, &e.other_parent].into_iter().flatten() {
        if parent.birth_round == 0 {
            return Err(InvalidReason::BirthRoundZero);
        }
        if parent.birth_round > e.birth_round {
            return Err(InvalidReason::BirthRoundBelowParent {
                birth_round: e.birth_round,
                parent: parent.birth_round,
            });
        }
    }
    Ok(())
}

impl VerifiedEvent {
    /// Signs an event of the local member. The caller guarantees `key` is the creator's key;
    /// this is how the engine creates its own events.
    pub fn sign(unsigned: UnsignedEvent, key: &SigningKey) -> VerifiedEvent {
        let id = unsigned.id();
        let signature = key.sign(id.as_bytes()).to_bytes();
        VerifiedEvent {
            unsigned,
            signature,
            id,
        }
    }

    pub fn id(&self) -> EventId {
        self.id
    }
    pub fn creator(&self) -> MemberId {
        self.unsigned.creator
    }
    pub fn creator_seq(&self) -> u64 {
        self.unsigned.creator_seq
    }
    pub fn birth_round(&self) -> Round {
        self.unsigned.birth_round
    }
    pub fn timestamp_ns(&self) -> TimestampNs {
        self.unsigned.timestamp_ns
    }
    pub fn self_parent(&self) -> Option<&ParentRef> {
        self.unsigned.self_parent.as_ref()
    }
    pub fn other_parent(&self) -> Option<&ParentRef> {
        self.unsigned.other_parent.as_ref()
    }
    pub fn transactions(&self) -> &[Vec<u8>] {
        &self.unsigned.transactions
    }
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }
    pub fn unsigned(&self) -> &UnsignedEvent {
        &self.unsigned
    }

    /// The coin of a coin round: the middle bit of the signature, i.e. bit 256 counting from
    /// the least significant bit of byte 0 (the lowest bit of byte 32).
    pub fn coin_bit(&self) -> bool {
        self.signature[SIGNATURE_LEN / 2] & 1 == 1
    }

    /// Back to the wire form (for gossip and storage).
    /// The canonical signed encoding, as gossiped and stored.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.unsigned.encoded_len() + SIGNATURE_LEN);
        self.unsigned.encode_into(&mut out);
        out.extend_from_slice(&self.signature);
        out
    }

    pub fn to_unchecked(&self) -> UncheckedEvent {
        UncheckedEvent {
            unsigned: self.unsigned.clone(),
            signature: self.signature,
        }
    }
}

/// Orders events so that each comes after those of its parents that are in the list (a
/// depth-first topological sort, linear in the number of events).
pub fn parents_first(events: Vec<VerifiedEvent>) -> Vec<VerifiedEvent> {
    let index: crate::arena::FastMap<EventId, usize> = events
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id(), i))
        .collect();
    let parents_in_list = |e: &VerifiedEvent| -> Vec<usize> {
        [e.self_parent(), e.other_parent()]
            .into_iter()
            .flatten()
            .filter_map(|p| index.get(&p.id).copied())
            .collect()
    };
    let mut placed = vec![false; events.len()];
    let mut order = Vec::with_capacity(events.len());
    for start in 0..events.len() {
        let mut stack = vec![(start, false)];
        while let Some((i, expanded)) = stack.pop() {
            if placed[i] {
                continue;
            }
            if expanded {
                placed[i] = true;
                order.push(i);
                continue;
            }
            stack.push((i, true));
            let parents = parents_in_list(&events[i]);
            stack.extend(
                parents
                    .into_iter()
                    .filter(|p| !placed[*p])
                    .map(|p| (p, false)),
            );
        }
    }
    let mut slots: Vec<Option<VerifiedEvent>> = events.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|i| slots[i].take().expect("each event is placed once"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys::signing_key_for;

    fn members() -> MemberSet {
        crate::test_keys::member_set([("a", 1), ("b", 1)]).unwrap()
    }

    fn unsigned(creator: u32) -> UnsignedEvent {
        UnsignedEvent {
            creator: MemberId(creator),
            creator_seq: 0,
            birth_round: 1,
            timestamp_ns: 10,
            self_parent: None,
            other_parent: None,
            transactions: vec![b"tx".to_vec()],
        }
    }

    fn signed_by(creator: u32, key: &str) -> UncheckedEvent {
        VerifiedEvent::sign(unsigned(creator), &signing_key_for(key)).to_unchecked()
    }

    #[test]
    fn valid_event_verifies_and_roundtrips_bytes() {
        let e = signed_by(0, "a");
        let bytes = e.encode();
        let decoded = UncheckedEvent::decode(&bytes, &EventLimits::default()).unwrap();
        assert_eq!(decoded, e);
        let v = decoded.verify(&members(), &EventLimits::default()).unwrap();
        assert_eq!(v.id(), unsigned(0).id());
    }

    #[test]
    fn signature_by_another_key_is_rejected_with_the_event() {
        let e = signed_by(0, "b");
        let err = e
            .clone()
            .verify(&members(), &EventLimits::default())
            .unwrap_err();
        assert_eq!(err.reason, InvalidReason::BadSignature);
        assert_eq!(*err.event, e);
    }

    #[test]
    fn flipped_content_byte_breaks_the_signature() {
        let mut e = signed_by(0, "a");
        e.unsigned.timestamp_ns += 1;
        assert_eq!(
            e.verify(&members(), &EventLimits::default())
                .unwrap_err()
                .reason,
            InvalidReason::BadSignature
        );
    }

    #[test]
    fn non_member_and_limits_are_rejected() {
        let e = signed_by(7, "a");
        assert_eq!(
            e.verify(&members(), &EventLimits::default())
                .unwrap_err()
                .reason,
            InvalidReason::UnknownCreator(MemberId(7))
        );
        let limits = EventLimits {
            transactions_per_event_max: 0,
            ..EventLimits::default()
        };
        assert!(matches!(
            signed_by(0, "a")
                .verify(&members(), &limits)
                .unwrap_err()
                .reason,
            InvalidReason::TooManyTransactions { count: 1, max: 0 }
        ));
        let limits = EventLimits {
            transaction_bytes_max: 1,
            ..EventLimits::default()
        };
        assert!(matches!(
            signed_by(0, "a")
                .verify(&members(), &limits)
                .unwrap_err()
                .reason,
            InvalidReason::TransactionTooLarge {
                index: 0,
                bytes: 2,
                max: 1
            }
        ));
        let limits = EventLimits {
            event_bytes_max: 10,
            ..EventLimits::default()
        };
        assert!(matches!(
            signed_by(0, "a")
                .verify(&members(), &limits)
                .unwrap_err()
                .reason,
            InvalidReason::EventTooLarge { max: 10, .. }
        ));
    }

    /// Untrusted bytes never panic the decoder or the verifier, and a changed byte is never
    /// accepted as the original event (seeded random mutations).
    #[test]
    fn mutated_bytes_are_rejected_without_panicking() {
        let original = signed_by(0, "a");
        let bytes = original.encode();
        let limits = EventLimits::default();
        let mut rng = crate::sim::SplitMix64::new(0x0dd);
        for round in 0..5000 {
            let mut bad = bytes.clone();
            match rng.below(3) {
                0 => {
                    let i = rng.below(bad.len() as u64) as usize;
                    bad[i] ^= 1 << rng.below(8);
                }
                1 => bad.truncate(rng.below(bad.len() as u64) as usize),
                _ => {
                    let i = rng.below(bad.len() as u64) as usize;
                    bad.insert(i, rng.below(256) as u8);
                }
            }
            if let Ok(decoded) = UncheckedEvent::decode(&bad, &limits) {
                if let Ok(v) = decoded.verify(&members(), &limits) {
                    assert_eq!(
                        v.to_unchecked(),
                        original,
                        "mutation {round} accepted a different event"
                    );
                }
            }
        }
    }

    #[test]
    fn decode_rejects_missing_and_trailing_signature_bytes() {
        let bytes = signed_by(0, "a").encode();
        let limits = EventLimits::default();
        assert!(matches!(
            UncheckedEvent::decode(&bytes[..bytes.len() - 1], &limits),
            Err(DecodeError::Truncated { needed: 1, .. })
        ));
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(
            UncheckedEvent::decode(&long, &limits),
            Err(DecodeError::TrailingBytes { extra: 1 })
        );
    }
}
