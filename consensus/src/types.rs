//! Small value types shared by every part of the engine.
//!
//! They are newtypes so that a member index can never be mixed up with a sequence number or a
//! round, which all are plain integers on the wire.

use std::fmt;

/// A round number. Rounds start at 1; 0 means "no round yet" (nothing decided).
pub type Round = u64;
/// Stake weight of a member.
pub type Weight = u64;
/// Nanoseconds since the Unix epoch, as claimed by an event's creator.
pub type TimestampNs = u64;

/// Index of a member in the validator set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct MemberId(pub u32);

impl MemberId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "member#{}", self.0)
    }
}

/// The blake3 hash of an event's canonical unsigned encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(pub [u8; 32]);

impl EventId {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex of all 32 bytes.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Byte-wise XOR, used to whiten ids when breaking ties in the order.
    pub fn xor(&self, other: &EventId) -> EventId {
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = self.0[i] ^ other.0[i];
        }
        EventId(out)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({})", &self.to_hex()[..12])
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex()[..16])
    }
}
