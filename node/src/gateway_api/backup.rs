//! BackupLedger: a backup of a running validator's ledger made with RocksDB's own checkpoint
//! (one point in time, files hard-linked beside the data directory), streamed file by file to
//! the client, which rebuilds the directory and verifies its chain (`votegraph backup create
//! --gateway`). The checkpoint needs the writable handle the validator holds, so only the
//! validator can make one; this is how an operator gets one without stopping it.

use super::export::{checkpoint, Pace, EXPORT_CHUNK_BYTES, EXPORT_SEND_TIMEOUT};
use super::{internal, Gateway};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tonic::Status;
use tracing::info;
use votegraph_proto::v1 as pb;
use votegraph_storage::{RocksConfig, RocksStore, Store};

type Sender = mpsc::Sender<Result<pb::BackupChunk, Status>>;

pub fn stream(gateway: Arc<Gateway>, tx: Sender, slot: super::export::ExportSlot) {
    let runtime = Handle::current();
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let pace = std::sync::Mutex::new(Pace::new());
        let send = |chunk: Result<pb::BackupChunk, Status>| {
            let bytes = chunk.as_ref().map_or(0, |c| c.data.len());
            runtime
                .block_on(tx.send_timeout(chunk, EXPORT_SEND_TIMEOUT))
                .map_err(|_| Status::cancelled("the client went away or stopped reading"))?;
            pace.lock().expect("pace lock").sent(bytes)
        };
        if let Err(status) = send_backup(&gateway, &send) {
            let _ = runtime.block_on(tx.send_timeout(Err(status), EXPORT_SEND_TIMEOUT));
        }
    });
}

fn send_backup(
    gateway: &Gateway,
    send: &dyn Fn(Result<pb::BackupChunk, Status>) -> Result<(), Status>,
) -> Result<(), Status> {
    let scratch = checkpoint(gateway)?;
    let head = RocksStore::open_read_only(&scratch.0, &RocksConfig::default())
        .and_then(|copy| copy.head())
        .map_err(internal)?;
    let mut names: Vec<String> = std::fs::read_dir(&scratch.0)
        .map_err(internal)?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(internal)?;
    names.sort();
    let mut bytes = 0u64;
    for name in &names {
        bytes += send_file(&scratch.0.join(name), name, send)?;
    }
    send(Ok(pb::BackupChunk {
        end: Some(pb::BackupEnd {
            files: names.len() as u32,
            chain_head: head.chain_head.to_vec().into(),
            next_transaction_index: head.next_transaction_index,
        }),
        ..Default::default()
    }))?;
    info!(
        files = names.len(),
        bytes,
        transactions = head.next_transaction_index,
        "ledger backup sent over the gateway"
    );
    Ok(())
}

/// Sends one file in chunks (an empty file as one empty chunk); returns its size.
fn send_file(
    path: &Path,
    name: &str,
    send: &dyn Fn(Result<pb::BackupChunk, Status>) -> Result<(), Status>,
) -> Result<u64, Status> {
    let mut file = std::fs::File::open(path).map_err(internal)?;
    let mut offset = 0u64;
    loop {
        let mut data = vec![0u8; EXPORT_CHUNK_BYTES];
        let read = file.read(&mut data).map_err(internal)?;
        data.truncate(read);
        if read > 0 || offset == 0 {
            send(Ok(pb::BackupChunk {
                file: name.to_string(),
                offset,
                data: data.into(),
                end: None,
            }))?;
        }
        if read == 0 {
            return Ok(offset);
        }
        offset += read as u64;
    }
}
