//! The records the ledger stores and their byte layouts (big-endian keys so that byte order is
//! numeric order; values sealed with a checksum so that a flipped byte is reported, never
//! silently accepted).

use crate::error::{StoreError, Table};
use votegraph_consensus::{EventId, Round, TimestampNs};

/// Where the ledger stands: what the next commit must continue from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LedgerHead {
    /// Index the next ordered event will get (= number of events ordered).
    pub next_order_index: u64,
    /// Index the next ordered transaction will get.
    pub next_transaction_index: u64,
    /// Running hash over every transaction record so far (all zero for an empty ledger).
    pub chain_head: [u8; 32],
    /// Running hash over every order record so far (all zero for an empty ledger).
    pub order_chain_head: [u8; 32],
    /// Latest round whose order is committed.
    pub last_decided_round: Round,
    /// Consensus timestamp of the last committed transaction (0 when none).
    pub last_transaction_timestamp_ns: TimestampNs,
}

/// One event's place in the order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRecord {
    pub event_id: EventId,
    pub round_received: Round,
    pub consensus_timestamp_ns: TimestampNs,
    pub first_transaction_index: u64,
    pub transaction_count: u32,
    /// `blake3(previous order chain head || unhashed encoding of this record)`.
    pub chain_hash: [u8; 32],
}

/// One ordered transaction and the running hash of the chain up to and including it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionRecord {
    pub event_id: EventId,
    /// Position of the transaction inside its event.
    pub position: u32,
    pub consensus_timestamp_ns: TimestampNs,
    pub payload: Vec<u8>,
    /// `blake3(previous chain head || unhashed encoding of this record)`.
    pub chain_hash: [u8; 32],
}

const SEAL_LEN: usize = 8;

/// A transaction record's unhashed encoding without its payload: event id, position, timestamp.
const UNHASHED_TRANSACTION_BYTES: usize = 32 + 4 + 8;

/// The value followed by an 8-byte blake3 checksum of `table || key || value`, in one
/// allocation of its final size.
pub(crate) fn seal(table: Table, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut sealed = Vec::with_capacity(value.len() + SEAL_LEN);
    sealed.extend_from_slice(value);
    sealed.extend_from_slice(&checksum(table, key, value));
    sealed
}

/// Checks and strips the checksum appended by [`seal`].
pub(crate) fn unseal<'a>(
    table: Table,
    key: &[u8],
    sealed: &'a [u8],
) -> Result<&'a [u8], StoreError> {
    if sealed.len() < SEAL_LEN {
        return Err(StoreError::corrupt(
            table,
            key,
            "record shorter than its checksum",
        ));
    }
    let (value, sum) = sealed.split_at(sealed.len() - SEAL_LEN);
    if checksum(table, key, value) != sum {
        return Err(StoreError::corrupt(table, key, "checksum mismatch"));
    }
    Ok(value)
}

fn checksum(table: Table, key: &[u8], value: &[u8]) -> [u8; SEAL_LEN] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(table.as_bytes());
    hasher.update(&(key.len() as u32).to_le_bytes());
    hasher.update(key);
    hasher.update(value);
    hasher.finalize().as_bytes()[..SEAL_LEN]
        .try_into()
        .expect("8 bytes")
}

struct Reader<'a> {
    bytes: &'a [u8],
    table: Table,
    key: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if self.bytes.len() < n {
            return Err(StoreError::corrupt(
                self.table,
                self.key,
                "record too short",
            ));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u32(&mut self) -> Result<u32, StoreError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn u64(&mut self) -> Result<u64, StoreError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }
    fn hash(&mut self) -> Result<[u8; 32], StoreError> {
        Ok(self.take(32)?.try_into().expect("32"))
    }
    fn rest(self) -> &'a [u8] {
        self.bytes
    }
    fn finish(self) -> Result<(), StoreError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(StoreError::corrupt(self.table, self.key, "trailing bytes"))
        }
    }
}

impl LedgerHead {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&self.next_order_index.to_le_bytes());
        out.extend_from_slice(&self.next_transaction_index.to_le_bytes());
        out.extend_from_slice(&self.chain_head);
        out.extend_from_slice(&self.order_chain_head);
        out.extend_from_slice(&self.last_decided_round.to_le_bytes());
        out.extend_from_slice(&self.last_transaction_timestamp_ns.to_le_bytes());
        out
    }

    pub fn decode(table: Table, key: &[u8], bytes: &[u8]) -> Result<Self, StoreError> {
        let mut r = Reader { bytes, table, key };
        let head = LedgerHead {
            next_order_index: r.u64()?,
            next_transaction_index: r.u64()?,
            chain_head: r.hash()?,
            order_chain_head: r.hash()?,
            last_decided_round: r.u64()?,
            last_transaction_timestamp_ns: r.u64()?,
        };
        r.finish()?;
        Ok(head)
    }
}

impl OrderRecord {
    /// The bytes the order chain hashes: everything but the chain hash itself.
    pub fn unhashed_encoding(&self) -> Vec<u8> {
        // Room for the chain hash that `encode` appends.
        let mut out = Vec::with_capacity(92);
        out.extend_from_slice(self.event_id.as_bytes());
        out.extend_from_slice(&self.round_received.to_le_bytes());
        out.extend_from_slice(&self.consensus_timestamp_ns.to_le_bytes());
        out.extend_from_slice(&self.first_transaction_index.to_le_bytes());
        out.extend_from_slice(&self.transaction_count.to_le_bytes());
        out
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.unhashed_encoding();
        out.extend_from_slice(&self.chain_hash);
        out
    }

    pub fn decode(table: Table, key: &[u8], bytes: &[u8]) -> Result<Self, StoreError> {
        let mut r = Reader { bytes, table, key };
        let record = OrderRecord {
            event_id: EventId(r.hash()?),
            round_received: r.u64()?,
            consensus_timestamp_ns: r.u64()?,
            first_transaction_index: r.u64()?,
            transaction_count: r.u32()?,
            chain_hash: r.hash()?,
        };
        r.finish()?;
        Ok(record)
    }
}

impl TransactionRecord {
    /// The bytes the chain hashes: everything but the chain hash itself.
    pub fn unhashed_encoding(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(UNHASHED_TRANSACTION_BYTES + self.payload.len());
        self.write_unhashed(&mut out);
        out
    }

    fn write_unhashed(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.event_id.as_bytes());
        out.extend_from_slice(&self.position.to_le_bytes());
        out.extend_from_slice(&self.consensus_timestamp_ns.to_le_bytes());
        out.extend_from_slice(&self.payload);
    }

    /// The chain head after this record, given the head before it.
    pub fn next_chain_hash(previous: &[u8; 32], unhashed: &[u8]) -> [u8; 32] {
        next_chain_hash(previous, unhashed)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + UNHASHED_TRANSACTION_BYTES + self.payload.len());
        out.extend_from_slice(&self.chain_hash);
        self.write_unhashed(&mut out);
        out
    }

    pub fn decode(table: Table, key: &[u8], bytes: &[u8]) -> Result<Self, StoreError> {
        let mut r = Reader { bytes, table, key };
        let chain_hash = r.hash()?;
        let event_id = EventId(r.hash()?);
        let position = r.u32()?;
        let consensus_timestamp_ns = r.u64()?;
        let payload = r.rest().to_vec();
        Ok(TransactionRecord {
            event_id,
            position,
            consensus_timestamp_ns,
            payload,
            chain_hash,
        })
    }
}

/// `blake3(previous || unhashed)`: one link of a running hash chain.
pub fn next_chain_hash(previous: &[u8; 32], unhashed: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(previous);
    hasher.update(unhashed);
    *hasher.finalize().as_bytes()
}

/// Big-endian key of an index, so that keys sort numerically.
pub(crate) fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

/// Key of the creator index: creator, sequence, then the id (forks share creator and sequence).
pub(crate) fn creator_key(creator: u32, seq: u64, id: &EventId) -> Vec<u8> {
    let mut key = Vec::with_capacity(44);
    key.extend_from_slice(&creator.to_be_bytes());
    key.extend_from_slice(&seq.to_be_bytes());
    key.extend_from_slice(id.as_bytes());
    key
}

/// Creator, sequence number and birth round of an encoded event: bytes 1..21 of the canonical
/// encoding, after its version byte (see the consensus crate's `encoding`). `key` names the
/// record in an error.
pub(crate) fn event_header(key: &[u8], bytes: &[u8]) -> Result<(u32, u64, Round), StoreError> {
    let header = bytes
        .get(1..21)
        .ok_or_else(|| StoreError::corrupt("events", key, "event shorter than its header"))?;
    let creator = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes"));
    let seq = u64::from_le_bytes(header[4..12].try_into().expect("8 bytes"));
    let birth_round = u64::from_le_bytes(header[12..20].try_into().expect("8 bytes"));
    Ok((creator, seq, birth_round))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_detect_any_flipped_byte() {
        let sealed = seal("order", b"k", b"some value");
        assert_eq!(unseal("order", b"k", &sealed).unwrap(), b"some value");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(
                unseal("order", b"k", &bad).is_err(),
                "flip at byte {i} went unnoticed"
            );
        }
        assert!(
            unseal("order", b"other key", &sealed).is_err(),
            "a record moved to another key"
        );
        assert!(
            unseal("state", b"k", &sealed).is_err(),
            "a record moved to another table"
        );
    }

    #[test]
    fn records_roundtrip() {
        let head = LedgerHead {
            next_order_index: 5,
            next_transaction_index: 9,
            chain_head: [3; 32],
            order_chain_head: [5; 32],
            last_decided_round: 7,
            last_transaction_timestamp_ns: 11,
        };
        assert_eq!(
            LedgerHead::decode("meta", b"", &head.encode()).unwrap(),
            head
        );
        let order = OrderRecord {
            event_id: EventId([1; 32]),
            round_received: 2,
            consensus_timestamp_ns: 3,
            first_transaction_index: 4,
            transaction_count: 5,
            chain_hash: [6; 32],
        };
        assert_eq!(
            OrderRecord::decode("order", b"", &order.encode()).unwrap(),
            order
        );
        let tx = TransactionRecord {
            event_id: EventId([2; 32]),
            position: 1,
            consensus_timestamp_ns: 99,
            payload: b"ballot".to_vec(),
            chain_hash: [4; 32],
        };
        assert_eq!(
            TransactionRecord::decode("transactions", b"", &tx.encode()).unwrap(),
            tx
        );
        assert!(index_key(1) < index_key(256), "keys sort numerically");
    }
}
