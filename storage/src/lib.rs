//! votegraph-storage: the ledger.
//!
//! Election results are only as trustworthy as the ledger that holds them. A small [`Store`]
//! trait (one atomic, durable `write` of a [`Batch`], plus checked reads) has two
//! implementations, [`MemStore`] and [`RocksStore`], held to one conformance suite. Every
//! ordered transaction carries a running hash (`head_n = blake3(head_{n-1} || record_n)`), so
//! any change to history is detected by [`verify_chain`].

mod batch;
mod commit;
mod direct_io;
mod error;
mod mem;
pub mod merkle;
mod records;
mod recovery;
mod rocks;
pub mod sim;
mod snapshot;
pub mod staging;
mod store;
mod verify;

pub use batch::Batch;
pub use commit::{round_batch, RoundCommit};
pub use error::StoreError;
pub use mem::MemStore;
pub use records::{LedgerHead, OrderRecord, TransactionRecord};
pub use recovery::{rebuild_engine, replay_events, verified_events, Recovered, RecoveryError};
pub use rocks::{Compression, RocksConfig, RocksStore, SCHEMA_VERSION};
pub use snapshot::{
    mark_pruned, pruned_below, put_snapshot, ENGINE_SNAPSHOT_KEY, PRUNED_BELOW_KEY,
};
pub use store::{StateRow, Store};
pub use verify::{verify_chain, ChainReport};
