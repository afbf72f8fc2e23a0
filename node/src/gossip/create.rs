//! Event creation after a sync, on either side of it.
//!
//! The caller of a sync creates an event whose other-parent is the callee's latest; the callee
//! does the same with the caller's latest when the caller brought news and the sync was well
//! within its budget (a caller catching up in budget-limited syncs is not handed more events to
//! fetch than the syncs carry). Both sides' new knowledge then enters the graph at once, so
//! rounds need fewer syncs (see PERFORMANCE.md). The driver decides whether there is anything
//! to carry, so an idle cluster still creates nothing.

use super::context::{now_ms, GossipContext};
use crate::driver::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::oneshot;
use votegraph_consensus::MemberId;

/// How many of its own events this validator holds (its next sequence number).
pub fn own_events_held(context: &GossipContext) -> u64 {
    context.shared.index.read().expect("index lock").known()[context.me.index()]
}

/// Asks the driver to create an event after a sync with `peer` (it creates one only when
/// transactions or news wait) and waits for its answer.
pub async fn create_after_sync(context: &GossipContext, peer: MemberId, may_create: bool) {
    let (reply, created) = oneshot::channel();
    let command = Command::SyncDone {
        peer,
        may_create,
        reply,
    };
    if context.driver.send(command).await.is_ok() {
        let _ = created.await;
    }
}

/// Paces the events a callee creates for its callers: at most one per caller per interval, so
/// a peer that syncs in a loop cannot make this validator create events without limit.
pub struct AnswerPacer {
    interval_ms: u64,
    /// When the last event for each caller was created, in ms since the epoch.
    last_ms: Vec<AtomicU64>,
}

impl AnswerPacer {
    pub fn new(members: usize, interval_ms: u64) -> Self {
        AnswerPacer {
            interval_ms,
            last_ms: (0..members).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Whether an event may be created for `caller` at `now_ms`; if so, the time is taken.
    pub fn take(&self, caller: MemberId, now_ms: u64) -> bool {
        let Some(last) = self.last_ms.get(caller.index()) else {
            return false;
        };
        let previous = last.load(Ordering::Relaxed);
        now_ms.saturating_sub(previous) >= self.interval_ms
            && last
                .compare_exchange(previous, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// What the callee learnt from one sync a caller started.
pub struct CallerSync {
    pub caller: MemberId,
    /// Events of the caller's that were new here.
    pub new_events: u64,
    /// How many of this validator's own events the caller holds (from its hello).
    pub caller_known_mine: u64,
    /// Whether what this validator sent used under half of the per-sync budget.
    pub well_within_budget: bool,
}

/// After a sync a caller started: creates an event for it if the sync brought news and was
/// well within its budget, the caller does not hold newer events of this validator than it
/// does (creating would reuse their sequence numbers and fork), and the pacer allows.
pub async fn answer_with_event(context: &GossipContext, sync: CallerSync) {
    let allowed = sync.new_events > 0
        && sync.well_within_budget
        && sync.caller_known_mine <= own_events_held(context)
        && context.answer_pacer.take(sync.caller, now_ms());
    if allowed {
        create_after_sync(context, sync.caller, true).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_gets_at_most_one_event_per_interval() {
        let pacer = AnswerPacer::new(4, 10);
        assert!(pacer.take(MemberId(1), 1_000));
        assert!(!pacer.take(MemberId(1), 1_005), "within the interval");
        assert!(pacer.take(MemberId(2), 1_005), "callers are paced apart");
        assert!(pacer.take(MemberId(1), 1_010));
        assert!(!pacer.take(MemberId(9), 5_000), "not a member");
    }
}
