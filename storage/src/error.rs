//! Errors of the ledger, each precise enough to act on: where corruption was found, which
//! order index is missing, why a data directory cannot be opened.

use std::path::PathBuf;

/// A column family (or in-memory table) of the ledger.
pub type Table = &'static str;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no ledger at {0} (create one, or check the path)")]
    Missing(PathBuf),
    #[error("the ledger at {path} is in use by another process: {detail}")]
    Locked { path: PathBuf, detail: String },
    #[error("{path} is not a votegraph ledger: {detail}")]
    Foreign { path: PathBuf, detail: String },
    #[error(
        "the ledger at {path} has schema version {found}; this build reads version {supported}"
    )]
    SchemaVersion {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("corrupt record in {table} at key {key}: {detail}")]
    Corrupt {
        table: Table,
        key: String,
        detail: String,
    },
    #[error("order index {got} does not follow the ledger's next index {expected}: the order must have no gaps")]
    OrderGap { expected: u64, got: u64 },
    #[error("transaction index {got} does not follow the ledger's next index {expected}")]
    TransactionGap { expected: u64, got: u64 },
    #[error("hash chain broken at transaction {index}: {detail}")]
    ChainBroken { index: u64, detail: String },
    #[error("order log broken at order index {index}: {detail}")]
    OrderLogBroken { index: u64, detail: String },
    #[error("batch refused: {0}")]
    BadBatch(String),
    #[error("storage I/O failed: {0}")]
    Io(String),
}

impl StoreError {
    pub fn corrupt(table: Table, key: &[u8], detail: impl Into<String>) -> Self {
        StoreError::Corrupt {
            table,
            key: key.iter().map(|b| format!("{b:02x}")).collect(),
            detail: detail.into(),
        }
    }
}
