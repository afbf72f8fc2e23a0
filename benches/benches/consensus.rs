//! Events inserted per second into the engine, consensus computed (rounds, fame, order), on one
//! core, for 4, 7, 15 and 31 members; and the rate of the stateless signature check that runs
//! before insertion (in parallel in a node).
//!
//! Run: `cargo bench -p votegraph-benches --bench consensus`

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use votegraph_consensus::sim::{member_set as members, GossipParams, GossipStream};
use votegraph_consensus::{Engine, EngineConfig, EventLimits, VerifiedEvent};

const EVENTS: usize = 20_000;

/// Signed events of an honest gossip, birth rounds as a live node would set them.
fn gossip(n: usize, events: usize) -> Vec<VerifiedEvent> {
    let mut engine = Engine::new(EngineConfig::default(), members(n), None).unwrap();
    let mut stream = GossipStream::new(&GossipParams::new(n, events, 1));
    (0..events)
        .map(|_| {
            let e = stream.next_event(engine.last_decided_round());
            engine.insert(e.clone()).unwrap();
            engine.drain_outputs();
            e
        })
        .collect()
}

fn insert_all(n: usize, events: Vec<VerifiedEvent>) -> u64 {
    let mut engine = Engine::new(EngineConfig::default(), members(n), None).unwrap();
    for e in events {
        engine.insert(e).unwrap();
        engine.drain_outputs();
    }
    engine.stats().events_ordered
}

fn bench_insert(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine_insert");
    group.sample_size(10);
    group.throughput(Throughput::Elements(EVENTS as u64));
    for n in [4usize, 7, 15, 31] {
        let events = gossip(n, EVENTS);
        group.bench_with_input(BenchmarkId::new("members", n), &events, |b, events| {
            b.iter_batched(
                || events.clone(),
                |ev| insert_all(n, ev),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn bench_verify(c: &mut Criterion) {
    let set = members(7);
    let limits = EventLimits::default();
    let events: Vec<_> = gossip(7, 1000).iter().map(|e| e.to_unchecked()).collect();
    let mut group = c.benchmark_group("event_verify");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("ed25519_strict_and_id", |b| {
        b.iter_batched(
            || events.clone(),
            |ev| {
                ev.into_iter()
                    .map(|e| e.verify(&set, &limits).unwrap())
                    .collect::<Vec<_>>()
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_insert, bench_verify);
criterion_main!(benches);
