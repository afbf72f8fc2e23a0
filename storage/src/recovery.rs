//! Recovery: rebuild the consensus engine from the stored events and check that replaying them
//! reproduces exactly the stored order. A mismatch is fatal and names the first differing
//! index: a ledger that disagrees with its own events must not be extended.

use crate::error::StoreError;
use crate::records::OrderRecord;
use crate::store::Store;
use ed25519_dalek::SigningKey;
use votegraph_consensus::event::parents_first;
use votegraph_consensus::{
    Engine, EngineConfig, InsertRejection, MemberId, MemberSet, Output, UncheckedEvent,
    VerifiedEvent,
};

#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored event {id} is invalid: {detail}")]
    InvalidEvent { id: String, detail: String },
    #[error("replaying the stored events differs from the stored order at index {index}: stored {stored}, replayed {replayed}")]
    OrderMismatch {
        index: u64,
        stored: String,
        replayed: String,
    },
    #[error("the stored transaction at index {index} disagrees with the replayed order: {detail}")]
    TransactionMismatch { index: u64, detail: String },
    #[error("bad engine configuration: {0}")]
    Config(#[from] votegraph_consensus::config::ConfigError),
    #[error("the ledger's engine snapshot cannot be used: {0}")]
    Snapshot(#[from] votegraph_consensus::SnapshotError),
    #[error("the ledger's engine snapshot continues at order index {snapshot}, beyond the ledger's head at {head}")]
    SnapshotAhead { snapshot: u64, head: u64 },
}

/// Where a recovered validator stands.
pub struct Recovered {
    pub engine: Engine,
    /// Events whose order the replay reproduced and checked.
    pub events_checked: u64,
    /// Events the replay ordered beyond the stored head: rounds decided before a crash whose
    /// batch was not written. The node commits them before anything else.
    pub pending: Vec<votegraph_consensus::OrderedEvent>,
    /// The latest decided round of the engine snapshot the engine was restored from; `None`
    /// when it was rebuilt from genesis.
    pub snapshot_round: Option<votegraph_consensus::Round>,
    /// Why the ledger's snapshot was set aside for a replay from genesis, if it was.
    pub snapshot_refused: Option<String>,
}

/// Rebuilds the engine and checks each event the replay orders against the stored order
/// record with the same index. With an engine snapshot in the ledger (see [`crate::snapshot`])
/// the engine starts from it and only the stored events it does not hold are replayed; without
/// one, every stored event is replayed from genesis.
pub fn rebuild_engine(
    store: &dyn Store,
    config: EngineConfig,
    members: MemberSet,
    local: Option<(MemberId, SigningKey)>,
) -> Result<Recovered, RecoveryError> {
    let snapshot_refused = match crate::snapshot::restore(store, &config, &members, &local) {
        Ok(Some(engine)) => {
            let round = engine.last_decided_round();
            let events = crate::snapshot::events_after(store, &engine, &members, &config)?;
            let recovered = replay_into(store, engine, events)?;
            return Ok(Recovered {
                snapshot_round: Some(round),
                ..recovered
            });
        }
        Ok(None) => None,
        // A ledger that still holds every event does not need its snapshot: a snapshot this
        // build cannot use (another version, another member's) is set aside, and the replay
        // starts from genesis. A pruned ledger has no other way back.
        Err(e) if crate::snapshot::pruned_below(store)?.is_none() => Some(e.to_string()),
        Err(e) => return Err(e),
    };
    let events = verified_events(store, &members, &config.event_limits)?;
    let recovered = replay_events(store, config, members, local, events)?;
    Ok(Recovered {
        snapshot_refused,
        ..recovered
    })
}

/// Every stored event, decoded and verified (signature, membership, limits).
pub fn verified_events(
    store: &dyn Store,
    members: &MemberSet,
    limits: &votegraph_consensus::EventLimits,
) -> Result<Vec<VerifiedEvent>, RecoveryError> {
    store
        .all_event_ids()?
        .iter()
        .map(|id| stored_event(store, id, members, limits, |_| true).map(Option::unwrap))
        .collect()
}

/// The stored event `id`, decoded and, when `wanted` says so, verified.
pub(crate) fn stored_event(
    store: &dyn Store,
    id: &votegraph_consensus::EventId,
    members: &MemberSet,
    limits: &votegraph_consensus::EventLimits,
    wanted: impl Fn(&UncheckedEvent) -> bool,
) -> Result<Option<VerifiedEvent>, RecoveryError> {
    let bytes = store
        .event(id)?
        .ok_or_else(|| StoreError::corrupt("events", id.as_bytes(), "indexed event missing"))?;
    let invalid = |detail: String| RecoveryError::InvalidEvent {
        id: id.to_hex(),
        detail,
    };
    let unchecked = UncheckedEvent::decode(&bytes, limits).map_err(|e| invalid(e.to_string()))?;
    if !wanted(&unchecked) {
        return Ok(None);
    }
    let verified = unchecked
        .verify(members, limits)
        .map_err(|e| invalid(e.reason.to_string()))?;
    if verified.id() != *id {
        return Err(invalid("stored under another id".into()));
    }
    Ok(Some(verified))
}

/// [`rebuild_engine`] from `events` verified already (an auditor checks them in parallel
/// first): they must be the store's events.
pub fn replay_events(
    store: &dyn Store,
    config: EngineConfig,
    members: MemberSet,
    local: Option<(MemberId, SigningKey)>,
    events: Vec<VerifiedEvent>,
) -> Result<Recovered, RecoveryError> {
    let engine = Engine::new(config, members, local)?;
    replay_into(store, engine, events)
}

/// Inserts `events` into `engine` and checks every event it orders from its next order index
/// on against the ledger.
fn replay_into(
    store: &dyn Store,
    mut engine: Engine,
    mut events: Vec<VerifiedEvent>,
) -> Result<Recovered, RecoveryError> {
    let head = store.head()?;
    let mut checked = engine.next_order_index();
    if checked > head.next_order_index {
        return Err(RecoveryError::SnapshotAhead {
            snapshot: checked,
            head: head.next_order_index,
        });
    }
    let start = checked;
    let mut pending = Vec::new();
    // Oldest birth rounds first (parents never have a later birth round than their children),
    // so that no event reaches the engine far ahead of the rounds it has decided.
    events.sort_by_key(|e| e.birth_round());
    for event in parents_first(events) {
        let id = event.id();
        let born_ahead = event.birth_round() > engine.last_decided_round() + 1;
        match engine.insert(event) {
            Ok(_) => {}
            // Stored by a validator built before the engine checked the parents of an event
            // born ahead: it was buffered, and would have been refused at its release.
            Err(e) if born_ahead && matches!(e.reason, InsertRejection::MissingParents(_)) => {}
            Err(e) => {
                return Err(RecoveryError::InvalidEvent {
                    id: id.to_hex(),
                    detail: e.reason.to_string(),
                })
            }
        }
        for output in engine.drain_outputs() {
            if let Output::Ordered(o) = output {
                if o.order < head.next_order_index {
                    check_against_store(store, &o)?;
                    checked += 1;
                } else {
                    pending.push(o);
                }
            }
        }
    }
    if checked < head.next_order_index {
        let stored = store.order(checked)?;
        return Err(RecoveryError::OrderMismatch {
            index: checked,
            stored: describe(stored.as_ref()),
            replayed: "nothing (the stored events order less)".into(),
        });
    }
    Ok(Recovered {
        engine,
        events_checked: checked - start,
        pending,
        snapshot_round: None,
        snapshot_refused: None,
    })
}

fn check_against_store(
    store: &dyn Store,
    o: &votegraph_consensus::OrderedEvent,
) -> Result<(), RecoveryError> {
    let stored = store.order(o.order)?;
    let matches = stored.as_ref().is_some_and(|s| {
        s.event_id == o.event.id()
            && s.round_received == o.round_received
            && s.consensus_timestamp_ns == o.consensus_timestamp_ns
            && s.first_transaction_index == o.first_transaction_index
            && s.transaction_count as usize == o.event.transactions().len()
    });
    if matches {
        return check_transactions_against_event(store, o);
    }
    Err(RecoveryError::OrderMismatch {
        index: o.order,
        stored: describe(stored.as_ref()),
        replayed: format!(
            "event {} received in round {} at {} ns",
            o.event.id(),
            o.round_received,
            o.consensus_timestamp_ns
        ),
    })
}

/// The stored transaction records of an ordered event carry exactly its transactions, with the
/// consensus timestamps the replay gives them.
fn check_transactions_against_event(
    store: &dyn Store,
    o: &votegraph_consensus::OrderedEvent,
) -> Result<(), RecoveryError> {
    let transactions = o.event.transactions();
    let stored = store.transactions(o.first_transaction_index, transactions.len())?;
    for (position, payload) in transactions.iter().enumerate() {
        let index = o.first_transaction_index + position as u64;
        let mismatch = |detail: &str| RecoveryError::TransactionMismatch {
            index,
            detail: detail.to_string(),
        };
        let Some((stored_index, record)) = stored.get(position) else {
            return Err(mismatch("the record is missing"));
        };
        if *stored_index != index {
            return Err(mismatch("the record is missing"));
        }
        if record.payload != *payload {
            return Err(mismatch(&format!(
                "its payload is not transaction {position} of event {}",
                o.event.id()
            )));
        }
        if record.event_id != o.event.id() || record.position as usize != position {
            return Err(mismatch("it names another event or position"));
        }
        if record.consensus_timestamp_ns != o.transaction_timestamps_ns[position] {
            return Err(mismatch(
                "its consensus timestamp differs from the replayed one",
            ));
        }
    }
    Ok(())
}

fn describe(record: Option<&OrderRecord>) -> String {
    match record {
        None => "no record".into(),
        Some(r) => format!(
            "event {} received in round {} at {} ns",
            r.event_id, r.round_received, r.consensus_timestamp_ns
        ),
    }
}
