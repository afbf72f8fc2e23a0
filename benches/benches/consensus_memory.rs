//! A long run: 1,000,000 events of honest gossip through one engine, printing every 100,000
//! events the resident memory of the process, the events held in the DAG, and the engine's
//! insertion rate over that window (signing, done by the simulated peers, is not counted).
//! Flat rows mean flat memory and flat per-event cost as the ledger grows.
//!
//! Run: `cargo bench -p votegraph-benches --bench consensus_memory [-- MEMBERS EVENTS]`

use std::time::{Duration, Instant};
use votegraph_consensus::sim::{member_set, GossipParams, GossipStream};
use votegraph_consensus::{Engine, EngineConfig};

fn resident_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(7);
    let total = args.get(1).copied().unwrap_or(1_000_000);
    let window = (total / 10).max(1);
    let members = member_set(n);
    let mut engine = Engine::new(EngineConfig::default(), members, None).unwrap();
    let mut stream = GossipStream::new(&GossipParams::new(n, total, 2026));
    println!("members {n}, events {total}");
    println!(
        "{:>10} {:>12} {:>10} {:>14} {:>12}",
        "events", "rss_mib", "dag_events", "rounds_decided", "events_per_s"
    );
    let mut in_engine = Duration::ZERO;
    for i in 1..=total {
        let event = stream.next_event(engine.last_decided_round());
        let started = Instant::now();
        engine.insert(event).expect("honest events are accepted");
        engine.drain_outputs();
        in_engine += started.elapsed();
        if i % window == 0 {
            let stats = engine.stats();
            println!(
                "{:>10} {:>12.1} {:>10} {:>14} {:>12.0}",
                i,
                resident_mib(),
                stats.dag_events,
                stats.last_decided_round,
                window as f64 / in_engine.as_secs_f64()
            );
            in_engine = Duration::ZERO;
        }
    }
    let stats = engine.stats();
    println!(
        "ordered {} pruned {} stale {}",
        stats.events_ordered, stats.events_pruned, stats.events_stale
    );
}
