//! Opening bad data directories and reading altered records: each gives a precise error and
//! leaves the data as it was; alterations are reported with their location.

use std::path::Path;
use votegraph_storage::{verify_chain, RocksConfig, RocksStore, Store, StoreError, SCHEMA_VERSION};

mod common;

fn config() -> RocksConfig {
    RocksConfig {
        fsync: false,
        block_cache_bytes: 8 << 20,
        write_buffer_bytes: 4 << 20,
        ..RocksConfig::default()
    }
}

fn ledger_with_rounds(path: &Path) {
    let store = RocksStore::open(path, &config()).unwrap();
    votegraph_storage::sim::commit_rounds(&store, &common::decided_rounds(300, 11)).unwrap();
}

fn listing(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(path)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_missing_directory_is_reported_when_creation_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope");
    let config = RocksConfig {
        create_if_missing: false,
        ..config()
    };
    assert!(matches!(RocksStore::open(&path, &config), Err(StoreError::Missing(p)) if p == path));
    assert!(!path.exists());
    std::fs::create_dir(&path).unwrap();
    assert!(matches!(
        RocksStore::open(&path, &config),
        Err(StoreError::Missing(_))
    ));
    assert_eq!(
        std::fs::read_dir(&path).unwrap().count(),
        0,
        "nothing was created"
    );
}

/// A new ledger is built aside and moved in whole: its directory never holds a half-made
/// database, and what an interrupted creation left beside it does not matter.
#[test]
fn a_new_ledger_appears_whole_and_an_interrupted_creation_leaves_it_creatable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    // What a creation killed before its move leaves: a hidden, half-made staging directory.
    let leftover = dir.path().join(".ledger.creating-1-1");
    std::fs::create_dir(&leftover).unwrap();
    std::fs::write(leftover.join("LOCK"), b"").unwrap();
    let store = RocksStore::open(&path, &config()).unwrap();
    assert_eq!(store.head().unwrap(), Default::default());
    drop(store);
    let names: Vec<String> = std::fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n == "CURRENT"), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with('.')), "{names:?}");
    let siblings = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(siblings, 2, "only the ledger and the old leftover");
    // A prepared, empty directory (a mount point) is kept and filled.
    let prepared = dir.path().join("prepared");
    std::fs::create_dir(&prepared).unwrap();
    RocksStore::open(&prepared, &config()).unwrap();
    assert!(prepared.join("CURRENT").exists());
    let hidden = std::fs::read_dir(&prepared)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(hidden, 0);
}

#[test]
fn a_ledger_in_use_is_reported_as_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    let _first = RocksStore::open(&path, &config()).unwrap();
    match RocksStore::open(&path, &config()) {
        Err(StoreError::Locked { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected Locked, got {:?}", other.err()),
    }
}

#[test]
fn a_directory_of_other_files_is_foreign_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"not a ledger").unwrap();
    let before = listing(dir.path());
    assert!(matches!(
        RocksStore::open(dir.path(), &config()),
        Err(StoreError::Foreign { .. })
    ));
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn another_rocksdb_database_is_foreign_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = rocksdb::DB::open_default(dir.path()).unwrap();
        db.put(b"k", b"v").unwrap();
    }
    let before: Vec<String> = listing(dir.path()).into_iter().map(|f| f.0).collect();
    match RocksStore::open(dir.path(), &config()) {
        Err(StoreError::Foreign { detail, .. }) => {
            assert!(detail.contains("missing tables"), "{detail}")
        }
        other => panic!("expected Foreign, got {:?}", other.err()),
    }
    let after: Vec<String> = listing(dir.path()).into_iter().map(|f| f.0).collect();
    assert_eq!(after, before, "no file was added or removed");
    let db = rocksdb::DB::open_default(dir.path()).unwrap();
    assert_eq!(db.get(b"k").unwrap(), Some(b"v".to_vec()));
}

/// Rewrites one raw value of a closed ledger, as bit rot or an attacker with disk access would.
fn alter(
    path: &Path,
    table: &str,
    pick: impl Fn(&[u8]) -> bool,
    change: impl Fn(&mut Vec<u8>),
) -> Vec<u8> {
    let cfs = rocksdb::DB::list_cf(&rocksdb::Options::default(), path).unwrap();
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), path, cfs).unwrap();
    let cf = db.cf_handle(table).unwrap();
    let (key, value) = db
        .iterator_cf(cf, rocksdb::IteratorMode::Start)
        .map(|r| r.unwrap())
        .find(|(k, _)| pick(k))
        .expect("a record to alter");
    let mut value = value.to_vec();
    change(&mut value);
    db.put_cf(cf, &key, value).unwrap();
    key.to_vec()
}

/// The record checksum as the ledger format defines it: the first 8 bytes of
/// `blake3(table || u32 LE key length || key || value)`, appended to the value.
fn reseal(table: &str, key: &[u8], sealed: &mut Vec<u8>, change: impl Fn(&mut Vec<u8>)) {
    sealed.truncate(sealed.len() - 8);
    change(sealed);
    let mut hasher = blake3::Hasher::new();
    hasher.update(table.as_bytes());
    hasher.update(&(key.len() as u32).to_le_bytes());
    hasher.update(key);
    hasher.update(sealed);
    sealed.extend_from_slice(&hasher.finalize().as_bytes()[..8]);
}

#[test]
fn a_newer_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    drop(RocksStore::open(&path, &config()).unwrap());
    let newer = (SCHEMA_VERSION + 1).to_le_bytes();
    alter(
        &path,
        "meta",
        |k| k == b"schema_version",
        |v| {
            reseal("meta", b"schema_version", v, |value| {
                value.copy_from_slice(&newer)
            })
        },
    );
    let before = listing(&path);
    let refused = RocksStore::open(&path, &config());
    assert_eq!(listing(&path), before, "the refused ledger was not touched");
    match refused {
        Err(StoreError::SchemaVersion {
            found, supported, ..
        }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION))
        }
        other => panic!("expected a schema error, got {:?}", other.err()),
    }
}

#[test]
fn a_rewritten_transaction_with_a_valid_checksum_breaks_the_chain_at_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    ledger_with_rounds(&path);
    let key = 12u64.to_be_bytes();
    alter(
        &path,
        "transactions",
        |k| k == key,
        |v| {
            // Layout: chain hash (32), event id (32), position (4), timestamp (8), payload.
            reseal("transactions", &key, v, |value| value[80] ^= 0x01)
        },
    );
    let store = RocksStore::open(&path, &config()).unwrap();
    match verify_chain(&store) {
        Err(StoreError::ChainBroken { index, .. }) => assert_eq!(index, 12),
        other => panic!("expected a broken chain at 12, got {other:?}"),
    }
}

#[test]
fn a_flipped_byte_in_a_record_is_reported_with_its_table_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    ledger_with_rounds(&path);
    let key = alter(
        &path,
        "transactions",
        |k| k == 7u64.to_be_bytes(),
        |v| v[40] ^= 0x20,
    );
    let store = RocksStore::open(&path, &config()).unwrap();
    match verify_chain(&store) {
        Err(StoreError::Corrupt { table, key: k, .. }) => {
            assert_eq!(table, "transactions");
            assert_eq!(
                k,
                key.iter().map(|b| format!("{b:02x}")).collect::<String>()
            );
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn swapped_order_records_with_valid_checksums_break_the_order_chain_at_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    ledger_with_rounds(&path);
    let (a, b) = (20u64.to_be_bytes(), 21u64.to_be_bytes());
    let cfs = rocksdb::DB::list_cf(&rocksdb::Options::default(), &path).unwrap();
    {
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &path, cfs).unwrap();
        let cf = db.cf_handle("order").unwrap();
        let mut va = db.get_cf(cf, a).unwrap().unwrap();
        let mut vb = db.get_cf(cf, b).unwrap().unwrap();
        let (ida, idb) = (va[..32].to_vec(), vb[..32].to_vec());
        reseal("order", &a, &mut va, |v| v[..32].copy_from_slice(&idb));
        reseal("order", &b, &mut vb, |v| v[..32].copy_from_slice(&ida));
        db.put_cf(cf, a, va).unwrap();
        db.put_cf(cf, b, vb).unwrap();
    }
    let store = RocksStore::open(&path, &config()).unwrap();
    match verify_chain(&store) {
        Err(StoreError::OrderLogBroken { index, .. }) => assert_eq!(index, 20),
        other => panic!("expected the order log broken at 20, got {other:?}"),
    }
}

#[test]
fn records_inserted_beyond_the_head_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    ledger_with_rounds(&path);
    let head = RocksStore::open(&path, &config()).unwrap().head().unwrap();
    // Adds a copy of a table's first record under `key`, resealed with a valid checksum.
    let insert = |table: &str, key: Vec<u8>| {
        let cfs = rocksdb::DB::list_cf(&rocksdb::Options::default(), &path).unwrap();
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &path, cfs).unwrap();
        let cf = db.cf_handle(table).unwrap();
        let (_, first) = db
            .iterator_cf(cf, rocksdb::IteratorMode::Start)
            .next()
            .unwrap()
            .unwrap();
        let mut value = first.to_vec();
        reseal(table, &key, &mut value, |_| {});
        db.put_cf(cf, &key, value).unwrap();
    };
    // An order record two past the head.
    insert("order", (head.next_order_index + 1).to_be_bytes().to_vec());
    let store = RocksStore::open(&path, &config()).unwrap();
    assert!(matches!(
        verify_chain(&store),
        Err(StoreError::OrderLogBroken { .. })
    ));
    drop(store);
    let cfs = rocksdb::DB::list_cf(&rocksdb::Options::default(), &path).unwrap();
    {
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &path, cfs).unwrap();
        db.delete_cf(
            db.cf_handle("order").unwrap(),
            (head.next_order_index + 1).to_be_bytes(),
        )
        .unwrap();
    }
    // A transaction under a 9-byte key, which sorts between the last record and the head.
    let mut key = (head.next_transaction_index - 1).to_be_bytes().to_vec();
    key.push(0);
    insert("transactions", key);
    let store = RocksStore::open(&path, &config()).unwrap();
    assert!(
        verify_chain(&store).is_err(),
        "an odd key after the last transaction is reported"
    );
}
