//! Independent audit: export a ledger into one portable file, and verify such a file with no
//! node and no network, re-checking everything a validator computed.

pub mod certificates;
pub mod consistency;
pub mod export;
pub mod format;
pub mod progress;
pub mod receipt;
pub mod replay;
pub mod report;
pub mod verify;

/// A discrepancy or failure, naming the first item that did not check out.
#[derive(Debug, thiserror::Error)]
#[error("{item}: {detail}")]
pub struct AuditError {
    pub item: String,
    pub detail: String,
}

impl AuditError {
    pub fn new(item: impl Into<String>, detail: impl Into<String>) -> Self {
        AuditError {
            item: item.into(),
            detail: detail.into(),
        }
    }
}

impl From<votegraph_storage::StoreError> for AuditError {
    fn from(e: votegraph_storage::StoreError) -> Self {
        AuditError::new("ledger", e.to_string())
    }
}
