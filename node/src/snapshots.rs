//! Engine snapshots and pruning, for the driver.
//!
//! Every `snapshot_interval_rounds` decided rounds the driver stores a snapshot of its engine,
//! right after the batch that commits those rounds, so that a restart replays only what came
//! after it. A validator that does not keep full history then drops from its ledger the events
//! the snapshot no longer needs: its disk stays bounded, but its ledger can no longer be
//! exported for an audit that re-runs consensus from genesis (the default keeps everything).

use tracing::info;
use votegraph_consensus::{Engine, Round};
use votegraph_storage::{
    mark_pruned, pruned_below, put_snapshot, Batch, LedgerHead, Store, StoreError,
};

pub struct Snapshots {
    interval_rounds: Round,
    keep_full_history: bool,
    /// Latest decided round of the last snapshot (or of the engine at start).
    last_round: Round,
    /// Events born before this round are pruned already.
    pruned_below: Round,
}

impl Snapshots {
    pub fn new(
        interval_rounds: Round,
        keep_full_history: bool,
        engine: &Engine,
        store: &dyn Store,
    ) -> Result<Self, StoreError> {
        assert!(
            interval_rounds > 0,
            "the snapshot interval is validated positive"
        );
        Ok(Snapshots {
            interval_rounds,
            keep_full_history,
            last_round: engine.last_decided_round(),
            pruned_below: pruned_below(store)?.unwrap_or(0),
        })
    }

    /// Stores a snapshot when one is due and the ledger's head is exactly where the engine's
    /// order continues (every ordered event committed); then prunes, unless full history is
    /// kept. Returns whether a snapshot was stored.
    pub fn after_commit(
        &mut self,
        engine: &Engine,
        head: &LedgerHead,
        store: &dyn Store,
    ) -> Result<bool, StoreError> {
        let round = engine.last_decided_round();
        let due = round >= self.last_round + self.interval_rounds
            && head.next_order_index == engine.next_order_index();
        if !due {
            return Ok(false);
        }
        let mut batch = Batch::new();
        put_snapshot(&mut batch, engine);
        let below = engine.forgotten_birth_rounds_below();
        let prune_below = (!self.keep_full_history && below > self.pruned_below).then_some(below);
        if let Some(below) = prune_below {
            mark_pruned(&mut batch, below);
        }
        store.write(batch)?;
        self.last_round = round;
        metrics::counter!("votegraph_engine_snapshots_total").increment(1);
        if let Some(below) = prune_below {
            let pruned = store.prune_events_born_before(below)?;
            self.pruned_below = below;
            metrics::counter!("votegraph_ledger_events_pruned_total").increment(pruned);
            info!(
                round,
                born_before = below,
                pruned,
                "engine snapshot stored, old events pruned"
            );
        } else {
            info!(round, "engine snapshot stored");
        }
        Ok(true)
    }
}
