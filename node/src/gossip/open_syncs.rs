//! How many syncs each peer has open with this validator. An answer holds up to
//! `gossip.bytes_per_sync_max` of events and two tasks until the caller's stream ends, and a
//! peer's HTTP/2 connections can carry hundreds of streams each; without a bound per peer one
//! faulty validator could make this one hold answers without limit. A caller that reaches the
//! bound is refused at once (RESOURCE_EXHAUSTED) rather than queued: an honest peer runs one
//! sync at a time with a given validator and simply tries again in its next turn.

use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use votegraph_consensus::MemberId;

/// A sync's place among its peer's open syncs; the place frees when the last clone drops
/// (both halves of the sync are done).
pub type OpenSync = Arc<OwnedSemaphorePermit>;

/// Every peer's open syncs, within `per_peer_max` each.
pub struct OpenSyncs {
    per_peer: Vec<Arc<Semaphore>>,
    per_peer_max: usize,
}

/// Refused: `peer` has `open` syncs open already, the most allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("validator {} has {open} syncs open with this validator, the most allowed (gossip.syncs_open_per_peer_max)", peer.0)]
pub struct TooManyOpen {
    pub peer: MemberId,
    pub open: usize,
}

impl OpenSyncs {
    pub fn new(members: usize, per_peer_max: usize) -> Self {
        assert!(per_peer_max > 0, "the configuration checks the bound");
        OpenSyncs {
            per_peer: (0..members)
                .map(|_| Arc::new(Semaphore::new(per_peer_max)))
                .collect(),
            per_peer_max,
        }
    }

    /// A place for one more sync from `peer` (an authenticated member), if it has one left.
    pub fn open(&self, peer: MemberId) -> Result<OpenSync, TooManyOpen> {
        let places = self
            .per_peer
            .get(peer.index())
            .expect("an authenticated hello names a member");
        match Arc::clone(places).try_acquire_owned() {
            Ok(permit) => Ok(Arc::new(permit)),
            Err(_) => {
                metrics::counter!("votegraph_syncs_refused_total", "reason" => "open_per_peer")
                    .increment(1);
                Err(TooManyOpen {
                    peer,
                    open: self.per_peer_max,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_past_its_bound_is_refused_until_one_of_its_syncs_ends() {
        let open = OpenSyncs::new(3, 2);
        let first = open.open(MemberId(1)).unwrap();
        let second = open.open(MemberId(1)).unwrap();
        assert_eq!(
            open.open(MemberId(1)).unwrap_err(),
            TooManyOpen {
                peer: MemberId(1),
                open: 2
            }
        );
        // Each peer has its own bound.
        let _other = open.open(MemberId(2)).unwrap();
        // A place frees only when both halves of a sync let go of it.
        let other_half = Arc::clone(&first);
        drop(first);
        assert!(open.open(MemberId(1)).is_err(), "one half still runs");
        drop(other_half);
        let _third = open.open(MemberId(1)).unwrap();
        drop(second);
    }
}
