//! `votegraph backup create|verify|restore` against a ledger a validator holds open.

use std::path::Path;
use std::process::Command;
use votegraph_storage::sim::{commit_rounds, simulated_rounds};
use votegraph_storage::{RocksConfig, RocksStore, Store};

fn votegraph(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_votegraph"))
        .args(args)
        .output()
        .unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn backup_of_a_running_ledger_verifies_and_restores_identically() {
    let dir = tempfile::tempdir().unwrap();
    let (data, backup, restored) = (
        dir.path().join("data"),
        dir.path().join("backup"),
        dir.path().join("restored"),
    );
    let config = RocksConfig {
        fsync: false,
        ..RocksConfig::default()
    };
    let running = RocksStore::open(&data, &config).unwrap();
    commit_rounds(&running, &simulated_rounds(500, 3, 8)).unwrap();

    let out = votegraph(&[
        "backup",
        "create",
        "--data",
        path(&data),
        "--out",
        path(&backup),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = votegraph(&["backup", "verify", path(&backup)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ledger verified"));
    let out = votegraph(&[
        "backup",
        "restore",
        "--from",
        path(&backup),
        "--data",
        path(&restored),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let copy = RocksStore::open(&restored, &config).unwrap();
    assert_eq!(copy.head().unwrap(), running.head().unwrap());
    assert_eq!(
        copy.transactions(0, usize::MAX).unwrap(),
        running.transactions(0, usize::MAX).unwrap()
    );
}

#[test]
fn a_damaged_backup_fails_verification_naming_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let (data, backup) = (dir.path().join("data"), dir.path().join("backup"));
    commit_rounds(
        &RocksStore::open(&data, &RocksConfig::default()).unwrap(),
        &simulated_rounds(300, 2, 9),
    )
    .unwrap();
    assert!(votegraph(&[
        "backup",
        "create",
        "--data",
        path(&data),
        "--out",
        path(&backup)
    ])
    .status
    .success());
    {
        let cfs = rocksdb::DB::list_cf(&rocksdb::Options::default(), &backup).unwrap();
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &backup, cfs).unwrap();
        let cf = db.cf_handle("transactions").unwrap();
        let key = 3u64.to_be_bytes();
        let mut value = db.get_cf(cf, key).unwrap().unwrap();
        value[50] ^= 0x04;
        db.put_cf(cf, key, value).unwrap();
    }
    let out = votegraph(&["backup", "verify", path(&backup)]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("corrupt record in transactions at key 0000000000000003"),
        "{stderr}"
    );
    let restore_to = dir.path().join("r");
    let out = votegraph(&[
        "backup",
        "restore",
        "--from",
        path(&backup),
        "--data",
        path(&restore_to),
    ]);
    assert!(!out.status.success(), "a damaged backup is not restored");
    assert!(!restore_to.exists());
}
