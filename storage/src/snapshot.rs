//! Engine snapshots in the ledger, and pruning that they make safe.
//!
//! A validator stores a snapshot of its engine once every event the engine ordered is
//! committed (a batch of its own, right after that commit), so the order the snapshot continues
//! is always durable before the snapshot is. A restart
//! restores the newest snapshot and replays only the stored events it does not hold; events
//! born before what the snapshot remembers are never needed again and may be pruned.
//! Snapshots live in the state table outside `gov/`, so they are not part of the governance
//! state root.

use crate::batch::Batch;
use crate::recovery::{stored_event, RecoveryError};
use crate::store::Store;
use ed25519_dalek::SigningKey;
use votegraph_consensus::{Engine, EngineConfig, EventId, MemberId, MemberSet, Round};
use votegraph_consensus::{UncheckedEvent, VerifiedEvent};

/// State key of the newest engine snapshot.
pub const ENGINE_SNAPSHOT_KEY: &[u8] = b"engine/snapshot";
/// State key of the birth round below which this ledger's events were pruned (u64 big-endian).
/// A ledger with it cannot be exported for an audit that re-runs consensus from genesis.
pub const PRUNED_BELOW_KEY: &[u8] = b"engine/pruned-below";

/// Adds a snapshot of `engine` (every output drained) to `batch`. Write it once the ledger's
/// head continues where the engine's order does (every ordered event committed), in that batch
/// or after it.
pub fn put_snapshot(batch: &mut Batch, engine: &Engine) {
    batch.put_state(ENGINE_SNAPSHOT_KEY.to_vec(), engine.snapshot());
}

/// Records in `batch` that events born before `birth_round` are about to be pruned: written
/// before they go, so that no ledger lacks events without saying so.
pub fn mark_pruned(batch: &mut Batch, birth_round: Round) {
    batch.put_state(
        PRUNED_BELOW_KEY.to_vec(),
        birth_round.to_be_bytes().to_vec(),
    );
}

/// The birth round below which the ledger's events were pruned, if they were.
pub fn pruned_below(store: &dyn Store) -> Result<Option<Round>, crate::StoreError> {
    let Some(value) = store.state(PRUNED_BELOW_KEY)? else {
        return Ok(None);
    };
    let bytes: [u8; 8] = value.as_slice().try_into().map_err(|_| {
        crate::StoreError::corrupt("state", PRUNED_BELOW_KEY, "not an 8-byte round")
    })?;
    Ok(Some(Round::from_be_bytes(bytes)))
}

/// The engine of the ledger's newest snapshot, with its events read back from the ledger;
/// `None` when the ledger holds no snapshot.
pub(crate) fn restore(
    store: &dyn Store,
    config: &EngineConfig,
    members: &MemberSet,
    local: &Option<(MemberId, SigningKey)>,
) -> Result<Option<Engine>, RecoveryError> {
    let Some(bytes) = store.state(ENGINE_SNAPSHOT_KEY)? else {
        return Ok(None);
    };
    let mut failure = None;
    let mut lookup =
        |id: &EventId| match stored_event(store, id, members, &config.event_limits, |_| true) {
            Ok(event) => event,
            Err(e) => {
                failure.get_or_insert(e);
                None
            }
        };
    let restored = Engine::restore(
        config.clone(),
        members.clone(),
        local.clone(),
        &bytes,
        &mut lookup,
    );
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(Some(restored?))
}

/// The stored events a restored engine must see again: those it does not hold and would not
/// drop as too old (events that arrived after the snapshot, or waited in its future buffer).
pub(crate) fn events_after(
    store: &dyn Store,
    engine: &Engine,
    members: &MemberSet,
    config: &EngineConfig,
) -> Result<Vec<VerifiedEvent>, RecoveryError> {
    let below = engine.forgotten_birth_rounds_below();
    let recent = |e: &UncheckedEvent| e.unsigned.birth_round >= below;
    let mut events = Vec::new();
    for id in store.all_event_ids()? {
        if engine.contains(&id) {
            continue;
        }
        if let Some(event) = stored_event(store, &id, members, &config.event_limits, recent)? {
            events.push(event);
        }
    }
    Ok(events)
}
