//! `votegraph audit export`: writes a ledger (a validator's data directory, also while it runs,
//! or a backup) as an audit export file.

use super::format::{ExportWriter, Frame, Totals};
use super::AuditError;
use std::io::Write;
use votegraph_gateway::governance::records::GOVERNANCE_PREFIX;
use votegraph_storage::{StateRow, Store};

/// State key under which a validator keeps the genesis file it runs (see `run`).
pub const GENESIS_STATE_KEY: &[u8] = b"node/genesis";
/// Prefix of the equivocation evidence a validator keeps.
pub const EVIDENCE_PREFIX: &[u8] = b"evidence/equivocation/";
const PAGE: usize = 4096;

#[derive(Debug, Default)]
pub struct ExportSummary {
    pub events: u64,
    pub transactions: u64,
    pub state_entries: u64,
    pub equivocations: u64,
}

/// Writes the export of `store`; `genesis` overrides the genesis stored in the ledger.
pub fn export(
    store: &dyn Store,
    genesis: Option<String>,
    out: impl Write,
) -> Result<ExportSummary, AuditError> {
    if let Some(below) = votegraph_storage::pruned_below(store)? {
        return Err(AuditError::new(
            "ledger",
            format!(
                "its events born before round {below} were pruned (storage.keep_full_history = \
                 false), so consensus cannot be re-run from it; export from a validator that \
                 keeps full history"
            ),
        ));
    }
    let head = store.head()?;
    let genesis = match genesis {
        Some(text) => text,
        None => stored_genesis(store)?,
    };
    let io = |e: std::io::Error| AuditError::new("export file", e.to_string());
    let mut writer = ExportWriter::new(out).map_err(io)?;
    let mut summary = ExportSummary::default();
    writer.write(&Frame::Genesis(genesis)).map_err(io)?;
    for id in store.all_event_ids()? {
        let bytes = store
            .event(&id)?
            .ok_or_else(|| AuditError::new(format!("event {id}"), "indexed but missing"))?;
        writer.write(&Frame::Event(bytes)).map_err(io)?;
        summary.events += 1;
    }
    let mut next = 0;
    while next < head.next_order_index {
        let page = store.orders(next, PAGE)?;
        for (index, record) in page.iter().filter(|(i, _)| *i < head.next_order_index) {
            writer
                .write(&Frame::Order(*index, record.clone()))
                .map_err(io)?;
        }
        next = page
            .last()
            .map(|(i, _)| i + 1)
            .unwrap_or(head.next_order_index);
    }
    let mut next = 0;
    while next < head.next_transaction_index {
        let page = store.transactions(next, PAGE)?;
        for (index, record) in page
            .iter()
            .filter(|(i, _)| *i < head.next_transaction_index)
        {
            writer
                .write(&Frame::Transaction(*index, record.clone()))
                .map_err(io)?;
            summary.transactions += 1;
        }
        next = page
            .last()
            .map(|(i, _)| i + 1)
            .unwrap_or(head.next_transaction_index);
    }
    for (key, value) in scan(store, GOVERNANCE_PREFIX)? {
        writer.write(&Frame::State(key, value)).map_err(io)?;
        summary.state_entries += 1;
    }
    for (key, value) in scan(store, EVIDENCE_PREFIX)? {
        let (first, second) = split_evidence(&value).ok_or_else(|| {
            AuditError::new(
                format!("evidence {}", crate::hex::encode(&key)),
                "not two length-prefixed events",
            )
        })?;
        writer.write(&Frame::Evidence(first, second)).map_err(io)?;
        summary.equivocations += 1;
    }
    let totals = Totals {
        events_ordered: head.next_order_index,
        transactions: head.next_transaction_index,
        chain_head: head.chain_head,
        order_chain_head: head.order_chain_head,
        frames: writer.frames,
    };
    writer.write(&Frame::End(totals)).map_err(io)?;
    writer.finish().map_err(io)?;
    Ok(summary)
}

fn stored_genesis(store: &dyn Store) -> Result<String, AuditError> {
    let bytes = store.state(GENESIS_STATE_KEY)?.ok_or_else(|| {
        AuditError::new(
            "genesis",
            "this ledger does not hold its genesis file; pass --genesis FILE",
        )
    })?;
    String::from_utf8(bytes)
        .map_err(|_| AuditError::new("genesis", "the stored genesis is not UTF-8"))
}

/// Every state entry under `prefix`, in key order, read in pages.
fn scan(store: &dyn Store, prefix: &[u8]) -> Result<Vec<StateRow>, AuditError> {
    let mut rows = Vec::new();
    loop {
        let after = rows.last().map(|(k, _): &StateRow| k.clone());
        let page = store.state_scan(prefix, after.as_deref(), PAGE)?;
        if page.is_empty() {
            return Ok(rows);
        }
        rows.extend(page);
    }
}

/// The validator's evidence value: two length-prefixed event encodings (see the driver).
pub fn split_evidence(value: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let take = |at: usize| -> Option<(Vec<u8>, usize)> {
        let length = u32::from_be_bytes(value.get(at..at + 4)?.try_into().ok()?) as usize;
        let bytes = value.get(at + 4..at + 4 + length)?.to_vec();
        Some((bytes, at + 4 + length))
    };
    let (first, at) = take(0)?;
    let (second, end) = take(at)?;
    (end == value.len()).then_some((first, second))
}
