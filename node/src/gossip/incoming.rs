//! A bound on the syncs each peer has open at this validator.
//!
//! An honest validator syncs with one peer at most once at a time (`crate::gossip::client`),
//! but the receiving side of a sync can outlive the caller's timeout by a little. A peer with
//! more open is faulty or attacking: every open sync holds tasks, buffers and a list of events
//! to send, so without a bound one validator key could open them without end.

use std::sync::{Arc, Mutex};
use votegraph_consensus::MemberId;

/// Most syncs one peer may have open here at once.
pub const INCOMING_SYNCS_PER_PEER_MAX: usize = 2;

/// A peer already has the most syncs open here.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("member {peer} already has {open} syncs open at this validator, the most allowed")]
pub struct TooManySyncs {
    pub peer: u32,
    pub open: usize,
}

/// Open syncs per peer.
pub struct IncomingSyncs {
    open: Mutex<Vec<usize>>,
}

impl IncomingSyncs {
    pub fn new(members: usize) -> Arc<Self> {
        Arc::new(IncomingSyncs {
            open: Mutex::new(vec![0; members]),
        })
    }

    /// A slot for one more sync from `peer` (an authenticated member), held until dropped.
    pub fn enter(self: &Arc<Self>, peer: MemberId) -> Result<IncomingSlot, TooManySyncs> {
        let mut open = self.open.lock().expect("incoming syncs lock");
        let count = &mut open[peer.index()];
        if *count >= INCOMING_SYNCS_PER_PEER_MAX {
            return Err(TooManySyncs {
                peer: peer.0,
                open: *count,
            });
        }
        *count += 1;
        Ok(IncomingSlot {
            syncs: Arc::clone(self),
            peer,
        })
    }
}

/// One open sync; the slot frees when it is dropped.
pub struct IncomingSlot {
    syncs: Arc<IncomingSyncs>,
    peer: MemberId,
}

impl Drop for IncomingSlot {
    fn drop(&mut self) {
        let mut open = self.syncs.open.lock().expect("incoming syncs lock");
        open[self.peer.index()] -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_gets_a_bounded_number_of_open_syncs_and_its_slots_free_when_they_end() {
        let syncs = IncomingSyncs::new(3);
        let first = syncs.enter(MemberId(1)).unwrap();
        let _second = syncs.enter(MemberId(1)).unwrap();
        assert_eq!(
            syncs.enter(MemberId(1)).err(),
            Some(TooManySyncs { peer: 1, open: 2 })
        );
        assert!(
            syncs.enter(MemberId(2)).is_ok(),
            "another peer has slots of its own"
        );
        drop(first);
        assert!(
            syncs.enter(MemberId(1)).is_ok(),
            "an ended sync frees its slot"
        );
    }
}
