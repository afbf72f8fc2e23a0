//! `votegraph backup create --gateway`: a backup taken by the running validator itself with
//! RocksDB's checkpoint (see the gateway's BackupLedger), received file by file into a staging
//! directory beside `--out`, verified by its hash chain against the head the validator sent,
//! and only then moved into place.

use anyhow::{bail, ensure, Context};
use std::io::Write;
use std::path::Path;
use votegraph_gateway::ChainId;
use votegraph_node::client::GatewayClient;
use votegraph_proto::v1 as pb;
use votegraph_storage::staging::{create_staging_dir, move_into_place};
use votegraph_storage::ChainReport;

/// Receives a backup from the validator at `address` into `out` (missing, or an empty
/// directory) and returns its verified chain report.
pub fn backup_over_gateway(
    address: &str,
    tls_ca: Option<&Path>,
    out: &Path,
) -> anyhow::Result<ChainReport> {
    let out_exists = out.exists();
    if out_exists {
        let empty = std::fs::read_dir(out)
            .with_context(|| format!("reading {}", out.display()))?
            .next()
            .is_none();
        ensure!(
            empty,
            "{} is not empty; refusing to overwrite it",
            out.display()
        );
    }
    let staging = create_staging_dir(out, "receiving")?;
    let result = receive_into(address, tls_ca, &staging).and_then(|end| {
        let report = super::backup::verify_dir(&staging)?;
        ensure!(
            report.chain_head[..] == end.chain_head[..]
                && report.transactions == end.next_transaction_index,
            "the received backup's chain differs from the head the validator sent"
        );
        move_into_place(&staging, out)?;
        Ok(report)
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result.with_context(|| format!("backing up from {address}"))
}

/// Longest wait for the next message of the stream.
const IDLE_MAX: std::time::Duration = std::time::Duration::from_secs(120);

fn receive_into(address: &str, tls_ca: Option<&Path>, dir: &Path) -> anyhow::Result<pb::BackupEnd> {
    let ca = match tls_ca {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
        }
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = GatewayClient::with_tls(address, ChainId([0; 32]), ca.as_deref())?;
        let mut stream = client
            .ledger
            .clone()
            .backup_ledger(pb::BackupLedgerRequest {})
            .await?
            .into_inner();
        let mut files = Files::new(dir);
        loop {
            let next = tokio::time::timeout(IDLE_MAX, stream.message()).await;
            let Some(chunk) = next.map_err(|_| {
                anyhow::anyhow!("the validator sent nothing for {} s", IDLE_MAX.as_secs())
            })??
            else {
                break;
            };
            if let Some(end) = chunk.end {
                files.finish()?;
                ensure!(
                    files.count == end.files,
                    "received {} files of the {} sent",
                    files.count,
                    end.files
                );
                return Ok(end);
            }
            files.write(&chunk.file, chunk.offset, &chunk.data)?;
        }
        bail!("the stream ended before the backup was complete")
    })
}

/// The files of a backup being received: each whole, in sequence, from offset 0.
struct Files<'a> {
    dir: &'a Path,
    current: Option<(String, std::fs::File, u64)>,
    count: u32,
}

impl<'a> Files<'a> {
    fn new(dir: &'a Path) -> Self {
        Files {
            dir,
            current: None,
            count: 0,
        }
    }

    fn write(&mut self, name: &str, offset: u64, data: &[u8]) -> anyhow::Result<()> {
        let continues = self.current.as_ref().is_some_and(|(n, _, _)| n == name);
        if !continues {
            self.finish()?;
            ensure!(
                plain_file_name(name),
                "the validator sent a bad file name {name:?}"
            );
            let path = self.dir.join(name);
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .with_context(|| format!("creating {} (sent twice?)", path.display()))?;
            self.current = Some((name.to_string(), file, 0));
            self.count += 1;
        }
        let (_, file, written) = self.current.as_mut().expect("set above");
        ensure!(
            offset == *written,
            "{name}: data for offset {offset} after {written} bytes"
        );
        file.write_all(data)?;
        *written += data.len() as u64;
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        if let Some((_, file, _)) = self.current.take() {
            file.sync_all()?;
        }
        Ok(())
    }
}

/// A name that stays inside the backup directory.
fn plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}
