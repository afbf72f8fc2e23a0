//! Committed transactions per second through `RocksStore` (realistic ~250-byte ballots, one
//! batch per decided round, fsync on), and read throughput of the ordered log by range.
//!
//! Run: `cargo bench -p votegraph-benches --bench storage`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use votegraph_storage::{RocksConfig, RocksStore, RoundCommit, Store};

fn rounds(events: usize, per_event: usize) -> Vec<RoundCommit> {
    votegraph_storage::sim::simulated_rounds(events, per_event, 5)
}

fn open(dir: &tempfile::TempDir, fsync: bool) -> RocksStore {
    let config = RocksConfig {
        fsync,
        ..RocksConfig::default()
    };
    RocksStore::open(&dir.path().join("ledger"), &config).unwrap()
}

fn commit(store: &RocksStore, rounds: &[RoundCommit]) {
    votegraph_storage::sim::commit_rounds(store, rounds).unwrap();
}

fn bench_commit(c: &mut Criterion) {
    let rounds = rounds(3000, 40);
    let transactions: usize = rounds
        .iter()
        .flat_map(|r| &r.ordered)
        .map(|o| o.event.transactions().len())
        .sum();
    let mut group = c.benchmark_group("ledger_commit");
    group.sample_size(10);
    group.throughput(Throughput::Elements(transactions as u64));
    for fsync in [true, false] {
        let name = if fsync {
            "rounds_fsync"
        } else {
            "rounds_no_fsync"
        };
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().unwrap();
                    let store = open(&dir, fsync);
                    (dir, store)
                },
                |(dir, store)| {
                    commit(&store, &rounds);
                    (dir, store)
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn bench_read(c: &mut Criterion) {
    let rounds = rounds(3000, 40);
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, false);
    commit(&store, &rounds);
    let total = store.head().unwrap().next_transaction_index;
    let mut group = c.benchmark_group("ledger_read");
    group.sample_size(10);
    group.throughput(Throughput::Elements(total));
    group.bench_function("transactions_by_range", |b| {
        b.iter(|| {
            let mut from = 0;
            while from < total {
                let page = store.transactions(from, 4096).unwrap();
                from += page.len() as u64;
            }
            from
        })
    });
    group.finish();
}

criterion_group!(benches, bench_commit, bench_read);
criterion_main!(benches);
