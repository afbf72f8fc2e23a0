//! State shared between the driver thread and the async services: each piece behind its own
//! lock, held briefly, never across an await.

use crate::finality::FinalizedBatch;
use crate::gossip::index::GossipIndex;
use crate::pool::Pool;
use std::sync::{Mutex, RwLock};
use tokio::sync::broadcast;
use votegraph_storage::RocksStore;

pub struct Shared {
    pub index: RwLock<GossipIndex>,
    pub pool: Mutex<Pool>,
    pub finalized: broadcast::Sender<FinalizedBatch>,
    pub store: std::sync::Arc<RocksStore>,
}
