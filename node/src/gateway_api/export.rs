//! ExportLedger: the audit export of a running validator, over the gateway. A RocksDB
//! checkpoint of the ledger (one point in time, files hard-linked) is made beside the data
//! directory, exported from in chunks, and removed; so the export is consistent while the
//! driver writes on. One export runs at a time.

use super::{internal, Gateway};
use crate::audit::export::export;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tonic::Status;
use tracing::{info, warn};
use votegraph_proto::v1 as pb;
use votegraph_storage::{RocksConfig, RocksStore};

/// Bytes per streamed chunk.
pub const EXPORT_CHUNK_BYTES: usize = 256 * 1024;
/// Longest wait for a client to take a chunk; a client that stops reading is dropped.
pub const EXPORT_SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// After the first minute, a client must have taken at least this many bytes per second on
/// average: the export slot, and the checkpoint's hard links (which keep table files that
/// compaction deleted on disk), are not held for a client that trickles.
pub const EXPORT_BYTES_PER_S_MIN: u64 = 1 << 20;

/// Refuses to go on for a client slower than [`EXPORT_BYTES_PER_S_MIN`].
pub(super) struct Pace {
    started: std::time::Instant,
    sent: u64,
}

impl Pace {
    pub(super) fn new() -> Self {
        Pace {
            started: std::time::Instant::now(),
            sent: 0,
        }
    }

    pub(super) fn sent(&mut self, bytes: usize) -> Result<(), Status> {
        self.sent += bytes as u64;
        let elapsed = self.started.elapsed();
        let due = elapsed.as_secs() * EXPORT_BYTES_PER_S_MIN;
        if elapsed > EXPORT_SEND_TIMEOUT && self.sent < due {
            return Err(Status::deadline_exceeded(format!(
                "the client read {} bytes in {} s, slower than {EXPORT_BYTES_PER_S_MIN} bytes/s",
                self.sent,
                elapsed.as_secs()
            )));
        }
        Ok(())
    }
}

static EXPORTS: AtomicU64 = AtomicU64::new(0);

/// Held while an export runs; a second one is refused meanwhile.
pub struct ExportSlot(Arc<AtomicBool>);

impl ExportSlot {
    pub fn take(running: &Arc<AtomicBool>) -> Result<Self, Status> {
        if running.swap(true, Ordering::AcqRel) {
            return Err(Status::resource_exhausted(
                "an export of this ledger is running; try again when it ends",
            ));
        }
        Ok(ExportSlot(Arc::clone(running)))
    }
}

impl Drop for ExportSlot {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

pub fn stream(
    gateway: Arc<Gateway>,
    tx: mpsc::Sender<Result<pb::ExportChunk, Status>>,
    slot: ExportSlot,
) {
    let runtime = Handle::current();
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let sender = Chunks {
            tx: &tx,
            runtime: &runtime,
            buffer: Vec::with_capacity(EXPORT_CHUNK_BYTES),
            pace: Pace::new(),
        };
        if let Err(status) = export_snapshot(&gateway, sender) {
            let _ = runtime.block_on(tx.send_timeout(Err(status), EXPORT_SEND_TIMEOUT));
        }
    });
}

fn export_snapshot(gateway: &Gateway, chunks: Chunks) -> Result<(), Status> {
    let scratch = checkpoint(gateway)?;
    let snapshot =
        RocksStore::open_read_only(&scratch.0, &RocksConfig::default()).map_err(internal)?;
    let summary = export(&snapshot, None, chunks)
        .map_err(|e| Status::aborted(format!("export stopped: {e}")))?;
    info!(
        transactions = summary.transactions,
        events = summary.events,
        "ledger exported over the gateway"
    );
    Ok(())
}

/// A RocksDB checkpoint of the validator's ledger beside its data directory, removed when
/// dropped.
pub(super) fn checkpoint(gateway: &Gateway) -> Result<Scratch, Status> {
    let store = &gateway.shared.store;
    let scratch = Scratch(scratch_dir(
        store.path(),
        &format!(
            "{}-{}",
            std::process::id(),
            EXPORTS.fetch_add(1, Ordering::Relaxed)
        ),
    ));
    store.snapshot_to(&scratch.0).map_err(internal)?;
    Ok(scratch)
}

/// Where an export's checkpoint of the ledger at `data` goes: beside it, named after it.
pub(super) fn scratch_dir(data: &Path, unique: &str) -> PathBuf {
    let data = std::path::absolute(data).unwrap_or_else(|_| data.to_path_buf());
    let name = data
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "ledger".into());
    data.with_file_name(format!(".{name}.export-{unique}"))
}

/// Removes export checkpoints a crash left beside the ledger at `data`.
pub fn remove_stale_exports(data: &Path) {
    let prefix = scratch_dir(data, "");
    let (Some(parent), Some(prefix)) = (prefix.parent(), prefix.file_name()) else {
        return;
    };
    let prefix = prefix.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            match std::fs::remove_dir_all(entry.path()) {
                Ok(()) => info!(path = %entry.path().display(), "removed an unfinished export"),
                Err(e) => {
                    warn!(path = %entry.path().display(), error = %e, "cannot remove an unfinished export")
                }
            }
        }
    }
}

/// A directory removed when dropped.
pub(super) struct Scratch(pub(super) PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The export's bytes as stream messages; a client that went away or stopped reading stops
/// the export.
struct Chunks<'a> {
    tx: &'a mpsc::Sender<Result<pb::ExportChunk, Status>>,
    runtime: &'a Handle,
    buffer: Vec<u8>,
    pace: Pace,
}

impl Chunks<'_> {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let data = std::mem::replace(&mut self.buffer, Vec::with_capacity(EXPORT_CHUNK_BYTES));
        self.pace
            .sent(data.len())
            .map_err(|status| std::io::Error::other(status.message().to_string()))?;
        let chunk = Ok(pb::ExportChunk { data: data.into() });
        self.runtime
            .block_on(self.tx.send_timeout(chunk, EXPORT_SEND_TIMEOUT))
            .map_err(|_| std::io::Error::other("the client went away or stopped reading"))
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
