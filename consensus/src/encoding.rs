//! The canonical byte encoding of events, defined here and nowhere else.
//!
//! Ids, signatures and the ledger all depend on these exact bytes, so the layout is written out
//! by hand (fixed field order, little-endian integers, length-prefixed byte strings) instead of
//! being left to a serialization library, and pinned by tests. Layout, version 1:
//!
//! ```text
//! u8        encoding version (1)
//! u32       creator (member index)
//! u64       creator_seq          (0 for a member's first event)
//! u64       birth_round
//! u64       timestamp_ns
//! parent    self_parent
//! parent    other_parent
//! u32       transaction count
//! repeated: u32 length, then that many bytes (one transaction)
//!
//! parent := u8 0                         (none)
//!         | u8 1, [u8; 32] id, u64 birth_round
//! ```
//!
//! The event id is `blake3(ID_DOMAIN || unsigned encoding)`. A signed event on the wire or on
//! disk is the unsigned encoding followed by the 64-byte ed25519 signature of the id.

use crate::types::{EventId, MemberId, Round, TimestampNs};

/// Version byte at the start of every encoded event.
pub const ENCODING_VERSION: u8 = 1;
/// Domain separation prefix hashed before the encoding to form an id.
pub const ID_DOMAIN: &[u8] = b"votegraph/event/v1\0";
/// Length of an ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// A reference to a parent: its id and the birth round its child claims for it. The birth round
/// lets a receiver recognise an ancient parent without having it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParentRef {
    pub id: EventId,
    pub birth_round: Round,
}

/// An event without its signature: everything the id covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsignedEvent {
    pub creator: MemberId,
    pub creator_seq: u64,
    pub birth_round: Round,
    pub timestamp_ns: TimestampNs,
    pub self_parent: Option<ParentRef>,
    pub other_parent: Option<ParentRef>,
    pub transactions: Vec<Vec<u8>>,
}

/// Why bytes are not a well-formed event.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("event ends early: needed {needed} more bytes at offset {offset}")]
    Truncated { offset: usize, needed: usize },
    #[error("unknown event encoding version {0}")]
    UnknownVersion(u8),
    #[error("bad parent tag {tag} at offset {offset}")]
    BadParentTag { offset: usize, tag: u8 },
    #[error("{count} transactions declared, more than the {max} allowed")]
    TooManyTransactions { count: u64, max: usize },
    #[error("{extra} trailing bytes after the signature")]
    TrailingBytes { extra: usize },
}

impl UnsignedEvent {
    /// Appends the canonical encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.push(ENCODING_VERSION);
        out.extend_from_slice(&self.creator.0.to_le_bytes());
        out.extend_from_slice(&self.creator_seq.to_le_bytes());
        out.extend_from_slice(&self.birth_round.to_le_bytes());
        out.extend_from_slice(&self.timestamp_ns.to_le_bytes());
        encode_parent(out, self.self_parent.as_ref());
        encode_parent(out, self.other_parent.as_ref());
        out.extend_from_slice(&(self.transactions.len() as u32).to_le_bytes());
        for tx in &self.transactions {
            out.extend_from_slice(&(tx.len() as u32).to_le_bytes());
            out.extend_from_slice(tx);
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Exact length of the unsigned encoding.
    pub fn encoded_len(&self) -> usize {
        let parent_len = |p: &Option<ParentRef>| if p.is_some() { 41 } else { 1 };
        1 + 4
            + 8 * 3
            + parent_len(&self.self_parent)
            + parent_len(&self.other_parent)
            + 4
            + self.transactions.iter().map(|t| 4 + t.len()).sum::<usize>()
    }

    /// `blake3(ID_DOMAIN || encoding)`.
    pub fn id(&self) -> EventId {
        let mut hasher = blake3::Hasher::new();
        hasher.update(ID_DOMAIN);
        hasher.update(&self.encode());
        EventId(*hasher.finalize().as_bytes())
    }

    /// Parses an unsigned event from the front of `bytes`; returns it and the bytes consumed.
    /// `transactions_max` bounds the allocation a hostile count could cause.
    pub fn decode_prefix(
        bytes: &[u8],
        transactions_max: usize,
    ) -> Result<(UnsignedEvent, usize), DecodeError> {
        let mut r = Reader { bytes, offset: 0 };
        let version = r.u8()?;
        if version != ENCODING_VERSION {
            return Err(DecodeError::UnknownVersion(version));
        }
        let creator = MemberId(r.u32()?);
        let creator_seq = r.u64()?;
        let birth_round = r.u64()?;
        let timestamp_ns = r.u64()?;
        let self_parent = r.parent()?;
        let other_parent = r.parent()?;
        let count = r.u32()? as u64;
        if count > transactions_max as u64 {
            return Err(DecodeError::TooManyTransactions {
                count,
                max: transactions_max,
            });
        }
        let mut transactions = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let len = r.u32()? as usize;
            transactions.push(r.take(len)?.to_vec());
        }
        let event = UnsignedEvent {
            creator,
            creator_seq,
            birth_round,
            timestamp_ns,
            self_parent,
            other_parent,
            transactions,
        };
        Ok((event, r.offset))
    }
}

fn encode_parent(out: &mut Vec<u8>, parent: Option<&ParentRef>) {
    match parent {
        None => out.push(0),
        Some(p) => {
            out.push(1);
            out.extend_from_slice(p.id.as_bytes());
            out.extend_from_slice(&p.birth_round.to_le_bytes());
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let available = self.bytes.len() - self.offset;
        if available < n {
            return Err(DecodeError::Truncated {
                offset: self.offset,
                needed: n - available,
            });
        }
        let slice = &self.bytes[self.offset..self.offset + n];
        self.offset += n;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn parent(&mut self) -> Result<Option<ParentRef>, DecodeError> {
        let offset = self.offset;
        match self.u8()? {
            0 => Ok(None),
            1 => {
                let id = EventId(self.take(32)?.try_into().expect("32 bytes"));
                let birth_round = self.u64()?;
                Ok(Some(ParentRef { id, birth_round }))
            }
            tag => Err(DecodeError::BadParentTag { offset, tag }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> UnsignedEvent {
        UnsignedEvent {
            creator: MemberId(2),
            creator_seq: 5,
            birth_round: 3,
            timestamp_ns: 1_700_000_000_000_000_000,
            self_parent: Some(ParentRef {
                id: EventId([0x11; 32]),
                birth_round: 3,
            }),
            other_parent: None,
            transactions: vec![b"ballot".to_vec(), vec![]],
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn encoding_layout_is_pinned() {
        let expected = concat!(
            "01",               // version
            "02000000",         // creator
            "0500000000000000", // creator_seq
            "0300000000000000", // birth_round
            "00002a36fe9c9717", // timestamp_ns
            "01",
            "1111111111111111111111111111111111111111111111111111111111111111",
            "0300000000000000",
            "00",       // no other parent
            "02000000", // 2 transactions
            "06000000",
            "62616c6c6f74", // "ballot"
            "00000000",     // empty transaction
        );
        let encoded = sample().encode();
        assert_eq!(hex(&encoded), expected);
        assert_eq!(encoded.len(), sample().encoded_len());
    }

    #[test]
    fn id_is_pinned() {
        // Changing this value changes every id ever issued: only with a new ENCODING_VERSION.
        assert_eq!(
            sample().id().to_hex(),
            blake3::hash(&[ID_DOMAIN, &sample().encode()[..]].concat())
                .to_hex()
                .to_string()
        );
        assert_eq!(
            &sample().id().to_hex()[..16],
            PINNED_SAMPLE_ID_PREFIX,
            "the id of the sample event changed"
        );
    }

    const PINNED_SAMPLE_ID_PREFIX: &str = "0aa8eba847cfc3bf";

    #[test]
    fn decode_inverts_encode() {
        let e = sample();
        let bytes = e.encode();
        let (decoded, used) = UnsignedEvent::decode_prefix(&bytes, 10).unwrap();
        assert_eq!(decoded, e);
        assert_eq!(used, bytes.len());
    }

    #[test]
    fn decode_rejects_truncation_at_every_length() {
        let bytes = sample().encode();
        for cut in 0..bytes.len() {
            let err = UnsignedEvent::decode_prefix(&bytes[..cut], 10).unwrap_err();
            assert!(
                matches!(err, DecodeError::Truncated { .. }),
                "cut {cut}: {err:?}"
            );
        }
    }

    #[test]
    fn decode_rejects_bad_version_tag_and_count() {
        let mut bytes = sample().encode();
        bytes[0] = 9;
        assert_eq!(
            UnsignedEvent::decode_prefix(&bytes, 10).unwrap_err(),
            DecodeError::UnknownVersion(9)
        );
        let mut bytes = sample().encode();
        bytes[29] = 7; // self_parent tag
        assert!(matches!(
            UnsignedEvent::decode_prefix(&bytes, 10).unwrap_err(),
            DecodeError::BadParentTag { offset: 29, tag: 7 }
        ));
        assert!(matches!(
            UnsignedEvent::decode_prefix(&sample().encode(), 1).unwrap_err(),
            DecodeError::TooManyTransactions { count: 2, max: 1 }
        ));
    }
}
