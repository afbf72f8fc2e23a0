//! Backups: a copy taken while a validator writes to the ledger is an identical, verifying
//! ledger as of the moment it was taken.

mod common;

use votegraph_storage::sim::commit_rounds;
use votegraph_storage::{verify_chain, RocksConfig, RocksStore, Store, StoreError};

fn config() -> RocksConfig {
    RocksConfig {
        fsync: false,
        ..RocksConfig::default()
    }
}

fn same_ledger(a: &dyn Store, b: &dyn Store) {
    let head = a.head().unwrap();
    assert_eq!(b.head().unwrap(), head);
    assert_eq!(
        a.transactions(0, usize::MAX).unwrap(),
        b.transactions(0, usize::MAX).unwrap()
    );
    for index in 0..head.next_order_index {
        assert_eq!(a.order(index).unwrap(), b.order(index).unwrap());
    }
    assert_eq!(a.all_event_ids().unwrap(), b.all_event_ids().unwrap());
    for round in 1..=head.last_decided_round {
        let key = format!("round/{round}");
        assert_eq!(
            a.state(key.as_bytes()).unwrap(),
            b.state(key.as_bytes()).unwrap()
        );
    }
}

#[test]
fn a_copy_taken_while_the_ledger_is_written_is_identical_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, backup) = (dir.path().join("ledger"), dir.path().join("backup"));
    let rounds = common::decided_rounds(600, 31);
    let (first, later) = rounds.split_at(rounds.len() / 2);
    let writer = RocksStore::open(&ledger, &config()).unwrap();
    commit_rounds(&writer, first).unwrap();
    let snapshot = RocksStore::open_read_only(&ledger, &config()).unwrap();
    commit_rounds(&writer, later).unwrap();
    let copied = snapshot.copy_to(&backup, &config()).unwrap();
    assert!(copied > 100);
    let restored = RocksStore::open(&backup, &config()).unwrap();
    same_ledger(&snapshot, &restored);
    verify_chain(&restored).unwrap();
    assert!(
        writer.head().unwrap().next_order_index > restored.head().unwrap().next_order_index,
        "later writes are not in the copy"
    );
}

#[test]
fn a_copy_never_overwrites_a_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    commit_rounds(
        &RocksStore::open(&a, &config()).unwrap(),
        &common::decided_rounds(200, 1),
    )
    .unwrap();
    drop(RocksStore::open(&b, &config()).unwrap());
    let source = RocksStore::open_read_only(&a, &config()).unwrap();
    assert!(matches!(
        source.copy_to(&b, &config()),
        Err(StoreError::Foreign { .. })
    ));
}

#[test]
fn a_read_only_open_of_nothing_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none");
    assert!(matches!(
        RocksStore::open_read_only(&missing, &config()),
        Err(StoreError::Missing(_))
    ));
    assert!(matches!(
        RocksStore::open_read_only(dir.path(), &config()),
        Err(StoreError::Foreign { .. })
    ));
}

#[test]
fn a_copy_that_fails_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("source"), dir.path().join("target"));
    commit_rounds(
        &RocksStore::open(&source, &config()).unwrap(),
        &common::decided_rounds(300, 2),
    )
    .unwrap();
    {
        let cfs = rocksdb::DB::list_cf(&rocksdb::Options::default(), &source).unwrap();
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &source, cfs).unwrap();
        let cf = db.cf_handle("transactions").unwrap();
        let key = 9u64.to_be_bytes();
        let mut value = db.get_cf(cf, key).unwrap().unwrap();
        value[60] ^= 1;
        db.put_cf(cf, key, value).unwrap();
    }
    let store = RocksStore::open_read_only(&source, &config()).unwrap();
    assert!(matches!(
        store.copy_to(&target, &config()),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(!target.exists(), "no partial ledger at the target");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec![std::ffi::OsString::from("source")],
        "no staging directory left"
    );
}

#[test]
fn restoring_into_a_prepared_empty_directory_keeps_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (source, prepared) = (dir.path().join("source"), dir.path().join("prepared"));
    commit_rounds(
        &RocksStore::open(&source, &config()).unwrap(),
        &common::decided_rounds(200, 6),
    )
    .unwrap();
    std::fs::create_dir(&prepared).unwrap();
    std::fs::set_permissions(&prepared, std::fs::Permissions::from_mode(0o750)).unwrap();
    let store = RocksStore::open_read_only(&source, &config()).unwrap();
    store.copy_to(&prepared, &config()).unwrap();
    let mode = std::fs::metadata(&prepared).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o750, "the prepared directory itself is kept");
    let names: Vec<String> = std::fs::read_dir(&prepared)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with(".copy-")),
        "no staging directory left: {names:?}"
    );
    let restored = RocksStore::open(&prepared, &config()).unwrap();
    assert_eq!(restored.head().unwrap(), store.head().unwrap());
    verify_chain(&restored).unwrap();
}

#[test]
fn reading_a_ledger_read_only_changes_no_file_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    commit_rounds(
        &RocksStore::open(&ledger, &config()).unwrap(),
        &common::decided_rounds(200, 7),
    )
    .unwrap();
    let names = || {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&ledger)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    let before = names();
    let store = RocksStore::open_read_only(&ledger, &config()).unwrap();
    verify_chain(&store).unwrap();
    drop(store);
    assert!(names() == before, "files of the ledger changed");
}
