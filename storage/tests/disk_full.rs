//! A full disk: writes fail with a precise error, nothing acknowledged is lost, the failed batch
//! is absent as a whole, and the ledger opens and verifies once there is space again. Uses a
//! real 3 MiB tmpfs, so it needs root (as `make test` on the project's machines has).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use votegraph_storage::{round_batch, verify_chain, RocksConfig, RocksStore, Store, StoreError};

struct TinyFs(PathBuf);

impl TinyFs {
    fn mount(path: &Path, size: &str) -> Option<TinyFs> {
        std::fs::create_dir_all(path).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then(|| TinyFs(path.to_path_buf()))
    }

    fn grow(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The disk fills at different moments depending on the memtable size: while appending to the
/// log, or in a background flush while a write waits for that flush (a write stall), which once
/// left the writer waiting forever for RocksDB's own recovery.
#[test]
fn a_full_disk_fails_writes_precisely_and_loses_nothing_acknowledged() {
    // A write that never returns is this test's failure, not a CI timeout: the guard is far
    // above the few seconds a run takes, and only ends a hang.
    let (done, finished) = std::sync::mpsc::channel();
    let run = std::thread::spawn(move || {
        for write_buffer_bytes in [64 << 10, 256 << 10, 1 << 20] {
            println!("memtable of {write_buffer_bytes} bytes");
            fill_the_disk_then_grow_it(write_buffer_bytes);
        }
        let _ = done.send(());
    });
    match finished.recv_timeout(HANG_GUARD) {
        Ok(()) => run.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(run.join().unwrap_err())
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("a write on the full disk never returned within {HANG_GUARD:?}")
        }
    }
}

const HANG_GUARD: std::time::Duration = std::time::Duration::from_secs(300);

fn fill_the_disk_then_grow_it(write_buffer_bytes: usize) {
    let dir = tempfile::tempdir().unwrap();
    let fs = TinyFs::mount(&dir.path().join("tiny"), "3m")
        .expect("mounting a 3 MiB tmpfs (this test needs root, as make test has here)");
    let ledger = fs.0.join("ledger");
    let config = RocksConfig {
        fsync: true,
        write_buffer_bytes,
        block_cache_bytes: 1 << 20,
        ..RocksConfig::default()
    };
    let rounds = common::decided_rounds(6000, 17);
    let store = RocksStore::open(&ledger, &config).unwrap();
    let mut head = store.head().unwrap();
    let mut failure = None;
    for round in &rounds {
        let (batch, next) = round_batch(&head, round);
        match store.write(batch) {
            Ok(()) => head = next,
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let failure = failure.expect("3 MiB fills up");
    match &failure {
        StoreError::Io(detail) => assert!(detail.to_lowercase().contains("space"), "{detail}"),
        other => panic!("expected an I/O error about space, got {other}"),
    }
    drop(store);
    fs.grow("64m");
    let reopened = RocksStore::open(&ledger, &config).unwrap();
    let report = verify_chain(&reopened).unwrap();
    let after = reopened.head().unwrap();
    assert!(
        after.next_order_index >= head.next_order_index,
        "every acknowledged round is there"
    );
    assert_eq!(report.transactions, after.next_transaction_index);
    // The failed round is absent or whole (it may have reached the log before the error):
    // the ledger ends on a round boundary.
    let boundaries: Vec<u64> = rounds
        .iter()
        .scan(0u64, |n, r| {
            *n += r.ordered.len() as u64;
            Some(*n)
        })
        .collect();
    let end = after.next_order_index;
    assert!(
        end == 0 || boundaries.contains(&end),
        "the ledger ends inside a round, at {end}"
    );
}
