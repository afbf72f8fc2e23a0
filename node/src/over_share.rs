//! Telling the operator that a validator's events fill its share of this validator's memory.
//!
//! Beyond its share a validator's events are refused until consensus prunes (see the engine's
//! `shares` module). That happens under a flood by a faulty validator, or to everyone's events in
//! a long stall without decisions (a partition that leaves no side two thirds). Either is a fault
//! the operator should see, once a minute per validator rather than once per refused event.

use std::time::{Duration, Instant};
use tracing::{debug, warn};
use votegraph_consensus::{InsertRejection, MemberId};

/// How often the warning is repeated for one validator while its events are refused.
const WARN_INTERVAL: Duration = Duration::from_secs(60);

pub struct OverShare {
    warned_at: Vec<Option<Instant>>,
}

impl OverShare {
    pub fn new(members: usize) -> Self {
        OverShare {
            warned_at: vec![None; members],
        }
    }

    /// An event of `creator`, which holds `held` events here, was refused for its share.
    pub fn refused(&mut self, creator: MemberId, held: usize, reason: &InsertRejection) {
        metrics::counter!(
            "votegraph_events_over_share_total",
            "validator" => creator.0.to_string()
        )
        .increment(1);
        let Some(warned_at) = self.warned_at.get_mut(creator.index()) else {
            return;
        };
        if warned_at.is_some_and(|at| at.elapsed() < WARN_INTERVAL) {
            debug!(validator = creator.0, held, %reason, "event over its creator's share");
            return;
        }
        *warned_at = Some(Instant::now());
        warn!(
            validator = creator.0,
            held,
            %reason,
            "a validator's events fill its share of this validator's memory: further ones are \
             refused until consensus prunes (a flood by that validator, or a long stall)"
        );
    }
}
