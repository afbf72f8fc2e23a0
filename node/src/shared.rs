//! State shared between the driver thread and the async services: each piece behind its own
//! lock, held briefly, never across an await.

use crate::finality::FinalizedBatch;
use crate::gossip::index::GossipIndex;
use crate::pool::Pool;
use crate::verdicts::VerdictCache;
use std::collections::HashSet;
use std::sync::{Mutex, RwLock};
use tokio::sync::broadcast;
use votegraph_consensus::EventId;
use votegraph_storage::RocksStore;

pub struct Shared {
    pub index: RwLock<GossipIndex>,
    pub pool: Mutex<Pool>,
    pub finalized: broadcast::Sender<FinalizedBatch>,
    pub store: std::sync::Arc<RocksStore>,
    /// Events some sync is verifying right now, so that a second sync skips them.
    pub verifying: Mutex<HashSet<EventId>>,
    /// Transaction signature checks of received events, done in the background.
    pub verdicts: VerdictCache,
    /// Events this validator asks its peers for by id (see `crate::orphans`), at most
    /// `gossip::auth::WANTED_MAX`; the driver sets them after each sync.
    pub wanted: Mutex<Vec<EventId>>,
}
