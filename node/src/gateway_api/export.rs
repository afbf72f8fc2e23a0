//! ExportLedger: the audit export of a running validator, over the gateway. The ledger is
//! copied from one RocksDB snapshot into a directory beside it (so the export is consistent
//! while the driver writes on), exported from the copy in chunks, and the copy removed.

use super::{internal, Gateway};
use crate::audit::export::export;
use crate::client_api::WatcherSlot;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use tonic::Status;
use tracing::info;
use votegraph_proto::v1 as pb;
use votegraph_storage::{RocksConfig, RocksStore};

/// Bytes per streamed chunk.
pub const EXPORT_CHUNK_BYTES: usize = 256 * 1024;

static EXPORTS: AtomicU64 = AtomicU64::new(0);

pub fn stream(
    gateway: Arc<Gateway>,
    tx: mpsc::Sender<Result<pb::ExportChunk, Status>>,
    slot: WatcherSlot,
) {
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        if let Err(status) = export_snapshot(&gateway, &tx) {
            let _ = tx.blocking_send(Err(status));
        }
    });
}

fn export_snapshot(
    gateway: &Gateway,
    tx: &mpsc::Sender<Result<pb::ExportChunk, Status>>,
) -> Result<(), Status> {
    let store = &gateway.shared.store;
    let copy = Scratch(store.path().with_file_name(format!(
        ".export-{}-{}",
        std::process::id(),
        EXPORTS.fetch_add(1, Ordering::Relaxed)
    )));
    let config = RocksConfig::default();
    let records = store.copy_to(&copy.0, &config).map_err(internal)?;
    let snapshot = RocksStore::open_read_only(&copy.0, &config).map_err(internal)?;
    let chunks = Chunks {
        tx,
        buffer: Vec::with_capacity(EXPORT_CHUNK_BYTES),
    };
    let summary = export(&snapshot, None, chunks)
        .map_err(|e| Status::aborted(format!("export stopped: {e}")))?;
    info!(
        records,
        transactions = summary.transactions,
        "ledger exported over the gateway"
    );
    Ok(())
}

/// A directory removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The export's bytes as stream messages; a client that went away stops the export.
struct Chunks<'a> {
    tx: &'a mpsc::Sender<Result<pb::ExportChunk, Status>>,
    buffer: Vec<u8>,
}

impl Chunks<'_> {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let data = std::mem::replace(&mut self.buffer, Vec::with_capacity(EXPORT_CHUNK_BYTES));
        self.tx
            .blocking_send(Ok(pb::ExportChunk { data: data.into() }))
            .map_err(|_| std::io::Error::other("the client went away"))
    }
}

impl Write for Chunks<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let room = EXPORT_CHUNK_BYTES - self.buffer.len();
        let taken = bytes.len().min(room);
        self.buffer.extend_from_slice(&bytes[..taken]);
        if self.buffer.len() == EXPORT_CHUNK_BYTES {
            self.send()?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}
