//! The RocksDB store: one column family per kind of record, sealed values, a schema version,
//! and tuning exposed as [`RocksConfig`].

use crate::batch::{Batch, Op};
use crate::error::{StoreError, Table};
use crate::records::{
    creator_key, event_header, index_key, seal, unseal, LedgerHead, OrderRecord, TransactionRecord,
};
use crate::staging::{create_staging_dir, move_into_place};
use crate::store::StateRow;
use crate::store::Store;
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DBCompressionType, Direction, IteratorMode,
    Options, WriteOptions, DB,
};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use votegraph_consensus::{EventId, MemberId, Round};

/// Schema version written in every ledger; a ledger of another version is refused.
pub const SCHEMA_VERSION: u32 = 1;

const EVENTS: Table = "events";
const BY_CREATOR: Table = "by_creator";
const ORDER: Table = "order";
const TRANSACTIONS: Table = "transactions";
const STATE: Table = "state";
const CHECKPOINTS: Table = "checkpoints";
const META: Table = "meta";
const TABLES: [Table; 7] = [
    EVENTS,
    BY_CREATOR,
    ORDER,
    TRANSACTIONS,
    STATE,
    CHECKPOINTS,
    META,
];

const SCHEMA_KEY: &[u8] = b"schema_version";
const HEAD_KEY: &[u8] = b"head";

/// Compression of the column families' files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Lz4,
    Zstd,
}

/// Tuning of the RocksDB store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RocksConfig {
    /// Sync the write-ahead log to disk before `write` returns (survives a machine crash).
    /// Without it a write survives a process crash only.
    pub fsync: bool,
    /// Shared block cache for reads, in bytes.
    pub block_cache_bytes: usize,
    /// Size of each memtable before it is flushed, in bytes.
    pub write_buffer_bytes: usize,
    pub compression: Compression,
    /// Create the ledger when the directory does not exist.
    pub create_if_missing: bool,
}

impl Default for RocksConfig {
    fn default() -> Self {
        RocksConfig {
            fsync: true,
            block_cache_bytes: 256 * 1024 * 1024,
            write_buffer_bytes: 64 * 1024 * 1024,
            compression: Compression::Lz4,
            create_if_missing: true,
        }
    }
}

/// A key and its checked value.
type Row = (Vec<u8>, Vec<u8>);

pub struct RocksStore {
    db: DB,
    path: PathBuf,
    write_options: WriteOptions,
    /// Serialises writes: each checks the head it continues and then changes it.
    writing: Mutex<()>,
}

/// How long a stalled write waits before it tries again: from the first pause, doubling, up to
/// the last.
const STALL_PAUSE_MIN: std::time::Duration = std::time::Duration::from_millis(1);
const STALL_PAUSE_MAX: std::time::Duration = std::time::Duration::from_millis(20);

/// Whether a write was refused only because RocksDB is stalling writes (flushes or compactions
/// behind), so that trying again later is right. Writes are made with `no_slowdown` and wait
/// here, not inside RocksDB: a writer waiting inside RocksDB when a flush fails for lack of space
/// keeps waiting for RocksDB's own recovery, which needs far more free space than the ledger
/// (64 MiB) and may never come, so the validator would hang instead of reporting the full disk.
/// Tried again, the write meets the stopped database and returns its error.
fn write_stalled(e: &rocksdb::Error) -> bool {
    e.kind() == rocksdb::ErrorKind::Incomplete && e.as_ref().ends_with("Write stall")
}

/// Share of a memtable's size given to its bloom filter: 2% of 64 MiB is about 10 bits per key
/// for memtables of small records.
const MEMTABLE_BLOOM_RATIO: f64 = 0.02;

/// Most events one pruning batch deletes.
const PRUNE_BATCH_EVENTS: usize = 10_000;

fn io(e: rocksdb::Error) -> StoreError {
    StoreError::Io(e.into_string())
}

impl RocksStore {
    /// Opens (or creates) the ledger in `path`. A missing directory, one locked by another
    /// process, one that is not a votegraph ledger, or one of another schema version gives a
    /// precise error and is left as it was.
    pub fn open(path: &Path, config: &RocksConfig) -> Result<Self, StoreError> {
        if !path.join("CURRENT").exists() {
            check_creatable(path, config)?;
            create_staged(path, config)?;
        }
        // Refuse a foreign or other-version ledger before opening it for writing, which would
        // already add files to it.
        drop(RocksStore::open_read_only(path, config)?);
        RocksStore::open_unchecked(path, config)
    }

    /// Opens (creating when allowed) the database in `path` for writing, with no check that it
    /// is a votegraph ledger beyond the schema version.
    fn open_unchecked(path: &Path, config: &RocksConfig) -> Result<Self, StoreError> {
        let mut options = db_options(config);
        // Flushes and compactions write whole new files that nothing reads back soon; through
        // the page cache each of their pages is allocated and copied once more (5 to 7% of the
        // machine's CPU at 8,000 tx/s). Where the file system cannot, RocksDB would fail its
        // first flush, so ask the directory first.
        options.set_use_direct_io_for_flush_and_compaction(crate::direct_io::supported(path));
        let db = DB::open_cf_descriptors(&options, path, column_families(config))
            .map_err(|e| open_error(path, e))?;
        let mut write_options = WriteOptions::default();
        write_options.set_sync(config.fsync);
        // A stalled write returns at once instead of waiting inside RocksDB; see `write_stalled`.
        write_options.set_no_slowdown(true);
        let store = RocksStore {
            db,
            path: path.to_path_buf(),
            write_options,
            writing: Mutex::new(()),
        };
        if !store.check_schema()? {
            store.write_schema()?;
        }
        Ok(store)
    }

    /// Writes the batch `build` makes atomically, waiting (outside RocksDB) while RocksDB
    /// stalls writes. RocksDB takes the batch it writes, and a refused write leaves nothing
    /// behind, so a stalled write builds the same batch again; the common write builds it once
    /// and copies nothing.
    fn commit(&self, build: impl Fn() -> rocksdb::WriteBatch) -> Result<(), StoreError> {
        let mut pause = STALL_PAUSE_MIN;
        loop {
            match self.db.write_opt(build(), &self.write_options) {
                Err(e) if write_stalled(&e) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(STALL_PAUSE_MAX);
                }
                result => return result.map_err(io),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens an existing ledger for reading only, without taking its lock, so that it can be
    /// read (backed up, verified) while a validator writes to it. The view is the ledger as of
    /// the moment it is opened; writes through it fail.
    pub fn open_read_only(path: &Path, config: &RocksConfig) -> Result<Self, StoreError> {
        if !path.join("CURRENT").exists() {
            return Err(if path.exists() {
                StoreError::Foreign {
                    path: path.to_path_buf(),
                    detail: "no RocksDB database".into(),
                }
            } else {
                StoreError::Missing(path.to_path_buf())
            });
        }
        let mut options = db_options(config);
        // Open every table file now: a validator writing to the ledger may compact and delete
        // files afterwards, and open handles keep them readable for this instance.
        options.set_max_open_files(-1);
        // RocksDB's own log of this instance goes elsewhere, so that reading a ledger (or
        // refusing one) adds no file to it.
        options.set_db_log_dir(std::env::temp_dir().join("votegraph-read-only-logs"));
        check_tables(path, &options)?;
        let db = DB::open_cf_descriptors_read_only(&options, path, column_families(config), false)
            .map_err(|e| open_error(path, e))?;
        let store = RocksStore {
            db,
            path: path.to_path_buf(),
            write_options: WriteOptions::default(),
            writing: Mutex::new(()),
        };
        store.check_schema()?;
        Ok(store)
    }

    /// A RocksDB checkpoint of this ledger at `to` (which must not exist): one consistent
    /// point in time, SST files hard-linked where the file system allows, so it costs little
    /// space and time. For reading (an export of a running ledger); not a backup, which
    /// [`RocksStore::copy_to`] verifies record by record.
    pub fn snapshot_to(&self, to: &Path) -> Result<(), StoreError> {
        rocksdb::checkpoint::Checkpoint::new(&self.db)
            .and_then(|c| c.create_checkpoint(to))
            .map_err(|e| StoreError::Io(format!("checkpoint into {}: {e}", to.display())))
    }

    /// Copies every record of this ledger, as sealed on disk, into a new ledger at `to`, from
    /// one snapshot of all tables (so the copy is consistent even while the ledger is written).
    /// The copy is built in a staging directory of its own (inside `to` when `to` is an
    /// existing empty directory, whose owner, mode and mount stay; beside it otherwise),
    /// verified, and only then moved into place, its `CURRENT` file last: a copy that fails
    /// leaves nothing behind. Returns the number of records copied.
    pub fn copy_to(&self, to: &Path, config: &RocksConfig) -> Result<u64, StoreError> {
        if to.exists() && !dir_is_empty(to)? {
            return Err(StoreError::Foreign {
                path: to.to_path_buf(),
                detail: "the directory is not empty; refusing to overwrite it".into(),
            });
        }
        let staging = create_staging_dir(to, "copy")?;
        let target_config = RocksConfig {
            create_if_missing: true,
            ..config.clone()
        };
        let result = self
            .copy_into(&staging, &target_config)
            .and_then(|copied| move_into_place(&staging, to).map(|()| copied));
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        result
    }

    fn copy_into(&self, staging: &Path, config: &RocksConfig) -> Result<u64, StoreError> {
        let target = RocksStore::open_unchecked(staging, config)?;
        let snapshot = self.db.snapshot();
        let mut copied = 0u64;
        for table in TABLES {
            let mut read = rocksdb::ReadOptions::default();
            read.set_snapshot(&snapshot);
            let mut wb = rocksdb::WriteBatch::default();
            for item in self
                .db
                .iterator_cf_opt(self.table(table), read, IteratorMode::Start)
            {
                let (key, sealed) = item.map_err(io)?;
                unseal(table, &key, &sealed)?;
                wb.put_cf(target.table(table), &key, &sealed);
                copied += 1;
                if wb.len() >= 10_000 {
                    target.db.write(std::mem::take(&mut wb)).map_err(io)?;
                }
            }
            target.db.write(wb).map_err(io)?;
        }
        target.db.flush_wal(true).map_err(io)?;
        crate::verify::verify_chain(&target)?;
        Ok(copied)
    }

    /// True when the ledger has this build's schema version, false when it has none yet (a
    /// new ledger, or one whose creator died before writing it: then it must be empty).
    fn check_schema(&self) -> Result<bool, StoreError> {
        let Some(sealed) = self.db.get_cf(self.table(META), SCHEMA_KEY).map_err(io)? else {
            if self.is_empty()? {
                return Ok(false);
            }
            return Err(StoreError::Foreign {
                path: self.path.clone(),
                detail: "no votegraph schema version".into(),
            });
        };
        let bytes = unseal(META, SCHEMA_KEY, &sealed)?;
        let found =
            u32::from_le_bytes(bytes.try_into().map_err(|_| {
                StoreError::corrupt(META, SCHEMA_KEY, "schema version is not 4 bytes")
            })?);
        if found == SCHEMA_VERSION {
            Ok(true)
        } else {
            Err(StoreError::SchemaVersion {
                path: self.path.clone(),
                found,
                supported: SCHEMA_VERSION,
            })
        }
    }

    fn write_schema(&self) -> Result<(), StoreError> {
        let mut wb = rocksdb::WriteBatch::default();
        let value = seal(META, SCHEMA_KEY, &SCHEMA_VERSION.to_le_bytes());
        wb.put_cf(self.table(META), SCHEMA_KEY, value);
        self.db.write_opt(wb, &self.write_options).map_err(io)
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        for table in TABLES {
            if let Some(item) = self
                .db
                .iterator_cf(self.table(table), IteratorMode::Start)
                .next()
            {
                item.map_err(io)?;
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn table(&self, name: Table) -> &rocksdb::ColumnFamily {
        self.db.cf_handle(name).expect("every table is opened")
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        // Pinned: the value is checked where RocksDB holds it and copied once, unsealed.
        match self.db.get_pinned_cf(self.table(table), key).map_err(io)? {
            None => Ok(None),
            Some(sealed) => Ok(Some(unseal(table, key, &sealed)?.to_vec())),
        }
    }

    fn put(&self, wb: &mut rocksdb::WriteBatch, table: Table, key: &[u8], value: &[u8]) {
        wb.put_cf(self.table(table), key, seal(table, key, value));
    }

    /// The RocksDB batch of `ops`, allocated once at about its final size.
    fn write_batch(&self, ops: &[Op]) -> rocksdb::WriteBatch {
        let bytes = ops.iter().map(Op::written_bytes_hint).sum();
        let mut wb = rocksdb::WriteBatch::with_capacity_bytes(bytes);
        for op in ops {
            self.apply(&mut wb, op);
        }
        wb
    }

    fn apply(&self, wb: &mut rocksdb::WriteBatch, op: &Op) {
        match op {
            Op::PutEvent {
                id,
                creator,
                seq,
                bytes,
            } => {
                self.put(wb, EVENTS, id.as_bytes(), bytes);
                self.put(wb, BY_CREATOR, &creator_key(creator.0, *seq, id), &[]);
            }
            Op::DeleteEvent { id, creator, seq } => {
                wb.delete_cf(self.table(EVENTS), id.as_bytes());
                wb.delete_cf(self.table(BY_CREATOR), creator_key(creator.0, *seq, id));
            }
            Op::PutOrder { index, record } => {
                self.put(wb, ORDER, &index_key(*index), &record.encode())
            }
            Op::PutTransaction { index, record } => {
                self.put(wb, TRANSACTIONS, &index_key(*index), &record.encode())
            }
            Op::PutState { key, value } => self.put(wb, STATE, key, value),
            Op::DeleteState { key } => wb.delete_cf(self.table(STATE), key),
            Op::PutCheckpoint { round, bytes } => {
                self.put(wb, CHECKPOINTS, &index_key(*round), bytes)
            }
            Op::SetHead(head) => self.put(wb, META, HEAD_KEY, &head.encode()),
        }
    }

    /// Keys and checked values of `table` from `from` on, while `keep(key)` holds.
    fn scan(
        &self,
        table: Table,
        from: &[u8],
        mut keep: impl FnMut(&[u8]) -> bool,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(
            self.table(table),
            IteratorMode::From(from, Direction::Forward),
        ) {
            let (key, sealed) = item.map_err(io)?;
            if out.len() >= limit || !keep(&key) {
                break;
            }
            let value = unseal(table, &key, &sealed)?.to_vec();
            out.push((key.to_vec(), value));
        }
        Ok(out)
    }
}

fn check_creatable(path: &Path, config: &RocksConfig) -> Result<(), StoreError> {
    if !config.create_if_missing {
        return Err(StoreError::Missing(path.to_path_buf()));
    }
    if path.exists() && !dir_is_empty(path)? {
        return Err(StoreError::Foreign {
            path: path.to_path_buf(),
            detail: "the directory has files but no RocksDB database".into(),
        });
    }
    Ok(())
}

/// Creates an empty ledger (tables and schema version) in a staging directory and moves it to
/// `path`, `CURRENT` last: a creation interrupted at any moment leaves `path` as it was (missing
/// or empty), never a half-made database that would be refused as foreign. An interrupted one
/// leaves only its hidden staging directory (`.NAME.creating-*` beside `path`, or inside an
/// empty `path`), which may be removed.
fn create_staged(path: &Path, config: &RocksConfig) -> Result<(), StoreError> {
    let staging = create_staging_dir(path, "creating")?;
    let created = RocksStore::open_unchecked(&staging, config)
        .map(drop)
        .and_then(|()| move_into_place(&staging, path));
    if created.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    created
}

/// A RocksDB database without the ledger's tables is someone else's: refuse before opening it
/// for writing, so that nothing in it changes.
fn check_tables(path: &Path, options: &Options) -> Result<(), StoreError> {
    let present = DB::list_cf(options, path).map_err(|e| open_error(path, e))?;
    let missing: Vec<&str> = TABLES
        .iter()
        .copied()
        .filter(|t| !present.iter().any(|p| p == t))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Foreign {
            path: path.to_path_buf(),
            detail: format!("missing tables {missing:?}"),
        })
    }
}

fn open_error(path: &Path, e: rocksdb::Error) -> StoreError {
    let detail = e.into_string();
    let locked = detail.contains("While lock file") || detail.contains("lock hold by");
    if locked {
        StoreError::Locked {
            path: path.to_path_buf(),
            detail,
        }
    } else {
        StoreError::Io(format!("opening {}: {detail}", path.display()))
    }
}

fn db_options(config: &RocksConfig) -> Options {
    let mut options = Options::default();
    options.create_if_missing(config.create_if_missing);
    options.create_missing_column_families(true);
    options.set_keep_log_file_num(4);
    options.set_max_background_jobs(2);
    options.set_bytes_per_sync(1024 * 1024);
    options
}

/// Every table, all with one block cache of `config.block_cache_bytes`.
fn column_families(config: &RocksConfig) -> Vec<ColumnFamilyDescriptor> {
    // One cache, so that `block_cache_bytes` bounds the ledger's read cache as a whole.
    let cache = Cache::new_lru_cache(config.block_cache_bytes);
    TABLES
        .iter()
        .map(|t| ColumnFamilyDescriptor::new(*t, table_options(config, &cache)))
        .collect()
}

fn table_options(config: &RocksConfig, cache: &Cache) -> Options {
    let mut options = Options::default();
    let mut block = BlockBasedOptions::default();
    block.set_block_cache(cache);
    block.set_bloom_filter(10.0, false);
    options.set_block_based_table_factory(&block);
    options.set_write_buffer_size(config.write_buffer_bytes);
    // Most point reads ask for keys that are not there (is this transaction final already?
    // has this voter cast a ballot?); a whole-key bloom filter in the memtable answers those
    // without searching its skip list, which otherwise was the validator's costliest read.
    options.set_memtable_prefix_bloom_ratio(MEMTABLE_BLOOM_RATIO);
    options.set_memtable_whole_key_filtering(true);
    let compression = match config.compression {
        Compression::None => DBCompressionType::None,
        Compression::Lz4 => DBCompressionType::Lz4,
        Compression::Zstd => DBCompressionType::Zstd,
    };
    options.set_compression_type(compression);
    if config.compression != Compression::None {
        options.set_bottommost_compression_type(DBCompressionType::Zstd);
    }
    options
}

impl Store for RocksStore {
    fn write(&self, batch: Batch) -> Result<(), StoreError> {
        let _writing = self.writing.lock().expect("write lock poisoned");
        batch.check_continues(&self.head()?)?;
        self.commit(|| self.write_batch(&batch.ops))
    }

    fn prune_events_born_before(&self, birth_round: Round) -> Result<u64, StoreError> {
        let _writing = self.writing.lock().expect("write lock poisoned");
        let mut doomed = Vec::new();
        let mut dropped = 0u64;
        for item in self.db.iterator_cf(self.table(EVENTS), IteratorMode::Start) {
            let (key, sealed) = item.map_err(io)?;
            let bytes = unseal(EVENTS, &key, &sealed)?;
            let (creator, seq, born) = event_header(&key, bytes)?;
            if born < birth_round {
                let id =
                    EventId(key.as_ref().try_into().map_err(|_| {
                        StoreError::corrupt(EVENTS, &key, "key is not an event id")
                    })?);
                doomed.push(Op::DeleteEvent {
                    id,
                    creator: MemberId(creator),
                    seq,
                });
                // Bounded batches: pruning a long history at once must not build one huge
                // batch. Each batch is whole; an interrupted prune leaves events to drop later.
                if doomed.len() == PRUNE_BATCH_EVENTS {
                    self.commit(|| self.write_batch(&doomed))?;
                    dropped += doomed.len() as u64;
                    doomed.clear();
                }
            }
        }
        self.commit(|| self.write_batch(&doomed))?;
        Ok(dropped + doomed.len() as u64)
    }

    fn head(&self) -> Result<LedgerHead, StoreError> {
        match self.get(META, HEAD_KEY)? {
            None => Ok(LedgerHead::default()),
            Some(bytes) => LedgerHead::decode(META, HEAD_KEY, &bytes),
        }
    }

    fn event(&self, id: &EventId) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(EVENTS, id.as_bytes())
    }

    fn events_at(&self, creator: MemberId, seq: u64) -> Result<Vec<EventId>, StoreError> {
        let prefix = creator_key(creator.0, seq, &EventId([0; 32]))[..12].to_vec();
        let rows = self.scan(BY_CREATOR, &prefix, |k| k.starts_with(&prefix), usize::MAX)?;
        rows.iter().map(|(k, _)| event_id_of(k)).collect()
    }

    fn all_event_ids(&self) -> Result<Vec<EventId>, StoreError> {
        let rows = self.scan(BY_CREATOR, &[], |_| true, usize::MAX)?;
        rows.iter().map(|(k, _)| event_id_of(k)).collect()
    }

    fn order(&self, index: u64) -> Result<Option<OrderRecord>, StoreError> {
        let key = index_key(index);
        self.get(ORDER, &key)?
            .map(|bytes| OrderRecord::decode(ORDER, &key, &bytes))
            .transpose()
    }

    fn orders(&self, from: u64, limit: usize) -> Result<Vec<(u64, OrderRecord)>, StoreError> {
        let rows = self.scan(ORDER, &index_key(from), |_| true, limit)?;
        rows.into_iter()
            .map(|(key, bytes)| {
                Ok((
                    index_of(ORDER, &key)?,
                    OrderRecord::decode(ORDER, &key, &bytes)?,
                ))
            })
            .collect()
    }

    fn transactions(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, TransactionRecord)>, StoreError> {
        let rows = self.scan(TRANSACTIONS, &index_key(from), |_| true, limit)?;
        rows.into_iter()
            .map(|(key, bytes)| {
                let index = index_of(TRANSACTIONS, &key)?;
                Ok((
                    index,
                    TransactionRecord::decode(TRANSACTIONS, &key, &bytes)?,
                ))
            })
            .collect()
    }

    fn state(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(STATE, key)
    }

    fn state_scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<StateRow>, StoreError> {
        let from = crate::store::scan_start(prefix, after);
        self.scan(
            STATE,
            &from,
            |k| k.starts_with(prefix),
            limit.saturating_add(1),
        )
        .map(|rows| crate::store::skip_after(rows, after, limit))
    }

    fn checkpoint(&self, round: Round) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(CHECKPOINTS, &index_key(round))
    }
}

fn event_id_of(key: &[u8]) -> Result<EventId, StoreError> {
    key.get(12..44)
        .and_then(|id| id.try_into().ok())
        .map(EventId)
        .ok_or_else(|| StoreError::corrupt(BY_CREATOR, key, "key is not creator, sequence and id"))
}

/// The index an 8-byte big-endian key stands for; any other key is corruption.
fn index_of(table: Table, key: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = key
        .try_into()
        .map_err(|_| StoreError::corrupt(table, key, "key is not an 8-byte index"))?;
    Ok(u64::from_be_bytes(bytes))
}

fn dir_is_empty(path: &Path) -> Result<bool, StoreError> {
    Ok(std::fs::read_dir(path)
        .map_err(|e| StoreError::Io(format!("reading {}: {e}", path.display())))?
        .next()
        .is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header RocksDB puts before a batch's entries (sequence number and count).
    const BATCH_HEADER_BYTES: usize = 12;

    #[test]
    fn every_table_reads_through_one_block_cache() {
        let dir = tempfile::tempdir().unwrap();
        let store = RocksStore::open(dir.path(), &RocksConfig::default()).unwrap();
        let id = EventId([9; 32]);
        let mut batch = Batch::new();
        batch.put_event(id, MemberId(0), 0, vec![1; 5000]);
        batch.put_state(b"gov/roll/x".to_vec(), vec![2; 300]);
        store.write(batch).unwrap();
        for table in [EVENTS, STATE] {
            store.db.flush_cf(store.table(table)).unwrap();
        }
        assert!(store.event(&id).unwrap().is_some());
        assert!(store.state(b"gov/roll/x").unwrap().is_some());
        let usage = |table| {
            store
                .db
                .property_int_value_cf(store.table(table), "rocksdb.block-cache-usage")
                .unwrap()
                .unwrap()
        };
        assert!(usage(STATE) > 0);
        assert_eq!(
            usage(EVENTS),
            usage(STATE),
            "one cache holds both tables' blocks"
        );
    }

    #[test]
    fn a_write_batch_fits_the_size_its_operations_announce() {
        let dir = tempfile::tempdir().unwrap();
        let store = RocksStore::open(dir.path(), &RocksConfig::default()).unwrap();
        let id = EventId([7; 32]);
        let record = TransactionRecord {
            event_id: id,
            position: u32::MAX,
            consensus_timestamp_ns: u64::MAX,
            payload: vec![1; 300],
            chain_hash: [2; 32],
        };
        let order = OrderRecord {
            event_id: id,
            round_received: u64::MAX,
            consensus_timestamp_ns: u64::MAX,
            first_transaction_index: u64::MAX,
            transaction_count: u32::MAX,
            chain_hash: [3; 32],
        };
        let ops = vec![
            Op::PutEvent {
                id,
                creator: MemberId(u32::MAX),
                seq: u64::MAX,
                bytes: vec![4; 1000],
            },
            Op::DeleteEvent {
                id,
                creator: MemberId(u32::MAX),
                seq: u64::MAX,
            },
            Op::PutOrder {
                index: u64::MAX,
                record: order,
            },
            Op::PutTransaction {
                index: u64::MAX,
                record,
            },
            Op::PutState {
                key: b"tx/0123456789abcdef0123456789abcdef".to_vec(),
                value: vec![5; 16],
            },
            Op::DeleteState {
                key: b"gov/some/key".to_vec(),
            },
            Op::PutCheckpoint {
                round: u64::MAX,
                bytes: vec![6; 500],
            },
            Op::SetHead(LedgerHead::default()),
        ];
        for op in ops {
            let hint = op.written_bytes_hint();
            let written = store.write_batch(std::slice::from_ref(&op)).size_in_bytes();
            assert!(
                written <= BATCH_HEADER_BYTES + hint,
                "{op:?}: {written} bytes written, {hint} announced"
            );
        }
    }
}
